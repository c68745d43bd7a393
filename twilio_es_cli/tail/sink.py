"""Where a run's events go: the :class:`EventSink` seam, and which of them are durable.

The pipeline (:func:`twilio_es_cli.tail.pipeline.run_tail`) reads, decodes, filters and
dedupes; every event that passes goes to one sink, in order: ``tail``'s renderers
(:mod:`twilio_es_cli.tail.render`), ``--forward-to``'s
:class:`~twilio_es_cli.webhook.forward.Forwarder`, ``--stats``'
:class:`~twilio_es_cli.tail.stats.LastEvents`, and any other consumer of decoded events
(``archive``, writing Parquet files, is the next) with no copy of the reading loop.

What a sink promises decides how far the checkpoint may move. Events written to it are numbered from
0 in the order :meth:`EventSink.write` was called in this run; before each checkpoint save the
pipeline calls :meth:`EventSink.settle` (and :meth:`EventSink.finish` before the last one), which
makes durable what it can now and answers the number of the oldest written event that is *not*
durable yet (None: all are). The checkpoint then advances only past records whose events, and every
event written before them, are durable (:class:`~twilio_es_cli.tail.checkpoint.CheckpointSaver`): a
crash or ``kill -9`` may repeat events, never lose one. A renderer's events are durable once flushed
(and fsynced into a regular file); a forwarder's once delivered or dropped; an archive's once the
file holding them is renamed into place, which need not be in write order.
"""

from __future__ import annotations

import contextlib
import os
import stat
from typing import TYPE_CHECKING, Protocol, TextIO

if TYPE_CHECKING:
    from twilio_es_cli.tail.decode import DecodedEvent
    from twilio_es_cli.tail.records import KinesisRecord


class EventSink(Protocol):
    """A consumer of decoded events (see the module docstring)."""

    def write(self, record: KinesisRecord, decoded: DecodedEvent) -> None:
        """Take one event (``record`` is where it came from; a KPL user record has
        ``subsequence`` set). Called in the pipeline's thread, in stream order per shard."""

    def drain(self) -> None:
        """Hand on what is buffered: called whenever the reader is about to wait for records,
        so output leaves in batches yet nothing waits for the next event."""

    def settle(self) -> int | None:
        """Make durable what can be now; the number of the oldest written event that is still
        not durable, or None when every event written so far is (checkpoint saves ask)."""

    def finish(self) -> None:
        """The run is ending, however it ends: make durable what can be (a partial file
        rolled), so the last checkpoint save, which settles next, can pass it."""

    def close(self) -> None:
        """The run is over (however it ended): finish or abandon what is pending."""


class BaseSink:
    """Defaults for a sink with nothing buffered and nothing to make durable."""

    def write(self, record: KinesisRecord, decoded: DecodedEvent) -> None:
        raise NotImplementedError

    def drain(self) -> None:
        return None

    def settle(self) -> int | None:
        return None

    def finish(self) -> None:
        return None

    def close(self) -> None:
        return None


class TextSink(BaseSink):
    """A sink that writes to a text stream (``tail``'s output formats): an event is durable
    once drained and flushed out of this process, and fsynced when ``out`` is a regular file
    (``>> events.jsonl`` then survives a machine crash too). A closed pipe settles as well:
    nothing more can be shown, and nothing shown is lost by saving."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self._regular_file: bool | None = None

    def settle(self) -> int | None:
        self.drain()
        with contextlib.suppress(OSError, ValueError):  # a closed pipe: nothing more was shown
            self.out.flush()
            if self._regular_file is None:
                self._regular_file = is_regular_file(self.out)
            if self._regular_file:
                os.fsync(self.out.fileno())
        return None


def is_regular_file(out: TextIO) -> bool:
    """Whether ``out`` writes to a regular file (not a pipe, a terminal or memory)."""
    try:
        return stat.S_ISREG(os.fstat(out.fileno()).st_mode)
    except (OSError, ValueError, AttributeError):  # StringIO, closed streams
        return False
