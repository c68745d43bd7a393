"""The sandbox's moto Kinesis after ``kinesis_fix``: AWS's resharding and paging rules.

Driven with boto3 over HTTP against a started :class:`Sandbox` (moto's real server).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import boto_client, wait_active
from twilio_es_cli.local.sandbox import Sandbox

if TYPE_CHECKING:
    from mypy_boto3_kinesis import KinesisClient
    from mypy_boto3_kinesis.type_defs import GetRecordsOutputTypeDef


@pytest.fixture(scope="module")
def kinesis() -> Iterator[Any]:
    with Sandbox() as sandbox:
        yield boto_client("kinesis", sandbox.aws_url)


def _read_all(
    kinesis: KinesisClient, stream: str, shard_id: str
) -> tuple[list[bytes], GetRecordsOutputTypeDef]:
    iterator = kinesis.get_shard_iterator(
        StreamName=stream, ShardId=shard_id, ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    data: list[bytes] = []
    while True:
        page = kinesis.get_records(ShardIterator=iterator, Limit=7)
        data.extend(r["Data"] for r in page["Records"])
        if "NextShardIterator" not in page or not page["Records"]:
            return data, page
        iterator = page["NextShardIterator"]


def test_writes_go_to_open_shards_and_closed_shards_end_with_children(
    kinesis: KinesisClient,
) -> None:
    kinesis.create_stream(StreamName="fix-a", ShardCount=1)
    written = 0
    for target in (2, 4, 2):
        for _ in range(25):
            kinesis.put_record(StreamName="fix-a", PartitionKey=f"k{written}", Data=b"%d" % written)
            written += 1
        kinesis.update_shard_count(
            StreamName="fix-a", TargetShardCount=target, ScalingType="UNIFORM_SCALING"
        )
        wait_active(kinesis, "fix-a")  # UPDATING for a moment, as on AWS
    answers = [
        kinesis.put_record(StreamName="fix-a", PartitionKey=f"k{n}", Data=b"x") for n in range(20)
    ]
    shards = {s["ShardId"]: s for s in kinesis.list_shards(StreamName="fix-a")["Shards"]}
    open_ids = {
        i for i, s in shards.items() if "EndingSequenceNumber" not in s["SequenceNumberRange"]
    }
    assert open_ids == {"shardId-000000000007", "shardId-000000000008"}
    assert {a["ShardId"] for a in answers} <= open_ids

    seen: list[bytes] = []
    for shard_id in sorted(shards):
        data, last = _read_all(kinesis, "fix-a", shard_id)
        seen.extend(data)
        if shard_id in open_ids:
            assert "NextShardIterator" in last and "ChildShards" not in last
        else:
            assert "NextShardIterator" not in last
            children = [c["ShardId"] for c in last["ChildShards"]]
            assert children and all(
                shards[c]["ParentShardId"] == shard_id
                or shards[c].get("AdjacentParentShardId") == shard_id
                for c in children
            )
    numbers = sorted(int(d) for d in seen if d != b"x")
    assert numbers == list(range(written))  # each record once: none moved, none copied
    assert seen.count(b"x") == 20


def test_children_number_above_their_parents(kinesis: KinesisClient) -> None:
    kinesis.create_stream(StreamName="fix-b", ShardCount=1)
    first = kinesis.put_record(StreamName="fix-b", PartitionKey="a", Data=b"1")
    kinesis.update_shard_count(
        StreamName="fix-b", TargetShardCount=2, ScalingType="UNIFORM_SCALING"
    )
    wait_active(kinesis, "fix-b")
    second = kinesis.put_record(StreamName="fix-b", PartitionKey="a", Data=b"2")
    assert second["ShardId"] != first["ShardId"]
    assert int(second["SequenceNumber"]) > int(first["SequenceNumber"])


def test_list_shards_pages_the_aws_way(kinesis: KinesisClient) -> None:
    kinesis.create_stream(StreamName="fix-c", ShardCount=5)
    page = kinesis.list_shards(StreamName="fix-c", MaxResults=2)
    ids = [s["ShardId"] for s in page["Shards"]]
    while "NextToken" in page:
        with pytest.raises(ClientError) as refused:
            kinesis.list_shards(StreamName="fix-c", NextToken=page["NextToken"])
        assert refused.value.response["Error"]["Code"] == "InvalidArgumentException"
        page = kinesis.list_shards(NextToken=page["NextToken"], MaxResults=2)
        ids.extend(s["ShardId"] for s in page["Shards"])
    assert ids == [f"shardId-00000000000{i}" for i in range(5)]
    latest = kinesis.list_shards(StreamName="fix-c", ShardFilter={"Type": "AT_LATEST"})
    assert len(latest["Shards"]) == 5
    after = kinesis.list_shards(StreamName="fix-c", ExclusiveStartShardId="shardId-000000000002")
    assert [s["ShardId"] for s in after["Shards"]] == [
        "shardId-000000000003",
        "shardId-000000000004",
    ]
