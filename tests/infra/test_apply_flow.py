"""plan -> apply -> plan against the sandbox: moto (Kinesis, IAM, STS) + the Events emulator."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

import pytest

from tests.conftest import boto_client, events_client
from tests.fixture_types import CliRunner, EventsEmulator, FileWriter
from twilio_es_cli.clients import Clients
from twilio_es_cli.local.catalog_data import SCHEMAS

if TYPE_CHECKING:
    from mypy_boto3_kinesis import KinesisClient

    from twilio_es_cli.config import Settings
    from twilio_es_cli.infra.executor import Env

# What the sandbox's catalogue says is latest (the test must not pin a catalogue fact).
LATEST_STATUS = next(s for s in SCHEMAS if s.id == "Messaging.MessageStatus").latest_version

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


def test_plan_apply_replan(
    twilio_env: EventsEmulator, aws_env: str, cli: CliRunner, write_file: FileWriter
) -> None:
    path = write_file(BASE)
    first = cli("plan", "-f", path, "--detailed-exitcode")
    assert first.exit_code == 2, first.stderr
    assert "+ stream shop-events: create" in first.stdout
    assert "+ sink events: create" in first.stdout
    assert "+ subscription messaging: create" in first.stdout
    assert (
        "note: subscriptions.messaging: no version given, the latest is used: "
        f"com.twilio.messaging.message.sent:{LATEST_STATUS} (pin them in the file to stay there)"
    ) in first.stdout

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
    kinesis = boto_client("kinesis", aws_env)
    assert kinesis.describe_stream_summary(StreamName="shop-events")


class _Recording(Clients):
    """The invocation's client factory, noting each stream a reader client was asked for."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self.read: list[str] = []

    def stream_kinesis(self, stream: str) -> KinesisClient:
        self.read.append(stream)
        return super().stream_kinesis(stream)


def _env(factory: Clients) -> Env:
    from twilio_es_cli.infra.run import make_env

    return dataclasses.replace(make_env(factory, None), proof_timeout=20)


@pytest.mark.slow
def test_active_kinesis_sink_is_proven_by_reading_back(
    twilio_env: EventsEmulator, aws_env: str, cli: CliRunner, write_file: FileWriter
) -> None:
    """Today's Twilio activates sinks at once: the proof is then a test event read back."""
    from twilio_es_cli.config import resolve_settings
    from twilio_es_cli.errors import CheckFailed
    from twilio_es_cli.infra.executor import prove
    from twilio_es_cli.sinks import SinkService

    assert cli("apply", "-f", write_file(BASE), "--yes", "--timeout", "30").exit_code == 0
    factory = _Recording(resolve_settings())
    env = _env(factory)
    (sink,) = SinkService(env.client).list()
    assert sink.status == "active"
    assert prove(env, sink).startswith("test event read back from shop-events after ")
    stream = sink.kinesis_stream()
    assert stream is not None and factory.read == [stream.arn]  # read through the one factory

    import json

    from twilio_es_cli.iam import trust_policy

    iam = boto_client("iam", aws_env)  # another external id: Twilio can no longer write
    iam.update_assume_role_policy(
        RoleName="twilio-es-shop-events-us-east-1",
        PolicyDocument=json.dumps(trust_policy("arn:aws:iam::177261743968:root", "other-id")),
    )
    try:
        prove(env, sink, timeout=3)
    except CheckFailed as exc:
        assert exc.message.startswith("step 3 (find the test event in the stream) failed"), exc
        assert sink.sid in exc.message or "arrived in stream shop-events" in exc.message
    else:
        raise AssertionError("a sink Twilio cannot write to was proven")
