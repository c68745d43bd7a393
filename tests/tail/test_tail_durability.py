"""Crash durability of ``tail --checkpoint``: killed with SIGKILL at any moment, a resumed tail
loses no event and repeats only what the checkpoint had not recorded yet (at most
CHECKPOINT_EVERY_RECORDS records, and about a second's worth; docs/tail.md)."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import pytest

from tests.conftest import boto_client
from tests.tail.tail_support import create_stream, event, put

if TYPE_CHECKING:
    from mypy_boto3_kinesis import KinesisClient

STREAM = "twilio-events"
KEYS = 24


def _popen(argv: list[str], out: IO[bytes], err: IO[bytes]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "twilio_es_cli", *argv], stdout=out, stderr=err, env=dict(os.environ)
    )


def _wait_until(condition: Any, what: str, limit: float = 60) -> None:
    """Wait for ``condition()`` (a liveness check, not a timing assertion)."""
    give_up = time.monotonic() + limit
    while not condition():
        assert time.monotonic() < give_up, f"gave up waiting for {what}"
        time.sleep(0.02)


def _shown(path: Path) -> list[dict[str, Any]]:
    """The complete lines a (possibly killed) tail wrote: a torn last line was not shown."""
    text = path.read_bytes().decode()
    lines = text.split("\n")[:-1]  # whatever follows the last newline is incomplete
    return [json.loads(line) for line in lines]


def _saved(state: Path) -> dict[str, str]:
    return dict(json.loads(state.read_text())["shards"]) if state.exists() else {}


def _beyond(doc: dict[str, Any], saved: dict[str, str]) -> bool:
    """Whether the checkpoint ``saved`` does not yet cover the event ``doc`` (it is repeated)."""
    meta = doc["kinesis"]
    position = saved.get(meta["shard_id"])
    if position is None:
        return True
    return position != "SHARD_END" and int(meta["sequence_number"]) > int(position)


def test_checkpoint_is_on_disk_before_the_first_event_and_saved_while_idle(
    aws_env: str, tmp_path: Path
) -> None:
    kinesis = boto_client("kinesis", aws_env)
    create_stream(kinesis, STREAM, 2)
    state = tmp_path / "state.json"
    # 1. Killed before any event was shown: the start is on disk, so nothing that arrives
    # after it started is skipped by the next run (before: no file, next run at "latest").
    with open(tmp_path / "a.out", "wb") as out, open(tmp_path / "a.err", "wb") as err:
        tail = _popen(["tail", STREAM, "--checkpoint", str(state), "-o", "jsonl"], out, err)
        try:
            _wait_until(state.exists, "the checkpoint file")
        finally:
            tail.send_signal(signal.SIGKILL)
            tail.wait(timeout=60)
    put(kinesis, STREAM, [(event(n, key=f"k{n}"), f"k{n}") for n in range(20)])
    # 2. 20 events shown, then the stream is idle: the checkpoint must catch up without a
    # new record arriving (before: saved only when a record came >= 1 s after the last save).
    with open(tmp_path / "b.out", "wb") as out, open(tmp_path / "b.err", "wb") as err:
        tail = _popen(["tail", STREAM, "--checkpoint", str(state), "-o", "jsonl"], out, err)
        try:
            _wait_until(lambda: len(_shown(tmp_path / "b.out")) == 20, "20 events")
            docs = _shown(tmp_path / "b.out")
            _wait_until(lambda: not any(_beyond(d, _saved(state)) for d in docs), "the idle save")
        finally:
            tail.send_signal(signal.SIGKILL)
            tail.wait(timeout=60)
    assert sorted(d["data"]["n"] for d in docs) == list(range(20))
    put(kinesis, STREAM, [(event(n, key=f"k{n}"), f"k{n}") for n in range(20, 30)])
    argv = ["tail", STREAM, "--checkpoint", str(state), "--no-follow", "-o", "jsonl"]
    resumed = subprocess.run(
        [sys.executable, "-m", "twilio_es_cli", *argv],
        capture_output=True,
        timeout=120,
        env=dict(os.environ),
    )
    assert resumed.returncode == 0, resumed.stderr
    numbers = [json.loads(x)["data"]["n"] for x in resumed.stdout.decode().splitlines()]
    assert sorted(numbers) == list(range(20, 30))  # 0 lost, 0 repeated
    assert state.stat().st_mode & 0o777 == 0o600


class _Producer:
    """Writes numbered events in bursts from a thread, like a live Twilio sink."""

    def __init__(self, kinesis: KinesisClient, stream: str) -> None:
        self.kinesis = kinesis
        self.stream = stream
        self.produced = 0
        self.thread: threading.Thread | None = None

    def burst(self, count: int) -> None:
        self.join()
        first, self.produced = self.produced, self.produced + count
        numbers = range(first, first + count)
        items = ((event(n, key=f"k{n % KEYS}"), f"k{n % KEYS}") for n in numbers)
        self.thread = threading.Thread(target=put, args=(self.kinesis, self.stream, items))
        self.thread.start()

    def join(self) -> None:
        if self.thread is not None:
            self.thread.join(120)
            assert not self.thread.is_alive()


def _reshard(kinesis: KinesisClient, stream: str, shards: int) -> None:
    kinesis.update_shard_count(
        StreamName=stream, TargetShardCount=shards, ScalingType="UNIFORM_SCALING"
    )
    _wait_until(
        lambda: (
            kinesis.describe_stream_summary(StreamName=stream)["StreamDescriptionSummary"][
                "StreamStatus"
            ]
            == "ACTIVE"
        ),
        "the reshard",
    )


# What happens before each SIGKILL; "reshard" kills right after the stream was resharded.
MOMENTS = ["early", "mid", "idle", "reshard", "mid", "idle", "mid", "reshard", "early", "idle"]
MOMENTS += ["reshard", "mid"]


@pytest.mark.slow
def test_sigkill_at_random_moments_under_a_live_producer_loses_nothing(
    kinesis_local_env: str, unique_name: str, tmp_path: Path
) -> None:
    from twilio_es_cli.tail.checkpoint import CHECKPOINT_EVERY_RECORDS

    seed = int.from_bytes(os.urandom(4), "big")
    rng = random.Random(seed)
    why = f"(random seed {seed})"
    kinesis = boto_client("kinesis", kinesis_local_env)
    create_stream(kinesis, unique_name, 1)
    producer = _Producer(kinesis, unique_name)
    state = tmp_path / "state.json"
    targets = iter([2, 4, 2, 1])
    docs_by_run: list[list[dict[str, Any]]] = []
    repeats_by_kill: list[int] = []
    seen: set[int] = set()
    for run, moment in enumerate(MOMENTS):
        # The same command every time, as a service would run it: a first run killed before
        # it saved anything starts the next one from the trim horizon again.
        argv = ["tail", unique_name, "--from", "trim-horizon", "--checkpoint", str(state)]
        argv += ["-o", "jsonl"]
        out_path, err_path = tmp_path / f"{run}.out", tmp_path / f"{run}.err"
        with open(out_path, "wb") as out, open(err_path, "wb") as err:
            tail = _popen(argv, out, err)
            try:
                _act(moment, rng, producer, kinesis, unique_name, targets, out_path, seen)
            finally:
                tail.send_signal(signal.SIGKILL)
                code = tail.wait(timeout=60)
            assert code == -signal.SIGKILL, (err_path.read_text(), why)
        docs = _shown(out_path)
        seen.update(d["data"]["n"] for d in docs)
        saved = _saved(state)
        docs_by_run.append(docs)
        repeats_by_kill.append(sum(_beyond(d, saved) for d in docs))
    producer.join()
    argv = ["tail", unique_name, "--checkpoint", str(state), "--no-follow", "-o", "jsonl"]
    final = subprocess.run(
        [sys.executable, "-m", "twilio_es_cli", *argv],
        capture_output=True,
        timeout=120,
        env=dict(os.environ),
    )
    assert final.returncode == 0, final.stderr
    docs_by_run.append([json.loads(x) for x in final.stdout.decode().splitlines()])
    counts = Counter(d["data"]["n"] for docs in docs_by_run for d in docs)
    missing = set(range(producer.produced)) - set(counts)
    assert not missing, f"{len(missing)} of {producer.produced} events lost {why}"
    assert set(counts) == set(range(producer.produced)), why
    # The only repeats are the events each killed run showed beyond its last save: a resumed
    # run starts exactly at the checkpoint, and the checkpoint never trails by more than
    # CHECKPOINT_EVERY_RECORDS records.
    repeated = sum(counts.values()) - producer.produced
    assert repeated == sum(repeats_by_kill), (repeats_by_kill, why)
    assert max(repeats_by_kill) <= CHECKPOINT_EVERY_RECORDS, (repeats_by_kill, why)
    print(
        f"\n{producer.produced} events, {len(MOMENTS)} kills, 0 lost, {repeated} repeated "
        f"(per kill {repeats_by_kill}) {why}"
    )


def _act(
    moment: str,
    rng: random.Random,
    producer: _Producer,
    kinesis: KinesisClient,
    stream: str,
    targets: Any,
    out_path: Path,
    seen: set[int],
) -> None:
    """Arrange one kill moment while the tail runs (the caller then sends SIGKILL)."""
    if moment == "early":  # during start-up or the first batch
        producer.burst(rng.randint(50, 300))
        time.sleep(rng.uniform(0.0, 1.2))
    elif moment == "mid":  # while a large burst is being shown
        count = rng.randint(300, 1500)
        producer.burst(count)
        lines = rng.randint(1, count // 2)
        _wait_until(lambda: len(_shown(out_path)) >= lines, f"{lines} lines")
    elif moment == "idle":  # caught up, the stream quiet for a moment
        producer.burst(rng.randint(10, 200))
        producer.join()

        def caught_up() -> bool:
            shown = seen | {d["data"]["n"] for d in _shown(out_path)}
            return len(shown) >= producer.produced

        _wait_until(caught_up, "the tail to catch up")
        time.sleep(rng.uniform(0.0, 1.5))
    else:  # right after a reshard, events flowing into the new shards
        producer.burst(rng.randint(50, 400))
        producer.join()
        _reshard(kinesis, stream, next(targets))
        producer.burst(rng.randint(20, 200))
        time.sleep(rng.uniform(0.0, 0.6))
