"""Helpers for the tail tests: Twilio-like CloudEvents, producers and a reader client."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mypy_boto3_kinesis import KinesisClient
    from mypy_boto3_kinesis.type_defs import PutRecordsRequestEntryTypeDef

DELIVERED = "com.twilio.messaging.message.delivered"
SENT = "com.twilio.messaging.message.sent"
CALL = "com.twilio.voice.status-callback.call.completed"


def event(
    n: int,
    *,
    type_: str = DELIVERED,
    key: str = "k0",
    data_as_string: bool = True,
    event_id: str | None = None,
    extra: dict[str, Any] | None = None,
) -> bytes:
    """One Twilio-shaped CloudEvent; ``data`` carries the producer's counter and key."""
    data = {"n": n, "key": key, "status": "delivered", "to": "+15551234567", **(extra or {})}
    doc = {
        "specversion": "1.0",
        "type": type_,
        "source": f"/2010-04-01/Accounts/AC{'0' * 32}/Messages/SM{n:032d}",
        "id": event_id or f"EZ{n:032d}",
        "dataschema": "https://events-schemas.twilio.com/Messaging.MessageStatus/4",
        "datacontenttype": "application/json",
        "time": "2026-01-01T00:00:00.000Z",
        "data": json.dumps(data) if data_as_string else data,
    }
    return json.dumps(doc).encode()


def put(kinesis: KinesisClient, stream: str, items: Iterable[tuple[bytes, str]]) -> None:
    """PutRecords in chunks of 500, failing loudly on any rejected record."""
    batch: list[PutRecordsRequestEntryTypeDef] = []

    def flush() -> None:
        if batch:
            response = kinesis.put_records(StreamName=stream, Records=batch)
            assert response.get("FailedRecordCount", 0) == 0, response
            batch.clear()

    for data, key in items:
        batch.append({"Data": data, "PartitionKey": key})
        if len(batch) == 500:
            flush()
    flush()


def put_events(kinesis: KinesisClient, stream: str, numbers: Iterable[int], keys: int = 16) -> None:
    put(kinesis, stream, ((event(n, key=f"k{n % keys}"), f"k{n % keys}") for n in numbers))


def reader_client(endpoint_url: str | None = None) -> KinesisClient:
    """The client the CLI uses for tail: our AwsClients, one botocore attempt per call."""
    from twilio_es_cli.aws import AwsClients
    from twilio_es_cli.config import resolve_settings

    return AwsClients(resolve_settings(endpoint_url=endpoint_url), max_attempts=1).kinesis()


def create_stream(kinesis: KinesisClient, name: str, shards: int) -> None:
    kinesis.create_stream(StreamName=name, ShardCount=shards)
    kinesis.get_waiter("stream_exists").wait(
        StreamName=name,
        # botocore sleeps any number of seconds; boto3-stubs type Delay as int. 0.1 s keeps
        # tests fast (the default is 10 s).
        WaiterConfig={"Delay": 0.1, "MaxAttempts": 200},  # type: ignore[typeddict-item]
    )


def numbers_of(lines: Sequence[str]) -> list[int]:
    return [json.loads(line)["data"]["n"] for line in lines]


class CallCounter:
    """Counts calls of one Kinesis operation through botocore's event hooks (no mocking)."""

    def __init__(self, client: Any, operation: str) -> None:
        self.count = 0
        self.changed = threading.Condition()
        client.meta.events.register(f"after-call.kinesis.{operation}", self._seen)

    def _seen(self, **_: Any) -> None:
        with self.changed:
            self.count += 1
            self.changed.notify_all()

    def wait_for(self, count: int, timeout: float = 30) -> None:
        with self.changed:
            assert self.changed.wait_for(lambda: self.count >= count, timeout), self.count
