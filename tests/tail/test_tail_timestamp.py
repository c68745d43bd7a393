"""A shard opened at a timestamp hands over nothing from before it, whatever botocore sends.

botocore before 1.43.93 serialises GetShardIterator's and SubscribeToShard's ``Timestamp`` in
whole seconds, so Kinesis starts up to a second early. These tests make today's botocore do
the same (a ``before-parameter-build`` hook cuts the timestamp to the second, as
``_timestamp_unixtimestamp`` did) and check that the shard readers, polling on moto and
enhanced fan-out on ministack, still hand over exactly the records from the instant on.
``.ci/lowest`` runs the same code paths on the lowest botocore itself.
"""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

import pytest

from tests.conftest import boto_client
from tests.tail.tail_support import create_stream, put_events, reader_client
from twilio_es_cli.tail.positions import StartPosition
from twilio_es_cli.tail.records import KinesisRecord
from twilio_es_cli.tail.shard_reader import ArrivalGate

if TYPE_CHECKING:
    from mypy_boto3_kinesis import KinesisClient


def _whole_seconds(client: Any) -> None:
    """Make ``client`` send timestamps as botocore < 1.43.93 did: whole seconds."""

    def cut(params: dict[str, Any], **_: Any) -> None:
        holder = params.get("StartingPosition", params)  # SubscribeToShard nests it
        when = holder.get("Timestamp")
        if isinstance(when, datetime):
            holder["Timestamp"] = when.replace(microsecond=0)

    for operation in ("GetShardIterator", "SubscribeToShard"):
        client.meta.events.register(f"before-parameter-build.kinesis.{operation}", cut)


def _arrivals(kinesis: KinesisClient, stream: str) -> list[datetime]:
    """Every record's ApproximateArrivalTimestamp (read with the test's own client)."""
    found = []
    for shard in kinesis.list_shards(StreamName=stream)["Shards"]:
        iterator = kinesis.get_shard_iterator(
            StreamName=stream, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        found += [
            r["ApproximateArrivalTimestamp"]
            for r in kinesis.get_records(ShardIterator=iterator)["Records"]
        ]
    return found


def _numbers(records: list[KinesisRecord]) -> list[int]:
    return [int(json.loads(json.loads(r.data)["data"])["n"]) for r in records]


def _two_sides_of_one_second(kinesis: KinesisClient, stream: str) -> datetime:
    """Events 0-29, then an instant, then events 30-49, all within one whole second; the
    instant is returned. Asserted, so the test cannot pass without the case it is about."""
    now = time.time()
    time.sleep(1.02 - now % 1.0)  # just after a second begins: room for what follows
    put_events(kinesis, stream, range(30))
    early = _arrivals(kinesis, stream)
    boundary = max(early) + timedelta(milliseconds=2)
    time.sleep(0.05)
    put_events(kinesis, stream, range(30, 50))
    assert min(early) >= boundary.replace(microsecond=0), "the events spread over two seconds"
    return boundary


def test_polling_at_a_timestamp_sent_in_whole_seconds_starts_at_the_instant(
    aws_env: str,
) -> None:
    from twilio_es_cli.tail.reader import read_stream

    admin = boto_client("kinesis", aws_env)
    create_stream(admin, "instant", 2)
    boundary = _two_sides_of_one_second(admin, "instant")
    client = reader_client()
    _whole_seconds(client)
    got = list(read_stream(client, "instant", StartPosition.at(boundary), follow=False))
    assert sorted(_numbers(got)) == list(range(30, 50))


@pytest.mark.ministack
def test_efo_at_a_timestamp_sent_in_whole_seconds_starts_at_the_instant(
    ministack_env: str, unique_name: str
) -> None:
    from twilio_es_cli.progress import Collect
    from twilio_es_cli.tail.efo import EfoConsumer
    from twilio_es_cli.tail.reader import read_stream

    admin = boto_client("kinesis", ministack_env)
    create_stream(admin, unique_name, 2)
    boundary = _two_sides_of_one_second(admin, unique_name)
    client = reader_client()
    _whole_seconds(client)
    with EfoConsumer(client, unique_name, report=Collect()) as efo:
        got = list(
            read_stream(
                client,
                unique_name,
                StartPosition.at(boundary),
                follow=False,
                shard_reader=efo.read_shard,
            )
        )
    assert sorted(_numbers(got)) == list(range(30, 50))


def _record(seq: int, at: datetime) -> KinesisRecord:
    return KinesisRecord("shardId-0", str(seq), "k", at, b"{}")


def test_the_gate_holds_back_only_the_first_records_before_the_instant() -> None:
    instant = datetime(2026, 1, 1, 12, 0, 0, 500_700, tzinfo=timezone.utc)
    before = instant - timedelta(milliseconds=300)
    same_ms = instant.replace(microsecond=500_000)  # Kinesis compares milliseconds
    gate = ArrivalGate()
    gate.opened(StartPosition.at(instant))
    assert gate.admit([_record(1, before), _record(2, before)]) == []
    gate.opened(StartPosition.after("2"))  # a re-open after a held-back record: still closed
    batch = [_record(3, before), _record(4, same_ms), _record(5, before)]
    assert [r.sequence_number for r in gate.admit(batch)] == ["4", "5"]
    # open for good: a later record with an earlier clock is not dropped
    assert gate.admit([_record(6, before)]) == [_record(6, before)]
    gate.opened(StartPosition.trim_horizon())
    assert gate.admit([_record(7, before)]) == [_record(7, before)]
    naive = ArrivalGate()  # a caller's naive time is UTC
    naive.opened(StartPosition.at(instant.replace(tzinfo=None)))
    assert naive.admit([_record(8, before), _record(9, instant)]) == [_record(9, instant)]
