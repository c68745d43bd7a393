"""What Twilio's Kinesis Quickstart documents works against the sandbox's catalogue and events.

The page's facts live in ``tests/data/quickstart`` (with their sources); the sandbox must
accept the page's own subscription and write a test event of the page's shape.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from tests.conftest import active_webhook_sink, events_client
from tests.events.test_sink_flow import make_stream_and_role
from tests.fixture_types import EventsEmulator
from tests.local.conftest import read_stream

DOCUMENTED = json.loads(
    (
        Path(__file__).resolve().parents[1] / "data" / "quickstart" / "kinesis-quickstart.json"
    ).read_text(encoding="utf-8")
)


def test_the_documented_subscription_is_accepted(twilio_env: EventsEmulator) -> None:
    active_sink = active_webhook_sink()
    v1: Any = events_client().events.v1
    for documented in DOCUMENTED["subscriptions"]:
        sub = v1.subscriptions.create(
            description=documented["description"], sink_sid=active_sink, types=documented["types"]
        )
        stored = {
            e.type: e.schema_version for e in v1.subscriptions(sub.sid).subscribed_events.list()
        }
        assert stored == {t["type"]: t["schema_version"] for t in documented["types"]}
    example = v1.event_types(DOCUMENTED["example_event_type"]).fetch()
    assert example.status == "available"


def test_the_test_event_has_the_documented_shape(twilio_env: EventsEmulator, aws_env: str) -> None:
    config = make_stream_and_role(aws_env, "documented")
    sink = twilio_env.service.create_sink("k", "kinesis", json.dumps(config))
    twilio_env.service.test_sink(sink.sid)
    twilio_env.wait_deliveries()
    (event,) = read_stream(aws_env, "documented")
    documented = DOCUMENTED["test_event"]
    assert set(event) == set(documented)
    for key in ("specversion", "type", "source", "dataschema", "datacontenttype"):
        assert event[key] == documented[key], key
    assert re.fullmatch(r"AC[0-9a-fA-F]{32}", event["id"])  # the account SID, like the page's
    assert event["id"] == twilio_env.account_sid
    assert isinstance(event["data"], str)
    assert set(json.loads(event["data"])) == set(json.loads(documented["data"])) == {"test_id"}
