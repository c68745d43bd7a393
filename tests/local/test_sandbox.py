"""`twilio-es local up` / `local emit`: the sandbox as a user drives it from other shells."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import run_subprocess
from tests.fixture_types import CliRunner, EventsEmulator
from tests.local.conftest import Receiver
from tests.sandbox_support import DELIVERED, RunningSandbox, build_flow, start_sandbox

DATA = Path(__file__).resolve().parents[1] / "data"
MESSAGE_STATUS_SCHEMA = DATA / "twilio-schemas" / "Messaging.MessageStatus.4.json"


def test_local_up_drives_the_whole_flow_and_stops_cleanly(
    sandbox: RunningSandbox, tmp_path: Path
) -> None:
    from jsonschema import Draft7Validator

    build_flow(sandbox, tmp_path, "sandbox-flow")
    emitted = sandbox.run("local", "emit", DELIVERED, "--count", "5", "--json", cwd=tmp_path)
    assert emitted.exit_code == 0, emitted.stderr
    assert emitted.json() == {
        "type": DELIVERED,
        "count": 5,
        "deliveries": 5,
        "delivered": 5,
        "retrying": 0,
        "dropped": 0,
        "pending": 0,
    }

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
    first = start_sandbox(tmp_path, "--state-dir", str(state))
    try:
        sid = build_flow(first, tmp_path, "kept")
        assert first.run("local", "emit", DELIVERED, "-n", "3", cwd=tmp_path).exit_code == 0
    finally:
        code, _ = first.stop()
    assert code == 0
    snapshot = state / "aws-snapshot.json"
    assert snapshot.stat().st_mode & 0o777 == 0o600

    second = start_sandbox(tmp_path, "--state-dir", str(state))
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


def test_emit_unknown_type_is_not_found(twilio_env: EventsEmulator, cli: CliRunner) -> None:
    result = cli("local", "emit", "com.twilio.nope")
    assert result.exit_code == 4, result.stderr  # a well-formed name it lacks (docs/output.md)
    assert "error:" in result.stderr
    assert "See `twilio-es types list --search TEXT`." in result.stderr  # the catalogue's hint


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
    sb = start_sandbox(tmp_path, *(["--legacy-validation"] if legacy else []))
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


def test_env_file_that_existed_becomes_private(tmp_path: Path) -> None:
    """The export lines hold credentials: a --env-file that was 0644 before is 0600 after."""
    env_file = tmp_path / "sandbox.env"
    env_file.write_text("export OLD=1\n", encoding="utf-8")
    env_file.chmod(0o644)
    sandbox = start_sandbox(tmp_path)  # checks the file: 8 export lines, mode 0600
    try:
        assert "OLD" not in env_file.read_text(encoding="utf-8")
    finally:
        code, _stderr = sandbox.stop()
    assert code == 0


def test_env_file_that_cannot_be_written_is_refused_before_starting(tmp_path: Path) -> None:
    result = run_subprocess(
        ["local", "up", "--aws-port", "0", "--events-port", "0", "--env-file", str(tmp_path)]
    )
    assert result.exit_code == 2, result.stderr
    assert f"--env-file {tmp_path} is a directory" in result.stderr
    assert "Sandbox up" not in result.stderr


@pytest.mark.parametrize("option", ["--public-url", "--schema-url"])
@pytest.mark.parametrize("url", ["http://[::1", "http://h:99999", "http://u:fz-secret@[::1"])
def test_broken_base_urls_are_usage_errors(option: str, url: str) -> None:
    result = run_subprocess(["local", "up", "--aws-port", "0", "--events-port", "0", option, url])
    assert result.exit_code == 2, result.stderr
    assert "is not an http(s) base URL" in result.stderr
    assert "unexpected" not in result.stderr and "fz-secret" not in result.stderr
