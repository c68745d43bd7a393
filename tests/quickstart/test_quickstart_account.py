"""`twilio-es quickstart` against "real accounts": moto's server (Kinesis, IAM, STS) over HTTP and
the project's Events v1 emulator, which assumes the sink's role the way Twilio does.

What a user relies on: a first run makes everything and leaves an active sink subscribed to
the types; a second run finds all of it ("already there") and makes no duplicates; a run
interrupted after the sink was created continues with validation; nothing is created when the
input (or a type) is wrong.
"""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Result, boto_client
from tests.fixture_types import CliRunner, EventsEmulator

DELIVERED = "com.twilio.messaging.message.delivered"
SENT = "com.twilio.messaging.message.sent"
READ = "com.twilio.messaging.message.read"


def _ok(result: Result) -> dict[str, Any]:
    assert result.exit_code == 0, result.stderr
    assert "Traceback" not in result.stderr
    doc: dict[str, Any] = json.loads(result.stdout)
    return doc


def _sinks(cli: CliRunner) -> list[dict[str, Any]]:
    result = cli("sink", "list", "--json")
    assert result.exit_code == 0, result.stderr
    sinks: list[dict[str, Any]] = result.json()
    return sinks


def _subscriptions(cli: CliRunner) -> list[dict[str, Any]]:
    result = cli("subscription", "list", "--json")
    assert result.exit_code == 0, result.stderr
    subs: list[dict[str, Any]] = result.json()
    return subs


def test_first_run_creates_everything_second_run_reuses_it(
    twilio_env: EventsEmulator,
    aws_env: str,
    cli: CliRunner,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    first = cli("quickstart", "qs-events", "--json")
    doc = _ok(first)

    # AWS: the stream and the role Twilio assumes, as streams.create makes them.
    kinesis = boto_client("kinesis", aws_env)
    iam = boto_client("iam", aws_env)
    summary = kinesis.describe_stream_summary(StreamName="qs-events")["StreamDescriptionSummary"]
    assert summary["StreamARN"] == doc["stream"]["arn"]
    assert summary["OpenShardCount"] == 1
    role = iam.get_role(RoleName=doc["role_arn"].rsplit("/", 1)[-1])["Role"]
    assert role["Arn"] == doc["role_arn"]

    # Twilio: one active kinesis sink on that stream, one subscription with the default types.
    sinks = _sinks(cli)
    assert [(s["sid"], s["status"]) for s in sinks] == [(doc["sink"]["sid"], "active")]
    assert sinks[0]["sink_configuration"]["arn"] == doc["stream"]["arn"]
    subs = _subscriptions(cli)
    assert [s["sid"] for s in subs] == [doc["subscription"]["sid"]]
    subscribed = {(t["type"], t["schema_version"]) for t in subs[0]["types"]}
    assert {(t["type"], t["schema_version"]) for t in doc["subscription"]["types"]} == subscribed
    assert DELIVERED in {t for t, _ in subscribed}
    assert doc["default_types"] is True
    assert [s["result"] for s in doc["steps"]] == ["created", "created", "validated", "created"]
    # Today the new sink is active at once; the quickstart still proves delivery into it.
    assert "delivery proved end to end" in first.stderr

    # The sink configuration is saved for `tail`/`sink create`; its secret is nowhere else.
    saved = tmp_path / "twilio-sink.json"
    config = json.loads(saved.read_text())
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600
    assert (config["arn"], config["role_arn"]) == (doc["stream"]["arn"], doc["role_arn"])
    assert config["external_id"] not in first.stdout + first.stderr

    # Events flow: what the emulator emits for a subscribed type lands in the stream.
    assert twilio_env.emit(DELIVERED, 2) == 2

    second = cli("quickstart", "qs-events", "--json")
    again = _ok(second)
    # Found again, except the proof: nothing records it, so the re-run proves it anew
    # rather than claim it (issue 23 item 1).
    assert [s["result"] for s in again["steps"]] == [
        "already there",
        "already there",
        "validated",
        "already there",
    ]
    for n in range(1, 5):
        assert f"{n}/5 " in second.stderr
    assert second.stderr.count("already there") >= 3
    assert "its delivery is not proven by this run yet: proving it now" in second.stderr
    assert "3/5 validated: already there" not in second.stderr
    assert "delivery proved end to end" in second.stderr
    assert again["sink"]["sid"] == doc["sink"]["sid"]
    assert again["subscription"]["sid"] == doc["subscription"]["sid"]
    assert len(_sinks(cli)) == 1
    assert len(_subscriptions(cli)) == 1
    assert json.loads(saved.read_text()) == config


def test_interrupted_run_continues_with_validation(
    twilio_env: EventsEmulator,
    aws_env: str,
    cli: CliRunner,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A stream and an unvalidated sink made by hand (or by a run that stopped there)."""
    twilio_env.legacy_validation = True  # the old flow: a kinesis sink starts initialized
    monkeypatch.chdir(tmp_path)
    made = cli("stream", "create", "half-done", "1", "--out", "twilio-sink.json")
    assert made.exit_code == 0, made.stderr
    sink = cli("sink", "create", "kinesis", "--config", "twilio-sink.json", "--json")
    assert sink.exit_code == 0, sink.stderr
    sid = sink.json()["sid"]
    assert sink.json()["status"] == "initialized"

    result = cli("quickstart", "half-done", "--type", SENT, "--json")
    doc = _ok(result)
    assert "1/5 stream + role: already there" in result.stderr
    assert "2/5 sink: already there" in result.stderr
    assert "3/5 validated (" in result.stderr
    assert [s["result"] for s in doc["steps"]] == [
        "already there",
        "already there",
        "validated",
        "created",
    ]
    assert doc["sink"] == {"sid": sid, "status": "active"}
    assert [s["sid"] for s in _sinks(cli)] == [sid]
    subs = _subscriptions(cli)
    assert [t["type"] for s in subs for t in s["types"]] == [SENT]

    # More types later: only the new one is subscribed (SENT twice would deliver twice), and
    # into the sink's one subscription: Twilio refuses a second ("Sink with SID ... is in use").
    more = cli("quickstart", "half-done", "--type", SENT, "--type", READ, "--json")
    doc = _ok(more)
    assert "already subscribed on this sink" in more.stderr
    assert "4/5 subscribed: types added" in more.stderr
    by_type = {t["type"]: t["subscription_sid"] for t in doc["subscription"]["types"]}
    assert by_type[SENT] == by_type[READ] == subs[0]["sid"]
    (only,) = _subscriptions(cli)
    assert sorted(t["type"] for t in only["types"]) == [READ, SENT]


def test_unknown_type_is_refused_with_a_suggestion_before_anything_is_made(
    twilio_env: EventsEmulator,
    aws_env: str,
    cli: CliRunner,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    result = cli("quickstart", "--type", "com.twilio.messaging.message.delivred")
    assert result.exit_code == 4, result.stderr  # a type that is not there: not found
    assert "Unknown event type" in result.stderr
    assert f"Did you mean {DELIVERED}" in result.stderr
    kinesis = boto_client("kinesis", aws_env)
    assert kinesis.list_streams()["StreamNames"] == []
    assert _sinks(cli) == []
    assert not (tmp_path / "twilio-sink.json").exists()


@pytest.mark.parametrize(
    "args",
    [
        ["bad name!"],
        ["--shards", "0"],
        ["--type", "com.twilio.messaging.message.sent:latest"],
        ["--type", " "],
        ["--description", "  "],
        ["--timeout", "0"],
        ["--out", "no-such-dir/twilio-sink.json"],
    ],
)
def test_bad_input_is_exit_2_before_any_call(
    args: list[str], cli: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No credentials and no endpoints are configured: any remote call would be exit 3."""
    monkeypatch.chdir(tmp_path)
    result = cli("quickstart", *args)
    assert result.exit_code == 2, result.stderr
    assert result.stderr.startswith("error: ")
    assert "credentials" not in result.stderr.lower()
    assert list(tmp_path.iterdir()) == [tmp_path / "home"]


def test_missing_twilio_credentials_stop_before_aws(
    aws_env: str, cli: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = cli("quickstart")
    assert result.exit_code == 3, result.stderr
    assert "Twilio credentials" in result.stderr
    assert "quickstart --local" in result.stderr or "local up" in result.stderr
    kinesis = boto_client("kinesis", aws_env)
    assert kinesis.list_streams()["StreamNames"] == []


def test_a_type_already_subscribed_at_another_version_is_refused(
    twilio_env: EventsEmulator, cli: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Subscribing SENT:3 next to SENT:4 would deliver every sent event twice."""
    monkeypatch.chdir(tmp_path)
    first = _ok(cli("quickstart", "versions", "--type", f"{SENT}:4", "--json"))
    result = cli("quickstart", "versions", "--type", f"{SENT}:3")
    assert result.exit_code == 2, result.stderr
    assert "already receives" in result.stderr
    assert f"subscription set-version {first['subscription']['sid']} {SENT} 3" in result.stderr
    assert len(_subscriptions(cli)) == 1
