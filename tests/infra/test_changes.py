"""Each kind of change: plan says it (with the reason), apply does it, re-plan shows nothing."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import boto_client, events_client
from tests.fixture_types import CliRunner, EventsEmulator, FileWriter

HOOKS = """
version: 1
project: app
sinks:
  hook:
    type: webhook
    destination: http://127.0.0.1:9/events
    description: {description}
subscriptions:
  msgs:
    sink: hook
    types: [{types}]
"""


def _file(
    write_file: FileWriter,
    description: str = "app hook",
    types: str = "com.twilio.messaging.message.delivered:1",
    **kw: str,
) -> str:
    text = HOOKS.format(description=description, types=types)
    for old, new in kw.items():
        text = text.replace(old, new)
    return str(write_file(text))


def _plan(cli: CliRunner, path: str, *extra: str) -> Any:
    result = cli("plan", "-f", path, "--json", *extra)
    assert result.exit_code == 0, result.stderr
    return {(c["kind"], c["name"]): c for c in result.json()["changes"]}


def _converge(cli: CliRunner, path: str, *extra: str) -> None:
    applied = cli("apply", "-f", path, "--yes", "--timeout", "30", *extra)
    assert applied.exit_code == 0, applied.stderr
    again = cli("plan", "-f", path, "--detailed-exitcode", *extra)
    assert again.exit_code == 0, again.stdout
    assert "No changes" in again.stdout


def _subs() -> list[Any]:
    return list(events_client().events.v1.subscriptions.list())


def _sinks() -> list[Any]:
    return list(events_client().events.v1.sinks.list())


def test_types_added_removed_and_repinned(
    twilio_env: EventsEmulator, cli: CliRunner, write_file: FileWriter
) -> None:
    _converge(cli, _file(write_file))
    sid = _subs()[0].sid
    path = _file(
        write_file,
        types="com.twilio.messaging.message.delivered:2, com.twilio.messaging.message.sent:1",
    )
    change = _plan(cli, path)[("subscription", "msgs")]
    assert change["action"] == "update"
    assert change["reasons"] == [
        "add com.twilio.messaging.message.sent:1",
        "pin com.twilio.messaging.message.delivered to version 2",
    ]
    _converge(cli, path)
    path = _file(write_file, types="com.twilio.messaging.message.sent:1")
    assert _plan(cli, path)[("subscription", "msgs")]["reasons"] == [
        "remove com.twilio.messaging.message.delivered"
    ]
    _converge(cli, path)
    (sub,) = _subs()
    assert sub.sid == sid  # updated in place, never recreated
    assert [(e.type, e.schema_version) for e in sub.subscribed_events.list()] == [
        ("com.twilio.messaging.message.sent", 1)
    ]


def test_glob_is_resolved_and_pinned_at_plan_time(
    twilio_env: EventsEmulator, cli: CliRunner, write_file: FileWriter
) -> None:
    path = _file(write_file, types='"com.twilio.studio.flow.*"')
    change = _plan(cli, path)[("subscription", "msgs")]
    assert change["details"]["types"] == [
        "com.twilio.studio.flow.execution.ended:2",  # v2 on Twilio's Studio Flow page
        "com.twilio.studio.flow.execution.started:2",
        "com.twilio.studio.flow.step.ended:1",
    ]
    _converge(cli, path)


def test_description_is_updated_in_place(
    twilio_env: EventsEmulator, cli: CliRunner, write_file: FileWriter
) -> None:
    _converge(cli, _file(write_file))
    (before,) = _sinks()
    path = _file(write_file, description="renamed hook")
    change = _plan(cli, path)[("sink", "hook")]
    assert (change["action"], change["reasons"]) == ("update", ["description changes"])
    _converge(cli, path)
    (after,) = _sinks()
    assert after.sid == before.sid
    assert after.description == "renamed hook [twilio-es:app/hook]"


def test_new_destination_replaces_sink_and_moves_subscription(
    twilio_env: EventsEmulator, cli: CliRunner, write_file: FileWriter
) -> None:
    _converge(cli, _file(write_file))
    (old_sink,) = _sinks()
    (old_sub,) = _subs()
    path = _file(write_file, **{"127.0.0.1:9/events": "127.0.0.1:9/v2"})
    plan = _plan(cli, path)
    sink = plan[("sink", "hook")]
    assert sink["action"] == "replace"
    assert sink["reasons"][0] == "destination http://127.0.0.1:9/events -> http://127.0.0.1:9/v2"
    assert plan[("subscription", "msgs")]["action"] == "replace"
    text = cli("plan", "-f", path).stdout
    assert "events may arrive twice" in text
    _converge(cli, path)
    (new_sink,) = _sinks()
    (new_sub,) = _subs()
    assert new_sink.sid != old_sink.sid and new_sub.sid != old_sub.sid
    assert new_sub.sink_sid == new_sink.sid
    assert new_sink.sink_configuration["destination"] == "http://127.0.0.1:9/v2"


def test_removed_from_file_is_deleted_unmanaged_left_alone(
    twilio_env: EventsEmulator, cli: CliRunner, write_file: FileWriter
) -> None:
    from tests.conftest import active_webhook_sink

    stranger = active_webhook_sink()  # made by hand: no marker
    _converge(cli, _file(write_file))
    empty = write_file("version: 1\nproject: app\n", name="empty.yaml")
    plan = _plan(cli, empty)
    assert plan[("subscription", "msgs")]["action"] == "delete"
    assert plan[("sink", "hook")]["action"] == "delete"
    assert all(c["sid"] != stranger for c in plan.values())
    _converge(cli, empty)
    assert [s.sid for s in _sinks()] == [stranger]
    pruned = _plan(cli, empty, "--prune")
    assert pruned[("sink", stranger)]["reasons"] == ["not managed by twilio-es (--prune)"]
    refused = cli("apply", "-f", empty, "--prune")  # stdin is not a terminal: no --yes, no go
    assert refused.exit_code == 2
    assert "Refusing without confirmation" in refused.stderr
    _converge(cli, empty, "--prune")
    assert _sinks() == []


def test_other_projects_are_never_touched(
    twilio_env: EventsEmulator, cli: CliRunner, write_file: FileWriter
) -> None:
    _converge(cli, _file(write_file))
    other = write_file("version: 1\nproject: billing\n", name="billing.yaml")
    plan = _plan(cli, other, "--prune")
    assert plan == {}
    assert cli("apply", "-f", other, "--prune", "--yes").exit_code == 0
    assert len(_sinks()) == 1


def test_stream_shards_and_retention_are_updated(
    twilio_env: EventsEmulator, aws_env: str, cli: CliRunner, write_file: FileWriter
) -> None:
    text = """
    version: 1
    streams:
      s1:
        shards: {shards}
        retention_hours: {hours}
    """
    path = write_file(text.format(shards=1, hours=24))
    _converge(cli, path)
    path = write_file(text.format(shards=3, hours=48))
    change = _plan(cli, path)[("stream", "s1")]
    assert change["action"] == "update"
    assert change["reasons"] == ["shards 1 -> 3", "retention 24 h -> 48 h"]
    _converge(cli, path)  # 1 -> 3 is two reshards: AWS allows at most double per step
    kinesis = boto_client("kinesis", aws_env)
    summary = kinesis.describe_stream_summary(StreamName="s1")["StreamDescriptionSummary"]
    assert (summary["OpenShardCount"], summary["RetentionPeriodHours"]) == (3, 48)


def test_role_policy_drift_is_repaired(
    twilio_env: EventsEmulator, aws_env: str, cli: CliRunner, write_file: FileWriter
) -> None:
    path = write_file("version: 1\nstreams:\n  s2:\n    shards: 1\n")
    _converge(cli, path)
    iam = boto_client("iam", aws_env)
    role = "twilio-es-s2-us-east-1"
    (policy,) = iam.list_role_policies(RoleName=role)["PolicyNames"]
    iam.delete_role_policy(RoleName=role, PolicyName=policy)
    change = _plan(cli, path)[("stream", "s2")]
    assert change["action"] == "update"
    assert "has no permissions policy" in change["reasons"][0]
    _converge(cli, path)
    assert iam.list_role_policies(RoleName=role)["PolicyNames"] == [policy]


def test_explicit_kinesis_sink_with_env_secret_is_created_and_proven(
    twilio_env: EventsEmulator,
    aws_env: str,
    cli: CliRunner,
    write_file: FileWriter,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tests.events.test_sink_flow import make_stream_and_role

    config = make_stream_and_role(aws_env, "byhand")
    monkeypatch.setenv("BYHAND_EXTERNAL_ID", config["external_id"])
    path = write_file(
        f"""
        version: 1
        sinks:
          legacy:
            type: kinesis
            arn: {config["arn"]}
            role_arn: {config["role_arn"]}
            external_id: ${{env:BYHAND_EXTERNAL_ID}}
        """
    )
    shown = cli("plan", "-f", path)
    assert config["external_id"] not in shown.stdout + shown.stderr
    applied = cli("apply", "-f", path, "--yes", "--timeout", "30")
    assert applied.exit_code == 0, applied.stderr
    assert "test event read back from byhand" in applied.stderr
    assert config["external_id"] not in applied.stdout + applied.stderr
    (sink,) = _sinks()
    assert sink.status == "active"
    monkeypatch.setenv("BYHAND_EXTERNAL_ID", "rotated-elsewhere-0123")
    change = _plan(cli, path)[("sink", "legacy")]
    assert change["action"] == "replace"
    assert change["reasons"][0] == "external_id differs"


def test_stream_mode_switch(
    twilio_env: EventsEmulator, aws_env: str, cli: CliRunner, write_file: FileWriter
) -> None:
    path = write_file("version: 1\nstreams:\n  m1:\n    shards: 1\n")
    _converge(cli, path)
    path = write_file("version: 1\nstreams:\n  m1:\n    on_demand: true\n")
    change = _plan(cli, path)[("stream", "m1")]
    assert change["reasons"] == ["mode PROVISIONED -> ON_DEMAND"]
    _converge(cli, path)
    kinesis = boto_client("kinesis", aws_env)
    summary = kinesis.describe_stream_summary(StreamName="m1")["StreamDescriptionSummary"]
    assert summary["StreamModeDetails"]["StreamMode"] == "ON_DEMAND"


def test_a_webhook_sink_at_a_local_listener_is_proven_by_reading_the_test_event_back(
    twilio_env: EventsEmulator, cli: CliRunner, write_file: FileWriter
) -> None:
    """In the sandbox the listener takes Kinesis's place: apply proves the sink end to end."""
    import io

    from twilio_es_cli.webhook.listen import Listener, ListenOptions

    listener = Listener(
        ListenOptions(token=twilio_env.auth_token, port=0, output="jsonl"), io.StringIO()
    )
    listener.start()
    try:
        host, port = listener.address
        path = _file(write_file, **{"http://127.0.0.1:9/events": f"http://{host}:{port}/events"})
        applied = cli("apply", "-f", path, "--yes", "--timeout", "30")
        assert applied.exit_code == 0, applied.stderr
        assert (
            f"test event read back from `webhook listen` at http://{host}:{port}" in applied.stderr
        )
        received = listener.recent(event_type="com.twilio.eventstreams.test-event")
        assert received["events"], received
    finally:
        listener.close()
