"""`twilio-es subscribe` against the Events v1 emulator: what the API stored, and every refusal."""

from __future__ import annotations

from tests.conftest import active_webhook_sink, events_client
from tests.fixture_types import CliRunner, EventsEmulator
from twilio_es_cli.local.catalog_data import EVENT_TYPES, SCHEMAS

LATEST_MESSAGE_STATUS = next(s for s in SCHEMAS if s.id == "Messaging.MessageStatus").latest_version
DELIVERED = "com.twilio.messaging.message.delivered"


def kinesis_sink() -> str:
    """A kinesis sink that was never validated, so it stays ``initialized``."""
    sink = events_client().events.v1.sinks.create(
        description="unvalidated",
        sink_configuration={
            "arn": "arn:aws:kinesis:us-east-1:123456789012:stream/nope",
            "role_arn": "arn:aws:iam::123456789012:role/nope",
            "external_id": "0" * 80,
        },
        sink_type="kinesis",
    )
    return str(sink.sid)


def stored_types(emulator: EventsEmulator, sid: str) -> dict[str, int]:
    return dict(emulator.service.subscription(sid).types)


def test_subscribe_pins_latest_and_says_which(twilio_env: EventsEmulator, cli: CliRunner) -> None:
    sink = active_webhook_sink()
    result = cli(
        "subscribe",
        "--sink",
        sink,
        "--type",
        DELIVERED,
        "--type",
        "com.twilio.messaging.message.sent:2",
        "--json",
    )
    assert result.exit_code == 0, result.stderr
    data = result.json()
    assert data["sink_sid"] == sink
    assert data["description"] == "twilio-es subscription"
    assert sorted((t["type"], t["schema_version"]) for t in data["types"]) == [
        ("com.twilio.messaging.message.delivered", LATEST_MESSAGE_STATUS),
        ("com.twilio.messaging.message.sent", 2),
    ]
    sources = {r["type"]: r["version_source"] for r in data["resolved"]}
    assert sources == {DELIVERED: "latest", "com.twilio.messaging.message.sent": "requested"}
    # The version was chosen explicitly and the user was told which.
    assert (
        f"using the latest: schema version {LATEST_MESSAGE_STATUS} for {DELIVERED}" in result.stderr
    )
    assert f"e.g. {DELIVERED}:{LATEST_MESSAGE_STATUS}" in result.stderr
    assert stored_types(twilio_env, data["sid"]) == {
        DELIVERED: LATEST_MESSAGE_STATUS,
        "com.twilio.messaging.message.sent": 2,
    }


def test_subscribe_expands_globs_and_dedupes(twilio_env: EventsEmulator, cli: CliRunner) -> None:
    sink = active_webhook_sink()
    result = cli(
        "subscribe",
        "--sink",
        sink,
        "--type",
        "com.twilio.messaging.message.*",
        "--type",
        DELIVERED,
        "--type",
        f"{DELIVERED}:1",
        "--description",
        "all message statuses",
        "--json",
    )
    assert result.exit_code == 0, result.stderr
    stored = stored_types(twilio_env, result.json()["sid"])
    expected = {
        "com.twilio.messaging.message.queued",
        "com.twilio.messaging.message.sent",
        DELIVERED,
        "com.twilio.messaging.message.undelivered",
        "com.twilio.messaging.message.failed",
        "com.twilio.messaging.message.read",
    }
    assert set(stored) == expected
    assert stored[DELIVERED] == 1  # the explicit version wins over the glob's latest
    assert "com.twilio.messaging.message.* matched 6 type(s)" in result.stderr
    assert twilio_env.service.subscription(result.json()["sid"]).description == (
        "all message statuses"
    )


def test_glob_that_matches_nothing_is_not_found(twilio_env: EventsEmulator, cli: CliRunner) -> None:
    sink = active_webhook_sink()
    result = cli("subscribe", "--sink", sink, "--type", "com.twilio.fax.*")
    assert result.exit_code == 4
    assert "No subscribable event type matches 'com.twilio.fax.*'" in result.stderr
    assert twilio_env.service.list_subscriptions() == []


def test_glob_says_which_discontinued_types_it_left_out(
    twilio_env: EventsEmulator, cli: CliRunner
) -> None:
    sink = active_webhook_sink()
    conversations = "com.twilio.conversations"  # delivery.updated is really discontinued
    result = cli("subscribe", "--sink", sink, "--type", f"{conversations}.*", "--json")
    assert result.exit_code == 0, result.stderr
    assert set(stored_types(twilio_env, result.json()["sid"])) == {
        t.type
        for t in EVENT_TYPES
        if t.type.startswith(conversations + ".") and t.status == "available"
    }
    assert f"{conversations}.message.added" in stored_types(twilio_env, result.json()["sid"])
    assert f"(left out, discontinued: {conversations}.delivery.updated)" in result.stderr
    only = cli("subscribe", "--sink", sink, "--type", f"{conversations}.delivery.*")
    assert only.exit_code == 2
    assert f"(only discontinued ones: {conversations}.delivery.updated)" in only.stderr


def test_unknown_type_suggests_close_matches(twilio_env: EventsEmulator, cli: CliRunner) -> None:
    sink = active_webhook_sink()
    result = cli("subscribe", "--sink", sink, "--type", "com.twilio.messaging.message.deliverd")
    assert result.exit_code == 4  # the same answer as `types show` gives for it
    assert "Unknown event type 'com.twilio.messaging.message.deliverd'" in result.stderr
    assert f"Did you mean {DELIVERED}" in result.stderr
    assert "Traceback" not in result.stderr
    assert twilio_env.service.list_subscriptions() == []


def test_discontinued_type_is_refused(twilio_env: EventsEmulator, cli: CliRunner) -> None:
    sink = active_webhook_sink()
    result = cli(
        "subscribe",
        "--sink",
        sink,
        "--type",
        "com.twilio.conversations.delivery.updated",
    )
    assert result.exit_code == 2
    assert "is discontinued" in result.stderr
    assert twilio_env.service.list_subscriptions() == []


def test_version_above_latest_is_refused(twilio_env: EventsEmulator, cli: CliRunner) -> None:
    sink = active_webhook_sink()
    result = cli("subscribe", "--sink", sink, "--type", f"{DELIVERED}:99")
    assert result.exit_code == 4  # as `schema show ... --version 99`
    assert "has no schema version 99 (schema Messaging.MessageStatus has versions 1 to " in (
        result.stderr
    )


def test_inactive_sink_exits_5_with_validate_hint(
    twilio_env: EventsEmulator, cli: CliRunner
) -> None:
    twilio_env.legacy_validation = True  # only the old flow has inactive kinesis sinks
    sink = kinesis_sink()
    result = cli("subscribe", "--sink", sink, "--type", DELIVERED)
    assert result.exit_code == 5
    assert f"Sink {sink} is initialized, not active" in result.stderr
    assert f"twilio-es sink validate {sink}" in result.stderr
    assert twilio_env.service.list_subscriptions() == []


def test_missing_sink_is_exit_4_and_bad_sid_exit_2(
    twilio_env: EventsEmulator, cli: CliRunner
) -> None:
    missing = "DG" + "0" * 32
    result = cli("subscribe", "--sink", missing, "--type", DELIVERED)
    assert result.exit_code == 4
    assert f"Sink {missing} does not exist" in result.stderr
    result = cli("subscribe", "--sink", "not-a-sid", "--type", DELIVERED)
    assert result.exit_code == 2
    assert "is not a sink SID" in result.stderr
    result = cli("subscribe", "--sink", missing, "--type", f"{DELIVERED}:zero")
    assert result.exit_code == 2


def test_human_output_lists_types_with_versions(twilio_env: EventsEmulator, cli: CliRunner) -> None:
    sink = active_webhook_sink()
    result = cli("subscribe", "--sink", sink, "--type", f"{DELIVERED}:3")
    assert result.exit_code == 0, result.stderr
    assert DELIVERED in result.stdout
    assert "Subscribed events" in result.stdout
    assert "sends 1 type(s)" in result.stderr


def test_subscribing_twice_changes_nothing_and_says_already_subscribed(
    twilio_env: EventsEmulator, cli: CliRunner
) -> None:
    sink = active_webhook_sink()
    first = cli("subscribe", "--sink", sink, "--type", DELIVERED, "--json")
    assert first.exit_code == 0, first.stderr
    assert first.json()["created"] is True
    assert first.json()["already_subscribed"] == []

    again = cli("subscribe", "--sink", sink, "--type", DELIVERED, "--json")
    assert again.exit_code == 0, again.stderr
    doc = again.json()
    assert doc["created"] is False
    assert doc["sid"] == first.json()["sid"]
    assert doc["already_subscribed"] == [
        {"type": DELIVERED, "schema_version": LATEST_MESSAGE_STATUS, "subscription_sid": doc["sid"]}
    ]
    assert f"Already subscribed: sink {sink} receives {DELIVERED}:" in again.stderr
    assert "nothing changed" in again.stderr
    assert len(twilio_env.service.list_subscriptions()) == 1


def test_subscribing_more_types_adds_only_the_new_ones(
    twilio_env: EventsEmulator, cli: CliRunner
) -> None:
    sink = active_webhook_sink()
    assert cli("subscribe", "--sink", sink, "--type", DELIVERED).exit_code == 0
    more = cli(
        "subscribe",
        "--sink",
        sink,
        "-t",
        DELIVERED,
        "-t",
        "com.twilio.messaging.message.sent",
        "--json",
    )
    assert more.exit_code == 0, more.stderr
    doc = more.json()
    # Twilio allows one subscription per sink: the new type joins the existing one.
    assert doc["created"] is False
    assert doc["added"] == ["com.twilio.messaging.message.sent"]
    assert sorted(t["type"] for t in doc["types"]) == sorted(
        [DELIVERED, "com.twilio.messaging.message.sent"]
    )
    assert [a["type"] for a in doc["already_subscribed"]] == [DELIVERED]
    assert "Already subscribed" in more.stderr and "the sink's one subscription" in more.stderr
    assert len(twilio_env.service.list_subscriptions()) == 1


def test_the_same_type_at_another_version_is_refused_not_doubled(
    twilio_env: EventsEmulator, cli: CliRunner
) -> None:
    sink = active_webhook_sink()
    assert cli("subscribe", "--sink", sink, "--type", f"{DELIVERED}:3").exit_code == 0
    other = cli("subscribe", "--sink", sink, "--type", f"{DELIVERED}:4")
    assert other.exit_code == 2, other.stderr
    assert "already receives" in other.stderr and "set-version" in other.stderr
    assert len(twilio_env.service.list_subscriptions()) == 1
