"""`local up` reshards like Kinesis: scale 1->2->4->2 while `local emit` writes, lose nothing.

Before the fix in ``twilio_es_cli/local/kinesis_fix.py`` moto kept writing into the closed
parent shard, copied records into children on split and merge (each event read twice) and
never ended a drained closed shard, so a `tail` after `stream scale` showed 0 events or
duplicates. Everything here goes through the CLI in separate processes, as a user would.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from datetime import datetime, timezone
from pathlib import Path

import pytest

from tests.conftest import Result, boto_client
from tests.sandbox_support import DELIVERED, RunningSandbox, build_flow
from twilio_es_cli.shards import list_shards, open_count

STREAM = "reshard-flow"
EMITTED = 60
# --timeout only so that a broken sandbox fails the test instead of hanging it.
TAIL = [sys.executable, "-m", "twilio_es_cli", "tail", STREAM, "--timeout", "300"]


def _delivered_ids(result: Result) -> list[str]:
    assert result.exit_code == 0, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert all(event["type"] == DELIVERED for event in events)
    return [str(event["id"]) for event in events]


@pytest.mark.slow
def test_scale_while_emitting_then_tail_shows_every_event_once(
    sandbox: RunningSandbox, tmp_path: Path
) -> None:
    build_flow(sandbox, tmp_path, STREAM)
    start = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    # A tail that follows the stream while it is resharded (from a time, so it cannot miss
    # events that arrive before it has opened the shards); --max stops it at the count.
    follower = subprocess.Popen(
        [*TAIL, "--from", start, "--type", DELIVERED, "--max", str(EMITTED), "-o", "jsonl"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=sandbox.env,
        cwd=tmp_path,
    )
    emitted: list[Result] = []
    emitter = threading.Thread(
        target=lambda: emitted.append(
            sandbox.run(
                "local",
                "emit",
                DELIVERED,
                "-n",
                str(EMITTED),
                "--rate",
                "15",
                "--json",
                cwd=tmp_path,
            )
        )
    )
    emitter.start()
    for count in ("2", "4", "2"):
        scaled = sandbox.run("stream", "scale", STREAM, count, cwd=tmp_path)
        assert scaled.exit_code == 0, scaled.stderr
    emitter.join(timeout=300)
    assert emitted and emitted[0].exit_code == 0, emitted and emitted[0].stderr
    assert emitted[0].json()["deliveries"] == EMITTED

    kinesis = boto_client("kinesis", sandbox.env["AWS_ENDPOINT_URL"])
    listed = list_shards(kinesis, STREAM)
    assert (len(listed), open_count(listed)) == (1 + 2 + 4 + 2, 2)

    # A tail run afterwards, from the same time, reads parents then children: each event once.
    after = sandbox.run(
        "tail",
        STREAM,
        "--from",
        start,
        "--no-follow",
        "--type",
        DELIVERED,
        "-o",
        "jsonl",
        cwd=tmp_path,
    )
    ids = _delivered_ids(after)
    assert len(ids) == EMITTED
    assert len(set(ids)) == EMITTED

    out, err = follower.communicate(timeout=300)
    assert follower.returncode == 0, err
    followed = [json.loads(line)["id"] for line in out.splitlines()]
    assert sorted(followed) == sorted(ids)

    # New events after the reshard land in open shards, so a tail from `latest` sees them.
    latest = subprocess.Popen(
        [*TAIL, "--type", DELIVERED, "--max", "3", "--output", "jsonl"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=sandbox.env,
        cwd=tmp_path,
    )
    # Emit until the follower, which may still be opening shards, has its three events.
    while latest.poll() is None:
        assert sandbox.run("local", "emit", DELIVERED, cwd=tmp_path).exit_code == 0
        try:
            latest.wait(timeout=1)
        except subprocess.TimeoutExpired:
            continue
    out, err = latest.communicate()
    assert latest.returncode == 0, err
    assert len(out.splitlines()) == 3
