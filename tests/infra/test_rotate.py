"""Zero-gap rotation: `sink rotate SID` while a producer keeps emitting, and the file's replace.

A producer thread emits numbered events through the emulator the whole time (Twilio's side);
afterwards every number must be in the stream at least once. Deleting the old subscription
before the new one exists would lose the numbers emitted in between.
"""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest

from tests.conftest import boto_client, events_client
from tests.fixture_types import CliRunner, EventsEmulator, FileWriter

FILE = """
version: 1
streams:
  rot: {shards: 1}
sinks:
  main: {type: kinesis, stream: rot}
subscriptions:
  msgs: {sink: main, types: [com.twilio.messaging.message.delivered:1]}
"""
TYPE = "com.twilio.messaging.message.delivered"


class Producer(threading.Thread):
    """Emits ``seq``-numbered events until stopped; remembers what was accepted."""

    def __init__(self, emulator: EventsEmulator) -> None:
        super().__init__(daemon=True)
        self.emulator = emulator
        self.stop = threading.Event()
        self.sent: list[int] = []
        self.progress = threading.Condition()

    def run(self) -> None:
        seq = 0
        while not self.stop.is_set():
            self.emulator.emit(TYPE, 1, {"seq": seq})
            with self.progress:
                self.sent.append(seq)
                self.progress.notify_all()
            seq += 1

    def wait_for_more(self, count: int) -> None:
        """Block until ``count`` more events were emitted (so the producer spans the window)."""
        with self.progress:
            target = len(self.sent) + count
            assert self.progress.wait_for(lambda: len(self.sent) >= target, timeout=60)

    def finish(self) -> None:
        self.wait_for_more(2)
        self.stop.set()
        self.join(timeout=30)


def _seqs_in_stream(aws_env: str, name: str) -> list[int]:
    kinesis = boto_client("kinesis", aws_env)
    seqs: list[int] = []
    for shard in kinesis.list_shards(StreamName=name)["Shards"]:
        iterator = kinesis.get_shard_iterator(
            StreamName=name, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        while iterator:
            page = kinesis.get_records(ShardIterator=iterator, Limit=10000)
            for record in page["Records"]:
                event = json.loads(record["Data"])
                if event.get("type") == TYPE:
                    data = event["data"]  # a JSON string, as Twilio writes it to Kinesis
                    seqs.append(int((json.loads(data) if isinstance(data, str) else data)["seq"]))
            if not page["Records"]:
                break
            iterator = page.get("NextShardIterator")
    return seqs


def test_rotate_with_live_producer_has_no_gap(
    twilio_env: EventsEmulator, aws_env: str, cli: CliRunner, write_file: FileWriter
) -> None:
    path = write_file(FILE)
    assert cli("apply", "-f", path, "--yes", "--timeout", "30").exit_code == 0
    client: Any = events_client()
    (old,) = client.events.v1.sinks.list()
    old_external_id = old.sink_configuration["external_id"]
    producer = Producer(twilio_env)
    producer.start()
    producer.wait_for_more(2)  # emitting before the rotation starts ...
    rotated = cli("sink", "rotate", old.sid, "--yes", "--json", "--timeout", "30")
    producer.finish()  # ... and after it ended
    assert rotated.exit_code == 0, rotated.stderr
    result = rotated.json()
    (new,) = client.events.v1.sinks.list()
    assert result["old_sid"] == old.sid and result["new_sid"] == new.sid != old.sid
    assert result["old_deleted"] is True
    assert new.status == "active"
    assert new.sink_configuration["external_id"] != old_external_id
    (sub,) = client.events.v1.subscriptions.list()
    assert sub.sink_sid == new.sid
    assert len(producer.sent) >= 4
    seen = set(_seqs_in_stream(aws_env, "rot"))
    missing = [n for n in producer.sent if n not in seen]
    assert missing == []
    # the old external id no longer opens the role; the file still sees no change
    iam = boto_client("iam", aws_env)
    trust = iam.get_role(RoleName="twilio-es-rot-us-east-1")["Role"]["AssumeRolePolicyDocument"]
    assert old_external_id not in json.dumps(trust)
    replan = cli("plan", "-f", path, "--detailed-exitcode")
    assert replan.exit_code == 0, replan.stdout


def test_rotate_webhook_sink_moves_subscriptions(
    twilio_env: EventsEmulator, cli: CliRunner
) -> None:
    from tests.conftest import active_webhook_sink

    sid = active_webhook_sink()
    client: Any = events_client()
    client.events.v1.subscriptions.create(
        description="hand made", sink_sid=sid, types=[{"type": TYPE, "schema_version": 2}]
    )
    rotated = cli("sink", "rotate", sid, "--yes")
    assert rotated.exit_code == 0, rotated.stderr
    (new,) = client.events.v1.sinks.list()
    assert new.sid != sid and new.description == "test hook"
    (sub,) = client.events.v1.subscriptions.list()
    assert (sub.sink_sid, sub.description) == (new.sid, "hand made")
    assert [(e.type, e.schema_version) for e in sub.subscribed_events.list()] == [(TYPE, 2)]


def test_file_replace_with_live_producer_has_no_gap(
    twilio_env: EventsEmulator, aws_env: str, cli: CliRunner, write_file: FileWriter
) -> None:
    path = write_file(FILE)
    assert cli("apply", "-f", path, "--yes", "--timeout", "30").exit_code == 0
    moved = write_file(
        FILE.replace("rot: {shards: 1}", "rot: {shards: 1}\n  rot2: {shards: 1}").replace(
            "stream: rot}", "stream: rot2}"
        ),
        name="moved.yaml",
    )
    producer = Producer(twilio_env)
    producer.start()
    producer.wait_for_more(2)
    applied = cli("apply", "-f", moved, "--yes", "--timeout", "30")
    producer.finish()
    assert applied.exit_code == 0, applied.stderr
    seen = set(_seqs_in_stream(aws_env, "rot")) | set(_seqs_in_stream(aws_env, "rot2"))
    assert [n for n in producer.sent if n not in seen] == []
    assert len(events_client().events.v1.sinks.list()) == 1


def test_failed_rotation_is_undone(
    twilio_env: EventsEmulator,
    aws_env: str,
    cli: CliRunner,
    write_file: FileWriter,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from twilio_es_cli.errors import CheckFailed
    from twilio_es_cli.infra import executor

    assert cli("apply", "-f", write_file(FILE), "--yes", "--timeout", "30").exit_code == 0
    client: Any = events_client()
    (old,) = client.events.v1.sinks.list()
    iam = boto_client("iam", aws_env)
    role = "twilio-es-rot-us-east-1"
    trust_before = iam.get_role(RoleName=role)["Role"]["AssumeRolePolicyDocument"]

    def cannot_prove(env: Any, sink: Any, **kwargs: Any) -> str:
        raise CheckFailed("no test event arrived")

    monkeypatch.setattr(executor, "prove", cannot_prove)
    failed = cli("sink", "rotate", old.sid, "--yes")
    assert failed.exit_code == 5
    assert "rotation undone: the old sink and its subscriptions are untouched" in failed.stderr
    assert [s.sid for s in client.events.v1.sinks.list()] == [old.sid]
    (sub,) = client.events.v1.subscriptions.list()
    assert sub.sink_sid == old.sid
    assert iam.get_role(RoleName=role)["Role"]["AssumeRolePolicyDocument"] == trust_before
