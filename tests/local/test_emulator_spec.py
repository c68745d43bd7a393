"""Every operation of the official Events v1 spec, answered by the emulator as the spec says.

The ``api`` and ``sdk`` fixtures validate each response against the spec's schema for its
status code (see spec_check.py); here we drive every operation and then assert that all of
them were seen, so a route the emulator forgets or answers wrongly fails this file.
"""

from __future__ import annotations

import json
from typing import Any

from jsonschema import Draft7Validator

from tests.fixture_types import EventsEmulator
from tests.local.conftest import Api, Receiver
from tests.local.spec_check import SpecChecker, operations, response_schema

MESSAGE_TYPES = [
    json.dumps({"type": "com.twilio.messaging.message.delivered", "schema_version": 3}),
    json.dumps({"type": "com.twilio.messaging.message.sent"}),
]


def _webhook(
    api: Api, description: str = "hook", destination: str = "http://127.0.0.1:9/hook"
) -> dict[str, Any]:
    """A webhook sink (active at once); the default destination has no listener."""
    response = api.post(
        "/v1/Sinks",
        {
            "Description": description,
            "SinkType": "webhook",
            "SinkConfiguration": json.dumps(
                {"destination": destination, "method": "POST", "batch_events": False}
            ),
        },
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def test_every_operation_answers_per_spec(
    api: Api, spec_checker: SpecChecker, webhook_receiver: Receiver, twilio_env: EventsEmulator
) -> None:
    spec_checker.seen.clear()
    sink = _webhook(api, destination=webhook_receiver.url)
    sid = sink["sid"]
    assert sink["status"] == "active"
    assert sink["url"] == f"{api.base}/v1/Sinks/{sid}"
    assert sink["links"]["sink_test"] == f"{api.base}/v1/Sinks/{sid}/Test"

    assert api.get("/v1/Sinks").status_code == 200
    assert api.get("/v1/Sinks", Status="active", InUse="false").json()["sinks"][0]["sid"] == sid
    assert api.get(f"/v1/Sinks/{sid}").json()["description"] == "hook"
    updated = api.post(f"/v1/Sinks/{sid}", {"Description": "renamed"})
    assert updated.status_code == 200 and updated.json()["description"] == "renamed"
    assert api.post(f"/v1/Sinks/{sid}/Test").json() == {"result": "submitted"}
    twilio_env.wait_deliveries()  # Test answers at once; the event follows, as on Twilio
    # Today Validate answers valid whatever the id ("to avoid disrupting existing workflows").
    other = api.post(f"/v1/Sinks/{sid}/Validate", {"TestId": "nope"})
    assert (other.status_code, other.json()) == (201, {"result": "valid"})
    (test_id,) = webhook_receiver.test_ids()
    valid = api.post(f"/v1/Sinks/{sid}/Validate", {"TestId": test_id})
    assert (valid.status_code, valid.json()) == (201, {"result": "valid"})

    created = api.post(
        "/v1/Subscriptions",
        {"Description": "msgs", "SinkSid": sid, "Types": MESSAGE_TYPES},
    )
    assert created.status_code == 201, created.text
    sub = created.json()
    sub_sid = sub["sid"]
    assert sub_sid.startswith("DF") and sub["sink_sid"] == sid
    assert api.get("/v1/Subscriptions", SinkSid=sid).json()["subscriptions"][0]["sid"] == sub_sid
    assert api.get(f"/v1/Subscriptions/{sub_sid}").status_code == 200
    assert (
        api.post(f"/v1/Subscriptions/{sub_sid}", {"Description": "x"}).json()["description"] == "x"
    )

    events_path = f"/v1/Subscriptions/{sub_sid}/SubscribedEvents"
    listed = api.get(events_path).json()["types"]
    assert {(t["type"], t["schema_version"]) for t in listed} == {
        ("com.twilio.messaging.message.delivered", 3),
        ("com.twilio.messaging.message.sent", 8),  # no version: the latest
    }
    added = api.post(events_path, {"Type": "com.twilio.messaging.message.read", "SchemaVersion": 2})
    assert added.status_code == 201 and added.json()["schema_version"] == 2
    again = api.post(events_path, {"Type": "com.twilio.messaging.message.read", "SchemaVersion": 1})
    assert again.status_code == 200 and again.json()["schema_version"] == 1
    one = f"{events_path}/com.twilio.messaging.message.read"
    assert api.get(one).json()["schema_version"] == 1
    assert api.post(one, {"SchemaVersion": 4}).json()["schema_version"] == 4
    assert api.delete(one).status_code == 204
    assert api.get(one).status_code == 404

    types = api.get("/v1/Types", SchemaId="Messaging.MessageStatus").json()["types"]
    assert {t["schema_id"] for t in types} == {"Messaging.MessageStatus"}
    assert len(types) == 6
    fetched = api.get("/v1/Types/com.twilio.messaging.message.delivered").json()
    assert fetched["links"]["schema"] == f"{api.base}/v1/Schemas/Messaging.MessageStatus/Versions"

    schema = api.get("/v1/Schemas/Messaging.MessageStatus").json()
    # The newest copy of the Outbound Message page shows Messaging.MessageStatus/8 (older ones:
    # "v7 (latest)"); the sandbox follows the newest Twilio page.
    assert schema["latest_version"] == 8
    versions = api.get("/v1/Schemas/Messaging.MessageStatus/Versions").json()["schema_versions"]
    assert [v["schema_version"] for v in versions] == [1, 2, 3, 4, 5, 6, 7, 8]
    version = api.get("/v1/Schemas/Messaging.MessageStatus/Versions/4").json()
    raw = api.get(version["raw"])
    assert raw.status_code == 200
    assert raw.json()["$id"] == "https://events-schemas.twilio.com/Messaging.MessageStatus/4"

    assert api.delete(f"/v1/Subscriptions/{sub_sid}").status_code == 204
    assert api.delete(f"/v1/Sinks/{sid}").status_code == 204
    assert api.get(f"/v1/Sinks/{sid}").status_code == 404

    assert spec_checker.seen == operations()


def test_list_paging_follows_absolute_next_page_urls(api: Api, sdk: Any) -> None:
    sids = [_webhook(api, f"hook {i}")["sid"] for i in range(5)]
    first = api.get("/v1/Sinks", PageSize=2).json()
    meta = first["meta"]
    assert meta["key"] == "sinks" and meta["page"] == 0 and meta["page_size"] == 2
    assert meta["previous_page_url"] is None
    assert meta["next_page_url"].startswith(f"{api.base}/v1/Sinks?")
    seen = [s["sid"] for s in first["sinks"]]
    url = meta["next_page_url"]
    while url:
        page = api.get(url).json()
        assert page["meta"]["previous_page_url"] is not None
        seen += [s["sid"] for s in page["sinks"]]
        url = page["meta"]["next_page_url"]
    assert seen == sids
    # The SDK follows the same links through the project's host-rewriting adapter.
    assert [s.sid for s in sdk.sinks.list(page_size=2)] == sids
    filtered = api.get("/v1/Sinks", Status="active", PageSize=2).json()["meta"]
    assert "Status=active" in filtered["next_page_url"]


def test_event_types_list_and_fetch_through_the_sdk(sdk: Any) -> None:
    types = list(sdk.event_types.list(page_size=7))
    names = {t.type for t in types}
    assert {
        "com.twilio.messaging.message.sent",
        "com.twilio.messaging.inbound-message.received",
        "com.twilio.voice.insights.call-summary.complete",
        "com.twilio.eventstreams.test-event",
    } <= names
    assert any(t.status == "discontinued" for t in types)
    summary = sdk.event_types("com.twilio.voice.insights.call-summary.partial").fetch()
    assert summary.schema_id == "VoiceInsights.CallSummary"
    versions = list(sdk.schemas("VoiceInsights.CallSummary").versions.list())
    assert [v.schema_version for v in versions] == [1, 2]


def test_errors_are_twilio_error_bodies(api: Api) -> None:
    cases = [
        (api.get("/v1/Sinks/DG" + "0" * 32), 404, 91001),
        (api.get("/v1/Sinks/DG123"), 400, 91006),
        (api.delete("/v1/Sinks/XX" + "0" * 32), 400, 91006),
        (api.post("/v1/Sinks/DG" + "0" * 32 + "/Test"), 404, 91001),
        (api.get("/v1/Types/com.twilio.nope"), 404, 20404),
        (api.get("/v1/Schemas/Nope.Schema"), 404, 20404),
        (api.get("/v1/Schemas/Messaging.MessageStatus/Versions/99"), 404, 20404),
        (api.get("/v1/Subscriptions/DF" + "0" * 32 + "/SubscribedEvents"), 404, 20404),
        (api.post("/v1/Sinks", {"Description": "x", "SinkType": "kinesis"}), 400, 20001),
        (
            api.post(
                "/v1/Sinks",
                {"Description": "x", "SinkType": "kinesis", "SinkConfiguration": "{not json"},
            ),
            400,
            91000,
        ),
        (
            api.post(
                "/v1/Sinks",
                {"Description": "x", "SinkType": "fax", "SinkConfiguration": "{}"},
            ),
            400,
            91000,
        ),
        (api.get("/v1/Sinks", PageSize=0), 400, 20001),
        (api.get("/v1/Sinks", Status="asleep"), 400, 20001),
        (api.get("/v1/Nothing"), 404, 20404),
    ]
    for response, status, code in cases:
        body = response.json()
        assert (response.status_code, body["code"], body["status"]) == (status, code, status), (
            response.url,
            body,
        )
        assert body["more_info"] == f"https://www.twilio.com/docs/errors/{code}"


def test_raw_schemas_are_served_for_every_version(api: Api) -> None:
    """Every ``raw`` link resolves to a JSON Schema that generated events validate against."""
    from twilio_es_cli.local.catalog_data import EVENT_TYPES
    from twilio_es_cli.local.events import make_event

    for event_type in EVENT_TYPES:
        versions = api.get(f"/v1/Schemas/{event_type.schema_id}/Versions").json()
        for version in versions["schema_versions"]:
            document = api.request("GET", version["raw"]).json()
            event = make_event(event_type.type, "AC" + "1" * 32, version["schema_version"])
            assert event["dataschema"] == document["$id"]
            errors = list(Draft7Validator(document).iter_errors(event["data"]))
            assert not errors, (event_type.type, errors[0].message)


def test_shipped_message_status_schema_is_the_real_one() -> None:
    from importlib import resources

    from tests.conftest import DATA

    shipped = resources.files("twilio_es_cli.local") / "schemas/Messaging.MessageStatus.4.json"
    real = DATA / "twilio-schemas/Messaging.MessageStatus.4.json"
    assert shipped.read_bytes() == real.read_bytes()


def test_validator_rejects_a_field_the_spec_does_not_name() -> None:
    """The checker itself must be able to fail (closed objects, formats, enums)."""
    schema = response_schema("GET", "/v1/Sinks/{Sid}", 200)
    assert schema is not None
    validator = Draft7Validator(schema)
    good = {"sid": "DG" + "a" * 32, "status": "active", "url": "https://x/v1/Sinks/DG"}
    assert not list(validator.iter_errors(good))
    assert list(validator.iter_errors({**good, "extra": 1}))
    assert list(validator.iter_errors({**good, "status": "sleeping"}))
    assert list(validator.iter_errors({**good, "sid": "XX" + "a" * 32}))
