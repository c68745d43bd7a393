"""Mistakes a new user makes, answered with where to go (against the Events v1 emulator)."""

from __future__ import annotations

from tests.conftest import Result, active_webhook_sink
from tests.fixture_types import CliRunner, EventsEmulator

DELIVERED = "com.twilio.messaging.message.delivered"


def test_local_emit_type_typo_suggests_the_type(twilio_env: EventsEmulator, cli: CliRunner) -> None:
    result: Result = cli("local", "emit", "com.twilio.messaging.message.delivrd")
    assert result.exit_code == 4, result.stderr  # not found, as everywhere (docs/output.md)
    assert f"hint: Did you mean {DELIVERED}" in result.stderr


def test_schema_id_typo_suggests_the_right_id_not_the_typo(
    twilio_env: EventsEmulator, cli: CliRunner
) -> None:
    result: Result = cli("schema", "versions", "Messaging.MesageStatus")
    assert result.exit_code == 4, result.stderr
    hint = next(line for line in result.stderr.splitlines() if line.startswith("hint:"))
    assert "Did you mean Messaging.MessageStatus" in hint
    assert "schema versions Messaging.MessageStatus`" in hint
    assert "MesageStatus" not in hint


def test_schema_show_given_an_event_type_points_to_its_schema(
    twilio_env: EventsEmulator, cli: CliRunner
) -> None:
    result: Result = cli("schema", "show", DELIVERED)
    assert result.exit_code == 4, result.stderr
    assert "is an event type, not a schema id; its schema is Messaging.MessageStatus" in (
        result.stderr
    )
    assert "hint: Run `twilio-es schema show Messaging.MessageStatus`" in result.stderr


def test_a_missing_version_of_a_real_schema_says_so(
    twilio_env: EventsEmulator, cli: CliRunner
) -> None:
    result: Result = cli("schema", "show", "Messaging.MessageStatus", "--version", "99")
    assert result.exit_code == 4, result.stderr
    assert "has no version 99" in result.stderr
    assert "schema versions Messaging.MessageStatus" in result.stderr


def test_deleting_a_sink_in_use_names_the_command_that_frees_it(
    twilio_env: EventsEmulator, cli: CliRunner
) -> None:
    sink = active_webhook_sink()
    subscribed: Result = cli("subscribe", "--sink", sink, "--type", DELIVERED, "--json")
    assert subscribed.exit_code == 0, subscribed.stderr
    subscription = subscribed.json()["sid"]
    result: Result = cli("sink", "delete", sink, "--yes")
    assert result.exit_code == 1
    assert f"in use by subscription {subscription}" in result.stderr
    assert "hint: A subscription cannot be moved to another sink: delete it first " in (
        result.stderr
    )
    assert f"`twilio-es subscription delete {subscription}`" in result.stderr
    assert f"`twilio-es sink delete {sink} --cascade`" in result.stderr
    freed: Result = cli("subscription", "delete", subscription, "--yes")
    assert freed.exit_code == 0, freed.stderr
    assert cli("sink", "delete", sink, "--yes").exit_code == 0


def test_sink_delete_cascade_deletes_its_subscriptions_then_the_sink(
    twilio_env: EventsEmulator, cli: CliRunner
) -> None:
    sink = active_webhook_sink()
    subscribed: Result = cli("subscribe", "--sink", sink, "--type", DELIVERED, "--json")
    assert subscribed.exit_code == 0, subscribed.stderr
    subscription = subscribed.json()["sid"]
    refused: Result = cli("sink", "delete", sink, "--cascade")  # stdin is not a terminal
    assert refused.exit_code == 2
    assert f"Delete sink {sink} and its 1 subscription(s): {subscription} (1 type(s))?" in (
        refused.stderr
    )
    assert len(twilio_env.service.list_subscriptions()) == 1
    done: Result = cli("sink", "delete", sink, "--cascade", "--yes")
    assert done.exit_code == 0, done.stderr
    lines = done.stderr.splitlines()
    assert lines == [f"✓ deleted subscription {subscription}", f"✓ deleted sink {sink}"], lines
    assert twilio_env.service.list_subscriptions() == []
    assert cli("sink", "show", sink).exit_code == 4
    missing: Result = cli("sink", "delete", sink, "--cascade", "--yes")
    assert missing.exit_code == 4, missing.stderr
