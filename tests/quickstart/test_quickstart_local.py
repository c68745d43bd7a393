"""`twilio-es quickstart --local` end to end, in a fresh interpreter, as on a fresh machine.

Nothing but loopback: the command starts its own sandbox (moto server + Events emulator),
runs the five steps, emits sample events and shows them. The user's AWS/Twilio settings must
be ignored, and no sink configuration may be left in the working directory unless asked for.
"""

from __future__ import annotations

import json
import os
import re
import stat
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Result, run_on_terminal, run_subprocess

DEFAULT_TYPES = {
    "com.twilio.messaging.message.delivered",
    "com.twilio.messaging.message.undelivered",
    "com.twilio.messaging.message.failed",  # available (no public page says deprecated)
}


def _steps_in_order(stderr: str) -> None:
    positions = [stderr.find(f"{n}/5 ") for n in range(1, 6)]
    assert all(p >= 0 for p in positions), stderr
    assert positions == sorted(positions), stderr


def _no_crash(result: Result) -> None:
    assert "Traceback" not in result.stderr, result.stderr
    assert "unexpected" not in result.stderr, result.stderr


def test_local_quickstart_piped_shows_sample_events_as_jsonl(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = run_subprocess(["quickstart", "--local"], timeout=120)

    _no_crash(result)
    assert result.exit_code == 0, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(events) == 5
    assert {e["type"] for e in events} == DEFAULT_TYPES
    assert len({e["id"] for e in events}) == 5
    for event in events:
        assert event["specversion"] == "1.0"
        assert event["data"]["messageSid"].startswith("SM")
        assert event["kinesis"]["shard_id"].startswith("shardId-")
    _steps_in_order(result.stderr)
    assert "1/5 stream + role: created" in result.stderr
    assert "3/5 validated" in result.stderr
    assert "Saw all 5 sample events" in result.stderr
    assert "twilio-es local up" in result.stderr
    assert list(tmp_path.iterdir()) == [tmp_path / "home"]  # no twilio-sink.json


def test_local_quickstart_ignores_user_settings_and_writes_out_only_when_asked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    env = dict(os.environ)
    env.update(
        AWS_PROFILE="no-such-profile",
        AWS_ENDPOINT_URL="http://127.0.0.1:9",
        AWS_REGION="eu-west-3",
        AWS_ACCESS_KEY_ID="AKIAREALLOOKINGKEY000",
        AWS_SECRET_ACCESS_KEY="not-a-real-secret",
        TWILIO_ACCOUNT_SID="AC" + "f" * 32,
        TWILIO_AUTH_TOKEN="wrong-token",
        TWILIO_ES_API_URL="http://127.0.0.1:9",
    )
    out = tmp_path / "sandbox-sink.json"
    result = run_subprocess(
        [
            "quickstart",
            "--local",
            "sandbox-events",
            "--type",
            "com.twilio.messaging.message.sent:3",
            "--json",
            "--out",
            str(out),
        ],
        env=env,
        timeout=120,
    )

    _no_crash(result)
    assert result.exit_code == 0, result.stderr
    doc: dict[str, Any] = json.loads(result.stdout)
    assert doc["local"] is True
    assert doc["stream"]["name"] == "sandbox-events"
    assert doc["sink"]["status"] == "active"
    assert doc["subscription"]["types"] == [
        {
            "type": "com.twilio.messaging.message.sent",
            "schema_version": 3,
            "subscription_sid": doc["subscription"]["sid"],
        }
    ]
    samples = doc["sample_events"]
    assert samples["shown"] == 5
    assert [e["type"] for e in samples["events"]] == ["com.twilio.messaging.message.sent"] * 5
    assert all(e["dataschema"].endswith("/3") for e in samples["events"])

    config = json.loads(out.read_text())
    assert config["arn"] == doc["stream"]["arn"]
    assert config["role_arn"] == doc["role_arn"]
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    external_id = config["external_id"]
    assert external_id not in result.stdout
    assert external_id not in result.stderr
    assert "external_id" not in result.stdout
    assert not (tmp_path / "twilio-sink.json").exists()


def test_local_quickstart_on_a_terminal_is_pretty(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a terminal the events are the tail's pretty lines (type and source, no JSON)."""
    monkeypatch.chdir(tmp_path)
    # An ordinary 100-column terminal, so what fits on the line is deterministic.
    shown = run_on_terminal(["quickstart", "--local"], columns=100)
    assert shown.exit_code == 0, shown.stderr
    screen = re.sub(r"\x1b\[[0-9;]*m", "", shown.stdout)
    lines = [line for line in screen.splitlines() if " message." in line]
    assert len(lines) == 5, screen
    assert not any(line.lstrip().startswith("{") for line in lines), screen
    # One screen line per event, and the status that tells them apart is on it.
    shown_status = [re.search(r"message\.(\w+) +(\w+) ", line) for line in lines]
    assert all(m and m[1].upper() == m[2] for m in shown_status), screen
