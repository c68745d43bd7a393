"""The sandbox's Kinesis against the Kinesis API reference, one rule per test.

The reference is botocore's service model (``botocore/data/kinesis/2013-12-02/service-2.json``),
which ships with the package; each test's docstring quotes the passage it follows. Everything
goes through plain boto3 over HTTP to a started :class:`Sandbox` (moto's server behind the
sandbox's front), as any AWS client of the sandbox would.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import boto_client, reset_moto, wait_active
from twilio_es_cli.local import kinesis_fix, kinesis_listing
from twilio_es_cli.local.kinesis_fix import Timing
from twilio_es_cli.local.sandbox import Sandbox

if TYPE_CHECKING:
    from mypy_boto3_kinesis import KinesisClient
    from mypy_boto3_kinesis.literals import ShardFilterTypeType

UPDATING = 0.6  # seconds a reshard leaves the stream UPDATING here
CONSUMER = 0.6  # seconds a consumer stays CREATING / DELETING here


@pytest.fixture(scope="module")
def sandbox_url() -> Iterator[str]:
    with Sandbox(timing=Timing(updating=UPDATING, consumer=CONSUMER, heartbeat=0.2)) as sandbox:
        yield sandbox.aws_url
        reset_moto(sandbox.aws_url)  # moto's state is this process's: leave none behind


@pytest.fixture
def kinesis(sandbox_url: str) -> KinesisClient:
    return boto_client("kinesis", sandbox_url)


@contextmanager
def timing(**changes: float) -> Iterator[None]:
    previous = kinesis_fix.configure(replace(kinesis_fix.timing(), **changes))
    try:
        yield
    finally:
        kinesis_fix.configure(previous)


def refused(call: Callable[[], object]) -> str:
    """The AWS error code ``call`` is answered with (the test fails if it succeeds)."""
    with pytest.raises(ClientError) as caught:
        call()
    return str(caught.value.response["Error"]["Code"])


def create(kinesis: KinesisClient, name: str, shards: int) -> str:
    kinesis.create_stream(StreamName=name, ShardCount=shards)
    wait_active(kinesis, name)
    return str(
        kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["StreamARN"]
    )


def scale(kinesis: KinesisClient, name: str, target: int) -> None:
    kinesis.update_shard_count(
        StreamName=name, TargetShardCount=target, ScalingType="UNIFORM_SCALING"
    )
    wait_active(kinesis, name)


def ids(answer: Any) -> list[int]:
    return [int(s["ShardId"].rsplit("-", 1)[1]) for s in answer["Shards"]]


def summary(kinesis: KinesisClient, name: str) -> Any:
    return kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]


# -- ListShards ------------------------------------------------------------------------------


def test_shard_filter_after_shard_id_needs_the_shard_id(
    kinesis: KinesisClient, unique_name: str
) -> None:
    """ShardFilter: "AFTER_SHARD_ID - the response includes all the shards, starting with the
    shard whose ID immediately follows the ShardId that you provided"; "If you specify the
    AFTER_SHARD_ID type, you must also provide the value for the optional ShardId property";
    ShardId "can only be used if the AFTER_SHARD_ID shard type is specified"."""
    create(kinesis, unique_name, 4)
    after = kinesis.list_shards(
        StreamName=unique_name,
        ShardFilter={"Type": "AFTER_SHARD_ID", "ShardId": "shardId-000000000001"},
    )
    assert ids(after) == [2, 3]
    assert (
        refused(
            lambda: kinesis.list_shards(
                StreamName=unique_name, ShardFilter={"Type": "AFTER_SHARD_ID"}
            )
        )
        == "InvalidArgumentException"
    )
    assert (
        refused(
            lambda: kinesis.list_shards(
                StreamName=unique_name,
                ShardFilter={"Type": "AT_LATEST", "ShardId": "shardId-000000000001"},
            )
        )
        == "InvalidArgumentException"
    )


def test_shard_filter_trim_horizon_and_latest_types(
    kinesis: KinesisClient, unique_name: str
) -> None:
    """ShardFilter: "AT_TRIM_HORIZON - the response includes all the shards that were open at
    TRIM_HORIZON"; "FROM_TRIM_HORIZON - (default), the response includes all the shards within
    the retention period of the data stream (trim to tip)"; "AT_LATEST - the response includes
    only the currently open shards of the data stream"."""
    create(kinesis, unique_name, 1)
    scale(kinesis, unique_name, 2)  # 0 -> 1, 2
    scale(kinesis, unique_name, 1)  # 1 + 2 -> 3

    def listed(kind: ShardFilterTypeType) -> list[int]:
        return ids(kinesis.list_shards(StreamName=unique_name, ShardFilter={"Type": kind}))

    assert listed("AT_TRIM_HORIZON") == [0]
    assert listed("FROM_TRIM_HORIZON") == [0, 1, 2, 3]
    assert ids(kinesis.list_shards(StreamName=unique_name)) == [0, 1, 2, 3]  # the default
    assert listed("AT_LATEST") == [3]


def test_shard_filter_timestamp_types(kinesis: KinesisClient, unique_name: str) -> None:
    """ShardFilter: "AT_TIMESTAMP - the response includes all shards whose start timestamp is
    less than or equal to the given timestamp and end timestamp is greater than or equal to
    the given timestamp or still open"; "FROM_TIMESTAMP - the response incldues all closed
    shards whose end timestamp is greater than or equal to the given timestamp and also all
    open shards. Corrected to TRIM_HORIZON of the data stream if FROM_TIMESTAMP is less than
    the TRIM_HORIZON value"; "If you specify the AT_TIMESTAMP or FROM_TIMESTAMP_ID type, you
    must also provide the value for the optional Timestamp property"."""
    create(kinesis, unique_name, 1)
    time.sleep(1.1)  # timestamps may travel in whole seconds (botocore's legacy precision)
    before = datetime.now(timezone.utc)
    time.sleep(1.1)
    scale(kinesis, unique_name, 2)
    time.sleep(1.1)
    after = datetime.now(timezone.utc)

    def listed(kind: Any, when: datetime) -> list[int]:
        answer = kinesis.list_shards(
            StreamName=unique_name, ShardFilter={"Type": kind, "Timestamp": when}
        )
        return ids(answer)

    assert listed("AT_TIMESTAMP", before) == [0]
    assert listed("AT_TIMESTAMP", after) == [1, 2]
    assert listed("FROM_TIMESTAMP", before) == [0, 1, 2]
    assert listed("FROM_TIMESTAMP", after) == [1, 2]
    assert listed("FROM_TIMESTAMP", before - timedelta(days=3650)) == [0, 1, 2]
    for kind in ("AT_TIMESTAMP", "FROM_TIMESTAMP"):
        code = refused(
            lambda kind=kind: kinesis.list_shards(  # type: ignore[misc]
                StreamName=unique_name, ShardFilter={"Type": kind}
            )
        )
        assert code == "InvalidArgumentException"
    code = refused(
        lambda: kinesis.list_shards(
            StreamName=unique_name, ShardFilter={"Type": "AT_LATEST", "Timestamp": after}
        )
    )
    assert code == "InvalidArgumentException"


def test_next_token_comes_alone_and_carries_the_filter(
    kinesis: KinesisClient, unique_name: str
) -> None:
    """ListShardsInput: NextToken - "Don't specify StreamName or StreamCreationTimestamp if you
    specify NextToken because the latter unambiguously identifies the stream";
    ExclusiveStartShardId - "You cannot specify this parameter if you specify NextToken"; the
    filter is part of the request the token continues."""
    create(kinesis, unique_name, 1)
    scale(kinesis, unique_name, 2)
    scale(kinesis, unique_name, 4)  # 7 shards, 4 open: 3, 4, 5, 6
    first = kinesis.list_shards(
        StreamName=unique_name, ShardFilter={"Type": "AT_LATEST"}, MaxResults=2
    )
    token = first["NextToken"]
    for extra in (
        {"StreamName": unique_name},
        {"ExclusiveStartShardId": "shardId-000000000000"},
        {"ShardFilter": {"Type": "AT_LATEST"}},
        {"StreamCreationTimestamp": datetime.now(timezone.utc)},
    ):
        code = refused(
            lambda extra=extra: kinesis.list_shards(  # type: ignore[misc]
                NextToken=token, **extra
            )
        )
        assert code == "InvalidArgumentException", extra
    second = kinesis.list_shards(NextToken=token, MaxResults=2)
    assert ids(first) + ids(second) == [3, 4, 5, 6]  # AT_LATEST held across pages
    assert "NextToken" not in second


def test_next_tokens_expire_after_300_seconds(
    kinesis: KinesisClient, unique_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ListShardsInput: NextToken - "Tokens expire after 300 seconds ... If you specify an
    expired token in a call to ListShards, you get ExpiredNextTokenException"."""
    create(kinesis, unique_name, 3)
    token = kinesis.list_shards(StreamName=unique_name, MaxResults=1)["NextToken"]
    monkeypatch.setattr(kinesis_listing, "TOKEN_SECONDS", -1.0)  # as if 300 s had passed
    assert refused(lambda: kinesis.list_shards(NextToken=token)) == "ExpiredNextTokenException"


def test_max_results_above_1000_returns_at_most_1000(
    kinesis: KinesisClient, unique_name: str
) -> None:
    """ListShardsInput: MaxResults - "The default value is 1000. If you specify a value greater
    than 1000, at most 1000 results are returned"."""
    create(kinesis, unique_name, 1001)
    page = kinesis.list_shards(StreamName=unique_name, MaxResults=5000)
    assert len(page["Shards"]) == 1000 and "NextToken" in page
    rest = kinesis.list_shards(NextToken=page["NextToken"])
    assert ids(rest) == [1000]


# -- UpdateShardCount, SplitShard, MergeShards -------------------------------------------------


def test_update_shard_count_at_most_doubles_and_at_least_halves(
    kinesis: KinesisClient, unique_name: str
) -> None:
    """UpdateShardCount: "By default, you cannot ... Scale up to more than double your current
    shard count for a stream ... Scale down below half your current shard count for a
    stream"."""
    create(kinesis, unique_name, 1)
    for target in (4, 3):
        code = refused(
            lambda target=target: kinesis.update_shard_count(  # type: ignore[misc]
                StreamName=unique_name, TargetShardCount=target, ScalingType="UNIFORM_SCALING"
            )
        )
        assert code == "InvalidArgumentException"
    assert summary(kinesis, unique_name)["OpenShardCount"] == 1  # nothing happened
    scale(kinesis, unique_name, 2)
    scale(kinesis, unique_name, 4)
    code = refused(
        lambda: kinesis.update_shard_count(
            StreamName=unique_name, TargetShardCount=1, ScalingType="UNIFORM_SCALING"
        )
    )
    assert code == "InvalidArgumentException"
    scale(kinesis, unique_name, 2)  # exactly half is allowed


def test_open_shard_counts_agree_with_the_summary(kinesis: KinesisClient, unique_name: str) -> None:
    """DescribeStreamSummary: OpenShardCount - "The number of open shards in the stream";
    UpdateShardCount: "Updates the shard count of the specified stream to the specified number
    of shards" (also for targets that are not powers of two)."""
    create(kinesis, unique_name, 1)
    for target in (2, 3, 5, 3, 2, 4, 2):
        scale(kinesis, unique_name, target)
        listed = kinesis.list_shards(StreamName=unique_name, ShardFilter={"Type": "AT_LATEST"})
        assert len(listed["Shards"]) == target
        assert summary(kinesis, unique_name)["OpenShardCount"] == target


def test_ten_scalings_per_rolling_24_hours(kinesis: KinesisClient, unique_name: str) -> None:
    """UpdateShardCount: "By default, you cannot ... Scale more than ten times per rolling
    24-hour period per stream"."""
    create(kinesis, unique_name, 1)
    with timing(updating=0.0):
        for n in range(10):
            scale(kinesis, unique_name, 2 if n % 2 == 0 else 1)
        code = refused(
            lambda: kinesis.update_shard_count(
                StreamName=unique_name, TargetShardCount=2, ScalingType="UNIFORM_SCALING"
            )
        )
    assert code == "LimitExceededException"


def test_a_reshard_leaves_the_stream_updating_while_reads_and_writes_go_on(
    kinesis: KinesisClient, unique_name: str
) -> None:
    """UpdateShardCount: "Upon receiving the request, Kinesis Data Streams returns immediately
    and sets the status of the stream to UPDATING. After the update is complete, Kinesis Data
    Streams sets the status of the stream back to ACTIVE ... You can continue to read and
    write data to your stream while its status is UPDATING"; SplitShard/MergeShards: "If the
    stream is in the ACTIVE state, you can call SplitShard" (else ResourceInUseException)."""
    create(kinesis, unique_name, 2)
    with timing(updating=3.0):
        answer = kinesis.update_shard_count(
            StreamName=unique_name, TargetShardCount=4, ScalingType="UNIFORM_SCALING"
        )
        assert (answer["CurrentShardCount"], answer["TargetShardCount"]) == (2, 4)
        during = summary(kinesis, unique_name)
        assert (during["StreamStatus"], during["OpenShardCount"]) == ("UPDATING", 2)
        put = kinesis.put_record(StreamName=unique_name, PartitionKey="k", Data=b"during")
        assert put["ShardId"] in ("shardId-000000000000", "shardId-000000000001")
        assert len(kinesis.list_shards(StreamName=unique_name)["Shards"]) == 2
        again = refused(
            lambda: kinesis.update_shard_count(
                StreamName=unique_name, TargetShardCount=3, ScalingType="UNIFORM_SCALING"
            )
        )
        assert again == "ResourceInUseException"
        split = refused(
            lambda: kinesis.split_shard(
                StreamName=unique_name,
                ShardToSplit="shardId-000000000000",
                NewStartingHashKey="1000",
            )
        )
        assert split == "ResourceInUseException"
        wait_active(kinesis, unique_name)
    assert summary(kinesis, unique_name)["OpenShardCount"] == 4
    with timing(updating=2.0):
        kinesis.merge_shards(
            StreamName=unique_name,
            ShardToMerge="shardId-000000000002",
            AdjacentShardToMerge="shardId-000000000003",
        )
        assert summary(kinesis, unique_name)["StreamStatus"] == "UPDATING"
        wait_active(kinesis, unique_name)
    assert summary(kinesis, unique_name)["OpenShardCount"] == 3


# -- sequence numbers ------------------------------------------------------------------------

_SEQUENCE = re.compile(r"0|[1-9]\d{0,128}")  # the model's SequenceNumber pattern


def test_sequence_numbers_are_shaped_like_aws_and_grow_across_a_reshard(
    kinesis: KinesisClient, unique_name: str
) -> None:
    """SequenceNumber: pattern "^(0|([1-9]\\d{0,128}))$"; PutRecord: "Sequence numbers
    increase over time and are specific to a shard within a stream"; AWS's are 56 digits
    (e.g. 49590338271490256608559692538361571095921575989136588898), so a parent's records
    number below its children's (written later)."""
    create(kinesis, unique_name, 1)
    parent = [
        kinesis.put_record(StreamName=unique_name, PartitionKey=f"k{n}", Data=b"p")[
            "SequenceNumber"
        ]
        for n in range(20)
    ]
    scale(kinesis, unique_name, 2)
    children = [
        kinesis.put_record(StreamName=unique_name, PartitionKey=f"k{n}", Data=b"c")
        for n in range(20)
    ]
    numbers = parent + [c["SequenceNumber"] for c in children]
    assert all(_SEQUENCE.fullmatch(n) and len(n) == 56 for n in numbers), numbers[:3]
    assert parent == sorted(parent) == sorted(parent, key=int)  # string order is number order
    assert len(set(numbers)) == len(numbers)
    per_shard: dict[str, list[str]] = {}
    for put in children:
        per_shard.setdefault(put["ShardId"], []).append(put["SequenceNumber"])
    assert set(per_shard) == {"shardId-000000000001", "shardId-000000000002"}
    assert all(ns == sorted(ns, key=int) for ns in per_shard.values())
    shards = {s["ShardId"]: s for s in kinesis.list_shards(StreamName=unique_name)["Shards"]}
    closed = shards["shardId-000000000000"]["SequenceNumberRange"]
    assert int(closed["StartingSequenceNumber"]) <= int(parent[0])
    assert int(closed["EndingSequenceNumber"]) >= int(parent[-1])
    for child in ("shardId-000000000001", "shardId-000000000002"):
        start = shards[child]["SequenceNumberRange"]["StartingSequenceNumber"]
        assert int(start) > int(closed["EndingSequenceNumber"])
        assert len(start) == 56
    assert min(int(n) for n in per_shard["shardId-000000000001"]) > int(parent[-1])


def test_millis_behind_latest_is_zero_only_when_caught_up(
    kinesis: KinesisClient, unique_name: str
) -> None:
    """GetRecords: MillisBehindLatest - "A value of zero indicates that record processing is
    caught up, and there are no new records to process at this moment"."""
    create(kinesis, unique_name, 1)
    kinesis.put_records(
        StreamName=unique_name,
        Records=[{"PartitionKey": "k", "Data": b"%d" % n} for n in range(30)],
    )
    iterator = kinesis.get_shard_iterator(
        StreamName=unique_name, ShardId="shardId-000000000000", ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    first = kinesis.get_records(ShardIterator=iterator, Limit=10)
    assert len(first["Records"]) == 10 and first["MillisBehindLatest"] > 0
    rest = kinesis.get_records(ShardIterator=first["NextShardIterator"], Limit=100)
    assert len(rest["Records"]) == 20 and rest["MillisBehindLatest"] == 0


# -- consumers -------------------------------------------------------------------------------


def test_consumers_are_creating_then_active_and_deleting_then_gone(
    kinesis: KinesisClient, unique_name: str
) -> None:
    """ConsumerStatus: CREATING | DELETING | ACTIVE, and "A consumer can't read data while in
    the CREATING or DELETING states"; ConsumerARN: "consumer ARNs contain the creation
    timestamp"; DeregisterStreamConsumer: "provide the ARN of the data stream and the name you
    gave the consumer"."""
    arn = create(kinesis, unique_name, 1)
    registered = kinesis.register_stream_consumer(StreamARN=arn, ConsumerName="reader")
    consumer = registered["Consumer"]
    assert consumer["ConsumerStatus"] == "CREATING"
    assert re.fullmatch(re.escape(arn) + r"/consumer/reader:\d{10}", consumer["ConsumerARN"])
    code = refused(
        lambda: kinesis.subscribe_to_shard(
            ConsumerARN=consumer["ConsumerARN"],
            ShardId="shardId-000000000000",
            StartingPosition={"Type": "LATEST"},
        )
    )
    assert code == "ResourceInUseException"
    deadline = time.monotonic() + 30
    while (
        kinesis.describe_stream_consumer(ConsumerARN=consumer["ConsumerARN"])[
            "ConsumerDescription"
        ]["ConsumerStatus"]
        != "ACTIVE"
    ):
        assert time.monotonic() < deadline, "never ACTIVE"
        time.sleep(0.1)
    kinesis.register_stream_consumer(StreamARN=arn, ConsumerName="other")
    kinesis.deregister_stream_consumer(StreamARN=arn, ConsumerName="reader")
    listed = {
        c["ConsumerName"]: c["ConsumerStatus"]
        for c in kinesis.list_stream_consumers(StreamARN=arn)["Consumers"]
    }
    assert listed["reader"] == "DELETING" and "other" in listed  # only that one is leaving
    described = kinesis.describe_stream_consumer(StreamARN=arn, ConsumerName="reader")
    assert described["ConsumerDescription"]["ConsumerStatus"] == "DELETING"
    deadline = time.monotonic() + 30
    while any(
        c["ConsumerName"] == "reader"
        for c in kinesis.list_stream_consumers(StreamARN=arn)["Consumers"]
    ):
        assert time.monotonic() < deadline, "never gone"
        time.sleep(0.1)
    code = refused(lambda: kinesis.describe_stream_consumer(ConsumerARN=consumer["ConsumerARN"]))
    assert code == "ResourceNotFoundException"
    assert summary(kinesis, unique_name)["ConsumerCount"] == 1


def test_consumer_names_and_limits(kinesis: KinesisClient, unique_name: str) -> None:
    """RegisterStreamConsumer: "With ... Provisioned streams, you can register up to 20
    consumers per stream"; "you cannot have more than 5 consumers in a CREATING status at the
    same time. Registering a 6th consumer while there are 5 in a CREATING status results in a
    LimitExceededException"; a name already registered is ResourceInUseException."""
    arn = create(kinesis, unique_name, 1)
    with timing(consumer=600.0):
        for n in range(5):
            kinesis.register_stream_consumer(StreamARN=arn, ConsumerName=f"c{n}")
        code = refused(
            lambda: kinesis.register_stream_consumer(StreamARN=arn, ConsumerName="sixth")
        )
        assert code == "LimitExceededException"
    other = create(kinesis, f"{unique_name}-b", 1)
    with timing(consumer=0.0):
        for n in range(20):
            kinesis.register_stream_consumer(StreamARN=other, ConsumerName=f"c{n}")
        assert (
            refused(lambda: kinesis.register_stream_consumer(StreamARN=other, ConsumerName="x"))
            == "LimitExceededException"
        )
        assert (
            refused(lambda: kinesis.register_stream_consumer(StreamARN=other, ConsumerName="c3"))
            == "ResourceInUseException"
        )
        page = kinesis.list_stream_consumers(StreamARN=other, MaxResults=15)
        rest = kinesis.list_stream_consumers(StreamARN=other, NextToken=page["NextToken"])
    names = [c["ConsumerName"] for c in [*page["Consumers"], *rest["Consumers"]]]
    assert names == [f"c{n}" for n in range(20)]
