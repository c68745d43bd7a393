"""`twilio-es tail` and `twilio-es stream tail` (the same command, registered twice)."""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from twilio_es_cli import arns
from twilio_es_cli.cli import _common, webhook
from twilio_es_cli.errors import ConfigError, ExitCode, UsageError

if TYPE_CHECKING:
    import threading
    from collections.abc import Callable

    from twilio_es_cli.clients import Clients
    from twilio_es_cli.tail.checkpoint import CheckpointLock
    from twilio_es_cli.tail.options import TailOptions
    from twilio_es_cli.webhook.forward import Forwarder

DEFAULT_SINK_CONFIG = Path("twilio-sink.json")


class OutputFormat(str, Enum):
    pretty = "pretty"
    json = "json"
    jsonl = "jsonl"
    raw = "raw"


def _stream_from_sink_config(path: Path, *, explicit: bool) -> str:
    """The stream ARN in a sink config file (``stream create > twilio-sink.json``)."""
    if not path.exists():
        if explicit:
            raise ConfigError(f"sink config file {path} does not exist")
        raise UsageError(
            "no STREAM given and no ./twilio-sink.json here",
            hint="Pass the stream name or ARN, or --sink-config FILE "
            "(the output of `twilio-es stream create NAME 1 > twilio-sink.json`).",
        )
    from twilio_es_cli.models import sink_file_fields

    hint = 'Expected {"arn": "arn:aws:kinesis:...", "role_arn": ..., "external_id": ...}.'
    # The file is configuration, so its problems are exit 3 here (tail's contract), not exit 2.
    try:
        fields = sink_file_fields(
            path.read_text(encoding="utf-8"), source=f"sink config file {path}"
        )
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(
            f"sink config file {path} has no stream ARN ({str(exc).splitlines()[0][:120]})",
            hint=hint,
        ) from exc
    except UsageError as exc:
        raise ConfigError(exc.message, hint=hint) from exc
    arn = fields.get("arn")
    if arn is None:
        raise ConfigError(f"sink config file {path} has no stream ARN ('arn')", hint=hint)
    if not isinstance(arn, str) or arns.parse_stream(arn) is None:
        raise ConfigError(f"sink config file {path}: {arn!r} is not a Kinesis stream ARN")
    return arn.strip()


def tail(
    ctx: typer.Context,
    stream: _common.StreamReadArgument = None,
    from_: Annotated[
        str | None,
        typer.Option(
            "--from",
            metavar="WHEN",
            help="Where to start: latest (default), trim-horizon, or an ISO 8601 time "
            "(UTC unless it has an offset).",
            show_default=False,
        ),
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(
            "--since",
            metavar="DURATION",
            help="Start this long ago: 30s, 15m, 2h, 1d.",
            show_default=False,
        ),
    ] = None,
    checkpoint: Annotated[
        Path | None,
        typer.Option(
            "--checkpoint",
            metavar="FILE",
            help="Resume right after the last event handled, per shard; saved atomically.",
            show_default=False,
        ),
    ] = None,
    follow: Annotated[
        bool,
        typer.Option(
            "--follow/--no-follow",
            help="Keep waiting for new events (default), or stop once every shard is caught up.",
        ),
    ] = True,
    max_events: Annotated[
        int | None,
        typer.Option(
            "--max", min=1, metavar="N", help="Stop after this many events.", show_default=False
        ),
    ] = None,
    timeout: Annotated[
        float | None,
        typer.Option(
            "--timeout",
            min=0.0,
            metavar="SECONDS",
            help="Stop after this many seconds.",
            show_default=False,
        ),
    ] = None,
    types: Annotated[
        list[str] | None,
        typer.Option(
            "--type",
            metavar="GLOB",
            help="Only events whose type matches this glob (repeatable), "
            "e.g. 'com.twilio.messaging.*'.",
            show_default=False,
        ),
    ] = None,
    dedupe: Annotated[
        bool,
        typer.Option(
            "--dedupe", help="Drop repeats of a CloudEvent id (Twilio delivers at least once)."
        ),
    ] = False,
    output_format: Annotated[
        OutputFormat | None,
        typer.Option(
            "--output",
            "-o",
            help="pretty, json, jsonl or raw (default: pretty on a terminal, jsonl when piped).",
            show_default=False,
        ),
    ] = None,
    expand: Annotated[
        bool,
        typer.Option(
            "--expand-json", help="Also parse JSON held in strings inside data (nested JSON)."
        ),
    ] = False,
    efo: Annotated[
        bool,
        typer.Option(
            "--efo",
            help="Enhanced fan-out: register a stream consumer of its own and be pushed "
            "records (SubscribeToShard, 2 MB/s per shard for this tail alone), so production "
            "readers keep their 5 GetRecords/s per shard. Costs money: AWS bills each "
            "consumer-shard hour and each GB read this way. Deregistered when tail stops.",
        ),
    ] = False,
    sink_config: Annotated[
        Path | None,
        typer.Option(
            "--sink-config",
            metavar="FILE",
            help="Read the stream ARN from this sink config file.",
            show_default=False,
        ),
    ] = None,
    stats: Annotated[
        bool,
        typer.Option(
            "--stats",
            help="A live view instead of the events: events per second per type over the "
            "last minute, each shard's lag and read rate, totals, duplicates, the last events "
            "(q or Ctrl-C leaves). Piped, one JSON summary per --stats-interval.",
        ),
    ] = False,
    stats_interval: Annotated[
        float,
        typer.Option(
            "--stats-interval",
            min=0.1,
            metavar="SECONDS",
            help="With --stats and stdout not a terminal: seconds between JSON summaries.",
        ),
    ] = 5.0,
    forward_to: webhook.ForwardToOption = None,
    header: webhook.HeaderOption = None,
    signing_token: webhook.TokenOption = None,
    rate: webhook.RateOption = None,
    concurrency: webhook.ConcurrencyOption = 1,
    batch: webhook.BatchOption = 1,
) -> None:
    """Show the events in a Kinesis stream: all shards, resharding-safe, decoded.

    Reads every shard concurrently within Kinesis limits, follows child shards after a
    reshard (parents first, so each partition key stays in order), survives throttling,
    expired iterators and lost connections without losing or repeating an event, and decodes
    Twilio's CloudEvents (data as a JSON string or object). Records that are not CloudEvents
    are shown raw, with a warning.

    With --efo it reads through a consumer named twilio-es-USER-HOST-PID-TAG (listed by
    `stream describe`), renews each shard's subscription every 5 minutes and removes a
    consumer a killed run of yours left behind.

    Exit status: 0 when it stopped by --no-follow, --max, --timeout, SIGTERM or a closed
    pipe; 1 when --forward-to gave up on events (a handler down or failing for 60 s in a
    run that ends by itself); 130 after Ctrl-C (a summary is printed on stderr first); 2 if
    the --checkpoint file is held by another tail (its pid is named) or is not a
    checkpoint; 4 if the stream does not exist or is deleted while reading.

    \b
    Examples:
      twilio-es tail                                   # stream from ./twilio-sink.json
      twilio-es tail twilio-events --since 15m --type 'com.twilio.messaging.*'
      twilio-es tail twilio-events --from trim-horizon --no-follow -o jsonl | jq .data
      twilio-es tail twilio-events --checkpoint .tail-state.json --dedupe -o jsonl >> events.jsonl
      twilio-es tail --checkpoint .fwd.json --forward-to http://localhost:3000/twilio/events
      twilio-es tail twilio-events --efo                # its own read budget, billed per hour
      twilio-es tail twilio-events --stats              # live view: rates, lag, last events
      twilio-es tail twilio-events --stats | jq .per_second   # a JSON summary every 5 s
    """
    from twilio_es_cli import output
    from twilio_es_cli.tail.options import TailOptions
    from twilio_es_cli.tail.positions import StartPosition, parse_start

    start = parse_start(from_, since)
    stream = resolve_stream(stream, sink_config)
    if any(not pattern.strip() for pattern in types or ()):
        raise UsageError("--type is empty", hint="Give a type or a glob: --type 'com.twilio.*'.")
    if checkpoint is not None:
        from twilio_es_cli.tail.checkpoint import Checkpoint

        # A new file's directory must be writable, an existing file a checkpoint for this
        # stream: said before "Tailing ..." and before any call (run_tail opens it again).
        Checkpoint.open(checkpoint, stream, StartPosition.latest())
    if stats:
        _check_stats(output_format, checkpoint, forward_to)
    tty = output.is_tty(sys.stdout)
    fmt = output_format.value if output_format is not None else ("pretty" if tty else "jsonl")
    options = TailOptions(
        start=start or StartPosition.latest(),
        explicit_start=start is not None,
        follow=follow,
        max_events=max_events,
        timeout=timeout,
        types=tuple(types or ()),
        dedupe=dedupe or stats,  # --stats counts duplicates
        expand=expand,
        output=fmt,
        tty=tty,
        checkpoint=checkpoint,
    )
    forward = webhook.tail_forwarding(  # --forward-to: deliveries replace event lines
        forward_to,
        header,
        signing_token,
        rate,
        concurrency,
        batch,
        fmt,
        ends_by_itself=not follow or max_events is not None or timeout is not None,
        run_timeout=timeout,
    )
    lock = _lock(checkpoint)  # held from here (before any call) to the run's last save
    try:
        if types:
            _check_types(_common.clients(ctx), types)
        code = _run(
            _common.clients(ctx),
            stream,
            options,
            forward,
            efo=efo,
            stats=stats_interval if stats else None,
            lock=lock,
        )
    finally:
        if lock is not None:
            lock.release()
    if code:
        raise typer.Exit(code)


def _lock(checkpoint: Path | None) -> CheckpointLock | None:
    """One tail per checkpoint file: a second one is refused here (exit 2, with the pid of
    the tail holding it), before any call, an EFO consumer or a line of output."""
    if checkpoint is None:
        return None
    from twilio_es_cli.tail.checkpoint import CheckpointLock

    return CheckpointLock(checkpoint).acquire()


def _run(
    factory: Clients,
    stream: str,
    options: TailOptions,
    forward: Callable[..., Forwarder] | None = None,
    *,
    efo: bool = False,
    stats: float | None = None,
    lock: CheckpointLock | None = None,
) -> int:
    """Call the runner and render what it returns; the exit code."""
    from twilio_es_cli import output
    from twilio_es_cli.tail import runner

    # The invocation's one factory (tests replace it): in the region the stream's ARN names,
    # one botocore attempt per call (see Clients.stream_kinesis).
    kinesis = factory.stream_kinesis(stream)
    full_screen = stats is not None and options.tty
    endless = options.follow and options.max_events is None and options.timeout is None
    if endless and not full_screen:
        output.info(f"Tailing {stream} (Ctrl-C to stop) ...")
    forwarders: list[Forwarder] = []

    def forwarder(stop: threading.Event) -> Forwarder:
        assert forward is not None
        forwarders.append(forward(stop=stop))
        return forwarders[-1]

    # `tail | head` raises BrokenPipeError out of the run (reader threads already stopped,
    # checkpoint saved); the root `run()` turns it into a quiet exit 0.
    summary = runner.run(
        kinesis,
        stream,
        options,
        sink=forwarder if forward is not None else None,
        efo=efo,
        stats=stats,
        checkpoint_lock=lock,
    )
    if summary.interrupted and output.is_tty(sys.stderr):
        sys.stderr.write("\n")  # the terminal echoed ^C: start the summary on its own line
    if summary.not_cloudevents:
        output.warn(f"{summary.not_cloudevents} record(s) were not CloudEvents")
    output.info(summary.line())
    for sent in forwarders:
        output.info(sent.summary.line())
    if summary.interrupted:
        return int(ExitCode.INTERRUPTED)
    for sent in forwarders:
        _check_abandoned(sent, checkpoint=options.checkpoint is not None)
    return 0


def _check_abandoned(sent: Forwarder, *, checkpoint: bool) -> None:
    """Exit 1 when --forward-to abandoned events that no stop or --timeout asked it to."""
    from twilio_es_cli.errors import ApiError

    done = sent.summary
    if not done.unasked:
        return
    again = (
        "run the same command again: the checkpoint sends what was not delivered"
        if checkpoint
        else "run it again (with --checkpoint FILE a re-run sends exactly what was not delivered)"
    )
    raise ApiError(
        f"--forward-to {sent.target.url}: {done.abandoned} event(s) not delivered "
        f"({done.why_abandoned})",
        hint=f"Start the handler or fix what it answers, then {again}.",
    )


CATALOGUE_WAIT = 3.0  # seconds tail waits for the catalogue before it reads without the check


def _check_types(factory: Clients, patterns: list[str]) -> None:
    """Warn about --type globs that match no type in the catalogue, with close matches.

    Still reading: custom and newer types exist, so this is a warning, never an error. The
    catalogue comes from the Events API: without Twilio credentials nothing is said (tail
    needs only AWS); when the API does not answer within :data:`CATALOGUE_WAIT` seconds, or
    fails, one note says the check was skipped.
    """
    import threading

    from twilio_es_cli import output
    from twilio_es_cli.errors import TwilioEsError

    answer: list[list[str] | TwilioEsError] = []

    def fetch() -> None:
        from twilio_es_cli.catalog import Catalog
        from twilio_es_cli.sink_validation import TEST_EVENT_TYPE

        try:
            answer.append([TEST_EVENT_TYPE, *(t.type for t in Catalog(factory.twilio()).types())])
        except TwilioEsError as exc:
            answer.append(exc)

    worker = threading.Thread(target=fetch, name="catalogue", daemon=True)
    worker.start()
    worker.join(CATALOGUE_WAIT)
    if not answer:
        output.info(
            f"note: --type not checked (the catalogue did not answer in {CATALOGUE_WAIT:g} s)"
        )
        return
    found = answer[0]
    if isinstance(found, ConfigError):
        return  # no Twilio credentials: tail does not need them
    if isinstance(found, TwilioEsError):
        output.info(f"note: --type not checked against the catalogue ({found.message})")
        return
    from twilio_es_cli.catalog import unmatched_globs

    for pattern, close in unmatched_globs(patterns, found):
        hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
        output.warn(
            f"--type {pattern!r} matches no event type in the catalogue{hint} (reading "
            "anyway: custom and newer types may exist; `twilio-es types list` shows them)"
        )


def _check_stats(
    output_format: OutputFormat | None, checkpoint: Path | None, forward_to: object
) -> None:
    """--stats shows counts, not events: it does not combine with what shapes or keeps them."""
    for given, flag in ((output_format, "--output"), (checkpoint, "--checkpoint")):
        if given is not None:
            raise UsageError(
                f"--stats cannot be combined with {flag}",
                hint="--stats shows counts instead of the events; run a second tail for them.",
            )
    if forward_to:
        raise UsageError(
            "--stats cannot be combined with --forward-to",
            hint="--stats shows counts instead of the events; run a second tail for them.",
        )


def resolve_stream(stream: str | None, sink_config: Path | None) -> str:
    """STREAM as given (checked), else the arn of ``--sink-config`` or ./twilio-sink.json:
    what every command that reads a stream takes (tail, archive)."""
    if stream is None:
        stream = _stream_from_sink_config(
            sink_config or DEFAULT_SINK_CONFIG, explicit=sink_config is not None
        )
    elif sink_config is not None:
        raise UsageError("give either STREAM or --sink-config, not both")
    _check_stream(stream)
    return stream


def _check_stream(stream: str) -> None:
    """A stream name, or a Kinesis stream ARN with a valid name (checked before any call)."""
    if not stream.strip():
        raise UsageError("STREAM is empty", hint="Pass a stream name or ARN.")
    if arns.is_arn(stream):
        if arns.parse_stream(stream) is None:
            raise UsageError(
                f"{stream!r} is not a Kinesis stream ARN",
                hint="Expected arn:aws:kinesis:REGION:ACCOUNT:stream/NAME, or pass the name.",
            )
        return
    if arns.STREAM_NAME.fullmatch(stream):  # the same rule, without importing streams' IAM
        return
    from twilio_es_cli.streams import validate_stream_name

    validate_stream_name(stream)  # raises the one message for a bad name


def register(root: typer.Typer) -> None:
    """Attach ``tail`` to the root app and, as ``stream tail``, to the stream group."""
    from twilio_es_cli.cli import stream

    root.command("tail")(tail)
    stream.app.command("tail")(tail)
