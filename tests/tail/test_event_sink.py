"""The EventSink seam: another consumer of decoded events plugs into tail's pipeline, and the
checkpoint moves only past events the sink says are durable (the shape ``archive`` needs)."""

from __future__ import annotations

import io
import json
from collections import defaultdict
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.conftest import boto_client
from tests.tail.tail_support import SENT, create_stream, event, put, reader_client
from twilio_es_cli.progress import Collect
from twilio_es_cli.tail.checkpoint import WAITING_BLOCK, Checkpoint, CheckpointSaver
from twilio_es_cli.tail.decode import DecodedEvent, decode
from twilio_es_cli.tail.options import TailOptions
from twilio_es_cli.tail.pipeline import run_tail
from twilio_es_cli.tail.positions import SHARD_END, StartPosition
from twilio_es_cli.tail.records import KinesisRecord
from twilio_es_cli.tail.sink import BaseSink

if TYPE_CHECKING:
    from mypy_boto3_kinesis import KinesisClient

STREAM = "twilio-events"
WHEN = datetime(2026, 1, 1, tzinfo=timezone.utc)


class Files(BaseSink):
    """An archive in miniature: one open "file" per event type, durable once it holds
    ``roll`` events (so durability is not in write order), never before."""

    def __init__(self, roll: int) -> None:
        self.roll = roll
        self.count = 0  # events written so far: the next one's number
        self.open: dict[str, list[tuple[int, int]]] = defaultdict(list)  # type -> (number, n)
        self.durable: list[int] = []  # the producer's counters of durable events

    def write(self, record: KinesisRecord, decoded: DecodedEvent) -> None:
        data = decoded.data
        assert isinstance(data, dict)
        events = self.open[decoded.type or "?"]
        events.append((self.count, int(data["n"])))
        self.count += 1
        if len(events) == self.roll:  # the file is renamed into place: durable
            self.durable.extend(n for _, n in events)
            events.clear()

    def settle(self) -> int | None:
        pending = [number for events in self.open.values() for number, _ in events]
        return min(pending) if pending else None


class FinishedFiles(Files):
    """Rolls its partial files when the run ends (as an archive does)."""

    def finish(self) -> None:
        for events in self.open.values():
            self.durable.extend(n for _, n in events)
            events.clear()


def _record(shard: str, seq: int) -> KinesisRecord:
    return KinesisRecord(shard, str(seq), "k", WHEN, b"")


def test_the_saver_moves_each_shard_only_past_durable_events(tmp_path: Path) -> None:
    cp = Checkpoint.open(tmp_path / "cp.json", STREAM, StartPosition.trim_horizon())
    sink = Files(roll=2)
    saver = CheckpointSaver(cp, sink)
    saver.save(force=True)
    a = event(1, type_=SENT)
    b = event(2)  # another type: another file
    for record, body in ((_record("s0", 10), a), (_record("s1", 20), b), (_record("s0", 11), a)):
        sink.write(record, decode(body))
        saver.handled(record, sink.count)
    saver.shard_ended("s0")
    saver.save()
    # events 0 and 2 (SENT) are durable, event 1 is not: s0 may move past 10 only, s1 not at
    # all, and s0's end waits behind event 1 as well
    assert json.loads((tmp_path / "cp.json").read_text())["shards"] == {"s0": "10"}
    sink.write(_record("s1", 21), decode(b))  # event 1's file rolls: everything is durable
    saver.handled(_record("s1", 21), sink.count)
    saver.save()
    assert json.loads((tmp_path / "cp.json").read_text())["shards"] == {
        "s0": SHARD_END,
        "s1": "21",
    }


class Upto(BaseSink):
    """Events are durable below ``oldest`` (None: all of them), as a test sets it."""

    def __init__(self) -> None:
        self.count = 0
        self.oldest: int | None = 0

    def write(self, record: KinesisRecord, decoded: DecodedEvent) -> None:
        self.count += 1

    def settle(self) -> int | None:
        return self.oldest


def test_the_saver_keeps_one_entry_per_block_of_a_shard_and_never_moves_too_far(
    tmp_path: Path,
) -> None:
    """Memory: an archive holds ~150k records pending; one entry each grew its peak by ~30 MB.
    Consecutive records of a shard share an entry, which can only hold a shard back."""
    cp = Checkpoint.open(tmp_path / "cp.json", STREAM, StartPosition.trim_horizon())
    sink = Upto()
    saver = CheckpointSaver(cp, sink)
    saver.save(force=True)
    body = decode(event(1))
    positions: dict[int, int] = {}  # events written when the record was handled -> its seq
    for n in range(5000):  # a batch of s0, one of s1, one of s0 again
        record = _record("s0" if n < 2000 or n >= 3000 else "s1", 10_000 + n)
        sink.write(record, body)
        saver.pending = -(10**9)  # no save from handled(): the test saves when it chooses
        saver.handled(record, sink.count)
        positions[sink.count] = 10_000 + n
    assert len(saver.waiting) <= 5000 // WAITING_BLOCK + 3, len(saver.waiting)
    for oldest in (1, 700, 1999, 2500, 3001, 4321):
        sink.oldest = oldest
        saver.save()
        shards = json.loads((tmp_path / "cp.json").read_text())["shards"]
        durable_s0 = [positions[w] for w in positions if w <= oldest and not 2000 < w <= 3000]
        got = int(shards.get("s0", 10_000 - 1))  # absent: still at its start
        assert got <= max(durable_s0), (oldest, got)  # never past an event not durable
        behind = sum(1 for position in durable_s0 if position > got)
        assert behind <= WAITING_BLOCK, (oldest, got)  # at most a block of records behind
    sink.oldest = None  # everything durable: exactly where it would be without blocks
    saver.save()
    assert json.loads((tmp_path / "cp.json").read_text())["shards"] == {
        "s0": str(10_000 + 4999),
        "s1": str(10_000 + 2999),
    }


@pytest.fixture
def kinesis(aws_env: str) -> KinesisClient:
    client = boto_client("kinesis", aws_env)
    create_stream(client, STREAM, 2)
    return client


def test_another_sink_reads_like_tail_and_loses_nothing_across_runs(
    kinesis: KinesisClient, tmp_path: Path
) -> None:
    types = ("com.twilio.a", "com.twilio.b", "com.twilio.c")
    put(
        kinesis,
        STREAM,
        ((event(n, type_=types[n % 3], key=f"k{n % 5}"), f"k{n % 5}") for n in range(60)),
    )
    state = tmp_path / "archive.cp.json"
    options = TailOptions(start=StartPosition.trim_horizon(), follow=False, checkpoint=state)
    report = Collect()
    first = Files(roll=7)  # 60 events of 3 types: some files never fill in this run
    summary = run_tail(
        reader_client(), STREAM, options, out=io.StringIO(), sink=first, report=report
    )
    assert summary.emitted == 60 and summary.reason == "caught up"
    assert 0 < len(first.durable) < 60  # the rest was never durable (a crash would lose it)
    second = Files(roll=1)  # resumed from the checkpoint: every event durable at once
    resumed = TailOptions(
        start=StartPosition.latest(), explicit_start=False, follow=False, checkpoint=state
    )
    run_tail(reader_client(), STREAM, resumed, out=io.StringIO(), sink=second, report=report)
    assert set(first.durable) | set(second.durable) == set(range(60))  # nothing lost
    assert len(second.durable) < 60  # and what the first made durable is not all read again
    assert report.warnings == []


def test_what_finish_makes_durable_is_checkpointed_before_the_run_ends(
    kinesis: KinesisClient, tmp_path: Path
) -> None:
    put(kinesis, STREAM, ((event(n, key=f"k{n % 5}"), f"k{n % 5}") for n in range(30)))
    state = tmp_path / "archive.cp.json"
    options = TailOptions(start=StartPosition.trim_horizon(), follow=False, checkpoint=state)
    first = FinishedFiles(roll=7)  # 30 events: 2 short of a fifth file until finish()
    run_tail(reader_client(), STREAM, options, out=io.StringIO(), sink=first, report=Collect())
    assert sorted(first.durable) == list(range(30))
    again = Files(roll=1)
    resumed = TailOptions(
        start=StartPosition.latest(), explicit_start=False, follow=False, checkpoint=state
    )
    summary = run_tail(reader_client(), STREAM, resumed, out=io.StringIO(), sink=again)
    assert summary.read == 0 and again.durable == []  # nothing is read twice
