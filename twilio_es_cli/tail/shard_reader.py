"""The seam between the stream reader and the ways one shard's records can arrive.

:func:`twilio_es_cli.tail.reader.read_stream` plans which shards to read from where, starts a
thread per shard (parents before children), follows resharding and hands records to its caller.
How a thread gets its shard's records is a :class:`ShardReader`:

- :func:`twilio_es_cli.tail.polling.poll_shard` (the default) polls GetRecords;
- :meth:`twilio_es_cli.tail.efo.EfoConsumer.read_shard` (``tail --efo``) is pushed records by
  SubscribeToShard through a registered stream consumer.

A shard reader talks to the stream reader only through its :class:`ShardContext`: it hands
over each batch of records in order (:class:`Batch`), and ends with exactly one of
:class:`ShardEnded` (closed and drained, with the children it learned of), :class:`CaughtUp`
(not following, and at the tip) or :class:`Failed` (an error that ends the read), unless the
context is halted first. :class:`Retry` is the one policy both use for throttling, lost
connections and 5xx; :class:`ArrivalGate` the one rule for what a shard opened at a timestamp
may hand over. Nothing here calls AWS: it is the contract, not an implementation.
"""

from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Protocol, TypedDict

from twilio_es_cli.aws import OUTAGE, REFUSED, classify
from twilio_es_cli.aws import backoff as _backoff
from twilio_es_cli.errors import TwilioEsError
from twilio_es_cli.progress import Reporter
from twilio_es_cli.shards import StreamArgs
from twilio_es_cli.tail.positions import StartPosition
from twilio_es_cli.tail.records import KinesisRecord

if TYPE_CHECKING:
    from mypy_boto3_kinesis import KinesisClient

# Records per GetRecords. Smaller than AWS's 10,000 so the consumer decodes one batch while the
# next is fetched (measured faster on moto than 10,000), and memory stays bounded.
BATCH_LIMIT = 2000
MAX_OUTAGE = 300.0  # give up after this long without a single successful call to AWS


class RecordsArgs(TypedDict, total=False):
    """GetRecords' arguments beside the iterator (the ARN when the stream was named by one)."""

    StreamARN: str


# --- what a shard reader hands to the stream reader -----------------------------------------


@dataclass(frozen=True)
class Batch:
    """Records of one shard, in sequence order, after those handed over before."""

    shard_id: str
    records: list[KinesisRecord]


@dataclass(frozen=True)
class ShardEnded:
    """The shard is closed and every record was handed over; ``children`` as AWS gave them
    (``ChildShards`` items; empty when unknown, and the stream reader lists the shards)."""

    shard_id: str
    children: list[dict[str, Any]]


@dataclass(frozen=True)
class CaughtUp:
    """Not following, and the shard's tip was reached: nothing more to read from it."""

    shard_id: str


@dataclass(frozen=True)
class Failed:
    """An error that ends the whole read (raised to the stream reader's caller)."""

    error: TwilioEsError


@dataclass
class ShardContext:
    """What every shard thread of one read shares: the client, the stream, the stop flag and
    the way back to the stream reader (:meth:`put`)."""

    kinesis: KinesisClient
    stream: str
    follow: bool
    halt: threading.Event
    outbox: queue.Queue[object]
    report: Reporter  # lost and regained connections are said here (as warnings)
    limit: int = BATCH_LIMIT
    stream_args: StreamArgs = field(default_factory=StreamArgs)  # GetShardIterator
    records_args: RecordsArgs = field(default_factory=RecordsArgs)  # GetRecords
    # shard id -> MillisBehindLatest of its last answer (read_stream's ``behind``), or None
    behind: dict[str, int] | None = None

    _down: set[str] = field(default_factory=set)  # call sites currently failing to connect
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def put(self, item: Batch | ShardEnded | CaughtUp | Failed | object) -> bool:
        """Hand ``item`` to the stream reader, waiting while its queue is full (which bounds
        memory when the consumer is slow); False once the read is halted."""
        while not self.halt.is_set():
            try:
                self.outbox.put(item, timeout=0.2)
                return True
            except queue.Full:
                continue
        return False

    def behind_latest(self, shard_id: str, millis: int) -> None:
        """Record how far behind the stream's tip ``shard_id`` reads (for the status line and
        ``--stats``; one dict store, atomic, read by the consumer's thread)."""
        if self.behind is not None:
            self.behind[shard_id] = millis

    def connection_lost(self, where: str, exc: BaseException) -> None:
        """Say once per outage (not once per shard) that Kinesis cannot be reached."""
        with self._lock:
            first = not self._down
            self._down.add(where)
        if first:
            self.report.warn(f"lost connection to Kinesis while {where} ({exc}); retrying")

    def connection_back(self, where: str) -> None:
        with self._lock:
            was_down = bool(self._down)
            self._down.discard(where)
            back = was_down and not self._down
        if back:
            self.report.warn("reconnected to Kinesis; resuming where each shard left off")


class Retry:
    """Retry policy for one call site: throttling, connection loss and 5xx are transient."""

    def __init__(self, ctx: ShardContext, what: str) -> None:
        self.ctx = ctx
        self.what = what
        self.attempt = 0
        self.outage_since: float | None = None
        self.announced = False

    def transient(self, exc: BaseException) -> bool:
        """Handle a failure: True (after sleeping) if worth retrying, False otherwise."""
        kind = classify(exc)
        if kind == REFUSED:
            return False
        network = kind == OUTAGE
        now = time.monotonic()
        if network:
            if self.outage_since is None:
                self.outage_since = now
            elif now - self.outage_since > MAX_OUTAGE:
                return False
            if not self.announced:
                self.ctx.connection_lost(self.what, exc)
                self.announced = True
        self.pause()
        return True

    def pause(self) -> None:
        """Wait the next backoff (cut short when the read is halted)."""
        self.ctx.halt.wait(_backoff(self.attempt))
        self.attempt += 1

    def succeeded(self) -> None:
        if self.announced:
            self.ctx.connection_back(self.what)
        self.attempt = 0
        self.outage_since = None
        self.announced = False


class ArrivalGate:
    """Holds back the records that arrived before the instant a shard was opened at.

    Why: botocore before 1.43.93 sends GetShardIterator's and SubscribeToShard's ``Timestamp``
    in whole seconds, so Kinesis (AWS as well as the emulators) starts up to a second before
    the instant asked for, and ``--since``/``--from TIME`` or a re-open after an expired
    iterator would show records from before it. Kinesis takes the instant "with precision in
    milliseconds" and starts at the first record whose ``ApproximateArrivalTimestamp`` is at or
    after it (its API reference); this makes the same comparison on our side, so whatever
    botocore sends, a shard reader hands over what Kinesis gives for the full instant.

    Each shard reader keeps one per shard: :meth:`opened` whenever it (re)opens the shard,
    :meth:`admit` on every batch. Once a record at or after the instant was seen the gate
    opens for good (records of a shard arrive in order), so only the first batch(es) after
    opening at a timestamp are looked at; a re-open right after a sequence number read behind
    a closed gate keeps it closed.
    """

    def __init__(self) -> None:
        self.floor: datetime | None = None  # None: open, everything passes

    def opened(self, position: StartPosition) -> None:
        """The shard was (re)opened at ``position``."""
        if position.kind == "AT_TIMESTAMP" and position.timestamp is not None:
            self.floor = _millisecond(position.timestamp)
        elif position.kind != "AFTER_SEQUENCE_NUMBER":  # a sequence number continues a read
            self.floor = None

    def admit(self, records: list[KinesisRecord]) -> list[KinesisRecord]:
        """``records`` without those that arrived before the instant (in order)."""
        floor = self.floor
        if floor is None:
            return records
        for index, record in enumerate(records):
            if _aware(record.arrival) >= floor:
                self.floor = None
                return records[index:] if index else records
        return []


def _aware(when: datetime) -> datetime:
    """Naive times are UTC (our own and botocore's are aware; a caller's may not be)."""
    return when if when.tzinfo is not None else when.replace(tzinfo=timezone.utc)


def _millisecond(when: datetime) -> datetime:
    """``when`` cut to the millisecond, the precision Kinesis compares arrival times at."""
    return _aware(when).replace(microsecond=when.microsecond - when.microsecond % 1000)


class ShardReader(Protocol):
    """The body of one shard's thread: read ``shard_id`` from ``start`` until it ends, catches
    up (``ctx.follow`` false) or ``ctx.halt`` is set, reporting through ``ctx.put`` as the
    module docstring says. It must not raise: an error is handed over as :class:`Failed`."""

    def __call__(self, ctx: ShardContext, shard_id: str, start: StartPosition) -> None: ...
