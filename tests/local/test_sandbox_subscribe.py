"""SubscribeToShard on the sandbox, read by boto3's own ``subscribe_to_shard``, unmodified.

Each test's docstring quotes the Kinesis API reference (botocore's
``kinesis/2013-12-02/service-2.json``) it follows. The sandbox runs in this process with
short timings (a subscription lasts :data:`SUBSCRIPTION` seconds instead of 5 minutes) so the
end of a subscription and its renewal are seen quickly; the 5-second rule is AWS's own.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

import pytest
from botocore.exceptions import ClientError, EventStreamError

from tests.conftest import boto_client, reset_moto, wait_active
from twilio_es_cli.local.kinesis_fix import Timing
from twilio_es_cli.local.sandbox import Sandbox

if TYPE_CHECKING:
    from mypy_boto3_kinesis import KinesisClient
    from mypy_boto3_kinesis.type_defs import StartingPositionTypeDef

SUBSCRIPTION = 2.0
SHARD = "shardId-000000000000"


@pytest.fixture(scope="module")
def sandbox_url() -> Iterator[str]:
    timing = Timing(updating=0.3, consumer=0.0, subscription=SUBSCRIPTION, heartbeat=0.2)
    with Sandbox(timing=timing) as sandbox:
        yield sandbox.aws_url
        reset_moto(sandbox.aws_url)  # moto's state is this process's: leave none behind


@pytest.fixture
def kinesis(sandbox_url: str) -> KinesisClient:
    return boto_client("kinesis", sandbox_url)


def stream_with_consumer(kinesis: KinesisClient, name: str, shards: int = 1) -> str:
    kinesis.create_stream(StreamName=name, ShardCount=shards)
    wait_active(kinesis, name)
    arn = kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["StreamARN"]
    return consumer(kinesis, arn, "reader")


def consumer(kinesis: KinesisClient, stream_arn: str, name: str) -> str:
    return str(
        kinesis.register_stream_consumer(StreamARN=stream_arn, ConsumerName=name)["Consumer"][
            "ConsumerARN"
        ]
    )


def put(kinesis: KinesisClient, name: str, numbers: range) -> list[str]:
    return [
        kinesis.put_record(StreamName=name, PartitionKey="k", Data=b"%d" % n)["SequenceNumber"]
        for n in numbers
    ]


def read(events: Any, until: int | None = None) -> tuple[list[int], list[dict[str, Any]]]:
    """Numbers in the records, and the events, until ``until`` numbers or the stream ends."""
    numbers: list[int] = []
    seen: list[dict[str, Any]] = []
    for event in events:
        body = event["SubscribeToShardEvent"]
        seen.append(body)
        numbers.extend(int(r["Data"]) for r in body["Records"])
        if until is not None and len(numbers) >= until:
            break
    return numbers, seen


def subscribe(kinesis: KinesisClient, arn: str, position: StartingPositionTypeDef) -> Any:
    return kinesis.subscribe_to_shard(ConsumerARN=arn, ShardId=SHARD, StartingPosition=position)


def test_boto3_reads_the_event_stream_as_aws_sends_it(
    kinesis: KinesisClient, unique_name: str
) -> None:
    """SubscribeToShard: "your consumer starts receiving events of type SubscribeToShardEvent
    over the HTTP/2 connection"; the output is an event stream (boto3 reads its
    initial-response itself); SubscribeToShardEvent has Records, ContinuationSequenceNumber
    and MillisBehindLatest ("A value of zero indicates that record processing is caught
    up")."""
    arn = stream_with_consumer(kinesis, unique_name)
    sequence = put(kinesis, unique_name, range(25))
    response = subscribe(kinesis, arn, {"Type": "TRIM_HORIZON"})
    headers = response["ResponseMetadata"]["HTTPHeaders"]
    assert headers["content-type"] == "application/vnd.amazon.eventstream"
    events = iter(response["EventStream"])
    first = next(events)["SubscribeToShardEvent"]
    assert [int(r["Data"]) for r in first["Records"]] == list(range(25))
    assert [r["SequenceNumber"] for r in first["Records"]] == sequence
    assert first["ContinuationSequenceNumber"] == sequence[-1]
    assert first["MillisBehindLatest"] == 0
    assert isinstance(first["Records"][0]["ApproximateArrivalTimestamp"], datetime)
    put(kinesis, unique_name, range(25, 30))
    numbers, _ = read(events, until=5)
    assert numbers == list(range(25, 30))
    response["EventStream"].close()


def test_every_starting_position_type(kinesis: KinesisClient, unique_name: str) -> None:
    """StartingPosition Type: "AT_SEQUENCE_NUMBER: Start streaming from the position denoted by
    the sequence number ... AFTER_SEQUENCE_NUMBER: Start streaming right after ...
    AT_TIMESTAMP: ... If a record with this exact time stamp does not exist, records will be
    streamed from the next (later) record ... TRIM_HORIZON: Start streaming at the last
    untrimmed record in the shard ... LATEST: Start streaming just after the most recent
    record in the shard"."""
    first = stream_with_consumer(kinesis, unique_name)
    arn = kinesis.describe_stream_summary(StreamName=unique_name)["StreamDescriptionSummary"][
        "StreamARN"
    ]
    sequence = put(kinesis, unique_name, range(5))
    time.sleep(1.1)  # timestamps may travel in whole seconds
    between = datetime.now(timezone.utc)
    time.sleep(1.1)
    sequence += put(kinesis, unique_name, range(5, 10))
    positions: list[tuple[StartingPositionTypeDef, list[int]]] = [
        ({"Type": "TRIM_HORIZON"}, list(range(10))),
        ({"Type": "AT_SEQUENCE_NUMBER", "SequenceNumber": sequence[3]}, list(range(3, 10))),
        ({"Type": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": sequence[3]}, list(range(4, 10))),
        ({"Type": "AT_TIMESTAMP", "Timestamp": between}, list(range(5, 10))),
    ]
    for n, (position, expected) in enumerate(positions):
        reader = first if n == 0 else consumer(kinesis, arn, f"p{n}")  # 5 s rule per consumer
        response = subscribe(kinesis, reader, position)
        numbers, _ = read(response["EventStream"], until=len(expected))
        response["EventStream"].close()
        assert numbers == expected, position
    latest = subscribe(kinesis, consumer(kinesis, arn, "latest"), {"Type": "LATEST"})
    events = iter(latest["EventStream"])
    assert next(events)["SubscribeToShardEvent"]["Records"] == []  # nothing after the tip
    put(kinesis, unique_name, range(10, 11))
    assert read(events, until=1)[0] == [10]
    latest["EventStream"].close()


def test_a_subscription_ends_after_its_time_and_renews_from_the_continuation(
    kinesis: KinesisClient, unique_name: str
) -> None:
    """SubscribeToShard: "your consumer starts receiving events ... for up to 5 minutes, after
    which time you need to call SubscribeToShard again to renew the subscription";
    ContinuationSequenceNumber: "Use this as SequenceNumber in the next call to
    SubscribeToShard, with StartingPosition set to AT_SEQUENCE_NUMBER or
    AFTER_SEQUENCE_NUMBER"; "If you call SubscribeToShard again with the same ConsumerARN and
    ShardId within 5 seconds of a successful call, you'll get a ResourceInUseException"."""
    arn = stream_with_consumer(kinesis, unique_name)
    stop = threading.Event()
    written = 0

    def produce() -> None:
        nonlocal written
        while not stop.is_set():
            put(kinesis, unique_name, range(written, written + 3))
            written += 3
            time.sleep(0.1)

    producer = threading.Thread(target=produce)
    producer.start()
    try:
        numbers: list[int] = []
        position: StartingPositionTypeDef = {"Type": "TRIM_HORIZON"}
        for _ in range(3):
            called = time.monotonic()
            response = subscribe(kinesis, arn, position)
            got, seen = read(response["EventStream"])  # ends by itself after SUBSCRIPTION s
            numbers += got
            position = {
                "Type": "AFTER_SEQUENCE_NUMBER",
                "SequenceNumber": seen[-1]["ContinuationSequenceNumber"],
            }
            with pytest.raises(ClientError) as caught:
                subscribe(kinesis, arn, position)  # within 5 s of the last successful call
            assert caught.value.response["Error"]["Code"] == "ResourceInUseException"
            time.sleep(max(0.0, called + 5.1 - time.monotonic()))
    finally:
        stop.set()
        producer.join(30)
    response = subscribe(kinesis, arn, position)
    numbers += read(response["EventStream"], until=written - len(numbers))[0]
    response["EventStream"].close()
    assert numbers == list(range(written)), "lost or repeated records across renewals"


def test_a_later_subscription_takes_over(kinesis: KinesisClient, unique_name: str) -> None:
    """SubscribeToShard: "If you call SubscribeToShard 5 seconds or more after a successful
    call, the second call takes over the subscription and the previous connection expires or
    fails with a ResourceInUseException"."""
    arn = stream_with_consumer(kinesis, unique_name)
    with_timing = Timing(updating=0.3, consumer=0.0, subscription=60.0, heartbeat=0.2)
    from twilio_es_cli.local import kinesis_fix

    previous = kinesis_fix.configure(with_timing)
    try:
        old = subscribe(kinesis, arn, {"Type": "LATEST"})
        events = iter(old["EventStream"])
        next(events)
        time.sleep(5.1)
        new = subscribe(kinesis, arn, {"Type": "LATEST"})
        with pytest.raises(EventStreamError) as caught:
            for _ in events:
                pass
        assert caught.value.response["Error"]["Code"] == "ResourceInUseException"
        put(kinesis, unique_name, range(1))
        assert read(new["EventStream"], until=1)[0] == [0]
        new["EventStream"].close()
    finally:
        kinesis_fix.configure(previous)


def test_a_closed_shard_ends_with_its_child_shards(
    kinesis: KinesisClient, unique_name: str
) -> None:
    """SubscribeToShardEvent: ChildShards - "The list of the child shards of the current
    shard, returned only at the end of the current shard"; the last event has no
    ContinuationSequenceNumber, which is how AWS's consumers (the KCL) see the shard end."""
    arn = stream_with_consumer(kinesis, unique_name)
    put(kinesis, unique_name, range(10))
    kinesis.update_shard_count(
        StreamName=unique_name, TargetShardCount=2, ScalingType="UNIFORM_SCALING"
    )
    wait_active(kinesis, unique_name)
    response = subscribe(kinesis, arn, {"Type": "TRIM_HORIZON"})
    numbers, seen = read(response["EventStream"])  # the stream ends after the last event
    assert numbers == list(range(10))
    last = seen[-1]
    assert "ContinuationSequenceNumber" not in last
    assert sorted(c["ShardId"] for c in last["ChildShards"]) == [
        "shardId-000000000001",
        "shardId-000000000002",
    ]
    assert all(c["ParentShards"] == [SHARD] for c in last["ChildShards"])
    assert all("ChildShards" not in e for e in seen[:-1])


def test_deregistering_ends_the_subscription(kinesis: KinesisClient, unique_name: str) -> None:
    """ConsumerStatus: "A consumer can't read data while in the CREATING or DELETING
    states"."""
    arn = stream_with_consumer(kinesis, unique_name)
    response = subscribe(kinesis, arn, {"Type": "LATEST"})
    events = iter(response["EventStream"])
    next(events)
    kinesis.deregister_stream_consumer(ConsumerARN=arn)
    with pytest.raises(EventStreamError) as caught:
        for _ in events:
            pass
    assert caught.value.response["Error"]["Code"] == "ResourceNotFoundException"


@pytest.mark.parametrize(
    ("consumer_arn", "shard", "position", "code"),
    [
        ("unknown", SHARD, {"Type": "LATEST"}, "ResourceNotFoundException"),
        ("mine", "shardId-000000000009", {"Type": "LATEST"}, "ResourceNotFoundException"),
        ("mine", SHARD, {"Type": "AT_SEQUENCE_NUMBER"}, "InvalidArgumentException"),
        ("mine", SHARD, {"Type": "AT_TIMESTAMP"}, "InvalidArgumentException"),
    ],
)
def test_refused_subscriptions_are_aws_errors(
    kinesis: KinesisClient,
    unique_name: str,
    consumer_arn: str,
    shard: str,
    position: StartingPositionTypeDef,
    code: str,
) -> None:
    """SubscribeToShard errors: ResourceNotFoundException ("The requested resource could not
    be found"), InvalidArgumentException ("A specified parameter exceeds its restrictions, is
    not supported, or can't be used"); SequenceNumber is needed for the *_SEQUENCE_NUMBER
    types, Timestamp for AT_TIMESTAMP."""
    arn = stream_with_consumer(kinesis, unique_name)
    if consumer_arn == "unknown":
        arn = arn.replace("/consumer/reader:", "/consumer/nobody:")
    with pytest.raises(ClientError) as caught:
        kinesis.subscribe_to_shard(ConsumerARN=arn, ShardId=shard, StartingPosition=position)
    assert caught.value.response["Error"]["Code"] == code
