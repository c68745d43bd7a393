"""The multi-shard Kinesis reader behind ``tail`` and ``sink validate``: :func:`read_stream`.

What the quickstart's ``cat_kinesis.sh`` gets wrong, and how this does it instead:

- every shard is read concurrently, one thread per shard running a
  :class:`~twilio_es_cli.tail.shard_reader.ShardReader` (GetRecords polling by default,
  :mod:`twilio_es_cli.tail.polling`; SubscribeToShard with ``--efo``, :mod:`.efo`);
- shards are listed (ListShards paged the AWS way) and related parent to child by
  :mod:`twilio_es_cli.shards`, the one shard model; here each one's start is planned and read;
- resharding: a shard's children start only after the parent is drained (every record handed
  to the consumer), so records of one partition key come out in order; children are learned
  from ``ChildShards`` on the parent's last GetRecords and, while following, from re-listing;
- faults are the shard reader's (throttling, expired iterators, lost connections); a deleted
  stream ends the read with :class:`~twilio_es_cli.errors.NotFoundError`.

Records flow from shard threads to the consumer through one bounded queue of batches, so memory
stays flat when the consumer is slow (e.g. a paused terminal) and per-shard order is kept.
The consumer-side generator owns all bookkeeping (which shard runs, which is done), so no locks
are needed beyond the queue. Stopping (generator closed, ``stop`` set, ``deadline`` reached,
``| head`` closing the pipe) tells every thread to end; they are daemons besides.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from twilio_es_cli import arns
from twilio_es_cli.errors import NotFoundError, TwilioEsError
from twilio_es_cli.progress import TERMINAL, Reporter
from twilio_es_cli.shards import Lineage, Shard, list_shards, stream_kwargs
from twilio_es_cli.tail.polling import poll_shard
from twilio_es_cli.tail.positions import SHARD_END, StartPosition
from twilio_es_cli.tail.records import KinesisRecord
from twilio_es_cli.tail.shard_reader import (
    BATCH_LIMIT,
    Batch,
    CaughtUp,
    Failed,
    RecordsArgs,
    ShardContext,
    ShardEnded,
    ShardReader,
)

if TYPE_CHECKING:
    from mypy_boto3_kinesis import KinesisClient

RELIST_INTERVAL = 30.0  # following: look for shards we cannot learn about from ChildShards
QUEUE_BATCHES = 8  # batches waiting for the consumer: bounds memory when it is slow


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
    report: Reporter = TERMINAL,
    batch_limit: int = BATCH_LIMIT,
    shard_reader: ShardReader | None = None,
    behind: dict[str, int] | None = None,
    listing: list[Shard] | None = None,
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
    Lost and regained connections are said on ``report`` (warnings).

    ``shard_reader`` replaces the GetRecords polling of each shard (see :class:`ShardReader`).
    ``behind``, when given, is kept up to date with each shard's ``MillisBehindLatest`` (from
    every GetRecords answer or pushed event), for a caller that shows how far behind it reads.
    ``listing``: the stream's shards as the caller just listed them (to check its checkpoint
    against them), so they are not listed twice.

    ``kinesis`` is a boto3 Kinesis client; for exact fault handling give it few botocore
    retries (``AwsClients(settings, max_attempts=1)``): this reader does its own backoff.
    """
    ctx = ShardContext(
        kinesis=kinesis,
        stream=stream_name,
        follow=follow,
        halt=threading.Event(),
        outbox=queue.Queue(maxsize=QUEUE_BATCHES),
        report=report,
        limit=batch_limit,
        stream_args=stream_kwargs(stream_name),
        records_args=_records_args(stream_name),
        behind=behind,
    )
    if listing is None:
        listing = list_shards(kinesis, stream_name)
    shards = plan(listing, start, checkpoint or {})
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
            if isinstance(item, Batch):
                yield from item.records
            else:
                consumer.handle(item)
    finally:
        ctx.halt.set()


def _next_item(
    ctx: ShardContext, deadline: float | None, on_drained: Callable[[], None] | None
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
        ctx: ShardContext,
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
                    target=self.shard_reader or poll_shard,
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
                ctx.put(Failed(exc))
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
        if isinstance(item, ShardEnded):
            self.shards[item.shard_id].state = "done"
            if self.on_shard_end is not None:
                self.on_shard_end(item.shard_id)
            self.learn(Shard.from_api(c) for c in item.children)
            if not item.children:
                self.relist()
        elif isinstance(item, CaughtUp):
            self.shards[item.shard_id].state = "done"
        elif isinstance(item, _Listing):
            self.listing_in_flight = False
            self.learn(item.shards)
        elif isinstance(item, Failed):
            raise item.error
        self.launch()


def _records_args(stream: str) -> RecordsArgs:
    """Extra GetRecords arguments: the ARN when the stream was named by ARN.

    GetRecords only needs the iterator, but an iterator obtained through ``StreamARN`` must be
    read with it again on some servers (moto), and AWS accepts it. GetRecords has no
    StreamName parameter, so names need nothing.
    """
    return {"StreamARN": stream} if arns.is_arn(stream) else {}


#: A bounded read of one stream: (start time, deadline on ``time.monotonic()``, checkpoint) ->
#: every record up to the tip of every shard, resuming after the checkpoint's sequence numbers
#: (shard id -> last one seen). ``sink validate`` reads pass after pass with it.
ReadFn = Callable[[datetime, float, Mapping[str, str]], Iterable[KinesisRecord]]


def stream_reader(kinesis: KinesisClient, stream_arn: str) -> ReadFn:
    """Bind :func:`read_stream` to one stream as a :data:`ReadFn` (never following)."""
    from twilio_es_cli.aws import aws_errors

    def read(
        start: datetime, deadline: float, checkpoint: Mapping[str, str]
    ) -> Iterator[KinesisRecord]:
        with aws_errors(f"read stream {stream_arn}"):
            yield from read_stream(
                kinesis,
                stream_arn,
                StartPosition.at(start),
                follow=False,
                deadline=deadline,
                checkpoint=checkpoint,
            )

    return read
