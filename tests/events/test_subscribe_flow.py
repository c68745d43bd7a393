"""The whole Kinesis flow through the CLI, as a user types it, then `doctor` on the result.

stream create (moto) -> sink create kinesis --config -> sink validate -> subscribe ->
subscription list -> doctor --sink / --stream; an emitted event then lands in the stream.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

from tests.conftest import boto_client
from tests.fixture_types import CliRunner, EventsEmulator

DELIVERED = "com.twilio.messaging.message.delivered"


def test_stream_to_subscription_to_doctor(
    aws_env: str, twilio_env: EventsEmulator, cli: CliRunner, tmp_path: Path
) -> None:
    twilio_env.legacy_validation = True  # the old flow: kinesis/segment sinks start inactive
    name = f"flow-{uuid.uuid4().hex[:8]}"
    config_file = tmp_path / "twilio-sink.json"
    created = cli("stream", "create", name, "1", "--out", str(config_file))
    assert created.exit_code == 0, created.stderr
    config = json.loads(config_file.read_text())

    stream_only = cli("doctor", "--stream", name, "--json")
    assert stream_only.exit_code == 0, stream_only.stdout + stream_only.stderr
    roles = {c["name"]: c for c in stream_only.json()["checks"]}
    assert roles["role exists"]["detail"] == config["role_arn"]

    sink = cli("sink", "create", "kinesis", "--config", str(config_file), "--json")
    assert sink.exit_code == 0, sink.stderr
    sink_sid = sink.json()["sid"]

    # Not validated yet: subscribe refuses and says how to fix it.
    early = cli("subscribe", "--sink", sink_sid, "--type", DELIVERED)
    assert early.exit_code == 5
    assert f"twilio-es sink validate {sink_sid}" in early.stderr

    validated = cli("sink", "validate", sink_sid, "--timeout", "60")
    assert validated.exit_code == 0, validated.stderr

    subscribed = cli("subscribe", "--sink", sink_sid, "--type", DELIVERED, "--json")
    assert subscribed.exit_code == 0, subscribed.stderr
    listed = cli("subscription", "list", "--sink", sink_sid, "--json")
    assert [s["sid"] for s in listed.json()] == [subscribed.json()["sid"]]

    doctor = cli("doctor", "--sink", sink_sid, "--json")
    assert doctor.exit_code == 0, doctor.stdout + doctor.stderr
    assert config["external_id"] not in doctor.stdout + doctor.stderr

    # And events really flow: one emitted event is readable from the stream.
    assert twilio_env.emit(DELIVERED, 1) == 1
    kinesis = boto_client("kinesis", aws_env)
    shard = kinesis.list_shards(StreamName=name)["Shards"][0]["ShardId"]
    iterator = kinesis.get_shard_iterator(
        StreamName=name, ShardId=shard, ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    types = [
        json.loads(r["Data"])["type"]
        for r in kinesis.get_records(ShardIterator=iterator)["Records"]
    ]
    assert types[-1] == DELIVERED
