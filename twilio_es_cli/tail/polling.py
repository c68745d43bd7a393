"""The default :class:`~twilio_es_cli.tail.shard_reader.ShardReader`: GetRecords polling.

One thread per shard, at most 5 GetRecords/s each (Kinesis' limit): polling fast while
``MillisBehindLatest`` > 0 and about once a second when caught up. An expired iterator is
renewed ``AFTER_SEQUENCE_NUMBER`` of the last record read (no gap, no repeat); a shard opened
at a timestamp hands over nothing from before it (:class:`~.shard_reader.ArrivalGate`); throttling,
lost connections and 5xx back off through :class:`~twilio_es_cli.tail.shard_reader.Retry`;
a deleted stream ends the read with :class:`~twilio_es_cli.errors.NotFoundError`.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone

from twilio_es_cli.aws import error_code, stream_not_found, translate
from twilio_es_cli.errors import TwilioEsError
from twilio_es_cli.tail.positions import StartPosition
from twilio_es_cli.tail.records import records_of
from twilio_es_cli.tail.shard_reader import (
    ArrivalGate,
    Batch,
    CaughtUp,
    Failed,
    Retry,
    ShardContext,
    ShardEnded,
)

MIN_POLL_INTERVAL = 0.2  # Kinesis allows 5 GetRecords per second per shard
IDLE_POLL_INTERVAL = 1.0  # caught up: ask about once a second


def poll_shard(ctx: ShardContext, shard_id: str, start: StartPosition) -> None:
    """Thread body: read one shard from ``start`` until it closes, catches up or we halt."""
    try:
        _poll(ctx, shard_id, start)
    except TwilioEsError as exc:
        ctx.put(Failed(exc))
    except Exception as exc:  # never die silently: the consumer would wait forever
        ctx.put(Failed(_fatal(exc, ctx, f"read shard {shard_id}")))


def _fatal(exc: BaseException, ctx: ShardContext, action: str) -> TwilioEsError:
    if error_code(exc) == "ResourceNotFoundException":
        return stream_not_found(ctx.stream)
    if isinstance(exc, TwilioEsError):
        return exc
    return translate(exc, action)


def _get_iterator(ctx: ShardContext, shard_id: str, position: StartPosition) -> str | None:
    retry = Retry(ctx, f"opening shard {shard_id}")
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


def _poll(ctx: ShardContext, shard_id: str, start: StartPosition) -> None:
    # Where to reopen if the iterator expires before any record was read. "LATEST" again
    # would skip what arrived meanwhile, so remember it as the time we opened the shard.
    restart = start
    if start.kind == "LATEST":
        restart = StartPosition.at(datetime.now(timezone.utc))
    gate = ArrivalGate()
    gate.opened(start)
    iterator = _get_iterator(ctx, shard_id, start)
    last_seq: str | None = None
    retry = Retry(ctx, f"reading shard {shard_id}")
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
                gate.opened(position)
                iterator = _get_iterator(ctx, shard_id, position)
                continue
            if retry.transient(exc):
                continue
            raise _fatal(exc, ctx, f"read shard {shard_id}") from exc
        if "Records" not in response:
            # botocore turns a 200 whose body was cut short (a connection dropped mid-response)
            # into a response with no keys at all; read as it is, "no NextShardIterator" would
            # mean the shard is closed and drained, and the rest of the shard would be silently
            # skipped. Ask again with the same iterator.
            retry.pause()
            continue
        retry.succeeded()
        raw = response.get("Records") or []
        if raw:
            records = records_of(shard_id, raw)
            last_seq = records[-1].sequence_number  # held back or not: read
            records = gate.admit(records)
            if records and not ctx.put(Batch(shard_id, records)):
                return
        iterator = response.get("NextShardIterator")
        if iterator is None:  # closed and drained
            ctx.put(ShardEnded(shard_id, list(response.get("ChildShards") or [])))
            return
        behind = response.get("MillisBehindLatest") or 0
        ctx.behind_latest(shard_id, int(behind))
        # At the tip: AWS says so with MillisBehindLatest == 0; a short batch as well, because
        # some servers (moto) always report 0, so a full batch alone does not prove it.
        if behind == 0 and len(raw) < ctx.limit:
            if not ctx.follow:
                ctx.put(CaughtUp(shard_id))
                return
            next_call = started + IDLE_POLL_INTERVAL
        else:
            next_call = started + MIN_POLL_INTERVAL
    if iterator is None and not ctx.halt.is_set():
        # GetShardIterator gave no iterator: the shard has nothing more to give.
        ctx.put(ShardEnded(shard_id, []))
