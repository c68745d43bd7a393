"""export -> plan shows no changes (marked and hand-made resources); status finds the problems."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import boto_client, events_client
from tests.events.test_sink_flow import make_stream_and_role
from tests.fixture_types import CliRunner, EventsEmulator, FileWriter

MANAGED = """
version: 1
project: shop
streams:
  shop: {shards: 2, retention_hours: 48}
sinks:
  events: {type: kinesis, stream: shop, description: shop events}
  hook: {type: webhook, destination: "http://127.0.0.1:9/x", batch_events: true}
subscriptions:
  msgs:
    sink: events
    types: [com.twilio.messaging.message.delivered:2, com.twilio.messaging.message.sent:1]
  hooked: {sink: hook, types: [com.twilio.studio.flow.step.ended:1]}
"""


def test_export_then_plan_shows_no_changes(
    twilio_env: EventsEmulator,
    aws_env: str,
    cli: CliRunner,
    write_file: FileWriter,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert cli("apply", "-f", write_file(MANAGED), "--yes", "--timeout", "30").exit_code == 0
    # a hand-built kinesis sink (role not made by twilio-es) and a segment sink
    config = make_stream_and_role(aws_env, "legacy")
    client: Any = events_client()
    legacy = client.events.v1.sinks.create(
        description="legacy by hand", sink_configuration=config, sink_type="kinesis"
    )
    if legacy.status != "active":  # the emulator's legacy flow: validate like a user did
        assert cli("sink", "validate", legacy.sid, "--timeout", "30").exit_code == 0
    segment = client.events.v1.sinks.create(
        description="to segment", sink_configuration={"write_key": "wk-123"}, sink_type="segment"
    )
    exported = cli("export")
    assert exported.exit_code == 0, exported.stderr
    text = exported.stdout
    assert "external_id: ${env:TWILIO_ES_LEGACY_EXTERNAL_ID}" in text
    assert "write_key: ${env:TWILIO_ES_SEGMENT_WRITE_KEY}" in text
    assert config["external_id"] not in text and "wk-123" not in text
    assert f"sid: {legacy.sid}" in text and f"sid: {segment.sid}" in text
    assert "stream: shop" in text
    assert "set TWILIO_ES_LEGACY_EXTERNAL_ID" in exported.stderr
    path = tmp_path / "exported.yaml"
    path.write_text(text)
    monkeypatch.setenv("TWILIO_ES_LEGACY_EXTERNAL_ID", config["external_id"])
    monkeypatch.setenv("TWILIO_ES_SEGMENT_WRITE_KEY", "wk-123")
    planned = cli("plan", "-f", str(path), "--detailed-exitcode")
    assert planned.exit_code == 0, planned.stdout + planned.stderr
    assert "No changes" in planned.stdout
    assert "  stream shop: unchanged" in planned.stdout.replace("    ", "  ")


def test_export_only_one_stream(
    twilio_env: EventsEmulator, cli: CliRunner, write_file: FileWriter
) -> None:
    assert cli("apply", "-f", write_file(MANAGED), "--yes", "--timeout", "30").exit_code == 0
    exported = cli("export", "--stream", "shop")
    assert exported.exit_code == 0
    assert "events:" in exported.stdout and "hook:" not in exported.stdout
    assert "msgs:" in exported.stdout and "hooked:" not in exported.stdout


def test_status_shows_chain_and_problems(
    twilio_env: EventsEmulator, aws_env: str, cli: CliRunner, write_file: FileWriter
) -> None:
    assert cli("apply", "-f", write_file(MANAGED), "--yes", "--timeout", "30").exit_code == 0
    client: Any = events_client()
    lonely = client.events.v1.sinks.create(
        description="nobody uses me",
        sink_configuration={"destination": "http://127.0.0.1:9/l"},
        sink_type="webhook",
    )
    kinesis = boto_client("kinesis", aws_env)
    assert cli("stream", "create", "unused", "1").exit_code == 0
    iam = boto_client("iam", aws_env)
    role = "twilio-es-shop-us-east-1"
    (policy,) = iam.list_role_policies(RoleName=role)["PolicyNames"]
    iam.delete_role_policy(RoleName=role, PolicyName=policy)

    result = cli("status", "--json")
    assert result.exit_code == 0, result.stderr
    data = result.json()
    assert data["counts"] == {"sinks": "3/100", "subscriptions": "2/100"}
    rows = {r["subscription"].split(" ")[-1]: r for r in data["rows"]}
    assert rows["(msgs)"]["stream"] == "shop (ACTIVE)"
    assert rows["(msgs)"]["role"] == "may not PutRecord on the stream"
    problems = "\n".join(data["problems"])
    assert f"sink {lonely.sid} has no subscription" in problems
    assert "role may not PutRecord on the stream" in problems
    assert "stream unused has a twilio-es role but no sink writes to it" in problems
    assert kinesis.describe_stream_summary(StreamName="unused")

    text = cli("status")
    assert text.exit_code == 0  # informational unless --check
    assert "subscriptions 2/100" in text.stdout
    assert "problem(s):" in text.stdout
    assert cli("status", "--check").exit_code == 5


def test_status_check_passes_on_a_clean_account(
    twilio_env: EventsEmulator, cli: CliRunner, write_file: FileWriter
) -> None:
    assert cli("apply", "-f", write_file(MANAGED), "--yes", "--timeout", "30").exit_code == 0
    clean = cli("status", "--check")
    assert clean.exit_code == 0, clean.stdout
    assert "No problems found." in clean.stdout


def test_export_leaves_other_projects_out(
    twilio_env: EventsEmulator, cli: CliRunner, write_file: FileWriter
) -> None:
    applied = cli("apply", "-f", write_file(MANAGED), "--yes", "--timeout", "30", "--json")
    assert applied.exit_code == 0
    summary = applied.json()
    assert summary["plan"]["summary"]["create"] == 5
    assert set(summary["sinks"]) == {"events", "hook"}
    assert len(summary["done"]) == 5
    other = cli("export", "--project", "billing")
    assert other.exit_code == 0
    assert "sinks:" not in other.stdout and "project: billing" in other.stdout
    assert "the account's other projects: shop (2 sink(s), 2 subscription(s))" in other.stderr
    assert "no sink or subscription carries project billing's marker" in other.stderr


def test_export_output_that_cannot_be_written_is_refused_up_front(
    twilio_env: EventsEmulator, aws_env: str, cli: CliRunner, tmp_path: Path
) -> None:
    """Found by the fuzz suite: a directory was 'unexpected IsADirectoryError' after the work."""
    result = cli("export", "--output", str(tmp_path))
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: --output {tmp_path} is a directory")
    empty = cli("export", "--stream=")
    assert empty.exit_code == 2 and "--stream was given an empty value" in empty.stderr


TEAM = """
version: 1
project: {team}
sinks:
  hook: {{type: webhook, destination: "http://127.0.0.1:9/{team}"}}
subscriptions:
  msgs: {{sink: hook, types: [com.twilio.messaging.message.delivered:2]}}
"""


def test_export_of_an_account_with_two_projects_says_what_it_wrote_and_left_out(
    twilio_env: EventsEmulator, cli: CliRunner, write_file: FileWriter, tmp_path: Path
) -> None:
    import yaml

    for team in ("team1", "team2"):
        path = write_file(TEAM.format(team=team), f"{team}.yaml")
        assert cli("apply", "-f", path, "--yes", "--timeout", "30").exit_code == 0
    exported = cli("export")
    assert exported.exit_code == 0, exported.stderr
    doc = yaml.safe_load(exported.stdout)
    written = doc["project"]
    other = {"team1": "team2", "team2": "team1"}[written]
    assert list(doc["sinks"]) == ["hook"] and list(doc["subscriptions"]) == ["msgs"]
    assert f"wrote project {written} to stdout: 0 streams, 1 sink, 1 subscription" in (
        exported.stderr
    )
    assert f"the account's other projects: {other} (1 sink(s), 1 subscription(s))" in (
        exported.stderr
    )
    assert f"twilio-es export --project {other} -o {other}.yaml" in exported.stderr
    # ... and that command writes the other one
    out = tmp_path / f"{other}.yaml"
    second = cli("export", "--project", other, "-o", str(out))
    assert second.exit_code == 0, second.stderr
    assert yaml.safe_load(out.read_text())["project"] == other
    assert f"wrote project {other} to {out}: 0 streams, 1 sink, 1 subscription" in second.stderr
