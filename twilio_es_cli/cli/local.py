"""`twilio-es local`: run the offline sandbox and feed it events.

`local up` is the long-running process other shells point at (it prints the export lines);
`local emit` asks it to generate realistic events and deliver them to subscribed sinks the way
Twilio does. Both stay thin: the work is in twilio_es_cli/local/.
"""

from __future__ import annotations

import json
import math
import shlex
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

from twilio_es_cli.cli._common import JqOption, JsonOption, clients, settings
from twilio_es_cli.errors import ExitCode, NotFoundError, TwilioEsError, UsageError

app = typer.Typer(
    name="local",
    help="The offline sandbox: a local Kinesis and Events API emulator, no accounts needed.",
    no_args_is_help=True,
    rich_markup_mode=None,
)

DEFAULT_AWS_PORT = 4567
DEFAULT_EVENTS_PORT = 4568


@app.command("up")
def up(
    ctx: typer.Context,
    aws_port: Annotated[
        int, typer.Option("--aws-port", help="Port of the local AWS (Kinesis/IAM/STS); 0 = any.")
    ] = DEFAULT_AWS_PORT,
    events_port: Annotated[
        int, typer.Option("--events-port", help="Port of the Events API emulator; 0 = any.")
    ] = DEFAULT_EVENTS_PORT,
    state_dir: Annotated[
        Path | None,
        typer.Option(
            "--state-dir",
            help="Keep streams, roles, sinks and subscriptions here across restarts.",
        ),
    ] = None,
    env_file: Annotated[
        Path | None,
        typer.Option("--env-file", help="Also write the export lines to this file (mode 0600)."),
    ] = None,
    legacy_validation: Annotated[
        bool,
        typer.Option(
            "--legacy-validation",
            help="Model the old sink flow: kinesis/segment sinks stay initialized until "
            "Test + Validate (today's Twilio makes every sink active at once).",
        ),
    ] = False,
    time_scale: Annotated[
        float,
        typer.Option(
            "--time-scale",
            metavar="FACTOR",
            help="Run the delivery clock FACTOR times faster: retries and their 4-hour window "
            "(3600 = an hour a second).",
        ),
    ] = 1.0,
    public_url: Annotated[
        str | None,
        typer.Option(
            "--public-url",
            metavar="URL",
            help="The Events API's address as clients see it (behind a TLS proxy); used in "
            "every URL the API answers with.",
        ),
    ] = None,
    schema_url: Annotated[
        str | None,
        typer.Option(
            "--schema-url",
            metavar="URL",
            help="Where the schema documents are published (the raw URLs); default: this "
            "sandbox's own /schemas.",
        ),
    ] = None,
) -> None:
    """Start the sandbox on 127.0.0.1 and print the export lines that point twilio-es at it.

    Runs until Ctrl-C (exit 130) or SIGTERM (exit 0), then stops cleanly and frees its ports,
    so it can be started again at once; with --state-dir it saves what you built and restores
    it next time. While it runs it logs one line per request (method, operation, status,
    milliseconds; an error's code and message); --debug adds the traceback of a failure.

    \b
    Example:
      twilio-es local up --env-file .sandbox.env
      # in another shell:
      source .sandbox.env
      twilio-es quickstart twilio-events --type com.twilio.messaging.message.delivered
      twilio-es local emit com.twilio.messaging.message.delivered --count 5
      twilio-es tail --from trim-horizon --no-follow
    """
    import signal
    import threading

    from twilio_es_cli import output
    from twilio_es_cli.local.kinesis_fix import Timing
    from twilio_es_cli.local.requestlog import RequestLog
    from twilio_es_cli.local.sandbox import Sandbox

    for port in (aws_port, events_port):
        if not 0 <= port <= 65535:
            raise UsageError(f"Port {port} is out of range 0-65535")
    if env_file is not None:
        from twilio_es_cli.files import check_writable

        check_writable(env_file, "--env-file", example=".sandbox.env")
    if not (math.isfinite(time_scale) and time_scale > 0):
        raise UsageError(f"--time-scale must be a positive, finite number, not {time_scale}")
    current = settings(ctx)
    sandbox = Sandbox(
        aws_port=aws_port,
        events_port=events_port,
        state_dir=state_dir,
        legacy_validation=legacy_validation,
        timing=Timing.sandbox(current.env),
        emulator_options={
            "time_scale": time_scale,
            "public_url": _base_url(public_url, "--public-url"),
            "schema_url": _base_url(schema_url, "--schema-url"),
        },
    )
    with output.progress("Starting the sandbox"):
        sandbox.start()
    stopped = threading.Event()

    def _on_term(signum: int, frame: object) -> None:
        stopped.set()

    previous = signal.signal(signal.SIGTERM, _on_term)
    interrupted = False
    try:
        lines = [f"export {k}={shlex.quote(v)}" for k, v in sandbox.env().items()]
        if env_file is not None:  # before printing: whoever sees the lines may source the file
            from twilio_es_cli.files import write_private_atomic

            write_private_atomic(env_file, ("\n".join(lines) + "\n").encode())
        sys.stdout.write("\n".join(lines) + "\n")
        sys.stdout.flush()
        output.success(
            f"Sandbox up: AWS (Kinesis, IAM, STS) at {sandbox.aws_url}, "
            f"Events API at {sandbox.events_url}"
        )
        source = f"source {env_file}" if env_file else "paste the export lines above"
        output.info(f"In another shell, {source}, then use twilio-es as usual. Ctrl-C stops.")
        if state_dir is not None:
            output.info(f"State is kept in {state_dir}.")
        if legacy_validation:
            output.info("Legacy validation: new kinesis sinks stay initialized until validated.")
        if time_scale != 1:
            output.info(f"The delivery clock runs {time_scale:g} times faster than real time.")
        sandbox.log_requests(RequestLog(sys.stderr, debug=current.debug))
        while not stopped.wait(0.5):
            pass
    except KeyboardInterrupt:
        interrupted = True  # exit 130 like every command (docs/output.md); SIGTERM exits 0
        if output.is_tty(sys.stderr):
            sys.stderr.write("\n")  # the terminal echoed ^C
    finally:
        signal.signal(signal.SIGTERM, previous)
        with output.progress("Stopping the sandbox"):
            sandbox.stop()
        output.success(
            "Sandbox stopped, its ports freed"
            + (f"; state saved in {state_dir}" if state_dir else "; nothing was kept")
        )
    if interrupted:
        raise typer.Exit(int(ExitCode.INTERRUPTED))


def _base_url(value: str | None, option: str) -> str | None:
    """An absolute http(s) URL without query or fragment, or exit 2 naming ``option``."""
    if value is None:
        return None
    from urllib.parse import urlsplit

    from twilio_es_cli.errors import shown

    try:
        parts = urlsplit(value.strip())
        parts.port  # noqa: B018  (raises ValueError for a port out of range or not a number)
    except ValueError:  # "Invalid IPv6 URL" (an unclosed [), a bad port: the same answer
        parts = urlsplit("")
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise UsageError(
            f"{option} {shown(value)} is not an http(s) base URL",
            hint=f"Give scheme and host, e.g. {option} https://events.example.test",
        )
    return value.strip().rstrip("/")


@app.command("emit")
def emit(
    ctx: typer.Context,
    event_type: Annotated[
        str,
        typer.Argument(metavar="TYPE", help="Event type, e.g. com.twilio.messaging.message.sent"),
    ],
    count: Annotated[int, typer.Option("--count", "-n", metavar="N", help="How many events.")] = 1,
    rate: Annotated[
        float | None,
        typer.Option("--rate", help="Events per second (default: all at once)."),
    ] = None,
    data: Annotated[
        str | None,
        typer.Option("--data", metavar="JSON", help="JSON object merged into each event's data."),
    ] = None,
    as_json: JsonOption = False,
    jq: JqOption = None,
) -> None:
    """Make the running sandbox emit realistic events of TYPE to every sink subscribed to it.

    Events are CloudEvents, one per Kinesis record, with data as Twilio sends it (schema-valid
    for types whose schema the project ships, such as Messaging.MessageStatus).

    \b
    Example:
      twilio-es local emit com.twilio.messaging.message.delivered --count 20 --rate 5
    """
    import time

    from twilio_es_cli import output
    from twilio_es_cli.catalog import check_type_name
    from twilio_es_cli.local import admin

    event_type = check_type_name(event_type)
    if count < 1 or count > 100_000:
        raise UsageError("--count must be between 1 and 100000")
    if rate is not None and not (math.isfinite(rate) and rate > 0):
        # nan compares false with everything, so `rate <= 0` let it (and inf) through.
        raise UsageError(
            f"--rate must be a positive, finite number of events per second, not {rate}"
        )
    extra = _data_option(data) if data is not None else None
    current = settings(ctx)
    admin.require_sandbox(current)  # before any progress line: say first what is missing
    current.twilio_credentials()
    counts = admin.EmitCounts()
    if rate is None:
        with (
            output.progress(f"Emitting {count} {event_type} event(s)"),
            _type_hint(ctx, event_type),
        ):
            counts = admin.emit(current, event_type, count, extra)
    else:
        interval, start = 1.0 / rate, time.monotonic()
        with output.progress(
            f"Emitting {count} {event_type} event(s), {rate:g} a second",
            limit=(count - 1) * interval,
        ):
            for index in range(count):
                delay = start + index * interval - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                with _type_hint(ctx, event_type):
                    counts += admin.emit(current, event_type, 1, extra)
    _tell_emitted(event_type, count, counts, as_json)


def _tell_emitted(event_type: str, count: int, counts: Any, as_json: bool) -> None:
    """What became of the events: delivered, waiting for a retry, dropped (queue view)."""
    from twilio_es_cli import output

    if as_json:
        output.print_json({"type": event_type, "count": count, **counts.to_dict()})
        return
    failed = counts.retrying + counts.dropped + counts.pending
    if counts.delivered:
        output.success(f"Emitted {count} {event_type} event(s): {counts.delivered} deliveries")
    if failed:
        output.warn(
            f"{failed} deliveries of {event_type} did not succeed at once: "
            f"{counts.retrying} waiting for a retry, {counts.dropped} dropped, "
            f"{counts.pending} not attempted yet"
        )
        output.info("See why: twilio-es local deliveries")
    if not counts.delivered and not failed:
        output.warn(
            f"Emitted {count} {event_type} event(s), but no active sink is subscribed to it"
        )
        output.info("Subscribe first: twilio-es subscribe --sink DG... --type " + event_type)


def _data_option(data: str) -> dict[str, object]:
    """``--data``: a JSON object, or exit 2 in one line (never a parser's RecursionError)."""
    try:
        extra = json.loads(data)
    except RecursionError:
        raise UsageError(
            "--data nests too deeply to be event data",
            hint='Give a JSON object of a few levels, e.g. --data \'{"to": "+15555550100"}\'.',
        ) from None
    except ValueError as exc:
        raise UsageError(f"--data is not valid JSON: {exc}") from None
    if not isinstance(extra, dict):
        raise UsageError("--data must be a JSON object")
    if _depth(extra) > MAX_DATA_DEPTH:
        raise UsageError(
            f"--data nests deeper than {MAX_DATA_DEPTH} levels", hint="Event data is flat."
        )
    return extra


MAX_DATA_DEPTH = 32


def _depth(value: object) -> int:
    """How deeply ``value`` nests, counted without recursion (it may be ~1000 levels deep)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        deepest = max(deepest, level)
        if isinstance(item, dict):
            stack.extend((child, level + 1) for child in item.values())
        elif isinstance(item, list):
            stack.extend((child, level + 1) for child in item)
    return deepest


@contextmanager
def _type_hint(ctx: typer.Context, event_type: str) -> Iterator[None]:
    """The sandbox refuses an unknown type in its own words; add "did you mean" from its
    catalogue (the same one `twilio-es types list` shows)."""
    try:
        yield
    except UsageError as exc:
        if exc.hint is not None:
            raise
        from twilio_es_cli.catalog import Catalog, suggest

        try:
            names = [t.type for t in Catalog(clients(ctx).twilio()).types()]
        except TwilioEsError:
            raise exc from None
        if event_type in names:  # known, but refused (discontinued: Twilio sends none)
            exc.hint = f"See `twilio-es types show {event_type}` for its status and schema."
            raise
        close = suggest(event_type, names)
        # A well-formed name the catalogue lacks is "not found", exit 4, as in `subscribe`
        # and `types show` (docs/output.md); the sandbox's own answer is a 400.
        raise NotFoundError(
            exc.message,
            hint=(f"Did you mean {' or '.join(close)}? " if close else "")
            + "See `twilio-es types list --search TEXT`.",
        ) from exc


@app.command("deliveries")
def deliveries(
    ctx: typer.Context,
    state: Annotated[
        str | None,
        typer.Option(
            "--state",
            metavar="STATE",
            help="Only deliveries in this state: queued, in-flight, retrying, delivered, "
            "dropped or expired.",
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Show the running sandbox's delivery queue: what waits for a retry, and why.

    Deliveries are made as Twilio makes them: at once, then with backoff for up to four hours
    when a webhook answers 429 or 5xx, times out or refuses the connection (other answers drop
    the event). `local up --time-scale` makes that clock faster.

    \b
    Example:
      twilio-es local deliveries --state retrying
    """
    from twilio_es_cli import output
    from twilio_es_cli.local import admin

    states = ("queued", "in-flight", "retrying", "delivered", "dropped", "expired")
    if state is not None and state not in states:
        raise UsageError(f"--state must be one of {', '.join(states)}, not {state!r}")
    current = settings(ctx)
    admin.require_sandbox(current)
    current.twilio_credentials()
    queue = admin.deliveries(current, state)
    if as_json:
        output.print_json(queue["deliveries"])
        return
    output.print_table(
        admin.delivery_columns(),
        admin.delivery_rows(queue["deliveries"]),
        title=f"Deliveries (clock x{queue['time_scale']:g})",
    )


def register(root: typer.Typer) -> None:
    """Attach this module's commands to the root app."""
    root.add_typer(app)
