"""`twilio-es quickstart` (top-level command): thin parse -> twilio_es_cli.quickstart -> render.

Steps are reported on stderr as they finish (``✓ 1/5 stream + role: created (...)``); stdout
carries data only: a summary for people, one JSON document with --json, and with --local the
sample events in the tail's formats (pretty on a terminal, jsonl when piped).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from twilio_es_cli.cli._common import JsonOption, settings
from twilio_es_cli.errors import ExitCode

if TYPE_CHECKING:
    from twilio_es_cli.models import KinesisSinkConfig as SinkConfig
    from twilio_es_cli.quickstart import LocalOutcome, Outcome, Step

DEFAULT_OUT = Path("twilio-sink.json")


class _Reporter:
    """Finished steps as ✓ lines, context as indented lines (stderr)."""

    def __init__(self) -> None:
        self.last: Step | None = None  # to say where an interrupted run stopped

    def step(self, step: Step) -> None:
        from twilio_es_cli import output
        from twilio_es_cli.quickstart import ALREADY_THERE, CREATED, STEPS

        self.last = step

        head = f"{step.number}/{STEPS} {step.name}"
        if step.result in (CREATED, ALREADY_THERE):
            output.success(f"{head}: {step.result} ({step.detail})")
        else:
            output.success(f"{head} ({step.detail})")

    def note(self, text: str) -> None:
        from twilio_es_cli import output

        output.info(f"    {text}")


def _config_writer(out: Path) -> Callable[[SinkConfig], None]:
    """Save the sink configuration (it holds the external id) with mode 0600, like `stream
    create --out`; an identical file is left alone."""

    def write(config: SinkConfig) -> None:
        from twilio_es_cli import output
        from twilio_es_cli.cli.stream import _write_private

        text = output.to_json(config.as_dict()) + "\n"
        try:
            previous: str | None = out.read_text(encoding="utf-8")
        except OSError:
            previous = None
        if previous is not None and _same_config(previous, config.as_dict()):
            output.info(f"    sink configuration in {out} is up to date")
            return
        _write_private(out, text)
        output.info(f"    sink configuration written to {out} (mode 0600; it holds a secret)")
        if previous is not None:
            output.warn(f"{out} held another sink configuration; it was replaced")

    return write


def _same_config(text: str, config: dict[str, str]) -> bool:
    import json

    try:
        return bool(json.loads(text) == config)
    except ValueError:
        return False


def quickstart(
    ctx: typer.Context,
    stream: Annotated[
        str, typer.Argument(metavar="STREAM", help="Kinesis stream name (created if missing).")
    ] = "twilio-events",
    shards: Annotated[int, typer.Option("--shards", help="Shard count for a new stream.")] = 1,
    types: Annotated[
        list[str] | None,
        typer.Option(
            "--type",
            "-t",
            metavar="TYPE[:VERSION]",
            help="Event type to subscribe, globs allowed; repeatable "
            "(default: message delivered/undelivered receipts).",
            show_default=False,
        ),
    ] = None,
    description: Annotated[
        str | None,
        typer.Option("--description", help="Description of the sink and subscription (no PII)."),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Save the sink configuration here, mode 0600 (default: ./twilio-sink.json; "
            "with --local only when given).",
            dir_okay=False,
            show_default=False,
        ),
    ] = None,
    timeout: Annotated[
        float | None,
        typer.Option(
            "--timeout",
            help="Seconds to wait for the stream (default 600) and for the test event "
            "(default 120).",
            show_default=False,
        ),
    ] = None,
    local: Annotated[
        bool,
        typer.Option(
            "--local",
            help="Run against a throw-away offline sandbox (no accounts, no network), then "
            "emit and show sample events.",
        ),
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Stream + IAM role, kinesis sink, validation and subscription in one command.

    Safe to re-run: each step first looks for what an earlier run made (the stream and its
    role, a sink with the same stream, role and external id, an active status, subscribed
    types) and says "already there" instead of making a duplicate, so an interrupted run
    continues where it stopped. Types are checked against the catalogue before anything is
    created. With --local everything runs in an in-process sandbox that is gone afterwards;
    your AWS and Twilio settings are ignored.

    \b
    Examples:
      twilio-es quickstart --local
      twilio-es quickstart
      twilio-es quickstart twilio-events --type com.twilio.messaging.message.delivered
      twilio-es quickstart orders --shards 2 --type 'com.twilio.messaging.message.*' --json
    """
    from twilio_es_cli import output
    from twilio_es_cli import quickstart as core
    from twilio_es_cli.cli.stream import _check_out_path
    from twilio_es_cli.config import DEFAULT_TWILIO_PRINCIPAL

    base = settings(ctx)
    request = core.make_request(
        stream,
        shards,
        types or [],
        description=description,
        timeout=timeout,
        principal=DEFAULT_TWILIO_PRINCIPAL if local else base.twilio_principal,
    )
    target = out if (out is not None or local) else DEFAULT_OUT
    if target is not None:
        _check_out_path(target)
    writer = _config_writer(target) if target is not None else None
    reporter = _Reporter()

    if local:
        tty = output.is_tty(sys.stdout)
        # `quickstart --local | head` raises BrokenPipeError after the sandbox has stopped;
        # the root `run()` ends it quietly with 0.
        try:
            result = core.run_local(
                base,
                request,
                reporter,
                out=sys.stdout,
                output_format="pretty" if tty else "jsonl",
                tty=tty,
                collect=as_json,
                on_config=writer,
            )
        except KeyboardInterrupt:
            _interrupted_local(reporter.last, out)
            raise typer.Exit(int(ExitCode.INTERRUPTED)) from None
        if as_json:
            data = result.as_dict()
            data["sink_config_file"] = str(target) if target else None
            output.print_json(data)
        _local_summary(result)
        return

    outcome = core.run(base, request, reporter, on_config=writer)
    _next_step(outcome)
    if as_json:
        data = outcome.as_dict()
        data["sink_config_file"] = str(target)
        output.print_json(data)
    else:
        output.print_fields(
            {
                "stream": outcome.stream_name,
                "stream arn": outcome.config.arn,
                "role arn": outcome.config.role_arn,
                "sink": f"{outcome.sink.sid} ({outcome.sink.status})",
                "subscription": outcome.subscription.sid,
                "types": [f"{r.type}:{r.schema_version}" for r, _ in outcome.types],
                "sink config": str(target),
            }
        )


def _interrupted_local(last: Step | None, out: Path | None) -> None:
    """Ctrl-C during `quickstart --local`: say where it stopped and that nothing is left
    (run_local has already stopped the sandbox on its way out)."""
    from twilio_es_cli import output
    from twilio_es_cli.quickstart import STEPS

    if output.is_tty(sys.stderr):
        sys.stderr.write("\n")  # the terminal echoed ^C
    where = f"after step {last.number}/{STEPS} ({last.name})" if last else "before step 1"
    output.warn(f"Interrupted: quickstart --local stopped {where}.")
    kept = f"; the sink configuration in {out} refers to it" if out and out.exists() else ""
    output.info(
        "The offline sandbox it started (local Kinesis/IAM and Events API, all in memory) "
        f"was stopped and thrown away{kept}. Run `twilio-es quickstart --local` again to "
        "start over, or `twilio-es local up --state-dir DIR` for a sandbox that is kept."
    )


def _next_step(outcome: Outcome) -> None:
    from twilio_es_cli import output
    from twilio_es_cli.quickstart import STEPS

    output.info(
        f"{STEPS}/{STEPS} next: twilio-es tail {outcome.stream_name}   "
        "(events appear as your account produces them; add --from trim-horizon for "
        "what already arrived)"
    )


def _local_summary(result: LocalOutcome) -> None:
    from twilio_es_cli import output

    outcome = result.outcome
    emitted = sum(result.emitted.values())
    if result.shown >= emitted:
        output.success(
            f"Saw all {result.shown} sample events: Events API emulator -> sink "
            f"{outcome.sink.sid} -> Kinesis stream {outcome.stream_name} -> twilio-es tail"
        )
    else:
        output.warn(f"showed {result.shown} of {emitted} sample events ({result.tail_line})")
    output.info("The sandbox lived only for this command and is gone now.")
    output.info(
        "Keep one running: `twilio-es local up`, then in another shell run its export lines, "
        "`twilio-es quickstart`, `twilio-es local emit TYPE --count 10` and `twilio-es tail`."
    )
    output.info(
        "For real: configure AWS credentials (aws configure / AWS_PROFILE) and export "
        "TWILIO_ACCOUNT_SID + TWILIO_AUTH_TOKEN, then run `twilio-es quickstart`."
    )


def register(root: typer.Typer) -> None:
    """Attach this module's commands to the root app."""
    root.command("quickstart")(quickstart)
