"""`twilio-es archive`: a stream's events as Parquet files, read the way `tail` reads."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from twilio_es_cli.cli import _common
from twilio_es_cli.errors import ExitCode, UsageError

if TYPE_CHECKING:
    from collections.abc import Callable

    from twilio_es_cli.analytics.s3_archive import S3Location
    from twilio_es_cli.tail.options import TailOptions

DEFAULT_DIR = Path("twilio-events")  # analytics.layout.DEFAULT_DIR (not imported for --help)
MAX_BUFFER_MB = 128  # Firehose's BufferingHints.SizeInMBs range is 1-128
MAX_INTERVAL = 900.0  # and IntervalInSeconds 0-900


def archive(
    ctx: typer.Context,
    stream: _common.StreamReadArgument = None,
    directory: Annotated[
        str,
        typer.Option(
            "--dir",
            metavar="DIR",
            help="Where the Parquet files go: a folder, or s3://BUCKET/PREFIX.",
        ),
    ] = str(DEFAULT_DIR),
    from_: Annotated[
        str | None,
        typer.Option(
            "--from",
            metavar="WHEN",
            help="Where a first run starts: trim-horizon (default: all the stream still "
            "holds), latest, or an ISO 8601 time; later runs go on from DIR's checkpoint.",
            show_default=False,
        ),
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(
            "--since", metavar="DURATION", help="Start this long ago: 2h, 1d.", show_default=False
        ),
    ] = None,
    follow: Annotated[
        bool,
        typer.Option(
            "--follow/--no-follow",
            help="Keep archiving new events (default), or stop once every shard is caught up.",
        ),
    ] = True,
    timeout: Annotated[
        float | None,
        typer.Option("--timeout", min=0.0, metavar="SECONDS", help="Stop after this many seconds."),
    ] = None,
    buffer_size: Annotated[
        float,
        typer.Option(
            "--buffer-size",
            metavar="MB",
            help="A type's buffer becomes a file at this size (Firehose's SizeInMBs).",
        ),
    ] = 32.0,
    buffer_interval: Annotated[
        float,
        typer.Option(
            "--buffer-interval",
            metavar="SECONDS",
            help="... or when its first event is this old (Firehose's IntervalInSeconds).",
        ),
    ] = 60.0,
    efo: Annotated[
        bool,
        typer.Option(
            "--efo",
            help="Read through a stream consumer of its own (enhanced fan-out), as tail --efo; "
            "billed per consumer-shard hour and GB.",
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
) -> None:
    """Keep a stream's events as Parquet files, by event type and UTC day, for `query`.

    Reads exactly as `tail` does (every shard, resharding, throttling, --from/--since,
    --no-follow, --efo) and writes DIR/type=TYPE/date=YYYY-MM-DD/part-*.parquet. A type's
    buffer becomes a file when it reaches --buffer-size or --buffer-interval, and at the end;
    each file appears whole (written aside, fsynced, renamed). The checkpoint in
    DIR/.archive moves only past events already in a file: after kill -9 the next run reads
    again what was not, and `query`'s views remove the repeats. One archiver per DIR.
    Needs the analytics extra: pip install 'twilio-es[analytics]'.

    With --dir s3://BUCKET/PREFIX the same layout goes straight to S3 (the layout the
    archive: block's Glue table reads: `query --athena` sees it): each file is PUT whole
    (atomic) and its events count as kept only then. The checkpoint stays in a local work
    directory (~/.cache/twilio-es/archive/...) and is copied to PREFIX/.archive/ as it
    moves, so another machine goes on from there.

    Exit status: 0 when it stopped by --no-follow, --timeout or SIGTERM; 130 after Ctrl-C;
    1 when DIR is being archived by another process; 3 without DuckDB; 4 if the stream does
    not exist.

    \b
    Examples:
      twilio-es archive                                   # stream from ./twilio-sink.json
      twilio-es archive twilio-events --no-follow         # all the stream holds, then stop
      twilio-es archive twilio-events --from latest       # only what arrives from now on
      twilio-es archive twilio-events --dir /data/twilio --buffer-interval 300
      twilio-es archive twilio-events --dir s3://acme-twilio/events/
      twilio-es query delivery-status --dir /data/twilio --chart
    """
    from twilio_es_cli import output
    from twilio_es_cli.analytics.engine import require_duckdb
    from twilio_es_cli.analytics.s3_archive import S3Location
    from twilio_es_cli.cli.tail import resolve_stream
    from twilio_es_cli.tail.options import TailOptions
    from twilio_es_cli.tail.positions import StartPosition, parse_start

    start = parse_start(from_, since)
    stream = resolve_stream(stream, sink_config)
    max_bytes = _buffer_size(buffer_size)
    _check_interval(buffer_interval)
    if not directory.strip():  # Path("") is the current folder: its files would be mixed in
        raise UsageError(
            "--dir is empty", hint=f"Name a folder for the archive (default {DEFAULT_DIR})."
        )
    location = S3Location.parse(directory)
    if location is None:
        _check_dir(Path(directory), stream)
    require_duckdb()
    options = TailOptions(
        start=start or StartPosition.trim_horizon(),  # an archive keeps all it can
        explicit_start=start is not None,
        follow=follow,
        timeout=timeout,
    )

    def started() -> None:
        if follow and timeout is None:
            output.info(f"Archiving {stream} into {directory} (Ctrl-C to stop) ...")

    where = location or Path(directory)
    code = _run(ctx, stream, where, options, max_bytes, buffer_interval, efo, started)
    if code:
        raise typer.Exit(code)


def _run(
    ctx: typer.Context,
    stream: str,
    directory: Path | S3Location,
    options: TailOptions,
    max_bytes: int,
    max_age: float,
    efo: bool,
    started: Callable[[], None],
) -> int:
    import sys

    from twilio_es_cli import output
    from twilio_es_cli.analytics.archive import ArchiveSummary, run_archive

    made = _common.clients(ctx)
    kinesis = made.stream_kinesis(stream)
    summary: ArchiveSummary
    if isinstance(directory, Path):
        summary = run_archive(
            kinesis,
            stream,
            directory,
            options,
            max_bytes=max_bytes,
            max_age=max_age,
            efo=efo,
            started=started,
        )
    else:
        from twilio_es_cli.analytics.s3_archive import run_s3_archive

        summary = run_s3_archive(
            kinesis,
            made.aws().s3(),
            stream,
            directory,
            options,
            max_bytes=max_bytes,
            max_age=max_age,
            efo=efo,
            started=started,
        )
    if summary.read.interrupted and output.is_tty(sys.stderr):
        sys.stderr.write("\n")  # the terminal echoed ^C
    if summary.written.not_cloudevents:
        output.warn(
            f"{summary.written.not_cloudevents} record(s) were not CloudEvents "
            "(kept in not-cloudevents/, view not_cloudevents)"
        )
    output.info(summary.line())
    return int(ExitCode.INTERRUPTED) if summary.read.interrupted else 0


def _buffer_size(megabytes: float) -> int:
    if not (math.isfinite(megabytes) and 0 < megabytes <= MAX_BUFFER_MB):
        raise UsageError(
            f"--buffer-size must be more than 0 and at most {MAX_BUFFER_MB} MB, not {megabytes}",
            hint="Firehose's buffers go from 1 to 128 MB; 32 is the default here.",
        )
    return max(1, int(megabytes * 1024 * 1024))


def _check_interval(seconds: float) -> None:
    if not (math.isfinite(seconds) and 0 <= seconds <= MAX_INTERVAL):
        raise UsageError(
            f"--buffer-interval must be 0 to {MAX_INTERVAL:g} seconds, not {seconds}",
            hint="Firehose's interval goes from 0 to 900 s; 60 is the default here.",
        )


def _check_dir(directory: Path, stream: str) -> None:
    """DIR is a folder (or can become one), and its checkpoint is for this stream."""
    from twilio_es_cli.analytics import layout

    if directory.exists() and not directory.is_dir():
        raise UsageError(
            f"--dir {directory} is not a directory", hint="Name a folder for the archive."
        )
    checkpoint = layout.state_dir(directory) / layout.CHECKPOINT
    if checkpoint.exists():
        from twilio_es_cli.tail.checkpoint import Checkpoint
        from twilio_es_cli.tail.positions import StartPosition

        Checkpoint.open(checkpoint, stream, StartPosition.latest())  # another stream's: exit 2


def register(root: typer.Typer) -> None:
    """Attach this module's commands to the root app."""
    root.command("archive")(archive)
