"""`twilio-es quickstart --local --webhook` end to end, in fresh interpreters.

The command starts its own sandbox and an in-process `webhook listen`, creates a webhook sink
pointing at it, proves delivery in one step (the test event read back from the listener),
subscribes, emits sample events and shows them as the listener received them, each with the
verdict of its signature check.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_on_terminal, run_subprocess
from tests.fixture_types import CliRunner

DEFAULT_TYPES = {
    "com.twilio.messaging.message.delivered",
    "com.twilio.messaging.message.undelivered",
    "com.twilio.messaging.message.failed",
}


def test_webhook_quickstart_piped_shows_signed_samples_as_jsonl(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = run_subprocess(["quickstart", "--local", "--webhook"], timeout=120)

    assert "Traceback" not in result.stderr, result.stderr
    assert result.exit_code == 0, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(events) == 5  # the samples only: the test event was a step, not a sample
    assert {e["type"] for e in events} == DEFAULT_TYPES
    assert len({e["id"] for e in events}) == 5
    for event in events:
        assert event["data"]["messageSid"].startswith("SM")
        assert event["webhook"]["signature"] == "valid" and event["webhook"]["status"] == 200
        assert event["webhook"]["path"] == "/events"
    positions = [result.stderr.find(f"{n}/5 ") for n in range(1, 6)]
    assert all(p >= 0 for p in positions) and positions == sorted(positions), result.stderr
    assert "1/5 listener: created" in result.stderr
    assert "2/5 sink: created (webhook sink DG" in result.stderr
    assert "3/5 validated" in result.stderr and "valid signature" in result.stderr
    assert "Saw all 5 sample events arrive with valid signatures" in result.stderr
    assert list(tmp_path.iterdir()) == [tmp_path / "home"]  # nothing left behind


def test_webhook_quickstart_json_and_user_settings_ignored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    env = dict(os.environ)
    env.update(TWILIO_AUTH_TOKEN="wrong-token", TWILIO_ES_API_URL="http://127.0.0.1:9")
    result = run_subprocess(
        [
            "quickstart",
            "--local",
            "--webhook",
            "--type",
            "com.twilio.messaging.message.sent:3",
            "--json",
        ],
        env=env,
        timeout=120,
    )
    assert result.exit_code == 0, result.stderr
    doc: dict[str, Any] = json.loads(result.stdout)
    assert doc["local"] is True and doc["sink"]["status"] == "active"
    assert doc["webhook"]["listener"].startswith("http://127.0.0.1:")
    assert "valid X-Twilio-Signature" in doc["webhook"]["proved"]
    samples = doc["sample_events"]
    assert samples["received"] == 5
    assert samples["signatures"] == {"valid": 5, "invalid": 0}
    assert [e["type"] for e in samples["events"]] == ["com.twilio.messaging.message.sent"] * 5
    assert all(e["dataschema"].endswith("/3") for e in samples["events"])
    assert [s["name"] for s in doc["steps"]] == ["listener", "sink", "validated", "subscribed"]


def test_webhook_quickstart_on_a_terminal_shows_verdicts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    shown = run_on_terminal(["quickstart", "--local", "--webhook"], columns=120)
    assert shown.exit_code == 0, shown.stderr
    lines = [line for line in shown.stdout.splitlines() if "messaging.message." in line]
    assert len(lines) == 5, shown.stdout
    assert all("200 valid" in line for line in lines), shown.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--webhook"], "--webhook needs --local"),
        (["--local", "--webhook", "orders"], "STREAM does not apply to --webhook"),
        (["--local", "--webhook", "--shards", "2"], "--shards does not apply to --webhook"),
    ],
)
def test_webhook_flags_that_do_not_fit_are_usage_errors(
    cli: CliRunner, args: list[str], message: str
) -> None:
    result = cli("quickstart", *args)
    assert result.exit_code == 2
    assert message in result.stderr


def test_ctrl_c_during_webhook_quickstart_says_what_was_stopped(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "TWILIO_"))}
    proc = subprocess.Popen(
        [sys.executable, "-m", "twilio_es_cli", "quickstart", "--local", "--webhook"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    seen: list[str] = []
    timer = threading.Timer(120, proc.kill)
    timer.start()
    try:
        assert proc.stderr is not None
        for line in proc.stderr:
            seen.append(line)
            if "1/5 " in line:  # the sandbox and the listener are up
                proc.send_signal(signal.SIGINT)
                break
        rest = proc.stderr.read()
        code = proc.wait(timeout=60)
    finally:
        timer.cancel()
        if proc.poll() is None:
            proc.kill()
    stderr = "".join(seen) + rest
    assert code == 130, stderr
    assert "Traceback" not in stderr
    # The signal may land after step 2 finished too: the message names the last step shown.
    done = re.findall(r"✓ (\d)/5 (\w+):", stderr)
    assert done and done[0] == ("1", "listener"), stderr
    number, name = done[-1]
    assert f"quickstart --local --webhook stopped after step {number}/5 ({name})" in rest, stderr
    assert "webhook listener and the offline sandbox" in rest and "thrown away" in rest
