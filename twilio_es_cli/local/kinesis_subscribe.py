"""SubscribeToShard in the sandbox: enhanced fan-out as the Kinesis API reference describes it.

moto 5.2 has no SubscribeToShard (it answers an HTML 500), so the sandbox's server
(:mod:`~twilio_es_cli.local.aws_server`) routes it here and streams the answer itself. From
botocore's ``kinesis/2013-12-02/service-2.json`` (SubscribeToShard, SubscribeToShardEvent,
StartingPosition):

- the answer is ``application/vnd.amazon.eventstream``: an ``initial-response`` event, then
  ``SubscribeToShardEvent`` events with ``Records``, ``ContinuationSequenceNumber`` ("use this
  as SequenceNumber in the next call ... it captures your shard progress even when no data is
  written") and ``MillisBehindLatest`` ("zero indicates that record processing is caught
  up"); at the end of a closed shard the last event carries ``ChildShards`` ("returned only at
  the end of the current shard") and, as AWS's consumers (the KCL) read it, no continuation;
- a subscription delivers "for up to 5 minutes, after which time you need to call
  SubscribeToShard again" (:attr:`~twilio_es_cli.local.kinesis_fix.Timing.subscription`);
- "If you call SubscribeToShard again with the same ConsumerARN and ShardId within 5 seconds
  of a successful call, you'll get a ResourceInUseException. If you call ... 5 seconds or more
  after a successful call, the second call takes over the subscription and the previous
  connection expires or fails with a ResourceInUseException";
- every ``StartingPosition`` type: ``AT_SEQUENCE_NUMBER``, ``AFTER_SEQUENCE_NUMBER``,
  ``AT_TIMESTAMP`` (a timestamp with no record "streams from the next (later) record"),
  ``TRIM_HORIZON`` and ``LATEST``;
- "a consumer can't read data while in the CREATING or DELETING states".

Events are sent as soon as records arrive (woken by
:data:`~twilio_es_cli.local.kinesis_fix.CHANGED`), and an empty one every
:attr:`~twilio_es_cli.local.kinesis_fix.Timing.heartbeat` seconds while the shard is idle,
so the client sees the subscription is alive and the server notices a client that left.
"""

from __future__ import annotations

import base64
import itertools
import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from twilio_es_cli.local import eventstream, kinesis_consumers, kinesis_fix
from twilio_es_cli.local.kinesis_fix import CHANGED, LOCK, starting_sequence

TAKEOVER_SECONDS = 5.0  # AWS: a second call within 5 s of a successful one is refused
MAX_EVENT_RECORDS = 1000
MAX_EVENT_BYTES = 1024 * 1024
_SEQUENCE = re.compile(r"0|[1-9]\d{0,128}")
_CONSUMER_ARN = re.compile(
    r"arn:aws[a-z-]*:kinesis:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):"
    r"stream/(?P<stream>[a-zA-Z0-9_.-]+)/consumer/[a-zA-Z0-9_.-]+:\d+"
)
POSITION_TYPES = (
    "AT_SEQUENCE_NUMBER",
    "AFTER_SEQUENCE_NUMBER",
    "AT_TIMESTAMP",
    "TRIM_HORIZON",
    "LATEST",
)

# (consumer ARN, shard id) -> (time of the last successful call, its generation)
_subscriptions: dict[tuple[str, str], tuple[float, int]] = {}
_generations = itertools.count(1)


class RequestError(Exception):
    """SubscribeToShard refused before any event: an AWS JSON error answer."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


@dataclass
class Subscription:
    """One open subscription: where it reads, and what it sent (for the request log)."""

    stream: Any
    consumer: kinesis_consumers.SandboxConsumer
    shard: Any
    key: tuple[str, str]
    generation: int
    cursor: int  # records above this sequence number are next
    index: int  # how many of the shard's records are at or below the cursor
    deadline: float
    position: str
    backend: Any
    events: int = 0
    records: int = 0
    remaining: bool = False
    reason: str = "the client closed the connection"
    started: float = field(default_factory=time.monotonic)

    def summary(self) -> str:
        return (
            f"{self.shard.shard_id} from {self.position}: {self.events} events, "
            f"{self.records} records; {self.reason}"
        )


@dataclass(frozen=True)
class Answer:
    """What the server sends: status, headers, body, and a line for the request log."""

    status: int
    headers: list[tuple[str, str]]
    body: Iterator[bytes]
    summary: Callable[[], str]


def handle(raw: bytes, closing: threading.Event) -> Answer:
    """Answer one SubscribeToShard request body (JSON), as an error or an event stream."""
    try:
        request = json.loads(raw or b"{}")
        if not isinstance(request, dict):
            raise RequestError("SerializationException", "The request body is not an object")
        with LOCK:
            subscription = open_subscription(request)
    except RequestError as exc:
        return error_answer(exc.code, exc.message, exc.status)
    except ValueError as exc:
        return error_answer("SerializationException", f"The request body is not JSON ({exc})")
    return Answer(
        200,
        [("Content-Type", "application/vnd.amazon.eventstream")],
        stream_events(subscription, closing),
        subscription.summary,
    )


def error_answer(code: str, message: str, status: int = 400) -> Answer:
    """An AWS JSON error document (``__type`` and ``message``), as botocore reads one."""
    payload = json.dumps({"__type": code, "message": message}).encode()
    headers = [
        ("Content-Type", "application/x-amz-json-1.1"),
        ("x-amzn-ErrorType", code),
        ("Content-Length", str(len(payload))),
    ]
    return Answer(status, headers, iter([payload]), lambda: f"{code}: {message}")


# -- opening ---------------------------------------------------------------------------------


def _backend(consumer_arn: str) -> Any:
    from moto.kinesis.models import kinesis_backends

    match = _CONSUMER_ARN.fullmatch(consumer_arn)
    if match is None:
        raise RequestError("InvalidArgumentException", f"ConsumerARN {consumer_arn!r} is invalid")
    return kinesis_backends[match["account"]][match["region"]]


def open_subscription(request: dict[str, Any]) -> Subscription:
    """Check the request the way Kinesis does and start a subscription (caller holds LOCK)."""
    arn, shard_id = request.get("ConsumerARN"), request.get("ShardId")
    position = request.get("StartingPosition")
    for name, value in (
        ("ConsumerARN", arn),
        ("ShardId", shard_id),
        ("StartingPosition", position),
    ):
        if not value:
            raise RequestError(
                "ValidationException",
                f"1 validation error detected: Value null at '{name}' failed to satisfy "
                "constraint: Member must not be null",
            )
    if not isinstance(position, dict):
        raise RequestError("InvalidArgumentException", "StartingPosition must be an object")
    backend = _backend(str(arn))
    found = kinesis_consumers.find(backend, str(arn))
    if found is None:
        raise RequestError("ResourceNotFoundException", f"Consumer {arn} not found.")
    stream, consumer = found
    if consumer.status() != "ACTIVE":
        raise RequestError(
            "ResourceInUseException",
            f"Consumer {consumer.name} is {consumer.status()}; it can read only when ACTIVE.",
        )
    shard = stream.shards.get(str(shard_id))
    if shard is None:
        raise RequestError(
            "ResourceNotFoundException",
            f"Shard {shard_id} in stream {stream.stream_name} does not exist.",
        )
    cursor = _cursor(shard, position)
    key = (consumer.arn, shard.shard_id)
    now = time.monotonic()
    last = _subscriptions.get(key)
    if last is not None and now - last[0] < TAKEOVER_SECONDS:
        raise RequestError(
            "ResourceInUseException",
            f"Another active subscription exists for consumer {consumer.arn} and shard "
            f"{shard.shard_id} (subscribed {now - last[0]:.1f} s ago; wait 5 s to take it over).",
        )
    generation = next(_generations)
    _subscriptions[key] = (now, generation)
    return Subscription(
        stream=stream,
        consumer=consumer,
        shard=shard,
        key=key,
        generation=generation,
        cursor=cursor,
        index=sum(1 for seq in shard.records if seq <= cursor),
        deadline=now + kinesis_fix.timing().subscription,
        position=str(position.get("Type")),
        backend=backend,
    )


def _cursor(shard: Any, position: dict[str, Any]) -> int:
    """The sequence number the subscription starts after, for one StartingPosition."""
    kind = position.get("Type")
    start = starting_sequence(shard)
    if kind == "TRIM_HORIZON":
        return start
    if kind == "LATEST":
        return max(start, int(shard.get_max_sequence_number()))
    if kind in ("AT_SEQUENCE_NUMBER", "AFTER_SEQUENCE_NUMBER"):
        number = str(position.get("SequenceNumber") or "")
        if not _SEQUENCE.fullmatch(number):
            raise RequestError(
                "InvalidArgumentException",
                f"StartingPosition {kind} needs a SequenceNumber (decimal digits), not {number!r}",
            )
        return int(number) - 1 if kind == "AT_SEQUENCE_NUMBER" else int(number)
    if kind == "AT_TIMESTAMP":
        when = position.get("Timestamp")
        if when is None:
            raise RequestError(
                "InvalidArgumentException", "StartingPosition AT_TIMESTAMP needs a Timestamp"
            )
        at = _naive(when)
        before = [seq for seq, record in shard.records.items() if record.created_at < at]
        return max(before) if before else start
    raise RequestError(
        "InvalidArgumentException",
        f"StartingPosition Type {kind!r} is not one of {', '.join(POSITION_TYPES)}",
    )


def _naive(value: Any) -> datetime:
    try:
        return datetime.fromtimestamp(float(value), timezone.utc).replace(tzinfo=None)
    except (TypeError, ValueError, OverflowError, OSError) as exc:
        raise RequestError(
            "InvalidArgumentException", f"Timestamp {value!r} is not a time"
        ) from exc


# -- streaming -------------------------------------------------------------------------------


def stream_events(sub: Subscription, closing: threading.Event) -> Iterator[bytes]:
    """The event stream: ``initial-response``, then events until the subscription ends."""
    heartbeat = kinesis_fix.timing().heartbeat
    yield eventstream.event("initial-response", b"{}")
    last_sent: float | None = None
    while True:
        now = time.monotonic()
        if closing.is_set():
            sub.reason = "the sandbox is stopping"
            return
        if now >= sub.deadline:
            sub.reason = "its time is over (renew with ContinuationSequenceNumber)"
            return
        force = last_sent is None or now - last_sent >= heartbeat
        with LOCK:
            frame, done = _next_frame(sub, force=force)
        if frame is not None:
            yield frame
            sub.events += 1
            last_sent = time.monotonic()
        if done:
            return
        if sub.remaining:
            continue
        wait = min(sub.deadline - now, heartbeat - (time.monotonic() - (last_sent or now)), 0.5)
        with CHANGED:
            if sub.shard.is_open and int(sub.shard.get_max_sequence_number()) <= sub.cursor:
                CHANGED.wait(max(0.01, wait))


def _problem(sub: Subscription) -> tuple[str, str] | None:
    """Why the subscription must end now (deleted, deregistered, taken over), if it must."""
    if sub.backend.streams.get(sub.stream.stream_name) is not sub.stream:
        return "ResourceNotFoundException", f"Stream {sub.stream.stream_name} was deleted."
    consumer = sub.consumer
    if consumer not in kinesis_consumers.current(sub.stream) or consumer.status() != "ACTIVE":
        return "ResourceNotFoundException", f"Consumer {consumer.name} was deregistered."
    if _subscriptions.get(sub.key, (0.0, 0))[1] != sub.generation:
        return (
            "ResourceInUseException",
            f"Subscription to shard {sub.shard.shard_id} was taken over by a newer one.",
        )
    return None


def _next_frame(sub: Subscription, *, force: bool) -> tuple[bytes | None, bool]:
    """The next message to send (None: nothing yet) and whether it is the last (holds LOCK)."""
    problem = _problem(sub)
    if problem is not None:
        code, message = problem
        sub.reason = f"{code}: {message}"
        return eventstream.exception(code, json.dumps({"message": message}).encode()), True
    shard = sub.shard
    batch = _batch(shard, sub.index)
    if batch:
        sub.index += len(batch)
        sub.cursor = int(batch[-1].sequence_number)
    tip = int(shard.get_max_sequence_number())
    sub.remaining = tip > sub.cursor
    ended = not shard.is_open and not sub.remaining
    if not (batch or ended or force):
        return None, False
    event: dict[str, Any] = {
        "Records": [_record(r) for r in batch],
        "MillisBehindLatest": _behind(shard, batch) if sub.remaining else 0,
    }
    if ended:
        event["ChildShards"] = kinesis_fix.child_shards(sub.stream, shard.shard_id)
        sub.reason = "the shard is closed and was read to its end (ChildShards sent)"
    else:
        event["ContinuationSequenceNumber"] = str(sub.cursor)
    sub.records += len(batch)
    payload = json.dumps(event, separators=(",", ":")).encode()
    return eventstream.event("SubscribeToShardEvent", payload), ended


def _batch(shard: Any, index: int) -> list[Any]:
    """The records after the first ``index`` (moto appends a shard's records in order)."""
    batch: list[Any] = []
    size = 0
    for record in itertools.islice(shard.records.values(), index, index + MAX_EVENT_RECORDS):
        if batch and size + len(record.data) > MAX_EVENT_BYTES:
            break
        batch.append(record)
        size += len(record.data)
    return batch


def _record(record: Any) -> dict[str, Any]:
    return {
        "SequenceNumber": str(record.sequence_number),
        "ApproximateArrivalTimestamp": record.created_at.replace(tzinfo=timezone.utc).timestamp(),
        "Data": base64.b64encode(record.data).decode("ascii"),
        "PartitionKey": record.partition_key,
    }


def _behind(shard: Any, batch: list[Any]) -> int:
    """Milliseconds from the last record sent to the shard's newest (at least 1: not caught up)."""
    if not batch:
        return 1
    newest = shard.records[next(reversed(shard.records))]
    gap = (newest.created_at - batch[-1].created_at).total_seconds()
    return max(1, int(gap * 1000))
