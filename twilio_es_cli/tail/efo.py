"""Enhanced fan-out for ``tail --efo``: a stream consumer of our own, read with SubscribeToShard.

Why: a polling tail shares each shard's 5 GetRecords/s and 2 MB/s with the production
consumers of the stream, and can throttle them. A registered consumer gets its own 2 MB/s per
shard, pushed over HTTP/2-style event streams, and touches nobody's budget (it costs money per
consumer-shard hour and per GB instead, which ``--help`` says).

How, in two parts:

- :class:`EfoConsumer` (a context manager) owns the consumer's life: it removes consumers that
  earlier runs of this user on this host left behind (their process is gone), registers one
  named ``twilio-es-<user>-<host>-<pid>-<tag>``, waits until it is ACTIVE and deregisters it
  on the way out, however the tail stops (``--max``, Ctrl-C, SIGTERM, a closed pipe, errors).
  A SIGKILL leaves it registered; the next run finds it by name and removes it.
- :meth:`EfoConsumer.read_shard` is a :class:`~twilio_es_cli.tail.shard_reader.ShardReader`: the
  stream reader keeps planning, parents-before-children ordering and checkpoints, and only the way
  records arrive changes. A subscription lasts 5 minutes; it is renewed ``AFTER_SEQUENCE_NUMBER`` of
  the last ``ContinuationSequenceNumber`` (no gap, no repeat), and a shard ends when an event
  carries ``ChildShards`` (resharding), which the reader then follows.
"""

from __future__ import annotations

import contextlib
import getpass
import os
import re
import secrets
import socket
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from types import TracebackType
from typing import TYPE_CHECKING, Any

from twilio_es_cli.arns import stream_name
from twilio_es_cli.aws import (
    as_connection_error,
    error_code,
    foreign_answer,
    is_stream_interrupted,
    stream_not_found,
    translate,
)
from twilio_es_cli.errors import ApiError, NotFoundError, TwilioEsError
from twilio_es_cli.progress import TERMINAL, Reporter
from twilio_es_cli.shards import stream_kwargs, subscription_ended
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

if TYPE_CHECKING:
    from mypy_boto3_kinesis import KinesisClient
    from mypy_boto3_kinesis.type_defs import (
        ListStreamConsumersInputTypeDef,
        StartingPositionTypeDef,
    )

PREFIX = "twilio-es-"
MAX_NAME = 128  # Kinesis: 1-128 characters of [a-zA-Z0-9_.-]
MAX_CONSUMERS = 20  # per stream
ACTIVE_TIMEOUT = 120.0  # AWS takes seconds to make a consumer ACTIVE
IN_USE_PATIENCE = 30.0  # SubscribeToShard refuses a second call within 5 s: wait that out
_UNSAFE = re.compile(r"[^A-Za-z0-9_.]+")
_OWNER = re.compile(r"^(?P<pid>\d+)-(?P<tag>[0-9a-f]{4})$")


def _part(text: str, limit: int) -> str:
    """``text`` made safe for a consumer name ('-' separates the parts, so it goes too)."""
    return (_UNSAFE.sub("_", text).strip("_") or "unknown")[:limit]


def owner_prefix(user: str | None = None, host: str | None = None) -> str:
    """``twilio-es-<user>-<host>-``: the start of every consumer this user runs on this host."""
    if user is None:
        try:
            user = getpass.getuser()
        except (OSError, KeyError):  # no name for our uid (containers)
            user = str(os.getuid()) if hasattr(os, "getuid") else "user"
    host = host if host is not None else socket.gethostname().split(".")[0]
    return f"{PREFIX}{_part(user, 32)}-{_part(host, 48)}-"


def consumer_name(
    user: str | None = None, host: str | None = None, pid: int | None = None, tag: str = ""
) -> str:
    """The name that says whose consumer it is and which process holds it (for cleanup)."""
    pid = os.getpid() if pid is None else pid
    tag = tag or secrets.token_hex(2)
    return f"{owner_prefix(user, host)}{pid}-{tag}"[:MAX_NAME]


def owner_pid(name: str, prefix: str) -> int | None:
    """The process id in one of our consumer names (None: not one of this user's and host's)."""
    if not name.startswith(prefix):
        return None
    match = _OWNER.match(name[len(prefix) :])
    return int(match["pid"]) if match else None


def process_alive(pid: int, since: datetime | None = None) -> bool:
    """Is ``pid`` running, and (where /proc tells) was it started before ``since``?

    A pid reused by a later process must not keep a leftover consumer alive, so on Linux a
    process that started after the consumer was registered is not its owner.
    """
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive, but then not ours either
        return True
    started = _process_start(pid)
    if since is not None and started is not None:
        return started <= since.timestamp() + 1.0
    return True


def _process_start(pid: int) -> float | None:
    """Start time of ``pid`` as a Unix time, from /proc (None where there is no /proc)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
        with open("/proc/stat", encoding="ascii") as handle:
            boot = next(float(line.split()[1]) for line in handle if line.startswith("btime"))
        return boot + int(fields[19]) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, StopIteration):
        return None


@dataclass(frozen=True)
class ConsumerInfo:
    """One registered consumer of a stream, as ``stream describe`` shows it."""

    name: str
    arn: str
    status: str
    created: datetime | None


def list_consumers(kinesis: KinesisClient, stream_arn: str) -> list[ConsumerInfo]:
    """Every consumer registered on the stream (ListStreamConsumers, paged)."""
    found: list[ConsumerInfo] = []
    args: ListStreamConsumersInputTypeDef = {"StreamARN": stream_arn}
    while True:
        try:
            response = kinesis.list_stream_consumers(**args)
        except Exception as exc:
            raise _refused(exc, "list the stream's consumers", stream_arn) from exc
        for c in response.get("Consumers") or []:
            found.append(
                ConsumerInfo(
                    c["ConsumerName"],
                    c["ConsumerARN"],
                    c.get("ConsumerStatus", "?"),
                    c.get("ConsumerCreationTimestamp"),
                )
            )
        token = response.get("NextToken")
        if not token:
            return found
        args = {"StreamARN": stream_arn, "NextToken": token}


def _refused(exc: BaseException, action: str, stream: str) -> TwilioEsError:
    """Our one-line error, with a hint, for the codes enhanced fan-out brings."""
    code = error_code(exc)
    name = stream_name(stream)
    foreign = foreign_answer(exc)
    if foreign is not None:  # e.g. an emulator without enhanced fan-out: say so, no page
        return ApiError(
            f"could not {action}: the server answered {foreign}; it does not serve "
            "enhanced fan-out (--efo)",
            hint="Tail without --efo: it reads the same events by polling (GetRecords), "
            "which works there.",
        )
    if code == "ResourceNotFoundException":
        return NotFoundError(
            f"could not {action}: stream {name!r} or its consumer was not found",
            hint="Check the name/ARN and --region (`twilio-es stream list`); a consumer "
            "deregistered by someone else ends the tail: run it again.",
        )
    if code == "LimitExceededException":
        return ApiError(
            f"could not {action}: Kinesis refused (LimitExceeded: at most {MAX_CONSUMERS} "
            "consumers per stream, 5 registrations per second)",
            hint=f"`twilio-es stream describe {name}` lists the consumers; deregister unused "
            "ones (aws kinesis deregister-stream-consumer --consumer-arn ARN) or tail "
            "without --efo.",
        )
    if code == "ResourceInUseException":
        return ApiError(
            f"could not {action}: stream {name!r} or the consumer is busy (ResourceInUse)",
            hint="Kinesis registers consumers only on an ACTIVE stream: wait until "
            f"`twilio-es stream describe {name}` shows ACTIVE (resharding?) and try again.",
        )
    if isinstance(exc, TwilioEsError):
        return exc
    return translate(exc, action)


def starting_position(position: StartPosition) -> StartingPositionTypeDef:
    """SubscribeToShard's ``StartingPosition`` for one of the reader's start positions."""
    doc: StartingPositionTypeDef = {"Type": position.kind}
    if position.kind == "AT_TIMESTAMP" and position.timestamp is not None:
        doc["Timestamp"] = position.timestamp
    elif position.kind == "AFTER_SEQUENCE_NUMBER" and position.sequence_number is not None:
        doc["SequenceNumber"] = position.sequence_number
    return doc


class EfoConsumer:
    """A registered stream consumer for one tail, and the shard reader that uses it.

    ``with EfoConsumer(kinesis, stream, report=..., stop=...) as efo:`` registers (after
    removing this user's leftovers on this host) and waits until ACTIVE; leaving the block
    closes every open subscription and deregisters the consumer.
    """

    def __init__(
        self,
        kinesis: KinesisClient,
        stream: str,
        *,
        report: Reporter = TERMINAL,
        stop: threading.Event | None = None,
        name: str | None = None,
        alive: Callable[[int, datetime | None], bool] = process_alive,
        patience: float = 60.0,
    ) -> None:
        self.kinesis = kinesis
        self.stream = stream
        self.report = report  # what it does to the consumer is said as notes
        self.stop = stop or threading.Event()
        self.name = name or consumer_name()
        self.prefix = owner_prefix()
        self.alive = alive
        self.patience = patience  # how long a busy (updating) stream may refuse registration
        self.arn: str | None = None
        self.stream_arn: str | None = None
        self._open: set[Any] = set()
        self._lock = threading.Lock()

    # --- the consumer's life -------------------------------------------------------------------

    def __enter__(self) -> EfoConsumer:
        self.stream_arn = self._stream_arn()
        self.remove_leftovers()
        self.arn = arn = self._register()
        try:
            self._wait_active(arn)
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """End every subscription, then deregister (a failure is a warning with the fix)."""
        with self._lock:
            streams, self._open = list(self._open), set()
        for events in streams:
            _close_quietly(events)
        arn, self.arn = self.arn, None
        if arn is None:
            return
        try:
            self.kinesis.deregister_stream_consumer(ConsumerARN=arn)
        except Exception as exc:
            if error_code(exc) == "ResourceNotFoundException":  # gone with its stream
                return
            self.report.note(
                f"could not deregister consumer {self.name} ({exc}); it costs money while it "
                f"exists: aws kinesis deregister-stream-consumer --consumer-arn {arn} "
                "(the next `tail --efo` here removes it too)"
            )

    def _stream_arn(self) -> str:
        try:
            summary = self.kinesis.describe_stream_summary(**stream_kwargs(self.stream))
        except Exception as exc:
            if error_code(exc) == "ResourceNotFoundException":
                raise stream_not_found(self.stream) from exc
            raise _refused(exc, "describe the stream", self.stream) from exc
        return str(summary["StreamDescriptionSummary"]["StreamARN"])

    def remove_leftovers(self) -> list[str]:
        """Deregister consumers this user's earlier runs on this host left (process gone)."""
        assert self.stream_arn is not None
        removed = []
        for consumer in list_consumers(self.kinesis, self.stream_arn):
            pid = owner_pid(consumer.name, self.prefix)
            if pid is None or consumer.status == "DELETING":
                continue
            if self.alive(pid, consumer.created):  # another tail of ours, still running
                continue
            try:
                self.kinesis.deregister_stream_consumer(ConsumerARN=consumer.arn)
            except Exception as exc:
                if error_code(exc) != "ResourceNotFoundException":
                    raise _refused(exc, f"remove consumer {consumer.name}", self.stream) from exc
            self.report.note(
                f"removed consumer {consumer.name}, left by an earlier tail --efo "
                f"(process {pid} is gone)"
            )
            removed.append(consumer.name)
        return removed

    def _register(self) -> str:
        """RegisterStreamConsumer, retrying its rate limit and a stream that is updating."""
        assert self.stream_arn is not None
        deadline = time.monotonic() + self.patience
        attempt = 0
        while True:
            try:
                response = self.kinesis.register_stream_consumer(
                    StreamARN=self.stream_arn, ConsumerName=self.name
                )
                return str(response["Consumer"]["ConsumerARN"])
            except Exception as exc:
                code = error_code(exc)
                if code == "LimitExceededException":
                    if len(list_consumers(self.kinesis, self.stream_arn)) >= MAX_CONSUMERS:
                        raise _refused(exc, "register a consumer", self.stream) from exc
                elif code != "ResourceInUseException":  # not updating: the name is taken
                    raise _refused(exc, "register a consumer", self.stream) from exc
                if time.monotonic() >= deadline or self.stop.is_set():
                    raise _refused(exc, "register a consumer", self.stream) from exc
            attempt += 1
            self.stop.wait(min(5.0, 0.5 * attempt))

    def _wait_active(self, arn: str) -> None:
        self.report.note(f"reading with enhanced fan-out as consumer {self.name}")
        deadline = time.monotonic() + ACTIVE_TIMEOUT
        while not self.stop.is_set():
            try:
                description = self.kinesis.describe_stream_consumer(ConsumerARN=arn)
            except Exception as exc:
                raise _refused(exc, f"describe consumer {self.name}", self.stream) from exc
            status = description["ConsumerDescription"]["ConsumerStatus"]
            if status == "ACTIVE":
                return
            if time.monotonic() >= deadline:
                raise ApiError(
                    f"consumer {self.name} is still {status} after {ACTIVE_TIMEOUT:.0f}s",
                    hint="Try again, or tail without --efo.",
                )
            self.stop.wait(0.5)

    # --- reading -------------------------------------------------------------------------------

    def read_shard(self, ctx: ShardContext, shard_id: str, start: StartPosition) -> None:
        """Thread body (a ShardReader): push-read one shard; failures go to the consumer."""
        try:
            self._read_shard(ctx, shard_id, start)
        except TwilioEsError as exc:
            ctx.put(Failed(exc))
        except Exception as exc:  # never die silently: the consumer would wait forever
            if not ctx.halt.is_set():
                ctx.put(Failed(_refused(exc, f"read shard {shard_id}", self.stream)))

    def _read_shard(self, ctx: ShardContext, shard_id: str, start: StartPosition) -> None:
        # Where to subscribe again; _drain advances it event by event, so a subscription
        # that breaks off mid-way resumes right after the last records handed over.
        cursor = _Cursor(start)
        retry = Retry(ctx, f"subscribing to shard {shard_id}")
        while not ctx.halt.is_set():
            cursor.gate.opened(cursor.position)
            events = self._subscribe(ctx, shard_id, cursor.position, retry)
            if events is None:
                return
            if cursor.position.kind == "LATEST":
                # Renewing at LATEST would skip what arrived meanwhile: from now on it is
                # this moment (until the first event's ContinuationSequenceNumber says more).
                cursor.position = StartPosition.at(datetime.now(timezone.utc))
            try:
                outcome = self._drain(ctx, shard_id, events, cursor)
            except Exception as exc:
                if ctx.halt.is_set():
                    return
                retryable = is_stream_interrupted(exc) or _transient_event(exc)
                seen_as = exc if error_code(exc) else as_connection_error(exc)
                if retryable and retry.transient(seen_as):
                    continue
                raise _refused(exc, f"read shard {shard_id}", self.stream) from exc
            finally:
                self._forget(events)
            if outcome != "renew":
                return
            # The subscription's 5 minutes are over: subscribe again from the continuation.

    def _subscribe(
        self, ctx: ShardContext, shard_id: str, position: StartPosition, retry: Retry
    ) -> Any | None:
        """Open a subscription (the initial-response is read by botocore), or None if halted
        or closed."""
        in_use_until: float | None = None
        while not ctx.halt.is_set():
            arn = self.arn
            if arn is None:  # closed (the tail is ending): no consumer to subscribe as
                return None
            try:
                response = ctx.kinesis.subscribe_to_shard(
                    ConsumerARN=arn,
                    ShardId=shard_id,
                    StartingPosition=starting_position(position),
                )
            except Exception as exc:
                if foreign_answer(exc) is not None:  # not a failure worth retrying
                    raise _refused(exc, f"subscribe to shard {shard_id}", self.stream) from exc
                if error_code(exc) == "ResourceInUseException":
                    # Within 5 s of the previous subscription (a reconnect): wait it out.
                    now = time.monotonic()
                    in_use_until = in_use_until or now + IN_USE_PATIENCE
                    if now < in_use_until:
                        ctx.halt.wait(1.0)
                        continue
                if retry.transient(exc):
                    continue
                raise _refused(exc, f"subscribe to shard {shard_id}", self.stream) from exc
            retry.succeeded()
            events = response["EventStream"]
            with self._lock:
                self._open.add(events)
            if ctx.halt.is_set():
                self._forget(events)
                return None
            return events
        return None

    def _drain(
        self, ctx: ShardContext, shard_id: str, events: Iterable[Any], cursor: _Cursor
    ) -> str:
        """Hand over each event's records, advancing ``cursor``; say why the subscription ended.

        ``"ended"``: the shard closed (``ChildShards`` given to the reader); ``"caught_up"``:
        not following and at the tip; ``"halted"``; ``"renew"``: the subscription ran out.
        """
        for event in events:
            if ctx.halt.is_set():
                return "halted"
            body = event.get("SubscribeToShardEvent")
            if body is None:
                continue
            raw = body.get("Records") or []
            if raw:
                records = records_of(shard_id, raw)
                shown = cursor.gate.admit(records)
                if shown and not ctx.put(Batch(shard_id, shown)):
                    return "halted"
                cursor.position = StartPosition.after(records[-1].sequence_number)
            ctx.behind_latest(shard_id, int(body.get("MillisBehindLatest") or 0))
            if subscription_ended(body):
                ctx.put(ShardEnded(shard_id, list(body.get("ChildShards") or [])))
                return "ended"
            cursor.position = StartPosition.after(str(body["ContinuationSequenceNumber"]))
            if not ctx.follow and not body.get("MillisBehindLatest"):
                ctx.put(CaughtUp(shard_id))
                return "caught_up"
        return "renew"

    def _forget(self, events: Any) -> None:
        with self._lock:
            self._open.discard(events)
        _close_quietly(events)


@dataclass
class _Cursor:
    """One shard's resume position, shared by a subscription's reader and its retry loop,
    and what it may hand over after opening at a timestamp."""

    position: StartPosition
    gate: ArrivalGate = field(default_factory=ArrivalGate)


def _transient_event(exc: BaseException) -> bool:
    """An exception event worth subscribing again for (AWS's own failures and throttling)."""
    return error_code(exc) in {
        "InternalFailureException",
        "InternalFailure",
        "ServiceUnavailable",
        "KMSThrottlingException",
        "LimitExceededException",
    }


def _close_quietly(events: Any) -> None:
    with contextlib.suppress(Exception):  # already closed, or closed under a reading thread
        events.close()
