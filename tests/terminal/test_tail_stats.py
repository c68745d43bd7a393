"""``tail --stats``: a full-screen live view on a terminal, JSON summaries through a pipe."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from typing import Any
from unittest.mock import ANY

from tests.conftest import boto_client
from tests.tail.tail_support import CALL, DELIVERED, create_stream, event, put
from tests.terminal.pty_session import PtySession

_ESCAPES = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")


def _fill(aws_env: str, stream: str) -> None:
    kinesis = boto_client("kinesis", aws_env)
    create_stream(kinesis, stream, 2)
    items = [(event(n, key=f"k{n % 2}"), f"k{n % 2}") for n in range(6)]
    items += [(event(n, type_=CALL, key="k1"), "k1") for n in range(6, 9)]
    items.append((event(1, key="k1"), "k1"))  # Twilio delivers at least once: a duplicate
    items.append((b"not json \x1b[2J", "k0"))
    put(kinesis, stream, items)


def last_frame(text: str) -> list[str]:
    """The lines of the last screen drawn (rich moves the cursor home before each frame)."""
    frame = text.rsplit("\x1b[H", 1)[-1]
    return [line.rstrip() for line in _ESCAPES.sub("", frame).replace("\r", "").split("\n")]


def test_live_view_at_80_columns_and_q_restores_the_terminal(
    aws_env: str, unique_name: str
) -> None:
    _fill(aws_env, unique_name)
    session = PtySession(["tail", unique_name, "--from", "trim-horizon", "--stats"], columns=80)
    try:
        # 6 delivered + 3 calls + 1 record that is not a CloudEvent; the repeat is counted apart
        text = session.wait_for(lambda t: "10 events" in t and "duplicates 1" in t)
        assert "\x1b[?1049h" in text  # the alternate screen: what was on the terminal stays
        frame = last_frame(session.wait_for(lambda t: "shard-1" in t.rsplit("\x1b[H", 1)[-1]))
        print("\n".join(frame))
        assert all(len(line) <= 80 for line in frame), "\n".join(frame)
        joined = "\n".join(frame)
        assert "not CloudEvents 1" in joined and "duplicates 1" in joined
        assert any("messaging.message.delivered" in line for line in frame), joined
        delivered = next(line for line in frame if "messaging.message.delivered" in line)
        assert delivered.split()[-1] == "6", delivered  # its total
        assert any(ch in delivered for ch in "▁▂▃▄▅▆▇█"), delivered
        call = next(line for line in frame if "voice.status-callback.call.com" in line)
        assert call.split()[-1] == "3", call
        assert any(line.split()[:2] == ["shard-0", "0s"] for line in frame), joined
        assert any(line.split()[:2] == ["shard-1", "0s"] for line in frame), joined
        assert "json \x1b[2J" not in text  # a record's escape is never obeyed
        session.type(b"q")
        code = session.finish()
        assert code == 0, session.text[-1500:]
        assert "\x1b[?1049l" in session.text  # the screen is given back
        assert session.mode_now() == session.mode_before  # echo and line editing are back
    finally:
        session.close()


def test_piped_stats_are_one_json_summary_per_interval(aws_env: str, unique_name: str) -> None:
    _fill(aws_env, unique_name)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "twilio_es_cli",
            "tail",
            unique_name,
            "--from",
            "trim-horizon",
            "--stats",
            "--stats-interval",
            "0.5",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=dict(os.environ),
    )
    try:
        assert proc.stdout is not None
        docs: list[dict[str, Any]] = []
        while not docs or docs[-1]["events"] < 10:
            docs.append(json.loads(proc.stdout.readline()))
        doc = docs[-1]
        assert doc["types"][DELIVERED] == {"total": 6, "last_minute": 6, "per_second": ANY}
        assert doc["types"][CALL]["total"] == 3
        assert doc["types"]["(not a CloudEvent)"]["total"] == 1
        assert (doc["duplicates"], doc["not_cloudevents"], doc["filtered"]) == (1, 1, 0)
        assert set(doc["shards"]) == {"shardId-000000000000", "shardId-000000000001"}
        assert sum(s["records"] for s in doc["shards"].values()) == 11
        assert all(s["behind_latest_ms"] == 0 for s in doc["shards"].values())
        proc.stdout.close()  # the reader goes away: tail ends at once, quietly
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
