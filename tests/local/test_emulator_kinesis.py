"""A kinesis sink on the emulator, end to end against moto over HTTP, through the twilio SDK.

The emulator must behave like Twilio: Test assumes the sink's role (only if the trust policy
lets Twilio's principal in with the sink's external id) and writes the test event into the
stream; failures land in the Debugger with Twilio's codes. Today sinks are active at once and
Validate answers valid; in the legacy flow (``legacy`` fixture) Validate with the test id read
OUT OF THE STREAM activates the sink and failures leave it inactive.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from twilio.base.exceptions import TwilioRestException

from tests.fixture_types import EventsEmulator
from tests.local.conftest import KinesisTarget, read_stream


def _create(sdk: Any, config: dict[str, str]) -> Any:
    return sdk.sinks.create(
        description="kinesis sink", sink_configuration=config, sink_type="kinesis"
    )


def _delivered(emulator: EventsEmulator) -> None:
    """Test answers at once and delivers in the background (as Twilio does): wait for it."""
    emulator.wait_deliveries()


def _test_ids(events: list[dict[str, Any]]) -> list[str]:
    return [
        json.loads(e["data"])["test_id"]
        for e in events
        if e["type"] == "com.twilio.eventstreams.test-event"
    ]


def test_today_a_kinesis_sink_is_active_and_test_still_writes_the_test_event(
    sdk: Any, kinesis_target: Callable[..., KinesisTarget], aws_env: str, twilio_env: EventsEmulator
) -> None:
    target = kinesis_target()
    sink = _create(sdk, target.config())
    assert sink.status == "active"
    assert sdk.sinks(sink.sid).sink_test.create().result == "submitted"
    _delivered(twilio_env)
    assert sdk.sinks(sink.sid).fetch().status == "active"
    (event,) = read_stream(aws_env, target.stream)
    # The Kinesis quickstart's test event: id is the account SID, data a JSON string.
    assert event["id"] == twilio_env.account_sid
    assert event["dataschema"] == "https://events-schemas.twilio.com/EventStreams.TestSink/1.json"
    assert event["source"] == "Sink"
    (test_id,) = _test_ids([event])
    assert sdk.sinks(sink.sid).sink_validate.create(test_id="not-it").result == "valid"
    assert sdk.sinks(sink.sid).sink_validate.create(test_id=test_id).result == "valid"


def test_test_event_lands_in_stream_and_validate_activates(
    sdk: Any, kinesis_target: Callable[..., KinesisTarget], aws_env: str, legacy: EventsEmulator
) -> None:
    twilio_env = legacy
    target = kinesis_target()
    sink = _create(sdk, target.config())
    assert sink.status == "initialized"
    assert sink.sid.startswith("DG") and len(sink.sid) == 34
    assert sink.sink_configuration == target.config()

    assert sdk.sinks(sink.sid).sink_test.create().result == "submitted"
    _delivered(legacy)
    assert sdk.sinks(sink.sid).fetch().status == "validating"

    events = read_stream(aws_env, target.stream)
    assert len(events) == 1
    event = events[0]
    assert event["specversion"] == "1.0"
    assert event["type"] == "com.twilio.eventstreams.test-event"
    assert event["source"] == "Sink"
    assert event["datacontenttype"] == "application/json"
    assert isinstance(event["data"], str)  # a JSON string, as the quickstart shows
    assert event["id"] and event["time"].endswith("Z")
    (test_id,) = _test_ids(events)

    assert sdk.sinks(sink.sid).sink_validate.create(test_id=test_id).result == "valid"
    assert sdk.sinks(sink.sid).fetch().status == "active"
    assert twilio_env.debugger_log() == []


def test_new_test_replaces_previous_test_id(
    sdk: Any, kinesis_target: Callable[..., KinesisTarget], aws_env: str, legacy: EventsEmulator
) -> None:
    target = kinesis_target()
    sink = _create(sdk, target.config())
    sdk.sinks(sink.sid).sink_test.create()
    _delivered(legacy)
    sdk.sinks(sink.sid).sink_test.create()
    _delivered(legacy)
    first, second = _test_ids(read_stream(aws_env, target.stream))
    assert first != second

    with pytest.raises(TwilioRestException) as caught:
        sdk.sinks(sink.sid).sink_validate.create(test_id=first)
    assert caught.value.status == 400
    assert caught.value.code == 20001
    assert sdk.sinks(sink.sid).fetch().status == "validating"

    assert sdk.sinks(sink.sid).sink_validate.create(test_id=second).result == "valid"
    assert sdk.sinks(sink.sid).fetch().status == "active"


def test_wrong_id_before_any_test_is_rejected(
    sdk: Any, kinesis_target: Callable[..., KinesisTarget], legacy: EventsEmulator
) -> None:
    sink = _create(sdk, kinesis_target().config())
    with pytest.raises(TwilioRestException) as caught:
        sdk.sinks(sink.sid).sink_validate.create(test_id="not-a-test")
    assert caught.value.status == 400
    assert sdk.sinks(sink.sid).fetch().status == "initialized"


@pytest.mark.parametrize("fault", ["principal", "external_id"])
def test_untrusted_role_gets_no_record_and_logs_93102(
    fault: str,
    sdk: Any,
    kinesis_target: Callable[..., KinesisTarget],
    aws_env: str,
    twilio_env: EventsEmulator,
) -> None:
    """Either flow logs 93102; only the legacy one (external_id case here) marks it failed."""
    twilio_env.legacy_validation = fault == "external_id"
    if fault == "principal":
        target = kinesis_target(principal="arn:aws:iam::111122223333:root")
        config = target.config()
    else:
        target = kinesis_target()
        config = target.config(external_id="f" * 80)
    sink = _create(sdk, config)

    assert sdk.sinks(sink.sid).sink_test.create().result == "submitted"
    _delivered(twilio_env)

    assert read_stream(aws_env, target.stream) == []
    (entry,) = twilio_env.debugger_log()
    assert entry["code"] == 93102
    assert entry["sink_sid"] == sink.sid
    expected = "does not name" if fault == "principal" else "external id does not match"
    assert expected in entry["message"]
    assert sdk.sinks(sink.sid).fetch().status == ("active" if fault == "principal" else "failed")


def test_missing_stream_logs_93104(
    sdk: Any, kinesis_target: Callable[..., KinesisTarget], aws_env: str, legacy: EventsEmulator
) -> None:
    twilio_env = legacy
    target = kinesis_target(create_stream=False)
    sink = _create(sdk, target.config())
    sdk.sinks(sink.sid).sink_test.create()
    _delivered(legacy)
    assert [e["code"] for e in twilio_env.debugger_log()] == [93104]
    assert sdk.sinks(sink.sid).fetch().status == "failed"


def test_stream_in_another_region_logs_93104(
    sdk: Any, kinesis_target: Callable[..., KinesisTarget], twilio_env: EventsEmulator
) -> None:
    target = kinesis_target()
    sink = _create(sdk, target.config(arn=target.arn.replace("us-east-1", "eu-west-1")))
    sdk.sinks(sink.sid).sink_test.create()
    _delivered(twilio_env)
    assert [e["code"] for e in twilio_env.debugger_log()] == [93104]


def test_missing_role_logs_93102(
    sdk: Any, kinesis_target: Callable[..., KinesisTarget], twilio_env: EventsEmulator
) -> None:
    target = kinesis_target()
    sink = _create(sdk, target.config(role_arn="arn:aws:iam::123456789012:role/nope"))
    sdk.sinks(sink.sid).sink_test.create()
    _delivered(twilio_env)
    assert [e["code"] for e in twilio_env.debugger_log()] == [93102]


def test_configured_principal_is_honoured(
    moto_server: str, kinesis_target: Callable[..., KinesisTarget]
) -> None:
    """An emulator told Twilio's principal is another account trusts only that account."""
    from twilio_es_cli.local.emulator import EventsEmulator

    principal = "arn:aws:iam::444455556666:root"
    target = kinesis_target(principal=principal)
    with EventsEmulator(aws_endpoint_url=moto_server, twilio_principal=principal) as emu:
        sink = emu.service.create_sink("k", "kinesis", json.dumps(target.config()))
        emu.service.test_sink(sink.sid)
        emu.wait_deliveries()
        assert emu.debugger_log() == []
    assert len(read_stream(moto_server, target.stream)) == 1


def test_emit_writes_message_status_events_that_match_the_real_schema(
    sdk: Any, kinesis_target: Callable[..., KinesisTarget], aws_env: str, twilio_env: EventsEmulator
) -> None:
    from importlib import resources

    from jsonschema import Draft7Validator

    from twilio_es_cli.local.events import raw_schema

    target = kinesis_target()
    sink = _create(sdk, target.config())
    sdk.sinks(sink.sid).sink_test.create()
    _delivered(twilio_env)
    (test_id,) = _test_ids(read_stream(aws_env, target.stream))
    sdk.sinks(sink.sid).sink_validate.create(test_id=test_id)
    types = [
        {"type": "com.twilio.messaging.message.delivered"},
        {"type": "com.twilio.messaging.message.failed", "schema_version": 4},
    ]
    sdk.subscriptions.create(description="messages", sink_sid=sink.sid, types=types)

    assert twilio_env.emit("com.twilio.messaging.message.delivered", count=3) == 3
    assert twilio_env.emit("com.twilio.messaging.message.failed") == 1
    assert twilio_env.emit("com.twilio.messaging.message.sent") == 0  # not subscribed

    events = [
        e
        for e in read_stream(aws_env, target.stream)
        if e["type"] != "com.twilio.eventstreams.test-event"
    ]
    assert [e["type"].rsplit(".", 1)[1] for e in events] == ["delivered"] * 3 + ["failed"]
    assert len({e["id"] for e in events}) == 4
    real_v4 = json.loads(
        (
            resources.files("twilio_es_cli.local") / "schemas/Messaging.MessageStatus.4.json"
        ).read_text("utf-8")
    )
    schemas = [event["dataschema"].rsplit("/", 2)[-2:] for event in events]
    # No version means the latest (8, the newest Outbound Message page); the explicit 4 is kept.
    assert schemas == [["Messaging.MessageStatus", "8"]] * 3 + [["Messaging.MessageStatus", "4"]]
    for event in events:
        assert isinstance(event["data"], str)  # Kinesis records carry data as a JSON string
        version = int(event["dataschema"].rsplit("/", 1)[1])
        document = real_v4 if version == 4 else raw_schema("Messaging.MessageStatus", version)
        assert not list(Draft7Validator(document).iter_errors(json.loads(event["data"])))
    assert json.loads(events[-1]["data"])["messageStatus"] == "FAILED"
    assert isinstance(json.loads(events[-1]["data"])["errorCode"], int)


def test_emit_many_events_puts_one_record_each(
    sdk: Any, kinesis_target: Callable[..., KinesisTarget], aws_env: str, twilio_env: EventsEmulator
) -> None:
    """More than one PutRecords call's worth (500): every event arrives once, keyed by id."""
    target = kinesis_target()
    sink = _create(sdk, target.config())
    sdk.sinks(sink.sid).sink_test.create()
    _delivered(twilio_env)
    (test_id,) = _test_ids(read_stream(aws_env, target.stream))
    sdk.sinks(sink.sid).sink_validate.create(test_id=test_id)
    sdk.subscriptions.create(
        description="tr", sink_sid=sink.sid, types=[{"type": "com.twilio.taskrouter.task.created"}]
    )

    assert twilio_env.emit("com.twilio.taskrouter.task.created", count=1100) == 1100

    events = read_stream(aws_env, target.stream)[1:]
    assert len(events) == 1100
    assert len({e["id"] for e in events}) == 1100
    assert all(e["type"] == "com.twilio.taskrouter.task.created" for e in events)
    # TaskRouter nests JSON inside a string, as the real payloads do.
    payload = json.loads(events[0]["data"])["payload"]
    assert json.loads(payload["task_attributes"])["channel"] == "voice"


def test_data_as_an_object_when_asked(
    moto_server: str, kinesis_target: Callable[..., KinesisTarget]
) -> None:
    """``kinesis_data_as_object`` writes data as a JSON object (the default is the string)."""
    from twilio_es_cli.local.emulator import EventsEmulator

    target = kinesis_target()
    with EventsEmulator(aws_endpoint_url=moto_server, kinesis_data_as_object=True) as emu:
        sink = emu.service.create_sink("k", "kinesis", json.dumps(target.config()))
        emu.service.create_subscription(
            "s", sink.sid, [json.dumps({"type": "com.twilio.messaging.message.sent"})]
        )
        assert emu.emit("com.twilio.messaging.message.sent") == 1
    (event,) = read_stream(moto_server, target.stream)
    assert event["data"]["messageStatus"] == "SENT"
