"""Enhanced fan-out consumers in the sandbox, in the states Kinesis documents.

moto 5.2 makes a consumer ``ACTIVE`` the moment it is registered, drops it at once when it is
deregistered (and, deregistering by stream and name, drops every *other* consumer instead),
has no limits and no creation time in the ARN. The Kinesis API reference (botocore's
``kinesis/2013-12-02/service-2.json``) says:

- ``ConsumerStatus`` is ``CREATING``, ``ACTIVE`` or ``DELETING``; "a consumer can't read data
  while in the CREATING or DELETING states" (SubscribeToShard answers
  ``ResourceInUseException`` then);
- a consumer ARN contains the creation timestamp ("if you delete a consumer and then create a
  new one with the same name, it won't have the same ARN");
- at most 20 consumers per provisioned stream, and at most 5 ``CREATING`` at the same time
  (``LimitExceededException``); a name already registered on the stream is
  ``ResourceInUseException``; Describe/Deregister take the consumer ARN, or the stream ARN and
  the consumer name (``InvalidArgumentException`` without either; ``ResourceNotFoundException``
  for an unknown one); ListStreamConsumers pages with ``MaxResults`` (1-10000, default 100)
  and ``NextToken``.

Consumers live in moto's ``Stream.consumers`` list (so they go with their stream), as
:class:`SandboxConsumer` records whose state follows the clock: ``CREATING`` for
:attr:`~twilio_es_cli.local.kinesis_fix.Timing.consumer` seconds, then ``ACTIVE``; after
deregistering ``DELETING`` as long, then gone.
"""

from __future__ import annotations

import base64
import binascii
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from twilio_es_cli.local import kinesis_fix
from twilio_es_cli.local.kinesis_fix import CHANGED, aws_error, invalid

MAX_CONSUMERS = 20
MAX_CREATING = 5
DEFAULT_LIST = 100
MAX_LIST = 10000
_NAME = re.compile(r"[a-zA-Z0-9_.-]{1,128}")


@dataclass
class SandboxConsumer:
    """One registered consumer; its status follows :func:`time.monotonic`."""

    name: str
    arn: str
    stream_arn: str
    created: datetime  # naive UTC, as moto keeps times
    active_at: float
    deleting_since: float | None = None
    gone_at: float | None = None

    def status(self, now: float | None = None) -> str:
        now = time.monotonic() if now is None else now
        if self.deleting_since is not None:
            return "DELETING"
        return "ACTIVE" if now >= self.active_at else "CREATING"

    def view(self, *, with_stream: bool = False) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "ConsumerName": self.name,
            "ConsumerARN": self.arn,
            "ConsumerStatus": self.status(),
            "ConsumerCreationTimestamp": self.created,
        }
        if with_stream:
            doc["StreamARN"] = self.stream_arn
        return doc


def current(stream: Any) -> list[SandboxConsumer]:
    """The stream's consumers, after dropping those whose DELETING time is over."""
    now = time.monotonic()
    kept = [
        c
        for c in stream.consumers
        if isinstance(c, SandboxConsumer) and (c.gone_at is None or c.gone_at > now)
    ]
    if len(kept) != len(stream.consumers):
        stream.consumers[:] = kept
    return kept


def _stream_by_arn(backend: Any, arn: str | None) -> Any:
    for stream in backend.streams.values():
        if arn and stream.arn == arn:
            return stream
    raise aws_error("ResourceNotFoundException", f"Stream {arn} not found.")


def find(backend: Any, consumer_arn: str) -> tuple[Any, SandboxConsumer] | None:
    """The stream and consumer of ``consumer_arn`` (None when there is none)."""
    for stream in backend.streams.values():
        for consumer in current(stream):
            if consumer.arn == consumer_arn:
                return stream, consumer
    return None


def _named(self: Any) -> tuple[Any, SandboxConsumer]:
    """The consumer a Describe/Deregister request names (by ARN, or stream ARN + name)."""
    arn = self._get_param("ConsumerARN")
    stream_arn = self._get_param("StreamARN")
    name = self._get_param("ConsumerName")
    if arn:
        found = find(self.kinesis_backend, arn)
        if found is None or (stream_arn and found[0].arn != stream_arn):
            raise aws_error("ResourceNotFoundException", f"Consumer {arn} not found.")
        return found
    if not (stream_arn and name):
        raise invalid("Give the ConsumerARN, or the StreamARN and the ConsumerName.")
    stream = _stream_by_arn(self.kinesis_backend, stream_arn)
    for consumer in current(stream):
        if consumer.name == name:
            return stream, consumer
    raise aws_error(
        "ResourceNotFoundException", f"Consumer {name} of stream {stream_arn} not found."
    )


def register_stream_consumer(self: Any) -> Any:
    from moto.core.responses import ActionResult

    name = str(self._get_param("ConsumerName") or "")
    if not _NAME.fullmatch(name):
        raise invalid(f"ConsumerName {name!r} must be 1-128 characters of [a-zA-Z0-9_.-]")
    stream = _stream_by_arn(self.kinesis_backend, self._get_param("StreamARN"))
    consumers = current(stream)
    if any(c.name == name for c in consumers):
        raise aws_error(
            "ResourceInUseException",
            f"Consumer {name} under stream {stream.stream_name} already exists.",
        )
    if len(consumers) >= MAX_CONSUMERS:
        raise aws_error(
            "LimitExceededException",
            f"Stream {stream.stream_name} has {MAX_CONSUMERS} consumers, the most it can have.",
        )
    if sum(c.status() == "CREATING" for c in consumers) >= MAX_CREATING:
        raise aws_error(
            "LimitExceededException", f"At most {MAX_CREATING} consumers can be CREATING at once."
        )
    created = datetime.now(timezone.utc).replace(microsecond=0)
    stamp = int(created.timestamp())
    consumer = SandboxConsumer(
        name=name,
        arn=f"{stream.arn}/consumer/{name}:{stamp}",
        stream_arn=stream.arn,
        created=created.replace(tzinfo=None),
        active_at=time.monotonic() + kinesis_fix.timing().consumer,
    )
    stream.consumers.append(consumer)
    return ActionResult({"Consumer": consumer.view()})


def describe_stream_consumer(self: Any) -> Any:
    from moto.core.responses import ActionResult

    _, consumer = _named(self)
    return ActionResult({"ConsumerDescription": consumer.view(with_stream=True)})


def list_stream_consumers(self: Any) -> Any:
    from moto.core.responses import ActionResult

    limit = self._get_param("MaxResults")
    limit = DEFAULT_LIST if limit is None else int(limit)
    if not 1 <= limit <= MAX_LIST:
        raise invalid(f"MaxResults must be between 1 and {MAX_LIST}")
    stream = _stream_by_arn(self.kinesis_backend, self._get_param("StreamARN"))
    consumers = current(stream)
    start = _decode_token(self._get_param("NextToken"))
    page = consumers[start : start + limit]
    answer: dict[str, Any] = {"Consumers": [c.view() for c in page]}
    if start + limit < len(consumers):
        answer["NextToken"] = base64.urlsafe_b64encode(str(start + limit).encode()).decode()
    return ActionResult(answer)


def _decode_token(token: str | None) -> int:
    if not token:
        return 0
    try:
        return int(base64.urlsafe_b64decode(token.encode()).decode())
    except (ValueError, binascii.Error) as exc:
        raise invalid(f"NextToken {token[:40]!r} is not valid") from exc


def deregister_stream_consumer(self: Any) -> Any:
    """DELETING for the configured time, then gone; its subscriptions end at once."""
    from moto.core.responses import EmptyResult

    stream, consumer = _named(self)
    if consumer.deleting_since is None:
        now = time.monotonic()
        consumer.deleting_since = now
        consumer.gone_at = now + kinesis_fix.timing().consumer
        current(stream)
        with CHANGED:
            CHANGED.notify_all()
    return EmptyResult()


#: The KinesisResponse methods this module replaces (kinesis_fix.install sets them).
HANDLERS: dict[str, Callable[[Any], Any]] = {
    "register_stream_consumer": register_stream_consumer,
    "describe_stream_consumer": describe_stream_consumer,
    "list_stream_consumers": list_stream_consumers,
    "deregister_stream_consumer": deregister_stream_consumer,
}
