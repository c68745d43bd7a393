"""`twilio-es archive`: tail's reading, with the Parquet archive as its sink.

No reading loop of its own: :func:`run_archive` hands :func:`twilio_es_cli.tail.runner.run` an
:class:`ArchiveSink` (tail's :class:`~twilio_es_cli.tail.sink.EventSink` seam), so archive reads
every shard, follows resharding, survives throttling, starts at ``--from``/``--since``, stops
with ``--no-follow`` and reads through ``--efo`` exactly as ``tail`` does, with tail's
checkpoint, kept in ``DIR/.archive/checkpoint.json``. What the sink adds: events go to the
:class:`~twilio_es_cli.analytics.writer.ArchiveWriter`, and ``settle`` answers the oldest
event not yet in a durable file, so the checkpoint never passes one (see writer's docstring).
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from twilio_es_cli.analytics import layout
from twilio_es_cli.progress import TERMINAL, Reporter

if TYPE_CHECKING:
    from mypy_boto3_kinesis import KinesisClient

    from twilio_es_cli.analytics.writer import ArchiveWriter, WriterStats
    from twilio_es_cli.tail.decode import DecodedEvent
    from twilio_es_cli.tail.options import TailOptions
    from twilio_es_cli.tail.pipeline import TailSummary
    from twilio_es_cli.tail.records import KinesisRecord


class ArchiveSink:
    """The archive as tail's event sink (see the module docstring).

    ``settle`` and ``drain`` also roll the partitions whose buffer is ``max_age`` old, so a
    quiet stream's events reach a file (and the checkpoint) within that time; ``finish``
    rolls everything before the run's last checkpoint save, so a finished run leaves nothing
    for the next one to read again; ``close`` does the same for a run that ended otherwise.
    """

    def __init__(self, writer: ArchiveWriter, report: Reporter = TERMINAL) -> None:
        self.writer = writer
        self.report = report
        self._files = 0

    def write(self, record: KinesisRecord, decoded: DecodedEvent) -> None:
        self.writer.add(record, decoded)
        self._tell()

    def drain(self) -> None:
        self.writer.roll_due()
        self._tell()

    def settle(self) -> int | None:
        self.writer.roll_due()
        self._tell()
        return self.writer.oldest_pending()

    def finish(self) -> None:
        self.writer.roll_all()
        self._tell()

    def close(self) -> None:
        try:
            self.finish()
        finally:
            self.writer.close()

    def _tell(self) -> None:
        """One progress line whenever files were written (stderr, through the reporter)."""
        stats = self.writer.stats
        if stats.files == self._files:
            return
        made, self._files = stats.files - self._files, stats.files
        self.report.note(
            f"{made} file{'s' if made != 1 else ''} written; {stats.events:,} events archived "
            f"in {stats.files:,} files ({stats.bytes / 1e6:,.1f} MB) so far"
        )


@dataclass(frozen=True)
class ArchiveSummary:
    """The read (tail's summary) and what was written."""

    read: TailSummary
    written: WriterStats
    root: Path

    def line(self) -> str:
        w = self.written
        files = f"{w.files:,} file{'s' if w.files != 1 else ''}"
        size = f"{w.bytes / 1e6:,.1f} MB"
        where = f"under {self.root}"
        return f"archived {w.events:,} events into {files} ({size}) {where}; {self.read.line()}"


def run_archive(
    kinesis: KinesisClient,
    stream: str,
    root: Path,
    options: TailOptions,
    *,
    max_bytes: int,
    max_age: float,
    efo: bool = False,
    report: Reporter = TERMINAL,
    started: Callable[[], None] | None = None,
) -> ArchiveSummary:
    """Archive ``stream`` into ``root`` until a stop rule, a signal or an error ends it.

    Holds ``root``'s lock for the whole run (a second archiver gets a one-line error), and
    removes what a killed run left first (spools, hidden temporary files). ``options`` are
    tail's (start, follow, timeout); the checkpoint is always ``root``'s own. ``started`` is
    called once the lock is held (a command's "Archiving ..." line comes after any refusal).
    """
    from twilio_es_cli.analytics.engine import connect
    from twilio_es_cli.analytics.lock import DirectoryLock
    from twilio_es_cli.analytics.writer import ArchiveWriter, clean_leftovers
    from twilio_es_cli.shards import list_shards
    from twilio_es_cli.tail import runner

    if not layout.state_dir(root).is_dir():
        # A new archive: the stream is asked for before its folder is made, so a mistyped
        # name (exit 4) or missing credentials leave no folder behind. One ListShards call.
        list_shards(kinesis, stream)
    state = layout.state_dir(root)
    layout.ensure_dir(state)
    with DirectoryLock(state / layout.LOCK, what=str(root)):
        if started is not None:
            started()
        clean_leftovers(root)
        # One DuckDB thread: files are written in the background, beside the reading, and
        # each thread of DuckDB's keeps its own buffers (peak memory ~40 MB lower, measured).
        writer = ArchiveWriter(
            root, connect(threads=1), max_bytes=max_bytes, max_age=max_age, background=True
        )
        options = dataclasses.replace(options, checkpoint=state / layout.CHECKPOINT)

        def sink(stop: threading.Event) -> ArchiveSink:
            return ArchiveSink(writer, report)

        read = runner.run(kinesis, stream, options, sink=sink, efo=efo, report=report)
    return ArchiveSummary(read, writer.stats, root)
