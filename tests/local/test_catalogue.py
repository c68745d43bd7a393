"""The sandbox's catalogue: Twilio's whole public list, each fact sourced, every type emittable.

Facts checked here come from Twilio's pages (URLs in catalogue.json's ``sources``, summary in
twilio_es_cli/local/CATALOGUE.md): 156 available, 4 deprecated, 7 restricted and 8
discontinued types; Studio.FlowExecutionEvent at v2, Messaging.MessageStatus at 8 (the newest
Outbound Message page), TaskRouter.WDSEvent at 4. Every example validates against its schema
(jsonschema, draft 7, as Twilio's documents are), and ``twilio-es local emit`` produces a valid
event of every available type, delivered through a sandbox webhook sink and checked against the
document its ``dataschema`` names, fetched from the schema host the API's ``raw`` URL names.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import requests
from jsonschema import Draft7Validator

from tests.fixture_types import CliRunner, EventsEmulator
from tests.local.conftest import Api, Receiver
from twilio_es_cli.local.catalog_data import (
    EVENT_TYPES,
    SANDBOX_SOURCE,
    SCHEMAS,
    SCHEMAS_BY_ID,
    SHAPES,
    SOURCES,
    TYPES_BY_NAME,
)
from twilio_es_cli.local.events import make_event, raw_schema

TEST_EVENT = "com.twilio.eventstreams.test-event"


def test_the_public_catalogue_is_all_there() -> None:
    public = [t for t in EVENT_TYPES if t.type != TEST_EVENT]
    assert Counter(t.status for t in public) == {
        "available": 156,
        "deprecated": 4,
        "restricted": 7,
        "discontinued": 8,
    }
    assert len({t.type for t in public}) == 175
    for name in (
        "com.twilio.error-logs.error.logged",
        "com.twilio.voice.status-callback.call.completed",
        "com.twilio.accountsecurity.verify.verification.approved",
        "com.twilio.comms-api.operation.completed",
        "com.twilio.conversations.participant.added",
    ):
        assert TYPES_BY_NAME[name].status == "available", name
    insights = [t for t in public if t.type.startswith("com.twilio.voice.insights.call-")]
    assert len(insights) == 7  # "seven Call Insights Events"
    restricted = sorted(t.type for t in public if t.status == "restricted")
    assert all("attempt-dlr" in t or "engagement-intelligence" in t for t in restricted)
    assert [t.type for t in EVENT_TYPES] == sorted(t.type for t in EVENT_TYPES)  # ascending


def test_versions_follow_twilios_pages() -> None:
    latest = {s.id: s.latest_version for s in SCHEMAS}
    assert latest["Studio.FlowExecutionEvent"] == 2
    assert latest["Messaging.MessageStatus"] == 8
    assert latest["Messaging.InboundMessageV1"] == 6
    assert latest["TaskRouter.WDSEvent"] == 4
    assert latest["ErrorLogs.Error"] == 2
    assert latest["Voice.WebhookEvent"] == 2
    assert latest["VoiceInsights.CallEvent"] == 3
    assert TYPES_BY_NAME["com.twilio.error-logs.error.logged"].schema_id == "ErrorLogs.Error"


def test_every_fact_names_a_source_and_twilio_sources_are_twilio_pages() -> None:
    keys = set(SOURCES)
    for entry in EVENT_TYPES:
        assert entry.source in keys, entry.type
    for schema in SCHEMAS:
        assert {schema.id_source, schema.version_source} <= keys, schema.id
    for shape in SHAPES.values():
        assert shape.fields_source in keys, shape.name
    for key, source in SOURCES.items():
        if key.startswith("T-"):
            assert source["url"].startswith(
                ("https://www.twilio.com/", "https://twilio.com/", "https://events-schemas")
            ), key
    assert SOURCES[SANDBOX_SOURCE]["url"] is None  # the sandbox's own: no page to point at
    assert any(s.id_source == SANDBOX_SOURCE for s in SCHEMAS)  # marked, not passed off


def test_every_example_and_every_generated_event_validates() -> None:
    for schema in SCHEMAS:
        document = raw_schema(schema.id, schema.latest_version)
        assert not list(Draft7Validator(document).iter_errors(schema.shape.example)), schema.id
    for entry in EVENT_TYPES:
        versions = range(1, SCHEMAS_BY_ID[entry.schema_id].latest_version + 1)
        for version in versions:
            event = make_event(entry.type, "AC" + "1" * 32, version)
            document = raw_schema(entry.schema_id, version)
            assert event["dataschema"] == document["$id"]
            errors = list(Draft7Validator(document).iter_errors(event["data"]))
            assert not errors, (entry.type, version, errors[0].message)
            assert "{" not in event["source"] and event["id"][:2].isupper()


def test_validator_catches_a_broken_event() -> None:
    """The validation above can fail: a wrong type or an unknown field is reported."""
    document = raw_schema("Studio.FlowExecutionEvent", 2)
    event = make_event("com.twilio.studio.flow.execution.ended", "AC" + "1" * 32)
    assert list(Draft7Validator(document).iter_errors({**event["data"], "flow_revision": "x"}))
    assert list(Draft7Validator(document).iter_errors({**event["data"], "nope": 1}))
    missing = {k: v for k, v in event["data"].items() if k != "execution_sid"}
    assert list(Draft7Validator(document).iter_errors(missing))


def test_the_sdk_sees_the_whole_catalogue(sdk: Any) -> None:
    types = {t.type: t for t in sdk.event_types.list(page_size=50)}
    assert len(types) == len(EVENT_TYPES)
    assert types["com.twilio.accountsecurity.verify.attempt-dlr.sent"].status == "restricted"
    assert types["com.twilio.voice.webhook.status-callback.call.ringing"].status == "deprecated"
    studio = sdk.schemas("Studio.FlowExecutionEvent").fetch()
    assert studio.latest_version == 2
    versions = list(sdk.schemas("Messaging.MessageStatus").versions.list())
    assert [v.schema_version for v in versions] == list(range(1, 9))


def _all_available_sink(api: Api, url: str) -> str:
    sink = api.post(
        "/v1/Sinks",
        {
            "Description": "every type",
            "SinkType": "webhook",
            "SinkConfiguration": json.dumps({"destination": url}),
        },
    ).json()
    types = [json.dumps({"type": t.type}) for t in EVENT_TYPES if t.status == "available"]
    created = api.post(
        "/v1/Subscriptions", {"Description": "all", "SinkSid": sink["sid"], "Types": types}
    )
    assert created.status_code == 201, created.text
    return str(sink["sid"])


def test_local_emit_makes_a_valid_event_of_every_available_type(
    cli: CliRunner, api: Api, twilio_env: EventsEmulator, webhook_receiver: Receiver
) -> None:
    _all_available_sink(api, webhook_receiver.url)
    available = [t.type for t in EVENT_TYPES if t.status == "available"]
    for name in available:
        emitted = cli("local", "emit", name, "--json")
        assert emitted.exit_code == 0, (name, emitted.stderr)
        assert emitted.json()["deliveries"] == 1, name
    received = {body["type"]: body for _, body in webhook_receiver.received}
    assert sorted(received) == sorted(available)
    documents: dict[str, Any] = {}
    for name, event in received.items():
        schema_id, version = event["dataschema"].rsplit("/", 2)[-2:]
        key = f"{schema_id}/{version}"
        if key not in documents:
            meta = api.get(f"/v1/Schemas/{schema_id}/Versions/{version}").json()
            documents[key] = requests.get(meta["raw"], timeout=30).json()  # no credentials
        errors = list(Draft7Validator(documents[key]).iter_errors(event["data"]))
        assert not errors, (name, errors[0].message)


def test_emit_refuses_discontinued_and_delivers_restricted_to_existing_subscriptions(
    cli: CliRunner, api: Api, twilio_env: EventsEmulator, webhook_receiver: Receiver
) -> None:
    """Lifecycle page: a restricted type still reaches subscriptions that have it; a
    discontinued one reaches nobody."""
    gone = cli("local", "emit", "com.twilio.conversations.delivery.updated")
    assert gone.exit_code == 2 and "discontinued" in gone.stderr
    assert "hint: See `twilio-es types show com.twilio.conversations.delivery.updated`" in (
        gone.stderr
    )
    restricted = "com.twilio.accountsecurity.verify.attempt-dlr.delivered"
    sink = twilio_env.service.create_sink(
        "old", "webhook", json.dumps({"destination": webhook_receiver.url})
    )
    sub = twilio_env.service.create_subscription(
        "old", sink.sid, [json.dumps({"type": "com.twilio.accountsecurity.verify.message.sent"})]
    )
    sub.types[restricted] = 1  # subscribed before the type was restricted
    emitted = cli("local", "emit", restricted, "--json")
    assert emitted.exit_code == 0, emitted.stderr
    assert emitted.json()["deliveries"] == 1
    ((_, event),) = webhook_receiver.received
    assert event["data"]["dlr_status"] == "DELIVERED"
