"""The command-line entry point: root app, global options, command groups, and ``main()``.

This layer is THIN: parse -> call the core -> render. It imports typer, the stdlib and our
light modules only; boto3, twilio, pydantic and rich are imported inside the functions that
need them so ``twilio-es --help`` starts fast (a test guards this).
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable, Sequence
from typing import Annotated, Any

import typer

from twilio_es_cli import __version__
from twilio_es_cli.cli import (
    archive,
    catalog,
    doctor,
    infra,
    local,
    query,
    quickstart,
    sink,
    stream,
    subscription,
    tail,
    webhook,
)
from twilio_es_cli.cli._coerce import install as _lazy_coercion
from twilio_es_cli.cli._common import JqOption, JsonOption
from twilio_es_cli.cli._help import install as _plain_placeholders
from twilio_es_cli.cli._tree import command_for as _command_for
from twilio_es_cli.errors import ExitCode, TwilioEsError

_plain_placeholders()
_lazy_coercion()

app = typer.Typer(
    name="twilio-es",
    help=(
        "Twilio Event Streams on Amazon Kinesis: create the stream and role, create and "
        "validate sinks, subscribe to event types, and tail the events.\n\n"
        "Quick start, no accounts needed: twilio-es quickstart --local"
    ),
    epilog=(
        "\b\nExamples:\n"
        "  twilio-es stream create twilio-events 1 > twilio-sink.json\n"
        "  twilio-es sink create kinesis --config twilio-sink.json\n"
        "  twilio-es sink validate DGxxxxxxxx\n"
        "  twilio-es subscribe --sink DGxxxxxxxx --type com.twilio.messaging.message.delivered\n"
        "  twilio-es tail --output jsonl | jq .data"
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
    rich_markup_mode=None,
)


def _version_callback(value: bool) -> None:
    """``twilio-es --version``: what most tools answer, so it must not be a usage error."""
    if value:
        sys.stdout.write(f"twilio-es {__version__}\n")
        raise typer.Exit()


@app.callback()
def _root(
    ctx: typer.Context,
    profile: Annotated[
        str | None,
        typer.Option("--profile", metavar="NAME", help="AWS profile (default: AWS_PROFILE)."),
    ] = None,
    region: Annotated[
        str | None,
        typer.Option("--region", metavar="REGION", help="AWS region (default: AWS_REGION)."),
    ] = None,
    endpoint_url: Annotated[
        str | None,
        typer.Option(
            "--endpoint-url",
            metavar="URL",
            help="AWS endpoint override, e.g. a local Kinesis (AWS_ENDPOINT_URL).",
        ),
    ] = None,
    twilio_api_url: Annotated[
        str | None,
        typer.Option(
            "--twilio-api-url",
            metavar="URL",
            help="Events API base URL (TWILIO_ES_API_URL; default https://events.twilio.com).",
        ),
    ] = None,
    twilio_profile: Annotated[
        str | None,
        typer.Option(
            "--twilio-profile",
            metavar="NAME",
            help="twilio-cli profile to use (TWILIO_PROFILE; default: the environment's "
            "TWILIO_* credentials, else twilio-cli's active profile).",
        ),
    ] = None,
    debug: Annotated[
        bool, typer.Option("--debug", help="Show tracebacks and SDK debug logs on errors.")
    ] = False,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Only data, warnings and errors; no progress.")
    ] = False,
    show_version: Annotated[
        bool,
        typer.Option(
            "--version",
            help="Show the twilio-es version and exit (like `twilio-es version`).",
            is_eager=True,
            callback=_version_callback,
        ),
    ] = False,
) -> None:
    """Resolve settings once; every command reads them from the context."""
    from twilio_es_cli import output
    from twilio_es_cli.config import resolve_settings

    output.set_quiet(quiet)
    ctx.obj = resolve_settings(
        profile=profile,
        region=region,
        endpoint_url=endpoint_url,
        twilio_api_url=twilio_api_url,
        debug=debug,
        twilio_profile=twilio_profile,
    )
    if ctx.obj.debug:
        _debug_logging(wire=os.environ.get("TWILIO_ES_DEBUG", "") == "wire")


def _debug_logging(*, wire: bool) -> None:
    """SDK debug logs on stderr, minus request/response bodies unless ``TWILIO_ES_DEBUG=wire``.

    botocore's endpoint/parsers loggers print whole bodies: trust policies and GetRole answers
    carry the external id, which must not reach a log the user did not explicitly ask for.
    """
    import logging

    from twilio_es_cli.safe_text import redact_urls

    logging.basicConfig(level=logging.DEBUG, stream=sys.stderr)
    for handler in logging.getLogger().handlers:
        handler.addFilter(_redacting_filter(redact_urls))
    if not wire:
        for name in ("botocore.endpoint", "botocore.parsers", "botocore.auth"):
            logging.getLogger(name).setLevel(logging.INFO)


def _redacting_filter(redact: Callable[[str], str]) -> Callable[[Any], bool]:
    """A logging filter that hides the password of any ``user:password@`` URL in a record
    (an --endpoint-url or --twilio-api-url may carry one; SDKs log the URLs they call)."""

    def scrub(record: Any) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True

    return scrub


@app.command("version")
def version(
    as_json: JsonOption = False,
    jq: JqOption = None,
) -> None:
    """Show the twilio-es version.

    \b
    Example:
      twilio-es version --json
    """
    if as_json:
        from twilio_es_cli.output import print_json

        print_json({"version": __version__})
    else:
        sys.stdout.write(f"twilio-es {__version__}\n")


for _module in (
    stream,
    sink,
    subscription,
    catalog,
    tail,
    quickstart,
    local,
    doctor,
    infra,
    webhook,
    query,
    archive,
):
    _module.register(app)


@functools.cache
def root_command() -> typer.core.TyperGroup:
    """The whole click command tree, built once (usage errors walk it to name the command).

    A normal run builds only the branch its arguments name (``_command_for``); this full tree
    is for the error path, where speed no longer matters."""
    command = typer.main.get_command(app)
    assert isinstance(command, typer.core.TyperGroup)
    return command


def _debug_requested(argv: Sequence[str]) -> bool:
    return "--debug" in argv or os.environ.get("TWILIO_ES_DEBUG", "") not in ("", "0")


def run(argv: Sequence[str] | None = None) -> int:
    """Run the CLI and return the exit code; errors are rendered, never raised (unless --debug)."""
    from twilio_es_cli import output
    from twilio_es_cli.cli import _stdio

    _stdio.prepare()  # a closed stream, or one that cannot encode every character
    args = list(sys.argv[1:] if argv is None else argv)
    debug = _debug_requested(args)
    command = _command_for(app, args)
    try:
        result = command.main(args=args, prog_name="twilio-es", standalone_mode=False)
        sys.stdout.flush()  # a full disk (/dev/full) is this command's failure, not exit's
    except TwilioEsError as exc:
        if debug:
            return _traceback(exc, int(exc.exit_code))
        output.error(exc.message, exc.hint)
        return int(exc.exit_code)
    except typer.TyperException as exc:  # click's usage errors (bad option, missing argument)
        return _framework_error(exc, args)
    except (typer.Abort, KeyboardInterrupt):
        sys.stderr.write("\nInterrupted.\n")
        return int(ExitCode.INTERRUPTED)
    except BrokenPipeError:
        # `twilio-es ... | head`: the reader went away; stop quietly like other Unix tools.
        _silence_stdout()
        return int(ExitCode.OK)
    except SystemExit as exc:
        # typer turns EPIPE into exit 1 itself, after wrapping stdout; undo both here, once,
        # so every command (tail, quickstart, lists) ends `| head` quietly with 0.
        if type(sys.stdout).__name__ == "PacifyFlushWrapper":
            sys.stdout = getattr(sys.stdout, "wrapped", sys.stdout)
            _silence_stdout()
            return int(ExitCode.OK)
        return exc.code if isinstance(exc.code, int) else int(ExitCode.FAILURE)
    except Exception as exc:
        if _stdio.output_error(exc):
            return _output_failed(exc)
        if debug:
            return _traceback(exc, int(ExitCode.FAILURE))
        output.error(
            f"unexpected {type(exc).__name__}: {exc}",
            hint="Re-run with --debug for a traceback, and please report it.",
        )
        return int(ExitCode.FAILURE)
    return int(result) if isinstance(result, int) else int(ExitCode.OK)


def _output_failed(exc: BaseException) -> int:
    """stdout refused the output (closed, a full disk): one line, exit 1, nothing more."""
    from twilio_es_cli import output

    reason = getattr(exc, "strerror", None) or str(exc)
    _silence_stdout()  # what is still buffered must not fail again at exit
    output.error(
        f"cannot write to standard output: {reason}",
        hint="The output was lost: send stdout to a file or pipe that can take it.",
    )
    return int(ExitCode.FAILURE)


def _traceback(exc: BaseException, code: int) -> int:
    """--debug: the traceback asked for, as Python prints it, minus any URL's password."""
    import traceback

    from twilio_es_cli.safe_text import redact_urls

    sys.stderr.write(redact_urls("".join(traceback.format_exception(exc))))
    sys.stderr.flush()
    return code


def _framework_error(exc: typer.TyperException, args: Sequence[str]) -> int:
    """Render the framework's error as our one ``error:`` line and a ``hint:`` (exit 2).

    A bare group (``twilio-es stream``) still shows its help: that is what was asked for.
    """
    from twilio_es_cli import output
    from twilio_es_cli.cli import _usage

    code = int(getattr(exc, "exit_code", ExitCode.USAGE))
    if type(exc).__name__ == "NoArgsIsHelpError":
        show = getattr(exc, "show", None)
        if callable(show):
            show()
        return code
    message, hint = _usage.describe(exc, args)
    output.error(message, hint)
    return code


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush does not raise EPIPE."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def main() -> None:
    """Console-script entry point."""
    sys.exit(run())
