"""The one shard model (``twilio_es_cli.shards``) on real answers: kinesis-local, which closes
parents on a reshard and pages ListShards the AWS way; moto's server (with the sandbox's Kinesis
corrections), which wants the stream with NextToken and hands out ChildShards; ministack, whose
SubscribeToShard says when a closed shard has been sent to its end."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import boto_client, wait_active
from twilio_es_cli.shards import (
    Lineage,
    Shard,
    list_shards,
    open_count,
    stream_kwargs,
    subscription_ended,
)

MAX_HASH = 2**128 - 1  # the top of Kinesis's partition-key hash space


def _kinesis(endpoint_url: str) -> Any:
    return boto_client("kinesis", endpoint_url)


def _create(kinesis: Any, name: str, shards: int) -> None:
    kinesis.create_stream(StreamName=name, ShardCount=shards)
    wait_active(kinesis, name)


def _split_then_merge(kinesis: Any, name: str) -> tuple[str, str, str, str]:
    """1 shard -> split into 2 -> those 2 merged into 1: (parent, left, right, merged)."""
    _create(kinesis, name, 1)
    kinesis.update_shard_count(StreamName=name, TargetShardCount=2, ScalingType="UNIFORM_SCALING")
    wait_active(kinesis, name)
    listed = {s.shard_id: s for s in list_shards(kinesis, name)}
    parent = next(s.shard_id for s in listed.values() if not s.parents)
    left, right = sorted(
        (s for s in listed.values() if s.parents), key=lambda s: (s.hash_range or (0, 0))[0]
    )
    kinesis.merge_shards(
        StreamName=name, ShardToMerge=left.shard_id, AdjacentShardToMerge=right.shard_id
    )
    wait_active(kinesis, name)
    merged = next(s.shard_id for s in list_shards(kinesis, name) if len(s.parents) == 2)
    return parent, left.shard_id, right.shard_id, merged


def test_a_resharded_stream_lists_as_one_lineage(kinesis_local_env: str, unique_name: str) -> None:
    kinesis = _kinesis(kinesis_local_env)
    parent, left, right, merged = _split_then_merge(kinesis, unique_name)
    shards = {s.shard_id: s for s in list_shards(kinesis, unique_name)}

    assert set(shards) == {parent, left, right, merged}
    assert [sid for sid, s in shards.items() if s.open] == [merged]
    assert open_count(shards.values()) == 1
    assert shards[parent].closed and shards[left].closed and shards[right].closed
    # Parents as AWS names them: the merged shard's parent first, then the adjacent one.
    assert shards[left].parents == shards[right].parents == (parent,)
    assert shards[merged].parents == (left, right)
    assert (shards[merged].parent, shards[merged].adjacent_parent) == (left, right)
    # The children split the parent's hash range between them; the merge takes it back whole.
    assert shards[parent].hash_range == (0, MAX_HASH)
    low, high = shards[left].hash_range, shards[right].hash_range
    assert low is not None and high is not None
    assert low[0] == 0 and high[1] == MAX_HASH and low[1] + 1 == high[0]
    assert shards[merged].hash_range == (0, MAX_HASH)
    assert shards[merged].view() == {
        "id": merged,
        "parent": left,
        "adjacent_parent": right,
        "open": True,
    }

    lineage = Lineage(shards.values())
    assert sorted(lineage.descendants(parent)) == sorted([left, right, merged])
    assert sorted(lineage.ancestors(merged)) == sorted([parent, left, right])
    assert list(lineage.ancestors(parent)) == []
    # Parents before children: the merged shard waits for both of its parents.
    drained = {parent, left}
    assert lineage.ready(parent, drained.__contains__)
    assert lineage.ready(right, drained.__contains__)
    assert not lineage.ready(merged, drained.__contains__)
    drained.add(right)
    assert lineage.ready(merged, drained.__contains__)


def test_a_parent_trimmed_from_the_listing_holds_no_child_back() -> None:
    # After the retention period a closed parent is no longer listed; its child is readable,
    # and a checkpoint naming the parent still finds it among the child's ancestors.
    lineage = Lineage([Shard("child", ("gone",))])
    assert lineage.ready("child", lambda _: False)
    assert list(lineage.ancestors("child")) == ["gone"]
    assert not lineage.add(Shard("child"))  # known already: the first one stays
    assert lineage.shards["child"].parents == ("gone",)


def test_list_shards_pages_with_next_token_alone(kinesis_local_env: str, unique_name: str) -> None:
    kinesis = _kinesis(kinesis_local_env)
    _create(kinesis, unique_name, 5)
    calls: list[dict[str, Any]] = []
    kinesis.meta.events.register(
        "provide-client-params.kinesis.ListShards", lambda params, **_: calls.append(dict(params))
    )
    shards = list_shards(kinesis, unique_name, page_size=2)
    assert [s.shard_id for s in shards] == [f"shardId-00000000000{i}" for i in range(5)]
    assert len(calls) == 3
    assert all(set(c) == {"NextToken", "MaxResults"} for c in calls[1:])  # the AWS way
    assert all(s.open and not s.parents for s in shards)


def test_list_shards_pages_on_moto_which_wants_the_stream_with_the_token(aws_env: str) -> None:
    kinesis = _kinesis(aws_env)
    _create(kinesis, "paged", 4)
    arn = kinesis.describe_stream_summary(StreamName="paged")["StreamDescriptionSummary"][
        "StreamARN"
    ]
    for stream in ("paged", arn):  # by name or by ARN, as tail and sink validate name it
        shards = list_shards(kinesis, stream, page_size=1)
        assert [s.shard_id for s in shards] == [f"shardId-00000000000{i}" for i in range(4)]


def test_list_shards_of_a_missing_stream_raises_our_not_found(aws_env: str) -> None:
    # streams.py (scale, describe) and the reader list through here: our errors only.
    from twilio_es_cli.errors import NotFoundError

    with pytest.raises(NotFoundError, match="no-such-stream") as raised:
        list_shards(_kinesis(aws_env), "no-such-stream")
    assert raised.value.hint and "stream list" in raised.value.hint


def test_child_shards_of_a_drained_parent_on_moto(aws_env: str) -> None:
    kinesis = _kinesis(aws_env)
    _create(kinesis, "split", 1)
    kinesis.put_record(StreamName="split", Data=b"before", PartitionKey="k")
    kinesis.update_shard_count(
        StreamName="split", TargetShardCount=2, ScalingType="UNIFORM_SCALING"
    )
    wait_active(kinesis, "split")
    shards = {s.shard_id: s for s in list_shards(kinesis, "split")}
    parent = next(sid for sid, s in shards.items() if s.closed)
    opened = sorted(sid for sid, s in shards.items() if s.open)
    assert len(opened) == 2 and all(shards[sid].parents == (parent,) for sid in opened)

    iterator = kinesis.get_shard_iterator(
        StreamName="split", ShardId=parent, ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    answer = kinesis.get_records(ShardIterator=iterator)
    while answer.get("NextShardIterator"):  # drain the closed parent to its end
        answer = kinesis.get_records(ShardIterator=answer["NextShardIterator"])
    children = [Shard.from_api(c) for c in answer["ChildShards"]]
    assert sorted(c.shard_id for c in children) == opened
    assert all(c.open and c.parents == (parent,) and c.hash_range for c in children)
    assert {c.hash_range for c in children} == {shards[sid].hash_range for sid in opened}


def test_subscription_ends_with_the_closed_shards_last_event(
    ministack_env: str, unique_name: str
) -> None:
    # ministack drops a split parent at once (AWS keeps it readable), so the split happens
    # while the subscription to the parent is open, as a reshard under a running tail does.
    kinesis = _kinesis(ministack_env)
    _create(kinesis, unique_name, 1)
    kinesis.put_record(StreamName=unique_name, Data=b"before", PartitionKey="k")
    arn = kinesis.describe_stream_summary(StreamName=unique_name)["StreamDescriptionSummary"][
        "StreamARN"
    ]
    parent = list_shards(kinesis, arn)[0]
    assert parent.hash_range == (0, MAX_HASH)
    consumer = kinesis.register_stream_consumer(StreamARN=arn, ConsumerName="shards-test")
    consumer_arn = consumer["Consumer"]["ConsumerARN"]
    bodies: list[dict[str, Any]] = []
    try:
        events = kinesis.subscribe_to_shard(
            ConsumerARN=consumer_arn,
            ShardId=parent.shard_id,
            StartingPosition={"Type": "TRIM_HORIZON"},
        )["EventStream"]
        for event in events:
            body = event.get("SubscribeToShardEvent")
            if body is None:
                continue
            bodies.append(body)
            if subscription_ended(body):
                break
            if body.get("Records"):  # the record is ours: now reshard under the subscription
                kinesis.split_shard(
                    StreamName=unique_name,
                    ShardToSplit=parent.shard_id,
                    NewStartingHashKey=str(2**127),
                )
        events.close()
    finally:
        kinesis.deregister_stream_consumer(ConsumerARN=consumer_arn)
    assert subscription_ended(bodies[-1])
    assert not any(subscription_ended(b) for b in bodies[:-1])
    children = [Shard.from_api(c) for c in bodies[-1]["ChildShards"]]
    assert [c.parents for c in children] == [(parent.shard_id,), (parent.shard_id,)]
    assert sorted(c.hash_range for c in children if c.hash_range) == [
        (0, 2**127 - 1),
        (2**127, MAX_HASH),
    ]


def test_stream_kwargs_name_or_arn() -> None:
    arn = "arn:aws:kinesis:us-east-1:123456789012:stream/twilio-events"
    assert stream_kwargs(arn) == {"StreamARN": arn}
    assert stream_kwargs("twilio-events") == {"StreamName": "twilio-events"}
