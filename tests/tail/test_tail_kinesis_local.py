"""The reader on kinesis-local, which (unlike moto) closes parent shards on a reshard, hands out
ChildShards and pages ListShards the AWS way."""

from __future__ import annotations

import json
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.conftest import boto_client, wait_active
from tests.fixture_types import CliRunner
from tests.tail.tail_support import create_stream, event, put, reader_client

if TYPE_CHECKING:
    pass

TOTAL = 1500
KEYS = 24


@pytest.mark.slow
def test_reshard_1_2_4_while_producing_every_event_once_parents_first(
    kinesis_local_env: str, unique_name: str
) -> None:
    from twilio_es_cli.shards import list_shards
    from twilio_es_cli.tail.positions import StartPosition
    from twilio_es_cli.tail.reader import read_stream

    admin = boto_client("kinesis", kinesis_local_env)
    create_stream(admin, unique_name, 1)
    written = 0
    progress = threading.Condition()

    def produce() -> None:
        nonlocal written
        for start in range(0, TOTAL, 25):
            put(
                admin,
                unique_name,
                ((event(n, key=f"k{n % KEYS}"), f"k{n % KEYS}") for n in range(start, start + 25)),
            )
            with progress:
                written = start + 25
                progress.notify_all()
            time.sleep(0.02)

    def written_at_least(count: int) -> Callable[[], bool]:
        return lambda: written >= count

    def reshard() -> None:
        for threshold, shards in ((TOTAL // 3, 2), (2 * TOTAL // 3, 4)):
            with progress:
                progress.wait_for(written_at_least(threshold), timeout=120)
            admin.update_shard_count(
                StreamName=unique_name, TargetShardCount=shards, ScalingType="UNIFORM_SCALING"
            )
            wait_active(admin, unique_name)

    stop = threading.Event()
    records = []
    numbers: list[int] = []
    producer = threading.Thread(target=produce)
    resharder = threading.Thread(target=reshard)
    producer.start()
    resharder.start()
    for record in read_stream(
        reader_client(),
        unique_name,
        StartPosition.trim_horizon(),
        deadline=time.monotonic() + 240,
        stop=stop,
    ):
        records.append(record)
        numbers.append(json.loads(json.loads(record.data)["data"])["n"])
        if len(set(numbers)) == TOTAL:
            break
    producer.join(60)
    resharder.join(60)

    assert sorted(numbers) == list(range(TOTAL)), "lost or repeated events"
    listing = list_shards(admin, unique_name)
    assert len(listing) == 1 + 2 + 4  # 1 -> 2 -> 4 really happened: 7 shards in the lineage
    # Every partition key's events came out in the order they were written ...
    by_key: dict[str, list[int]] = defaultdict(list)
    for record, n in zip(records, numbers, strict=True):
        by_key[record.partition_key].append(n)
    assert all(ns == sorted(ns) for ns in by_key.values())
    # ... because no child shard's first record came before its parents' last one.
    first: dict[str, int] = {}
    last: dict[str, int] = {}
    for i, record in enumerate(records):
        first.setdefault(record.shard_id, i)
        last[record.shard_id] = i
    read_from = {s.shard_id for s in listing if s.shard_id in first}
    assert len(read_from) == 7
    for shard in listing:
        for parent in shard.parents:
            if shard.shard_id in first:
                assert last[parent] < first[shard.shard_id]


@pytest.mark.slow
def test_no_follow_after_reshard_drains_parents_then_children(
    kinesis_local_env: str, unique_name: str, cli: CliRunner
) -> None:
    from twilio_es_cli.tail.positions import StartPosition
    from twilio_es_cli.tail.reader import read_stream

    admin = boto_client("kinesis", kinesis_local_env)
    create_stream(admin, unique_name, 1)
    put(admin, unique_name, ((event(n, key=f"k{n % 8}"), f"k{n % 8}") for n in range(200)))
    admin.update_shard_count(
        StreamName=unique_name, TargetShardCount=2, ScalingType="UNIFORM_SCALING"
    )
    wait_active(admin, unique_name)
    put(admin, unique_name, ((event(n, key=f"k{n % 8}"), f"k{n % 8}") for n in range(200, 300)))
    result = cli("tail", unique_name, "--from", "trim-horizon", "--no-follow", "-o", "jsonl")
    assert result.exit_code == 0, result.stderr
    docs = [json.loads(line) for line in result.stdout.splitlines()]
    assert sorted(d["data"]["n"] for d in docs) == list(range(300))
    assert [d["kinesis"]["shard_id"] for d in docs[:200]] == ["shardId-000000000000"] * 200
    # Small batches make the parent take many polls: children known from the first listing
    # must still wait until it is drained.
    records = list(
        read_stream(
            reader_client(),
            unique_name,
            StartPosition.trim_horizon(),
            follow=False,
            batch_limit=20,
        )
    )
    assert [r.shard_id for r in records[:200]] == ["shardId-000000000000"] * 200
    assert len(records) == 300
    # LATEST on a resharded stream reads only the open children (the closed parent is skipped).
    latest = cli("tail", unique_name, "--timeout", "2", "-o", "jsonl")
    assert latest.exit_code == 0 and latest.stdout == ""
    assert "0 events from 2 shards" in latest.stderr  # the open children; parent skipped


def test_checkpoint_resumes_across_a_reshard(
    kinesis_local_env: str, unique_name: str, cli: CliRunner, tmp_path: Path
) -> None:
    admin = boto_client("kinesis", kinesis_local_env)
    create_stream(admin, unique_name, 1)
    put(admin, unique_name, ((event(n, key=f"k{n % 8}"), f"k{n % 8}") for n in range(150)))
    admin.update_shard_count(
        StreamName=unique_name, TargetShardCount=2, ScalingType="UNIFORM_SCALING"
    )
    wait_active(admin, unique_name)
    put(admin, unique_name, ((event(n, key=f"k{n % 8}"), f"k{n % 8}") for n in range(150, 250)))
    state = str(tmp_path / "state.json")
    runs = [
        ["--from", "trim-horizon", "--max", "100"],  # stops inside the parent
        ["--max", "100"],  # drains the parent, then into the children
        ["--no-follow"],  # the rest
    ]
    docs = []
    for args in runs:
        result = cli("tail", unique_name, "--checkpoint", state, "-o", "jsonl", *args)
        assert result.exit_code == 0, result.stderr
        docs += [json.loads(line) for line in result.stdout.splitlines()]
    numbers = [d["data"]["n"] for d in docs]
    assert sorted(numbers) == list(range(250))  # across three runs: nothing lost or repeated
    by_key: dict[str, list[int]] = defaultdict(list)
    for doc in docs:
        by_key[doc["kinesis"]["partition_key"]].append(doc["data"]["n"])
    assert all(ns == sorted(ns) for ns in by_key.values())
    saved = json.loads((tmp_path / "state.json").read_text())
    assert saved["shards"]["shardId-000000000000"] == "SHARD_END"
