"""Event Streams' own error codes, as the twilio SDK raises them from the sandbox.

Sources, in the order the sandbox follows them: Twilio's error pages for Event Streams
(twilio.com/docs/api/errors/91000, 91001, 91003, 91006, 91101), then live-tested behaviour
(third-party test notes, 2026-03-29: "Sink with SID ... is in use" for a second subscription on
a sink, "Missing required input parameter event_types[0].type" for ``Types`` sent as one JSON
array, "Type is discontinued"), then Twilio's Event Types Lifecycle page for restricted types.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from twilio.base.exceptions import TwilioRestException

from tests.fixture_types import EventsEmulator
from tests.local.conftest import Api, Receiver

DELIVERED = "com.twilio.messaging.message.delivered"
RESTRICTED = "com.twilio.accountsecurity.verify.attempt-dlr.delivered"


def _raises(call: Callable[[], Any]) -> TwilioRestException:
    with pytest.raises(TwilioRestException) as caught:
        call()
    return caught.value


def _hook(sdk: Any, url: str) -> Any:
    return sdk.sinks.create(
        description="hook", sink_type="webhook", sink_configuration={"destination": url}
    )


@pytest.mark.parametrize(
    ("sink_type", "config"),
    [
        ("fax", {"destination": "http://x"}),  # not kinesis, webhook or segment
        ("kinesis", {}),  # configuration empty
        ("kinesis", {"arn": "arn:aws:kinesis:us-east-1:1:stream/s"}),  # keys missing
        ("webhook", {"method": "POST"}),  # no destination
    ],
)
def test_a_sink_that_cannot_be_created_is_91000(
    sdk: Any, twilio_env: EventsEmulator, sink_type: str, config: dict[str, Any]
) -> None:
    error = _raises(
        lambda: sdk.sinks.create(description="x", sink_type=sink_type, sink_configuration=config)
    )
    assert (error.status, error.code) == (400, 91000)
    assert "Sink could not be created" in error.msg  # the SDK puts its own words first


def test_unknown_and_malformed_sinks_are_91001_and_91006(
    sdk: Any, twilio_env: EventsEmulator
) -> None:
    missing = "DG" + "0" * 32
    for call in (
        lambda: sdk.sinks(missing).fetch(),
        lambda: sdk.sinks(missing).delete(),
        lambda: sdk.sinks(missing).sink_test.create(),
        lambda: sdk.subscriptions.create(
            description="d", sink_sid=missing, types=[{"type": DELIVERED}]
        ),
    ):
        error = _raises(call)
        assert (error.status, error.code) == (404, 91001)
    error = _raises(lambda: sdk.sinks("DG-not-a-sid").fetch())
    assert (error.status, error.code) == (400, 91006)


def test_the_101st_sink_is_91003(
    sdk: Any, twilio_env: EventsEmulator, webhook_receiver: Receiver
) -> None:
    config = json.dumps({"destination": webhook_receiver.url})
    for n in range(100):
        twilio_env.service.create_sink(f"s{n}", "webhook", config)
    error = _raises(lambda: _hook(sdk, webhook_receiver.url))
    assert (error.status, error.code) == (400, 91003)
    assert error.msg.endswith(": Cannot have more than 100 sinks")


def test_subscription_refusals_are_91101(
    sdk: Any, twilio_env: EventsEmulator, webhook_receiver: Receiver
) -> None:
    sink = _hook(sdk, webhook_receiver.url)
    twice = _raises(
        lambda: sdk.subscriptions.create(
            description="d", sink_sid=sink.sid, types=[{"type": DELIVERED}, {"type": DELIVERED}]
        )
    )
    assert (twice.status, twice.code) == (400, 91101)
    assert "more than once" in twice.msg
    empty = _raises(
        lambda: sdk.subscriptions.create(
            description="", sink_sid=sink.sid, types=[{"type": DELIVERED}]
        )
    )
    assert (empty.status, empty.code) == (400, 91101)
    first = sdk.subscriptions.create(
        description="d", sink_sid=sink.sid, types=[{"type": DELIVERED}]
    )
    assert first.sink_sid == sink.sid
    second = _raises(
        lambda: sdk.subscriptions.create(
            description="again", sink_sid=sink.sid, types=[{"type": DELIVERED}]
        )
    )
    assert (second.status, second.code) == (400, 91101)
    assert second.msg.endswith(f": Sink with SID {sink.sid} is in use")
    assert [s.sid for s in sdk.subscriptions.list(sink_sid=sink.sid)] == [first.sid]


def test_types_as_one_json_array_get_the_live_services_message(
    api: Api, twilio_env: EventsEmulator, webhook_receiver: Receiver
) -> None:
    sink = api.post(
        "/v1/Sinks",
        {
            "Description": "hook",
            "SinkType": "webhook",
            "SinkConfiguration": json.dumps({"destination": webhook_receiver.url}),
        },
    ).json()
    answer = api.post(
        "/v1/Subscriptions",
        {"Description": "d", "SinkSid": sink["sid"], "Types": json.dumps([{"type": DELIVERED}])},
    )
    assert answer.status_code == 400
    assert answer.json()["message"] == "Missing required input parameter event_types[0].type"


def test_statuses_follow_the_lifecycle_page(
    sdk: Any, twilio_env: EventsEmulator, webhook_receiver: Receiver
) -> None:
    sink = _hook(sdk, webhook_receiver.url)
    restricted = _raises(
        lambda: sdk.subscriptions.create(
            description="d", sink_sid=sink.sid, types=[{"type": RESTRICTED}]
        )
    )
    assert restricted.status == 400 and f"Type is restricted: {RESTRICTED}" in restricted.msg
    gone = _raises(
        lambda: sdk.subscriptions.create(
            description="d",
            sink_sid=sink.sid,
            types=[{"type": "com.twilio.conversations.delivery.updated"}],
        )
    )
    assert "Type is discontinued" in gone.msg
    deprecated = "com.twilio.voice.webhook.status-callback.call.completed"
    sub = sdk.subscriptions.create(description="d", sink_sid=sink.sid, types=[{"type": deprecated}])
    assert [e.type for e in sdk.subscriptions(sub.sid).subscribed_events.list()] == [deprecated]
    added = _raises(lambda: sdk.subscriptions(sub.sid).subscribed_events.create(type=RESTRICTED))
    assert "restricted" in added.msg
