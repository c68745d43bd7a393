"""The emulator's service rules: auth, webhook/segment sinks, subscriptions, admin, persistence."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import requests
from twilio.base.exceptions import TwilioRestException

from tests.fixture_types import EventsEmulator
from tests.local.conftest import Api, Receiver

DELIVERED = "com.twilio.messaging.message.delivered"


def _sink(api: Api, sink_type: str, config: dict[str, Any]) -> dict[str, Any]:
    response = api.post(
        "/v1/Sinks",
        {"Description": sink_type, "SinkType": sink_type, "SinkConfiguration": json.dumps(config)},
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def _subscribe(api: Api, sink_sid: str, *types: dict[str, Any]) -> requests.Response:
    return api.post(
        "/v1/Subscriptions",
        {"Description": "s", "SinkSid": sink_sid, "Types": [json.dumps(t) for t in types]},
    )


# -- auth ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "auth", [None, ("AC00000000000000000000000000000000", "wrong"), ("ACnope", "local-auth-token")]
)
def test_bad_credentials_get_401_20003(
    twilio_env: EventsEmulator, auth: tuple[str, str] | None
) -> None:
    response = requests.get(f"{twilio_env.url}/v1/Sinks", auth=auth, timeout=10)
    assert response.status_code == 401
    assert response.json()["code"] == 20003
    assert response.headers["WWW-Authenticate"].startswith("Basic")


def test_sdk_with_wrong_token_raises_401(
    twilio_env: EventsEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    from twilio_es_cli.config import resolve_settings
    from twilio_es_cli.twilio_api import make_client

    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "wrong")
    with pytest.raises(TwilioRestException) as caught:
        make_client(resolve_settings()).events.v1.sinks("DG" + "0" * 32).fetch()
    assert (caught.value.status, caught.value.code) == (401, 20003)


def test_api_key_credentials_are_accepted(moto_server: str) -> None:
    from twilio_es_cli.config import resolve_settings
    from twilio_es_cli.local.emulator import EventsEmulator
    from twilio_es_cli.twilio_api import make_client

    key = "SK" + "1" * 32
    with EventsEmulator(aws_endpoint_url=moto_server, api_key_sid=key, api_key_secret="s3") as emu:
        env = {
            "TWILIO_ACCOUNT_SID": emu.account_sid,
            "TWILIO_API_KEY": key,
            "TWILIO_API_SECRET": "s3",
            "TWILIO_ES_API_URL": emu.url,
        }
        client = make_client(resolve_settings(env=env))
        assert list(client.events.v1.sinks.list()) == []
        wrong = requests.get(f"{emu.url}/v1/Sinks", auth=(key, "nope"), timeout=10)
        assert wrong.status_code == 401


def test_health_and_raw_schemas_need_no_auth(twilio_env: EventsEmulator) -> None:
    assert requests.get(f"{twilio_env.url}/emulator/health", timeout=10).json() == {"status": "ok"}
    raw = requests.get(f"{twilio_env.url}/schemas/Messaging.MessageStatus/4", timeout=10)
    assert raw.json()["title"] == "MessageStatus"
    assert requests.get(f"{twilio_env.url}/schemas/Nope/1", timeout=10).status_code == 404


# -- webhook and segment sinks --------------------------------------------------------------


@pytest.mark.parametrize("batch", [False, True])
def test_webhook_sink_is_active_and_test_posts_the_event(
    api: Api, webhook_receiver: Receiver, batch: bool, twilio_env: EventsEmulator
) -> None:
    sink = _sink(api, "webhook", {"destination": webhook_receiver.url, "batch_events": batch})
    assert sink["status"] == "active"
    assert sink["sink_configuration"]["method"] == "post"  # omitted: "post", as the live API
    assert api.post(f"/v1/Sinks/{sink['sid']}/Test").json() == {"result": "submitted"}
    twilio_env.wait_deliveries()
    ((method, body),) = webhook_receiver.received
    assert method == "POST"
    assert isinstance(body, list) is batch
    event = body[0] if batch else body
    assert event["type"] == "com.twilio.eventstreams.test-event"
    assert webhook_receiver.test_ids() == [json.loads(event["data"])["test_id"]]


def test_unreachable_webhook_logs_93101_and_stays_submitted(
    api: Api, twilio_env: EventsEmulator
) -> None:
    sink = _sink(api, "webhook", {"destination": "http://127.0.0.1:9/none"})
    assert api.post(f"/v1/Sinks/{sink['sid']}/Test").json() == {"result": "submitted"}
    twilio_env.wait_deliveries()
    log = api.get("/emulator/debugger").json()["debugger"]
    assert [(e["code"], e["sink_sid"]) for e in log] == [(93101, sink["sid"])]
    assert twilio_env.debugger_log() == log


def test_sinks_are_active_at_once_and_validate_answers_valid(
    api: Api, twilio_env: EventsEmulator
) -> None:
    """Today's service: no validation needed; Test still sends; Validate always says valid."""
    sink = _sink(api, "segment", {"write_key": "KEY"})
    assert sink["status"] == "active"
    assert api.post(f"/v1/Sinks/{sink['sid']}/Test").json() == {"result": "submitted"}
    assert api.get(f"/v1/Sinks/{sink['sid']}").json()["status"] == "active"
    assert len(twilio_env.store.state.sinks[sink["sid"]].segment_events) == 1
    answer = api.post(f"/v1/Sinks/{sink['sid']}/Validate", {"TestId": "any-old-id"})
    assert (answer.status_code, answer.json()) == (201, {"result": "valid"})
    assert api.post(f"/v1/Sinks/{sink['sid']}/Validate", {}).status_code == 400  # still required


def test_segment_sink_validates_with_its_recorded_test(api: Api, legacy: EventsEmulator) -> None:
    twilio_env = legacy
    sink = _sink(api, "segment", {"write_key": "KEY"})
    assert sink["status"] == "initialized"
    api.post(f"/v1/Sinks/{sink['sid']}/Test")
    assert api.get(f"/v1/Sinks/{sink['sid']}").json()["status"] == "validating"
    (event,) = twilio_env.store.state.sinks[sink["sid"]].segment_events
    test_id = json.loads(event["data"])["test_id"]
    assert api.post(f"/v1/Sinks/{sink['sid']}/Validate", {"TestId": test_id}).status_code == 201
    assert api.get(f"/v1/Sinks/{sink['sid']}").json()["status"] == "active"


@pytest.mark.parametrize(
    ("sink_type", "config", "message"),
    [
        ("kinesis", {"arn": "arn:aws:kinesis:us-east-1:1:stream/s"}, "missing: role_arn"),
        (
            "kinesis",
            {"arn": "nope", "role_arn": "arn:aws:iam::1:role/r", "external_id": "x"},
            "ARN",
        ),
        ("webhook", {"destination": "ftp://x"}, "http(s)"),
        ("webhook", {"destination": "http://x", "method": "PUT"}, "POST or GET"),
        ("webhook", {}, "non-empty"),
        ("segment", {}, "non-empty"),
        ("segment", {"other": 1}, "missing: write_key"),
    ],
)
def test_bad_sink_configuration_is_400_91000(
    api: Api, sink_type: str, config: dict[str, Any], message: str
) -> None:
    """Twilio's error 91000: a sink could not be created (bad type, empty config, keys missing)."""
    response = api.post(
        "/v1/Sinks",
        {"Description": "x", "SinkType": sink_type, "SinkConfiguration": json.dumps(config)},
    )
    assert (response.status_code, response.json()["code"]) == (400, 91000)
    assert message in response.json()["message"]


# -- subscriptions --------------------------------------------------------------------------


def test_subscription_needs_an_active_sink(api: Api, legacy: EventsEmulator) -> None:
    sink = _sink(api, "segment", {"write_key": "k"})
    response = _subscribe(api, sink["sid"], {"type": DELIVERED})
    assert response.status_code == 400
    assert "not active" in response.json()["message"]
    missing = _subscribe(api, "DG" + "0" * 32, {"type": DELIVERED})
    assert (missing.status_code, missing.json()["code"]) == (404, 91001)
    assert "could not be found" in missing.json()["message"]
    malformed = _subscribe(api, "DGnope", {"type": DELIVERED})
    assert (malformed.status_code, malformed.json()["code"]) == (400, 91006)


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ({"type": "com.twilio.messaging.message.teleported"}, "Type not found in the system"),
        ({"type": "com.twilio.conversations.delivery.updated"}, "Type is discontinued"),
        ({"type": "com.twilio.messaging.message.sent", "schema_version": 9}, "Schema version 9"),
        ({"type": "com.twilio.accountsecurity.verify.attempt-dlr.sent"}, "Type is restricted"),
        ({"schema_version": 1}, 'needs a "type"'),
    ],
)
def test_subscription_type_rules(
    api: Api, webhook_receiver: Receiver, item: dict[str, Any], message: str
) -> None:
    sink = _sink(api, "webhook", {"destination": webhook_receiver.url})
    response = _subscribe(api, sink["sid"], {"type": DELIVERED}, item)
    assert response.status_code == 400
    assert message in response.json()["message"]
    assert api.get("/v1/Subscriptions").json()["subscriptions"] == []


def test_types_arrive_as_json_fields_and_missing_version_means_latest(
    sdk: Any, api: Api, webhook_receiver: Receiver
) -> None:
    sink = _sink(api, "webhook", {"destination": webhook_receiver.url})
    sub = sdk.subscriptions.create(
        description="d",
        sink_sid=sink["sid"],
        types=[
            {"type": DELIVERED},
            {"type": "com.twilio.messaging.inbound-message.received", "schema_version": 2},
            {"type": "com.twilio.voice.insights.call-summary.predicted-complete"},
        ],
    )
    versions = {
        e.type: e.schema_version for e in sdk.subscriptions(sub.sid).subscribed_events.list()
    }
    assert versions == {
        DELIVERED: 8,  # Messaging.MessageStatus's latest (the newest Outbound Message page: /8)
        "com.twilio.messaging.inbound-message.received": 2,
        "com.twilio.voice.insights.call-summary.predicted-complete": 2,
    }
    assert [s.sid for s in sdk.subscriptions.list(sink_sid=sink["sid"])] == [sub.sid]
    assert list(sdk.subscriptions.list(sink_sid="DG" + "f" * 32)) == []


def test_sink_in_use_cannot_be_deleted_and_in_use_filter(
    api: Api, webhook_receiver: Receiver
) -> None:
    used = _sink(api, "webhook", {"destination": webhook_receiver.url})
    idle = _sink(api, "webhook", {"destination": webhook_receiver.url})
    sub = _subscribe(api, used["sid"], {"type": DELIVERED}).json()
    refused = api.delete(f"/v1/Sinks/{used['sid']}")
    assert refused.status_code == 400
    assert sub["sid"] in refused.json()["message"]
    in_use = api.get("/v1/Sinks", InUse="true").json()["sinks"]
    assert [s["sid"] for s in in_use] == [used["sid"]]
    not_in_use = api.get("/v1/Sinks", InUse="false").json()["sinks"]
    assert [s["sid"] for s in not_in_use] == [idle["sid"]]


def test_subscription_update_changes_only_the_description(
    api: Api, webhook_receiver: Receiver
) -> None:
    """The current spec's UpdateSubscriptionRequest has Description only: SinkSid moves nothing."""
    first = _sink(api, "webhook", {"destination": webhook_receiver.url})
    second = _sink(api, "webhook", {"destination": webhook_receiver.url})
    sub = _subscribe(api, first["sid"], {"type": DELIVERED}).json()
    path = f"/v1/Subscriptions/{sub['sid']}"
    answer = api.post(path, {"SinkSid": second["sid"], "Description": "renamed"})
    assert answer.status_code == 200
    assert (answer.json()["sink_sid"], answer.json()["description"]) == (first["sid"], "renamed")
    assert api.get(path).json()["sink_sid"] == first["sid"]


def test_the_101st_sink_is_refused_with_91003_and_each_sink_takes_one_subscription(
    api: Api, twilio_env: EventsEmulator, webhook_receiver: Receiver
) -> None:
    """Up to 100 sinks per account (91003, "Cannot have more than 100 sinks"); a sink holds one
    subscription, so 100 subscriptions fill every sink and a 101st finds them all in use."""
    service = twilio_env.service
    config = json.dumps({"destination": webhook_receiver.url})
    sinks = [service.create_sink(f"s{n}", "webhook", config).sid for n in range(100)]
    refused = api.post(
        "/v1/Sinks", {"Description": "101", "SinkType": "webhook", "SinkConfiguration": config}
    )
    body = refused.json()
    assert set(body) == {"code", "message", "more_info", "status"}
    assert (refused.status_code, body["code"]) == (400, 91003)
    assert body["message"] == "Cannot have more than 100 sinks"
    for sid in sinks:
        service.create_subscription("sub", sid, [json.dumps({"type": DELIVERED})])
    too_many = _subscribe(api, sinks[0], {"type": DELIVERED})
    assert (too_many.status_code, too_many.json()["code"]) == (400, 91101)
    assert too_many.json()["message"] == f"Sink with SID {sinks[0]} is in use"
    api.delete(f"/v1/Subscriptions/{service.list_subscriptions(sinks[0])[0].sid}")
    assert _subscribe(api, sinks[0], {"type": DELIVERED}).status_code == 201


def test_last_subscribed_event_cannot_be_removed(api: Api, webhook_receiver: Receiver) -> None:
    sink = _sink(api, "webhook", {"destination": webhook_receiver.url})
    sub = _subscribe(api, sink["sid"], {"type": DELIVERED}).json()
    response = api.delete(f"/v1/Subscriptions/{sub['sid']}/SubscribedEvents/{DELIVERED}")
    assert response.status_code == 400
    assert "at least one type" in response.json()["message"]
    bad = api.post(
        f"/v1/Subscriptions/{sub['sid']}/SubscribedEvents/{DELIVERED}", {"SchemaVersion": 0}
    )
    assert bad.status_code == 400


# -- emit and admin endpoints ---------------------------------------------------------------


def test_emit_over_http_delivers_to_webhooks_and_reset_forgets(
    api: Api, webhook_receiver: Receiver, twilio_env: EventsEmulator
) -> None:
    sink = _sink(api, "webhook", {"destination": webhook_receiver.url, "batch_events": True})
    _subscribe(api, sink["sid"], {"type": DELIVERED, "schema_version": 2})
    reply = api.post(
        "/emulator/emit", {"Type": DELIVERED, "Count": 2, "Data": '{"to": "+15550001111"}'}
    )
    assert reply.json() == {
        "type": DELIVERED,
        "count": 2,
        "deliveries": 2,
        "delivered": 2,
        "retrying": 0,
        "dropped": 0,
        "pending": 0,
    }
    ((_, batch),) = webhook_receiver.received
    assert [e["data"]["to"] for e in batch] == ["+15550001111"] * 2
    assert {e["dataschema"] for e in batch} == {
        "https://events-schemas.twilio.com/Messaging.MessageStatus/2"
    }
    unknown = api.post("/emulator/emit", {"Type": "com.twilio.nope"})
    assert unknown.status_code == 400
    with pytest.raises(ValueError, match="Type not found"):
        twilio_env.emit("com.twilio.nope")

    assert api.post("/emulator/reset").json() == {"result": "reset"}
    assert api.get("/v1/Sinks").json()["sinks"] == []
    assert api.get("/v1/Types").json()["types"]  # the catalogue stays


def test_admin_endpoints_need_auth(twilio_env: EventsEmulator) -> None:
    response = requests.post(f"{twilio_env.url}/emulator/reset", timeout=10)
    assert response.status_code == 401


def test_state_survives_a_restart_with_a_state_dir(moto_server: str, tmp_path: Path) -> None:
    from twilio_es_cli.local.emulator import EventsEmulator

    config = json.dumps({"write_key": "k"})
    with EventsEmulator(aws_endpoint_url=moto_server, state_dir=tmp_path) as emu:
        sid = emu.service.create_sink("kept", "segment", config).sid
    state_file = tmp_path / "events-emulator.json"
    assert state_file.stat().st_mode & 0o777 == 0o600
    with EventsEmulator(aws_endpoint_url=moto_server, state_dir=tmp_path) as emu:
        auth = (emu.account_sid, emu.auth_token)
        fetched = requests.get(f"{emu.url}/v1/Sinks/{sid}", auth=auth, timeout=10)
        assert fetched.json()["description"] == "kept"
        emu.reset()
    assert json.loads(state_file.read_text())["sinks"] == {}


def test_unsupported_method_on_a_known_path_is_405(api: Api) -> None:
    response = api.delete("/v1/Types")
    assert response.status_code == 405
    assert response.json()["status"] == 405


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
def test_methods_without_any_route_get_twilio_error_bodies(api: Api, method: str) -> None:
    known = api.request(method, "/v1/Sinks", data={"Description": "x"})
    assert known.status_code == 405
    assert known.json()["code"] == 20004
    unknown = api.request(method, "/v1/Nope")
    assert unknown.status_code == 404
    assert unknown.json()["code"] == 20404
