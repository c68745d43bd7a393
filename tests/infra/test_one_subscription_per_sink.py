"""Twilio takes one subscription per sink ("Sink with SID ... is in use", live-tested): plan,
apply, subscribe and quickstart work with that, against a sandbox that enforces it."""

from __future__ import annotations

import json

from tests.conftest import events_client
from tests.fixture_types import CliRunner, EventsEmulator, FileWriter

DELIVERED = "com.twilio.messaging.message.delivered"
SENT = "com.twilio.messaging.message.sent"
RESTRICTED = "com.twilio.accountsecurity.verify.attempt-dlr.sent"

ONE_SINK = """
version: 1
project: app
sinks:
  hook:
    type: webhook
    destination: http://127.0.0.1:9/events
subscriptions:
{subscriptions}
"""


def _file(write_file: FileWriter, subscriptions: str) -> str:
    return str(write_file(ONE_SINK.format(subscriptions=subscriptions)))


def _sub(name: str, types: str) -> str:
    return f"  {name}:\n    sink: hook\n    types: [{types}]\n"


def test_two_subscriptions_on_one_sink_fail_at_plan_time(
    twilio_env: EventsEmulator, cli: CliRunner, write_file: FileWriter
) -> None:
    path = _file(write_file, _sub("a", f"{DELIVERED}:1") + _sub("b", f"{SENT}:1"))
    planned = cli("plan", "-f", path)
    assert planned.exit_code == 2
    assert "subscriptions a, b all deliver to sink hook" in planned.stderr
    assert "one subscription per sink" in planned.stderr
    assert twilio_env.service.list_sinks() == []


def test_renaming_a_subscription_frees_the_sink_first(
    twilio_env: EventsEmulator, cli: CliRunner, write_file: FileWriter
) -> None:
    first = _file(write_file, _sub("old-name", f"{DELIVERED}:1"))
    assert cli("apply", "-f", first, "--yes", "--timeout", "30").exit_code == 0
    (before,) = events_client().events.v1.subscriptions.list()
    renamed = _file(write_file, _sub("new-name", f"{DELIVERED}:1, {SENT}:1"))
    plan = cli("plan", "-f", renamed, "--json")
    assert plan.exit_code == 0, plan.stderr
    changes = {(c["kind"], c["name"]): c for c in plan.json()["changes"]}
    create = changes[("subscription", "new-name")]
    assert any(f"{before.sid} is deleted first" in r for r in create["reasons"])
    applied = cli("apply", "-f", renamed, "--yes", "--timeout", "30")
    assert applied.exit_code == 0, applied.stderr
    (after,) = events_client().events.v1.subscriptions.list()
    assert after.sid != before.sid and after.sink_sid == before.sink_sid
    again = cli("plan", "-f", renamed, "--detailed-exitcode")
    assert again.exit_code == 0, again.stdout


def test_a_sink_held_by_a_subscription_outside_the_file_is_named(
    twilio_env: EventsEmulator, cli: CliRunner, write_file: FileWriter
) -> None:
    path = _file(write_file, _sub("msgs", f"{DELIVERED}:1"))
    assert cli("apply", "-f", path, "--yes", "--timeout", "30").exit_code == 0
    (sub,) = events_client().events.v1.subscriptions.list()
    events_client().events.v1.subscriptions(sub.sid).update(description="taken by hand")
    planned = cli("plan", "-f", path)
    assert planned.exit_code == 2, planned.stderr
    assert f"already has subscription {sub.sid}" in planned.stderr


def test_subscribe_joins_the_one_subscription_and_refuses_restricted_types(
    twilio_env: EventsEmulator, cli: CliRunner
) -> None:
    """A second ``subscribe`` on a sink adds its types to the sink's one subscription (Twilio
    refuses a second one: "Sink with SID ... is in use"), as quickstart does."""
    sink = twilio_env.service.create_sink(
        "hook", "webhook", json.dumps({"destination": "http://127.0.0.1:9/e"})
    )
    restricted = cli("subscribe", "--sink", sink.sid, "--type", RESTRICTED)
    assert restricted.exit_code == 2
    assert "restricted: Twilio refuses it in a new subscription" in restricted.stderr
    first = cli("subscribe", "--sink", sink.sid, "--type", DELIVERED, "--json")
    assert first.exit_code == 0, first.stderr
    second = cli("subscribe", "--sink", sink.sid, "--type", SENT, "--json")
    assert second.exit_code == 0, second.stderr
    sid = first.json()["sid"]
    assert second.json()["sid"] == sid and second.json()["added"] == [SENT]
    assert f"to subscription {sid}, the sink's one subscription" in second.stderr
    (only,) = twilio_env.service.list_subscriptions()
    assert only.sid == sid
