"""The multi-shard Kinesis reader behind ``tail`` and ``sink validate``.

What the quickstart's ``cat_kinesis.sh`` gets wrong, and how this does it instead:

- every shard is read concurrently (one thread per shard, at most 5 GetRecords/s each, polling
  fast while ``MillisBehindLatest`` > 0 and about once a second when idle);
- shards are listed (ListShards paged the AWS way) and related parent to child by
  :mod:`twilio_es_cli.shards`, the one shard model; here each one's start is planned and read;
- resharding: a shard's children start only after the parent is drained (every record handed
  to the consumer), so records of one partition key come out in order; children are learned
  from ``ChildShards`` on the parent's last GetRecords and, while following, from re-listing;
- faults: throttling backs off with jitter, an expired iterator is renewed
  ``AFTER_SEQUENCE_NUMBER`` of the last record read, a lost connection is retried with backoff
  (and a message), a deleted stream ends the read with :class:`NotFoundError`.

Records flow from shard threads to the consumer through one bounded queue of batches, so memory
stays flat when the consumer is slow (e.g. a paused terminal) and per-shard order is kept.
The consumer-side generator owns all bookkeeping (which shard runs, which is done), so no locks
are needed beyond the queue. Stopping (generator closed, ``stop`` set, ``deadline`` reached,
``| head`` closing the pipe) tells every thread to end; they are daemons besides.
"""

from __future__ import annotations

import dataclasses
import queue
import threading
import time
from collections.abc import Callable, Generator, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Literal, TypedDict

from twilio_es_cli import arns
from twilio_es_cli.aws import (
    OUTAGE,
    REFUSED,
    classify,
    error_code,
    stream_not_found,
    translate,
)
from twilio_es_cli.aws import backoff as _backoff
from twilio_es_cli.errors import NotFoundError, TwilioEsError
from twilio_es_cli.shards import Lineage, Shard, StreamArgs, list_shards, stream_kwargs

if TYPE_CHECKING:
    from mypy_boto3_kinesis import KinesisClient

#: Checkpoint value meaning "this shard was closed and fully drained": skip it on resume.
SHARD_END = "SHARD_END"

MIN_POLL_INTERVAL = 0.2  # Kinesis allows 5 GetRecords per second per shard
IDLE_POLL_INTERVAL = 1.0  # caught up: ask about once a second
RELIST_INTERVAL = 30.0  # following: look for shards we cannot learn about from ChildShards
# Records per GetRecords. Smaller than AWS's 10,000 so the consumer decodes one batch while the
# next is fetched (measured faster on moto than 10,000), and memory stays bounded.
BATCH_LIMIT = 2000
QUEUE_BATCHES = 8  # batches waiting for the consumer: bounds memory when it is slow
MAX_OUTAGE = 300.0  # give up after this long without a single successful call to AWS


#: The ShardIteratorTypes the reader starts from (AT_SEQUENCE_NUMBER is never needed).
PositionKind = Literal["LATEST", "TRIM_HORIZON", "AT_TIMESTAMP", "AFTER_SEQUENCE_NUMBER"]


class RecordsArgs(TypedDict, total=False):
    """GetRecords' arguments beside the iterator (see :func:`_records_args`)."""

    StreamARN: str


@dataclass(frozen=True)
class StartPosition:
    """Where to start reading: the Kinesis ShardIteratorType plus its argument."""

    kind: PositionKind
    timestamp: datetime | None = None
    sequence_number: str | None = None

    @classmethod
    def latest(cls) -> StartPosition:
        return cls("LATEST")

    @classmethod
    def trim_horizon(cls) -> StartPosition:
        return cls("TRIM_HORIZON")

    @classmethod
    def at(cls, when: datetime) -> StartPosition:
        return cls("AT_TIMESTAMP", timestamp=when)

    @classmethod
    def after(cls, sequence_number: str) -> StartPosition:
        """Right after one record of one shard (used per shard, for checkpoints and expiry)."""
        return cls("AFTER_SEQUENCE_NUMBER", sequence_number=sequence_number)

    def iterator_args(self) -> dict[str, Any]:
        """The GetShardIterator arguments for this position."""
        args: dict[str, Any] = {"ShardIteratorType": self.kind}
        if self.kind == "AT_TIMESTAMP":
            args["Timestamp"] = self.timestamp
        elif self.kind == "AFTER_SEQUENCE_NUMBER":
            args["StartingSequenceNumber"] = self.sequence_number
        return args


@dataclass(frozen=True, slots=True)
class KinesisRecord:
    """One record as read from a shard (``data`` already base64-decoded by boto3)."""

    shard_id: str
    sequence_number: str
    partition_key: str
    arrival: datetime  # ApproximateArrivalTimestamp
    data: bytes
    subsequence: int | None = None  # index of a user record inside a KPL-aggregated record


def stream_name(stream: str) -> str:
    """The bare stream name of a name or ARN (for messages)."""
    return arns.stream_name(stream)


# --- messages from shard threads to the consumer -------------------------------------------


@dataclass(frozen=True)
class _Batch:
    shard_id: str
    records: list[KinesisRecord]


@dataclass(frozen=True)
class _ShardEnded:
    shard_id: str
    children: list[dict[str, Any]]


@dataclass(frozen=True)
class _CaughtUp:
    shard_id: str


@dataclass(frozen=True)
class _Failed:
    error: TwilioEsError


@dataclass(frozen=True)
class _Listing:
    shards: list[Shard]


@dataclass
class _Shard:
    """A shard as planned: where its reading starts, and how far it got."""

    shard: Shard
    position: StartPosition | None  # None: nothing to read (skipped)
    state: str = "pending"  # pending | running | done

    @property
    def shard_id(self) -> str:
        return self.shard.shard_id

    @property
    def parents(self) -> tuple[str, ...]:
        return self.shard.parents


@dataclass
class _Context:
    """What every shard thread shares: client, stream, stop flag and the outbox."""

    kinesis: KinesisClient
    stream: str
    follow: bool
    halt: threading.Event
    outbox: queue.Queue[object]
    notify: Callable[[str], None]
    limit: int = BATCH_LIMIT
    stream_args: StreamArgs = field(default_factory=StreamArgs)  # GetShardIterator
    records_args: RecordsArgs = field(default_factory=RecordsArgs)  # GetRecords
    # shard id -> MillisBehindLatest of its last answer (read_stream's ``behind``), or None
    behind: dict[str, int] | None = None

    _down: set[str] = field(default_factory=set)  # call sites currently failing to connect
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def connection_lost(self, where: str, exc: BaseException) -> None:
        """Say once per outage (not once per shard) that Kinesis cannot be reached."""
        with self._lock:
            first = not self._down
            self._down.add(where)
        if first:
            self.notify(f"lost connection to Kinesis while {where} ({exc}); retrying")

    def connection_back(self, where: str) -> None:
        with self._lock:
            was_down = bool(self._down)
            self._down.discard(where)
            back = was_down and not self._down
        if back:
            self.notify("reconnected to Kinesis; resuming where each shard left off")

    def put(self, item: object) -> bool:
        """Hand ``item`` to the consumer, waiting while the queue is full; False if halted."""
        while not self.halt.is_set():
            try:
                self.outbox.put(item, timeout=0.2)
                return True
            except queue.Full:
                continue
        return False


class _Retry:
    """Retry policy for one call site: throttling, connection loss and 5xx are transient."""

    def __init__(self, ctx: _Context, what: str) -> None:
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
        self.ctx.halt.wait(_backoff(self.attempt))
        self.attempt += 1
        return True

    def succeeded(self) -> None:
        if self.announced:
            self.ctx.connection_back(self.what)
        self.attempt = 0
        self.outage_since = None
        self.announced = False


def _fatal(exc: BaseException, ctx: _Context, action: str) -> TwilioEsError:
    if error_code(exc) == "ResourceNotFoundException":
        return stream_not_found(ctx.stream)
    if isinstance(exc, TwilioEsError):
        return exc
    return translate(exc, action)


def _get_iterator(ctx: _Context, shard_id: str, position: StartPosition) -> str | None:
    retry = _Retry(ctx, f"opening shard {shard_id}")
    while not ctx.halt.is_set():
        try:
            response = ctx.kinesis.get_shard_iterator(
                ShardId=shard_id, **position.iterator_args(), **ctx.stream_args
            )
        except Exception as exc:
            if retry.transient(exc):
                continue
            raise _fatal(exc, ctx, f"open shard {shard_id}") from exc
        retry.succeeded()
        iterator = response.get("ShardIterator")
        return str(iterator) if iterator else None
    return None


def _read_shard(ctx: _Context, shard_id: str, start: StartPosition) -> None:
    """Thread body: read one shard from ``start`` until it closes, catches up or we halt."""
    try:
        _read_shard_inner(ctx, shard_id, start)
    except TwilioEsError as exc:
        ctx.put(_Failed(exc))
    except Exception as exc:  # never die silently: the consumer would wait forever
        ctx.put(_Failed(_fatal(exc, ctx, f"read shard {shard_id}")))


def _garbled(ctx: _Context, retry: _Retry) -> None:
    """A GetRecords answer without ``Records``: ask again with the same iterator.

    botocore turns a 200 whose body was cut short (a connection dropped mid-response) into a
    response with no keys at all; read as it is, "no NextShardIterator" would mean the shard
    is closed and drained, and the rest of the shard would be silently skipped.
    """
    ctx.halt.wait(_backoff(retry.attempt))
    retry.attempt += 1


def _read_shard_inner(ctx: _Context, shard_id: str, start: StartPosition) -> None:
    # Where to reopen if the iterator expires before any record was read. "LATEST" again
    # would skip what arrived meanwhile, so remember it as the time we opened the shard.
    restart = start
    if start.kind == "LATEST":
        restart = StartPosition.at(datetime.now(timezone.utc))
    iterator = _get_iterator(ctx, shard_id, start)
    last_seq: str | None = None
    retry = _Retry(ctx, f"reading shard {shard_id}")
    next_call = 0.0
    while iterator is not None and not ctx.halt.is_set():
        wait = next_call - time.monotonic()
        if wait > 0 and ctx.halt.wait(wait):
            return
        started = time.monotonic()
        try:
            response = ctx.kinesis.get_records(
                ShardIterator=iterator, Limit=ctx.limit, **ctx.records_args
            )
        except Exception as exc:
            if error_code(exc) == "ExpiredIteratorException":
                # Renew right after the last record we read (or where we started): no gap,
                # no repeat.
                position = StartPosition.after(last_seq) if last_seq else restart
                iterator = _get_iterator(ctx, shard_id, position)
                continue
            if retry.transient(exc):
                continue
            raise _fatal(exc, ctx, f"read shard {shard_id}") from exc
        if "Records" not in response:
            _garbled(ctx, retry)
            continue
        retry.succeeded()
        raw = response.get("Records") or []
        if raw:
            records = records_of(shard_id, raw)
            last_seq = records[-1].sequence_number
            if not ctx.put(_Batch(shard_id, records)):
                return
        iterator = response.get("NextShardIterator")
        if iterator is None:  # closed and drained
            ctx.put(_ShardEnded(shard_id, list(response.get("ChildShards") or [])))
            return
        behind = response.get("MillisBehindLatest") or 0
        if ctx.behind is not None:  # one dict store: atomic, read by the consumer for display
            ctx.behind[shard_id] = int(behind)
        # At the tip: AWS says so with MillisBehindLatest == 0; a short batch as well, because
        # some servers (moto) always report 0, so a full batch alone does not prove it.
        if behind == 0 and len(raw) < ctx.limit:
            if not ctx.follow:
                ctx.put(_CaughtUp(shard_id))
                return
            next_call = started + IDLE_POLL_INTERVAL
        else:
            next_call = started + MIN_POLL_INTERVAL
    if iterator is None and not ctx.halt.is_set():
        # GetShardIterator gave no iterator: the shard has nothing more to give.
        ctx.put(_ShardEnded(shard_id, []))


# --- planning --------------------------------------------------------------------------------


def plan(
    listing: list[Shard], start: StartPosition, checkpoint: Mapping[str, str]
) -> dict[str, _Shard]:
    """Decide each listed shard's first position (or that it is skipped).

    - in the checkpoint: right after its sequence number (``SHARD_END``: skipped);
    - an ancestor of a checkpointed shard: already drained earlier, skipped;
    - a descendant of a checkpointed shard: from its first record (TRIM_HORIZON);
    - otherwise ``start``; at LATEST, closed shards hold nothing new and are skipped.
    """
    lineage = Lineage(listing)
    shards: dict[str, _Shard] = {}
    for shard in listing:
        sid = shard.shard_id
        seq = checkpoint.get(sid)
        position: StartPosition | None
        if seq == SHARD_END or (
            seq is None and any(d in checkpoint for d in lineage.descendants(sid))
        ):
            position = None
        elif seq:
            position = StartPosition.after(seq)
        elif any(a in checkpoint for a in lineage.ancestors(sid)):
            position = StartPosition.trim_horizon()
        elif start.kind == "LATEST" and shard.closed:
            position = None
        else:
            position = start
        shards[sid] = _Shard(shard, position, "done" if position is None else "pending")
    return shards


# --- the consumer side -----------------------------------------------------------------------

#: The body of one shard's thread: read ``shard_id`` from a position until it ends, catches up
#: (``ctx.follow`` false) or ``ctx.halt`` is set, reporting through ``ctx.put`` with
#: :class:`_Batch`, :class:`_ShardEnded`, :class:`_CaughtUp` and :class:`_Failed`. The default,
#: :func:`_read_shard`, polls GetRecords; ``tail --efo`` passes :mod:`twilio_es_cli.tail.efo`'s,
#: which is pushed records by SubscribeToShard. Planning, ordering and resharding stay here.
ShardReader = Callable[[_Context, str, StartPosition], None]


def read_stream(
    kinesis: KinesisClient,
    stream_name: str,
    start: StartPosition,
    *,
    follow: bool = True,
    deadline: float | None = None,
    stop: threading.Event | None = None,
    checkpoint: Mapping[str, str] | None = None,
    on_shard_end: Callable[[str], None] | None = None,
    on_shard_start: Callable[[str], None] | None = None,
    on_idle: Callable[[], None] | None = None,
    on_drained: Callable[[], None] | None = None,
    notify: Callable[[str], None] | None = None,
    batch_limit: int = BATCH_LIMIT,
    shard_reader: ShardReader | None = None,
    behind: dict[str, int] | None = None,
) -> Generator[KinesisRecord, None, None]:
    """Yield every record of every shard of ``stream_name`` (a name or an ARN) from ``start``.

    Per shard, records come in sequence order; a shard's children come after all of its
    records. ``follow=False`` ends once every shard is caught up (or closed and drained).
    ``deadline`` (a ``time.monotonic()`` value) and ``stop`` end it early. ``checkpoint``
    (shard id -> last sequence number handled) resumes right after those records; it is read,
    never changed: ``on_shard_end(shard_id)`` reports a shard drained to its end (in the
    consumer's thread, after its last record), so callers can store :data:`SHARD_END`;
    ``on_shard_start(shard_id)`` reports each shard as its reading begins. ``on_idle()`` is
    called in the consumer's thread about every 0.2 s while no record is waiting (and before
    the first one), between two records, so a caller can save a checkpoint while the stream is
    quiet without any locking. ``on_drained()`` is called (consumer's thread) whenever every
    record read so far has been handed out and the reader is about to wait for more: the place
    to flush buffered output, so lines leave in batches yet none waits for the next record.
    Connection-loss messages go to ``notify`` (default: a warning on stderr).

    ``shard_reader`` replaces the GetRecords polling of each shard (see :data:`ShardReader`).
    ``behind``, when given, is kept up to date with each shard's ``MillisBehindLatest`` (from
    every GetRecords answer or pushed event), for a caller that shows how far behind it reads.

    ``kinesis`` is a boto3 Kinesis client; for exact fault handling give it few botocore
    retries (``AwsClients(settings, max_attempts=1)``): this reader does its own backoff.
    """
    if notify is None:
        from twilio_es_cli.output import warn

        notify = warn
    ctx = _Context(
        kinesis=kinesis,
        stream=stream_name,
        follow=follow,
        halt=threading.Event(),
        outbox=queue.Queue(maxsize=QUEUE_BATCHES),
        notify=notify,
        limit=batch_limit,
        stream_args=stream_kwargs(stream_name),
        records_args=_records_args(stream_name),
        behind=behind,
    )
    shards = plan(list_shards(kinesis, stream_name), start, checkpoint or {})
    consumer = _Consumer(
        ctx,
        shards,
        on_shard_start=on_shard_start,
        on_shard_end=on_shard_end,
        shard_reader=shard_reader,
    )
    try:
        consumer.launch()
        while not consumer.finished(stop, deadline):
            consumer.maybe_relist()
            item = _next_item(ctx, deadline, on_drained)
            if item is None:
                if on_idle is not None:
                    on_idle()
                continue
            if isinstance(item, _Batch):
                yield from item.records
            else:
                consumer.handle(item)
    finally:
        ctx.halt.set()


def _next_item(
    ctx: _Context, deadline: float | None, on_drained: Callable[[], None] | None
) -> object | None:
    """The next queued item, or None after waiting :func:`_wait_for` in vain.

    ``on_drained`` runs only when the queue is empty, i.e. before a wait, not per batch.
    """
    if on_drained is not None:
        try:
            return ctx.outbox.get_nowait()
        except queue.Empty:
            on_drained()
    try:
        return ctx.outbox.get(timeout=_wait_for(deadline))
    except queue.Empty:
        return None


def records_of(shard_id: str, raw: Sequence[Mapping[str, Any]]) -> list[KinesisRecord]:
    """Our records from a GetRecords or SubscribeToShard answer's ``Records`` (same shape).

    Built by :func:`_new_record`: a frozen dataclass's ``__init__`` sets each field through
    ``object.__setattr__``, about 2 us per record, as much as parsing the record's JSON.
    """
    new = _new_record
    return [
        new(
            shard_id,
            r["SequenceNumber"],
            r.get("PartitionKey", ""),
            r["ApproximateArrivalTimestamp"],
            r["Data"],
        )
        for r in raw
    ]


def _record_maker() -> Callable[[str, str, str, datetime, bytes], KinesisRecord]:
    """``KinesisRecord(shard, seq, key, arrival, data)``, equal and as frozen, 4x cheaper.

    The slots' own descriptors store the fields, as the generated ``__init__`` would through
    ``object.__setattr__``; the record is handed out only once every field is set, and stays
    frozen (assigning to it raises as ever). Falls back to the class itself if its fields
    ever change (tests/tail/test_getrecords_parser.py compares the two).
    """
    new = object.__new__
    cls = KinesisRecord
    names = ("shard_id", "sequence_number", "partition_key", "arrival", "data", "subsequence")
    if tuple(f.name for f in dataclasses.fields(cls)) != names:  # a field added or moved
        return cls
    setters: list[Any] = [vars(cls)[name].__set__ for name in names]  # the slot descriptors
    shard, seq, key, arrival, data, sub = setters

    def make(s: str, q: str, k: str, a: datetime, d: bytes) -> KinesisRecord:
        record = new(cls)
        shard(record, s)
        seq(record, q)
        key(record, k)
        arrival(record, a)
        data(record, d)
        sub(record, None)
        return record

    return make


_new_record = _record_maker()


def _wait_for(deadline: float | None) -> float:
    """How long to wait for the next item: short, so stop rules and on_idle stay timely."""
    if deadline is None:
        return 0.2
    return max(0.0, min(0.2, deadline - time.monotonic()))


class _Consumer:
    """The consumer side's bookkeeping: which shard runs, which is done, which to start next.

    It lives in the consumer's thread only (the generator), so it needs no locks; shard and
    listing threads talk to it through the outbox.
    """

    def __init__(
        self,
        ctx: _Context,
        shards: dict[str, _Shard],
        *,
        on_shard_start: Callable[[str], None] | None,
        on_shard_end: Callable[[str], None] | None,
        shard_reader: ShardReader | None = None,
    ) -> None:
        self.ctx = ctx
        self.shard_reader = shard_reader
        self.shards = shards
        self.lineage = Lineage(s.shard for s in shards.values())
        self.on_shard_start = on_shard_start
        self.on_shard_end = on_shard_end
        self.listing_in_flight = False
        self.next_listing = time.monotonic() + RELIST_INTERVAL

    def finished(self, stop: threading.Event | None, deadline: float | None) -> bool:
        """A stop rule fired, or (not following) every shard is done."""
        if stop is not None and stop.is_set():
            return True
        if deadline is not None and time.monotonic() >= deadline:
            return True
        return (
            not self.ctx.follow
            and not self.listing_in_flight
            and all(s.state == "done" for s in self.shards.values())
        )

    def launch(self) -> None:
        """Start every pending shard whose parents are all done (unknown parents count)."""
        for shard in self.shards.values():
            if shard.state != "pending" or shard.position is None:
                continue
            if self.lineage.ready(shard.shard_id, self._done):
                shard.state = "running"
                if self.on_shard_start is not None:
                    self.on_shard_start(shard.shard_id)
                threading.Thread(
                    target=self.shard_reader or _read_shard,
                    args=(self.ctx, shard.shard_id, shard.position),
                    name=f"kinesis-{shard.shard_id}",
                    daemon=True,
                ).start()

    def _done(self, shard_id: str) -> bool:
        return self.shards[shard_id].state == "done"

    def maybe_relist(self) -> None:
        """While following, list the shards again every RELIST_INTERVAL seconds."""
        now = time.monotonic()
        if self.ctx.follow and now >= self.next_listing:
            self.next_listing = now + RELIST_INTERVAL
            self.relist()

    def relist(self) -> None:
        """List the shards in a thread (a slow listing must not hold up records)."""
        if self.listing_in_flight:
            return
        self.listing_in_flight = True
        ctx = self.ctx

        def work() -> None:
            try:
                ctx.put(_Listing(list_shards(ctx.kinesis, ctx.stream)))
            except NotFoundError as exc:  # deleted while we follow it
                ctx.put(_Failed(exc))
            except TwilioEsError:  # anything else: keep reading what we know, list later
                ctx.put(_Listing([]))

        threading.Thread(target=work, name="kinesis-list-shards", daemon=True).start()

    def learn(self, found: Iterable[Shard]) -> None:
        """Add shards we did not know: new since we started, so read from their start."""
        for shard in found:
            if self.lineage.add(shard):
                self.shards[shard.shard_id] = _Shard(shard, StartPosition.trim_horizon())

    def handle(self, item: object) -> None:
        """Act on a message other than a batch of records."""
        if isinstance(item, _ShardEnded):
            self.shards[item.shard_id].state = "done"
            if self.on_shard_end is not None:
                self.on_shard_end(item.shard_id)
            self.learn(Shard.from_api(c) for c in item.children)
            if not item.children:
                self.relist()
        elif isinstance(item, _CaughtUp):
            self.shards[item.shard_id].state = "done"
        elif isinstance(item, _Listing):
            self.listing_in_flight = False
            self.learn(item.shards)
        elif isinstance(item, _Failed):
            raise item.error
        self.launch()


def _records_args(stream: str) -> RecordsArgs:
    """Extra GetRecords arguments: the ARN when the stream was named by ARN.

    GetRecords only needs the iterator, but an iterator obtained through ``StreamARN`` must be
    read with it again on some servers (moto), and AWS accepts it. GetRecords has no
    StreamName parameter, so names need nothing.
    """
    return {"StreamARN": stream} if arns.is_arn(stream) else {}
