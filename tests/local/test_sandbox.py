"""`twilio-es local up` / `local emit`: the sandbox as a user drives it from other shells."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Result, run_subprocess
from tests.fixture_types import CliRunner, EventsEmulator
from tests.local.conftest import Receiver

DATA = Path(__file__).resolve().parents[1] / "data"
MESSAGE_STATUS_SCHEMA = DATA / "twilio-schemas" / "Messaging.MessageStatus.4.json"
DELIVERED = "com.twilio.messaging.message.delivered"


class RunningSandbox:
    """A `twilio-es local up` process and the environment its export lines describe."""

    def __init__(self, proc: subprocess.Popen[str], env: dict[str, str]) -> None:
        self.proc = proc
        self.env = env
        self.stderr_lines: list[str] = []

    def run(self, *args: str, cwd: Path) -> Result:
        old = os.getcwd()
        os.chdir(cwd)
        try:
            return run_subprocess(list(args), env=self.env)
        finally:
            os.chdir(old)

    def stop(self) -> tuple[int, str]:
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout=60)
        assert self.proc.stderr is not None
        return code, self.proc.stderr.read()


def _start(tmp_path: Path, *extra: str) -> RunningSandbox:
    """Start `local up` on free ports and wait for its export lines (like a user would)."""
    env_file = tmp_path / "sandbox.env"
    base = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "TWILIO_"))}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "twilio_es_cli",
            "local",
            "up",
            "--aws-port",
            "0",
            "--events-port",
            "0",
            "--env-file",
            str(env_file),
            *extra,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=base,
        cwd=tmp_path,
    )
    exports: dict[str, str] = {}
    assert proc.stdout is not None
    timer = threading.Timer(60, proc.kill)
    timer.start()
    try:
        for line in proc.stdout:
            assert line.startswith("export "), line
            key, _, value = line[len("export ") :].strip().partition("=")
            exports[key] = value
            if len(exports) == 8:
                break
    finally:
        timer.cancel()
    assert set(exports) == {
        "AWS_ENDPOINT_URL",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "TWILIO_ES_API_URL",
        "TWILIO_ACCOUNT_SID",
        "TWILIO_AUTH_TOKEN",
    }, proc.stderr.read() if proc.stderr and proc.poll() is not None else exports
    assert env_file.read_text().count("export ") == 8
    assert env_file.stat().st_mode & 0o777 == 0o600
    return RunningSandbox(proc, {**base, **exports})


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[RunningSandbox]:
    running = _start(tmp_path)
    yield running
    if running.proc.poll() is None:
        running.proc.kill()
        running.proc.wait()


def _build_flow(sb: RunningSandbox, cwd: Path, stream: str) -> str:
    """stream create -> sink create -> validate -> subscribe, each through the CLI."""
    assert sb.run("stream", "create", stream, "1", "--out", "sink.json", cwd=cwd).exit_code == 0
    created = sb.run("sink", "create", "kinesis", "--config", "sink.json", "--json", cwd=cwd)
    assert created.exit_code == 0, created.stderr
    sid = str(created.json()["sid"])
    validated = sb.run("sink", "validate", sid, "--timeout", "60", cwd=cwd)
    assert validated.exit_code == 0, validated.stderr
    subscribed = sb.run("subscribe", "--sink", sid, "--type", f"{DELIVERED}:4", cwd=cwd)
    assert subscribed.exit_code == 0, subscribed.stderr
    return sid


def test_local_up_drives_the_whole_flow_and_stops_cleanly(
    sandbox: RunningSandbox, tmp_path: Path
) -> None:
    from jsonschema import Draft7Validator

    _build_flow(sandbox, tmp_path, "sandbox-flow")
    emitted = sandbox.run("local", "emit", DELIVERED, "--count", "5", "--json", cwd=tmp_path)
    assert emitted.exit_code == 0, emitted.stderr
    assert emitted.json() == {"type": DELIVERED, "count": 5, "deliveries": 5}

    tail = sandbox.run(
        "tail",
        "sandbox-flow",
        "--from",
        "trim-horizon",
        "--no-follow",
        "--type",
        DELIVERED,
        "--output",
        "jsonl",
        cwd=tmp_path,
    )
    assert tail.exit_code == 0, tail.stderr
    events = [json.loads(line) for line in tail.stdout.splitlines()]
    assert len(events) == 5
    validator = Draft7Validator(json.loads(MESSAGE_STATUS_SCHEMA.read_text()))
    for event in events:
        assert event["type"] == DELIVERED
        assert list(validator.iter_errors(event["data"])) == []

    code, stderr = sandbox.stop()
    assert code == 0
    assert "Sandbox stopped" in stderr
    assert "Traceback" not in stderr
    assert "HTTP/1.1" not in stderr  # no werkzeug access log on the user's terminal


def test_state_dir_keeps_streams_sinks_subscriptions_and_records(tmp_path: Path) -> None:
    state = tmp_path / "state"
    first = _start(tmp_path, "--state-dir", str(state))
    try:
        sid = _build_flow(first, tmp_path, "kept")
        assert first.run("local", "emit", DELIVERED, "-n", "3", cwd=tmp_path).exit_code == 0
    finally:
        code, _ = first.stop()
    assert code == 0
    snapshot = state / "aws-snapshot.json"
    assert snapshot.stat().st_mode & 0o777 == 0o600

    second = _start(tmp_path, "--state-dir", str(state))
    try:
        shown = second.run("sink", "show", sid, "--json", cwd=tmp_path)
        assert shown.exit_code == 0, shown.stderr
        assert shown.json()["status"] == "active"
        subs = second.run("subscription", "list", "--sink", sid, "--json", cwd=tmp_path)
        assert len(subs.json()) == 1
        # The restored stream still holds the test event and the three emitted events, and
        # the restored role still lets the emulator deliver new ones.
        assert second.run("local", "emit", DELIVERED, cwd=tmp_path).exit_code == 0
        tail = second.run(
            "tail",
            "kept",
            "--from",
            "trim-horizon",
            "--no-follow",
            "--output",
            "jsonl",
            cwd=tmp_path,
        )
        types = [json.loads(line)["type"] for line in tail.stdout.splitlines()]
        assert types.count(DELIVERED) == 4
        assert types.count("com.twilio.eventstreams.test-event") >= 1
    finally:
        second.stop()


def test_busy_port_is_a_config_error(tmp_path: Path) -> None:
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = str(busy.getsockname()[1])
        result = run_subprocess(["local", "up", "--aws-port", port, "--events-port", "0"])
    assert result.exit_code == 3
    assert f"Port {port}" in result.stderr and "hint:" in result.stderr
    assert "Traceback" not in result.stderr


def test_emit_delivers_to_a_subscribed_webhook_sink(
    twilio_env: EventsEmulator, cli: CliRunner, webhook_receiver: Receiver
) -> None:
    created = cli("sink", "create", "webhook", "--destination", webhook_receiver.url, "--json")
    assert created.exit_code == 0, created.stderr
    sid = created.json()["sid"]
    assert cli("subscribe", "--sink", sid, "--type", DELIVERED).exit_code == 0
    result = cli("local", "emit", DELIVERED, "--count", "2")
    assert result.exit_code == 0, result.stderr
    assert "2 deliveries" in result.stderr
    bodies = [body for method, body in webhook_receiver.received if method == "POST"]
    assert [b["type"] for b in bodies] == [DELIVERED, DELIVERED]


def test_emit_with_no_subscriber_warns(twilio_env: EventsEmulator, cli: CliRunner) -> None:
    result = cli("local", "emit", DELIVERED)
    assert result.exit_code == 0
    assert "no active sink is subscribed" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--count", "0"], "--count"),
        (["--rate", "0"], "--rate"),
        (["--data", "{nope"], "--data is not valid JSON"),
        (["--data", "[1]"], "--data must be a JSON object"),
    ],
)
def test_emit_bad_input_is_usage_error(
    twilio_env: EventsEmulator, cli: CliRunner, args: list[str], message: str
) -> None:
    result = cli("local", "emit", DELIVERED, *args)
    assert result.exit_code == 2
    assert message in result.stderr


def test_emit_unknown_type_is_usage_error(twilio_env: EventsEmulator, cli: CliRunner) -> None:
    result = cli("local", "emit", "com.twilio.nope")
    assert result.exit_code == 2, result.stderr
    assert "error:" in result.stderr


def test_emit_without_a_sandbox_says_how_to_start_one(
    cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", "AC" + "0" * 32)
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "x")
    result = cli("local", "emit", DELIVERED)
    assert result.exit_code == 3
    assert "twilio-es local up" in result.stderr


@pytest.mark.parametrize("legacy", [False, True])
def test_sink_validate_works_on_both_flows(tmp_path: Path, legacy: bool) -> None:
    """Today's sandbox (sinks active at once) and `local up --legacy-validation`."""
    sb = _start(tmp_path, *(["--legacy-validation"] if legacy else []))
    try:
        assert (
            sb.run("stream", "create", "both", "1", "--out", "sink.json", cwd=tmp_path).exit_code
            == 0
        )
        created = sb.run(
            "sink", "create", "kinesis", "--config", "sink.json", "--json", cwd=tmp_path
        )
        sid = str(created.json()["sid"])
        assert created.json()["status"] == ("initialized" if legacy else "active")
        validated = sb.run("sink", "validate", sid, "--json", cwd=tmp_path)
        assert validated.exit_code == 0, validated.stderr
        outcome = validated.json()
        assert isinstance(outcome, dict)
        assert outcome["status"] == "active"
        assert outcome["already_active"] is not legacy
        assert "delivery works end to end" in outcome["proved"]
        assert "found test event in shard" in validated.stderr
    finally:
        code, stderr = sb.stop()
    assert code == 0, stderr
    assert ("Legacy validation" in stderr) is legacy
