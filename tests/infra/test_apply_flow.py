"""plan -> apply -> plan against the sandbox: moto (Kinesis, IAM, STS) + the Events emulator."""

from __future__ import annotations

from typing import Any

from tests.conftest import boto_client, events_client

BASE = """
version: 1
project: shop
streams:
  shop-events:
    shards: 1
sinks:
  events:
    type: kinesis
    stream: shop-events
    description: shop events
subscriptions:
  messaging:
    sink: events
    types:
      - com.twilio.messaging.message.delivered:2
      - com.twilio.messaging.message.sent
"""


def test_plan_apply_replan(twilio_env: Any, aws_env: str, cli: Any, write_file: Any) -> None:
    path = write_file(BASE)
    first = cli("plan", "-f", path, "--detailed-exitcode")
    assert first.exit_code == 2, first.stderr
    assert "+ stream shop-events: create" in first.stdout
    assert "+ sink events: create" in first.stdout
    assert "+ subscription messaging: create" in first.stdout

    applied = cli("apply", "-f", path, "--yes", "--timeout", "30")
    assert applied.exit_code == 0, applied.stderr
    assert "test event read back from shop-events" in applied.stderr

    again = cli("plan", "-f", path, "--detailed-exitcode")
    assert again.exit_code == 0, again.stdout + again.stderr
    assert "No changes" in again.stdout

    second = cli("apply", "-f", path, "--yes")
    assert second.exit_code == 0
    assert "No changes" in second.stderr

    client: Any = events_client()
    sinks = client.events.v1.sinks.list()
    assert len(sinks) == 1 and sinks[0].status == "active"
    assert sinks[0].description == "shop events [twilio-es:shop/events]"
    subs = client.events.v1.subscriptions.list()
    assert len(subs) == 1
    types = {e.type: e.schema_version for e in subs[0].subscribed_events.list()}
    assert types["com.twilio.messaging.message.delivered"] == 2
    kinesis: Any = boto_client("kinesis", aws_env)
    assert kinesis.describe_stream_summary(StreamName="shop-events")
