"""One pass of ``tail`` over a stream: read -> decode -> filter -> dedupe -> sink -> checkpoint.

Reading is :func:`twilio_es_cli.tail.reader.read_stream`; decoding
:mod:`twilio_es_cli.tail.decode`; the filters :mod:`twilio_es_cli.tail.filters`; where events go
an :class:`~twilio_es_cli.tail.sink.EventSink` (by default a renderer of
:mod:`twilio_es_cli.tail.render`); the checkpoint :mod:`twilio_es_cli.tail.checkpoint`. This
module applies the stop rules (``--max``, ``--timeout``, ``--no-follow``, a stop flag) against a
plain Kinesis client and an output stream, so tests drive it against moto or kinesis-local; the
process around it (signals, threads, lifetimes) is :mod:`twilio_es_cli.tail.runner`'s.
"""

from __future__ import annotations

import contextlib
import dataclasses
import select
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, TextIO

from twilio_es_cli.progress import TERMINAL, Reporter
from twilio_es_cli.tail.filters import Deduper, TypeFilter
from twilio_es_cli.tail.reader import read_stream
from twilio_es_cli.tail.records import KinesisRecord

if TYPE_CHECKING:
    from mypy_boto3_kinesis import KinesisClient

    from twilio_es_cli.tail.checkpoint import CheckpointLock, CheckpointSaver
    from twilio_es_cli.tail.options import TailOptions
    from twilio_es_cli.tail.shard_reader import ShardReader
    from twilio_es_cli.tail.sink import EventSink


@dataclass
class TailSummary:
    """What happened, for the closing line on stderr."""

    emitted: int = 0
    read: int = 0
    filtered: int = 0
    duplicates: int = 0
    not_cloudevents: int = 0
    shards: set[str] = field(default_factory=set)  # shards read (with or without events)
    elapsed: float = 0.0
    interrupted: bool = False
    reason: str = ""
    # shard id -> MillisBehindLatest of its last read (kept up to date by the reader)
    behind: dict[str, int] = field(default_factory=dict)

    def line(self) -> str:
        noun = "event" if self.emitted == 1 else "events"
        extras = []
        if self.filtered:
            extras.append(f"{self.filtered} filtered out")
        if self.duplicates:
            extras.append(f"{self.duplicates} duplicate{'s' if self.duplicates != 1 else ''}")
        if self.not_cloudevents:
            extras.append(f"{self.not_cloudevents} not CloudEvents")
        more = f" ({', '.join(extras)})" if extras else ""
        shard_count = len(self.shards)
        return (
            f"{self.emitted} {noun} from {shard_count} shard{'s' if shard_count != 1 else ''}"
            f"{more} in {self.elapsed:.1f}s{f'; {self.reason}' if self.reason else ''}"
        )


class TailObserver(Protocol):
    """Watches a run of ``tail`` from its consumer thread (the status line, ``--stats``)."""

    def started(self, summary: TailSummary) -> None:
        """The run begins; ``summary`` is updated as it goes (``behind`` included)."""

    def seen(self, record: KinesisRecord, event_type: str | None, outcome: str) -> None:
        """One record was handled: ``outcome`` is ``shown`` (called just before it is
        written), ``filtered`` or ``duplicate``; ``event_type`` is None for a non-CloudEvent."""

    def idle(self) -> None:
        """No record is waiting (about every 0.2 s while the stream is quiet)."""


class _Tail:
    """One run of ``tail``: decode, filter, dedupe, write and checkpoint each record."""

    def __init__(
        self,
        options: TailOptions,
        sink: EventSink,
        report: Reporter,
        observer: TailObserver | None = None,
    ) -> None:
        self.options = options
        self.sink = sink
        self.report = report
        self.observer = observer
        self.type_filter = TypeFilter(options.types)
        self.deduper = Deduper() if options.dedupe else None
        self.summary = TailSummary()
        self.warned = False
        # Imported here, not per record (an import statement costs as much as a dict of the
        # record), nor at module top (pydantic, on every tail module import).
        from twilio_es_cli.tail.decode import deaggregate, decode

        self._deaggregate = deaggregate
        self._decode = decode

    def handle(self, record: KinesisRecord) -> None:
        """Show one Kinesis record: its KPL user records one by one, or itself."""
        self.summary.read += 1
        users = self._deaggregate(record.data)
        if users is None:
            self.show(record)
            return
        for index, user in enumerate(users):
            self.show(
                dataclasses.replace(
                    record, partition_key=user.partition_key, data=user.data, subsequence=index
                )
            )
            if self.full() and index < len(users) - 1:
                raise _MaxReached  # stopped inside an aggregate: a resume shows it again

    def show(self, record: KinesisRecord) -> None:
        decoded = self._decode(record.data, expand=self.options.expand)
        attrs = decoded.attrs  # not decoded.event: jsonl output never needs the model built
        if attrs is None:
            self.summary.not_cloudevents += 1
            self.warn_once(record, decoded.error)
        event_type = attrs["type"] if attrs is not None else None
        if not self.type_filter.matches(event_type):
            self.summary.filtered += 1
            outcome = "filtered"
        elif (
            self.deduper is not None
            and attrs is not None
            and self.deduper.seen(attrs["source"], attrs["id"])
        ):
            self.summary.duplicates += 1
            outcome = "duplicate"
        else:
            if self.observer is not None:
                self.observer.seen(record, event_type, "shown")
            self.sink.write(record, decoded)
            self.summary.emitted += 1
            return
        if self.observer is not None:
            self.observer.seen(record, event_type, outcome)

    def warn_once(self, record: KinesisRecord, error: str | None) -> None:
        if self.warned:
            return
        self.warned = True
        self.report.warn(
            f"a record in {record.shard_id} (sequence {record.sequence_number}) "
            f"is not a CloudEvent ({error}); "
            + ("--type skips such records" if self.type_filter else "showing it raw")
        )

    def full(self) -> bool:
        return self.options.max_events is not None and (
            self.summary.emitted >= self.options.max_events
        )


class _MaxReached(Exception):
    """--max was reached inside a KPL-aggregated record (that record is not checkpointed)."""


def run_tail(
    kinesis: KinesisClient,
    stream: str,
    options: TailOptions,
    *,
    out: TextIO,
    stop: threading.Event | None = None,
    report: Reporter = TERMINAL,
    sink: EventSink | None = None,
    shard_reader: ShardReader | None = None,
    observer: TailObserver | None = None,
    checkpoint_lock: CheckpointLock | None = None,
) -> TailSummary:
    """Read ``stream``, filter, dedupe and hand events to ``sink`` until a stop rule fires.

    Ctrl-C (KeyboardInterrupt) ends it cleanly with ``summary.interrupted`` set; setting
    ``stop`` (the CLI does on SIGTERM) ends it after the record being written, with the
    checkpoint saved exactly there. A broken pipe
    (``| head``) propagates as BrokenPipeError after the checkpoint is saved and the reader
    threads are told to stop. The checkpoint only advances past records whose events the sink
    says are durable, and is saved as :class:`~twilio_es_cli.tail.checkpoint.CheckpointSaver`
    says (so a hard kill repeats little, loses none).

    ``sink`` (an :class:`~twilio_es_cli.tail.sink.EventSink`: ``tail --forward-to``'s
    forwarder, ``--stats``' last events, an archive) replaces the renderer of
    ``options.output`` writing to ``out``. It is drained whenever the reader waits, settled
    before each checkpoint save, finished before the last one (with a checkpoint), and not
    closed here (its owner closes it).
    ``shard_reader`` chooses how shards are read (``tail --efo``: SubscribeToShard).
    ``observer`` is told of each record and of quiet moments (see :class:`TailObserver`).
    With ``options.checkpoint`` the file is locked for the whole run (a second tail on it is
    refused) and checked against the shards the stream lists before reading;
    ``checkpoint_lock`` is that lock when the caller took it earlier (the CLI does, before
    any call) and releases it itself.

    While the stream is quiet, ``out`` is polled for an error or hang-up (as GNU ``tail -f``
    does): when the reader of a pipe went away (``tail | head -n 2`` after its two lines),
    BrokenPipeError is raised at once instead of at the next event, which may be hours away.
    """
    from twilio_es_cli.tail.checkpoint import CheckpointLock

    lock = checkpoint_lock
    if lock is None and options.checkpoint is not None:
        lock = CheckpointLock(options.checkpoint)
    try:
        return _run(kinesis, stream, options, out, stop, report, sink, shard_reader, observer, lock)
    finally:
        if lock is not None and checkpoint_lock is None:  # ours, after the last save
            lock.release()


def _run(
    kinesis: KinesisClient,
    stream: str,
    options: TailOptions,
    out: TextIO,
    stop: threading.Event | None,
    report: Reporter,
    sink: EventSink | None,
    shard_reader: ShardReader | None,
    observer: TailObserver | None,
    lock: CheckpointLock | None,
) -> TailSummary:
    """:func:`run_tail` with the checkpoint's lock held (``lock``, acquired here)."""
    from twilio_es_cli.shards import list_shards
    from twilio_es_cli.tail.checkpoint import CheckpointSaver, open_checkpoint
    from twilio_es_cli.tail.render import make_renderer

    if sink is None:
        sink = make_renderer(options.output, out, tty=options.tty)
    run = _Tail(options, sink, report, observer)
    summary = run.summary
    if observer is not None:
        observer.started(summary)
    started = time.monotonic()
    deadline = started + options.timeout if options.timeout is not None else None
    cp, start = open_checkpoint(
        options.checkpoint,
        stream,
        options.start,
        explicit_start=options.explicit_start,
        report=report,
        lock=lock,
    )
    listing = None
    if cp is not None:
        # The stream is listed before a new file is written: a mistyped name would otherwise
        # leave a checkpoint of a stream that does not exist, refused for the right one
        # ("belongs to stream ...") until deleted. A file that exists is checked against it.
        listing = list_shards(kinesis, stream)
        if cp.existed:
            cp.reconcile(listing, start, report)
    saver = CheckpointSaver(cp, sink) if cp else None
    if saver is not None:
        saver.save(force=True)  # the starting position is on disk before the first event
    records = read_stream(
        kinesis,
        stream,
        start,
        follow=options.follow,
        deadline=deadline,
        stop=stop,
        checkpoint=dict(cp.shards) if cp is not None else None,
        on_shard_end=saver.shard_ended if saver is not None else None,
        on_shard_start=summary.shards.add,  # "0 events from 4 shards", not "from 0 shards"
        on_idle=_idle_hook(saver, out, observer),
        on_drained=lambda: _drain(sink, out),  # lines leave when the reader waits for more
        report=report,
        shard_reader=shard_reader,
        behind=summary.behind,
        listing=listing,
    )
    try:
        with contextlib.closing(records):
            summary.reason = _consume(run, records, saver, stop, deadline)
        _drain(sink, out)  # the last lines (a broken pipe propagates, as from any flush)
    except KeyboardInterrupt:
        summary.interrupted = True
        summary.reason = "interrupted"
    finally:
        summary.elapsed = time.monotonic() - started
        if saver is not None:
            sink.finish()  # however the run ends: what can be durable is, before the last save
            saver.save()
        else:  # Ctrl-C: what was handled is shown (a closed pipe: nothing more can be)
            with contextlib.suppress(OSError, ValueError):
                _drain(sink, out)
    return summary


def _idle_hook(
    saver: CheckpointSaver | None, out: TextIO, observer: TailObserver | None
) -> Callable[[], None]:
    """What to do while no record is waiting: save the checkpoint, notice that ``out`` was
    closed by its reader (BrokenPipeError, after the save), let the observer update."""
    closed = OutputWatch(out)

    def idle() -> None:
        if saver is not None:
            saver.idle()
        if closed():
            raise BrokenPipeError("the reader of standard output went away")
        if observer is not None:
            observer.idle()

    return idle


class OutputWatch:
    """``watch()`` is True once the output's reader is gone (POLLERR or POLLHUP on its fd).

    The write end of a pipe reports POLLERR when the read end is closed, and a terminal
    POLLHUP when it hangs up; a regular file never does. Outputs without a descriptor
    (StringIO) are never reported closed.
    """

    def __init__(self, out: TextIO) -> None:
        self.poller: Any = None
        try:
            fd = out.fileno()
        except (OSError, ValueError, AttributeError):  # io.UnsupportedOperation is an OSError
            return
        if hasattr(select, "poll"):
            self.poller = select.poll()
            self.poller.register(fd, 0)  # POLLERR/POLLHUP are always reported

    def __call__(self) -> bool:
        if self.poller is None:
            return False
        return any(mask & (select.POLLERR | select.POLLHUP) for _, mask in self.poller.poll(0))


def _consume(
    run: _Tail,
    records: Any,
    saver: CheckpointSaver | None,
    stop: threading.Event | None,
    deadline: float | None,
) -> str:
    """Handle records until a stop rule fires; returns the reason for the summary line."""
    options = run.options
    for record in records:
        try:
            run.handle(record)
        except _MaxReached:
            return f"stopped after --max {options.max_events}"
        if saver is not None:
            saver.handled(record, run.summary.emitted)
        if run.full():
            return f"stopped after --max {options.max_events}"
        if stop is not None and stop.is_set():  # between records: checkpoint exact
            return "stop requested"
    if stop is not None and stop.is_set():
        return "stop requested"
    if deadline is not None and time.monotonic() >= deadline:
        return f"--timeout {options.timeout:g}s reached"
    return "caught up" if not options.follow else ""


def _drain(sink: EventSink, out: TextIO) -> None:
    """Hand the sink's buffered lines on (see ``drain`` in tail/render.py), flush ``out``."""
    sink.drain()
    out.flush()
