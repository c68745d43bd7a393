"""`twilio-es archive` killed with SIGKILL at any moment, under a live producer and live
resharding (kinesis-local): no event is lost, and the `events` view shows each one once.

The same shape as tests/tail/test_tail_durability.py: the same command run again and again
as a service would run it, killed at random moments (start-up, mid-burst with files being
rolled, idle, right after a reshard), then one last run with --no-follow. What the files hold
may repeat events (a killed run wrote them after its last checkpoint save); the views must not.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from tests.conftest import boto_client
from tests.tail.tail_support import create_stream
from tests.tail.test_tail_durability import _Producer, _reshard, _wait_until
from twilio_es_cli.analytics.engine import open_archive

MOMENTS = ["early", "mid", "idle", "reshard", "mid", "idle", "reshard", "early", "mid"]


def _archived(root: Path, view: str = "archive") -> list[int]:
    """The producer's counters in the archive's files (``archive``) or in a view."""
    if not root.exists():
        return []
    con = open_archive(root)
    rows = con.execute(f"SELECT CAST(data ->> '$.n' AS INTEGER) FROM {view}").fetchall()
    return [int(n) for (n,) in rows]


def _archive(root: Path, stream: str, *extra: str) -> list[str]:
    argv = [sys.executable, "-m", "twilio_es_cli", "archive", stream, "--dir", str(root)]
    return [*argv, "--from", "trim-horizon", "--buffer-interval", "0.3", *extra]


def test_sigkill_under_resharding_loses_nothing_and_the_view_shows_each_event_once(
    kinesis_local_env: str, unique_name: str, tmp_path: Path
) -> None:
    seed = int.from_bytes(os.urandom(4), "big")
    rng = random.Random(seed)
    why = f"(random seed {seed})"
    kinesis = boto_client("kinesis", kinesis_local_env)
    create_stream(kinesis, unique_name, 1)
    producer = _Producer(kinesis, unique_name)
    root = tmp_path / "twilio-events"
    targets = iter([2, 4, 2])
    env = dict(os.environ)
    for run, moment in enumerate(MOMENTS):
        with open(tmp_path / f"{run}.err", "wb") as err:
            # --buffer-size 0.02: files roll every few dozen events, so kills land between
            # rolls, during one, and between a roll and the checkpoint save after it.
            argv = _archive(root, unique_name, "--buffer-size", "0.02")
            proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=err, env=env)
            try:
                _act(moment, rng, producer, kinesis, unique_name, targets, root)
            finally:
                proc.send_signal(signal.SIGKILL)
                code = proc.wait(timeout=60)
        assert code == -signal.SIGKILL, ((tmp_path / f"{run}.err").read_text(), why)
    producer.join()
    final = subprocess.run(
        [*_archive(root, unique_name), "--no-follow"],
        capture_output=True,
        timeout=300,
        env=env,
    )
    assert final.returncode == 0, final.stderr
    stored = Counter(_archived(root))
    missing = set(range(producer.produced)) - set(stored)
    assert not missing, f"{len(missing)} of {producer.produced} events lost {why}"
    assert set(stored) == set(range(producer.produced)), why
    shown = Counter(_archived(root, "events"))
    assert shown == Counter(range(producer.produced)), why  # each event once in the view
    repeats = sum(stored.values()) - producer.produced
    leftovers = list(root.rglob("*.tmp")) + list((root / ".archive" / "spool").glob("*"))
    assert not leftovers, leftovers  # the last run cleaned what the killed ones left
    print(
        f"\n{producer.produced} events, {len(MOMENTS)} kills, 0 lost, {repeats} stored twice "
        f"and shown once {why}"
    )


def _act(
    moment: str,
    rng: random.Random,
    producer: _Producer,
    kinesis: object,
    stream: str,
    targets: object,
    root: Path,
) -> None:
    """Arrange one kill moment while the archiver runs (the caller then sends SIGKILL)."""
    from typing import Any, cast

    client = cast(Any, kinesis)
    if moment == "early":  # during start-up or the first batch
        producer.burst(rng.randint(50, 300))
        time.sleep(rng.uniform(0.0, 1.5))
    elif moment == "mid":  # while a burst is being archived, files rolling
        before = len(list(root.rglob("part-*.parquet")))
        producer.burst(rng.randint(300, 1200))
        _wait_until(
            lambda: len(list(root.rglob("part-*.parquet"))) > before, "a file to be written"
        )
        time.sleep(rng.uniform(0.0, 0.5))
    elif moment == "idle":  # caught up, the stream quiet
        producer.burst(rng.randint(10, 200))
        producer.join()
        time.sleep(rng.uniform(0.5, 2.0))
    else:  # right after a reshard, events flowing into the new shards
        producer.burst(rng.randint(50, 300))
        producer.join()
        _reshard(client, stream, next(cast(Any, targets)))
        producer.burst(rng.randint(20, 200))
        time.sleep(rng.uniform(0.0, 0.8))
