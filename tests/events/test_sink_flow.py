"""`sink` commands end to end: moto (Kinesis, IAM, STS) over HTTP + the Events v1 emulator.

The emulator's Test assumes the sink's role the way Twilio does (trust principal and external
id enforced) and puts the test event into the stream; `sink validate` must find it there with
the user's credentials and make the sink active. Failures must name the step and the cause.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from tests.conftest import REGION, Result, boto_client
from tests.fixture_types import CliRunner, EventsEmulator
from twilio_es_cli import iam as iamdoc
from twilio_es_cli import progress

TWILIO_PRINCIPAL = "arn:aws:iam::177261743968:root"


@pytest.fixture(autouse=True)
def _legacy_flow(request: pytest.FixtureRequest) -> None:
    """Most tests here exercise the validation steps on sinks that start ``initialized``: the
    old flow, which accounts and scripts still meet. Today's flow (sinks active at once) has
    its own tests below, named ``test_today_...``."""
    if "twilio_env" in request.fixturenames and not request.node.name.startswith("test_today_"):
        request.getfixturevalue("twilio_env").legacy_validation = True


def make_stream_and_role(
    moto_url: str, name: str, *, external_id: str | None = None, shards: int = 1
) -> dict[str, str]:
    """A stream and a role Twilio may assume (as `stream create` makes them); the sink config."""
    external_id = external_id or uuid.uuid4().hex * 2
    kinesis = boto_client("kinesis", moto_url)
    iam = boto_client("iam", moto_url)
    kinesis.create_stream(StreamName=name, ShardCount=shards)
    arn = kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["StreamARN"]
    # The documents `stream create` writes (iam.py): this role is what the CLI would make.
    trust = iamdoc.trust_policy(TWILIO_PRINCIPAL, external_id)
    role = iam.create_role(RoleName=f"{name}-writer", AssumeRolePolicyDocument=json.dumps(trust))
    iam.put_role_policy(
        RoleName=f"{name}-writer",
        PolicyName="twilio-write",
        PolicyDocument=json.dumps(iamdoc.permissions_policy(arn)),
    )
    return {"arn": arn, "role_arn": role["Role"]["Arn"], "external_id": external_id}


def write_config(tmp_path: Path, config: dict[str, str]) -> str:
    path = tmp_path / "twilio-sink.json"
    path.write_text(json.dumps(config, indent=2), encoding="utf-8")
    return str(path)


def create_kinesis_sink(cli: CliRunner, tmp_path: Path, config: dict[str, str]) -> str:
    result: Result = cli(
        "sink", "create", "kinesis", "--config", write_config(tmp_path, config), "--json"
    )
    assert result.exit_code == 0, result.stderr
    sink = result.json()
    assert isinstance(sink, dict)
    return str(sink["sid"])


def show(cli: CliRunner, sid: str) -> dict[str, Any]:
    result: Result = cli("sink", "show", sid, "--json")
    assert result.exit_code == 0, result.stderr
    data = result.json()
    assert isinstance(data, dict)
    return data


def test_today_validate_on_an_active_sink_proves_delivery_end_to_end(
    cli: CliRunner, aws_env: str, twilio_env: EventsEmulator, tmp_path: Path
) -> None:
    """Sinks are active when created; `sink validate` still proves delivery and says so."""
    stream: Result = cli("stream", "create", "today-events", "1")
    assert stream.exit_code == 0, stream.stderr
    sink_file = tmp_path / "twilio-sink.json"
    sink_file.write_text(stream.stdout, encoding="utf-8")
    created: Result = cli("sink", "create", "kinesis", "--config", str(sink_file), "--json")
    sink = created.json()
    assert isinstance(sink, dict) and sink["status"] == "active"

    validated: Result = cli("sink", "validate", sink["sid"], "--json")
    assert validated.exit_code == 0, validated.stderr
    steps = [line for line in validated.stderr.splitlines() if line.startswith("✓ ")]
    assert [s.split()[1] for s in steps] == ["read", "sent", "found", "validated", "sink"]
    assert steps[-1].endswith("is active (it already was)")
    outcome = validated.json()
    assert isinstance(outcome, dict)
    assert outcome["already_active"] is True and outcome["test_id"]
    assert outcome["shard_id"] == "shardId-000000000000"
    assert outcome["proved"].startswith("delivery works end to end: Twilio assumed role")
    assert "stream today-events" in outcome["proved"]
    assert f"proved: {outcome['proved']}" in validated.stderr

    # A broken role is caught even though the sink says "active".
    iam = boto_client("iam", aws_env)
    role = json.loads(stream.stdout)["role_arn"].rsplit("/", 1)[-1]
    iam.update_assume_role_policy(
        RoleName=role,
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
                        "Action": "sts:AssumeRole",
                    }
                ],
            }
        ),
    )
    broken: Result = cli("sink", "validate", sink["sid"], "--timeout", "3")
    assert broken.exit_code == 5
    assert "step 3 (find the test event in the stream) failed" in broken.stderr
    assert show(cli, sink["sid"])["status"] == "active"  # the status alone proves nothing


def test_kinesis_sink_from_file_to_active(
    cli: CliRunner, aws_env: str, twilio_env: EventsEmulator, tmp_path: Path
) -> None:
    """The documented flow: `stream create > twilio-sink.json`, `sink create`, `sink validate`."""
    stream: Result = cli("stream", "create", "twilio-events", "1")
    assert stream.exit_code == 0, stream.stderr
    sink_file = tmp_path / "twilio-sink.json"
    sink_file.write_text(stream.stdout, encoding="utf-8")
    config = json.loads(stream.stdout)
    created: Result = cli("sink", "create", "kinesis", "--config", str(sink_file), "--json")
    assert created.exit_code == 0, created.stderr
    sink = created.json()
    assert isinstance(sink, dict)
    assert sink["status"] == "initialized"
    assert sink["sink_type"] == "kinesis"
    assert sink["description"] == "twilio-es kinesis sink for stream twilio-events (us-east-1)"
    assert sink["sink_configuration"]["arn"] == config["arn"]
    assert config["external_id"] not in created.stdout + created.stderr
    assert f"twilio-es sink validate {sink['sid']}" in created.stderr

    validated: Result = cli("sink", "validate", sink["sid"])
    assert validated.exit_code == 0, validated.stderr
    steps = [line for line in validated.stderr.splitlines() if line.startswith("✓ ")]
    assert [s.split()[1] for s in steps] == ["read", "sent", "found", "validated", "sink"]
    assert "✓ read stream twilio-events up to now (0 earlier record(s) skipped)" in steps
    assert "found test event in shard shardId-000000000000" in validated.stderr
    assert steps[-1].endswith("is active")
    assert show(cli, sink["sid"])["status"] == "active"

    again: Result = cli("sink", "validate", sink["sid"], "--json")
    assert again.exit_code == 0
    outcome = again.json()
    assert isinstance(outcome, dict)
    assert (outcome["already_active"], outcome["status"]) == (True, "active")
    assert "delivery works end to end" in outcome["proved"]  # checked again, not skipped

    # Testing an active sink is a delivery check; validate would have nothing to do.
    tested: Result = cli("sink", "test", sink["sid"])
    assert tested.exit_code == 0, tested.stderr
    assert "is already active, so this test only checks delivery" in tested.stderr
    assert f"twilio-es tail {config['arn']} --since 5m" in tested.stderr
    assert "sink validate" not in tested.stderr


def test_kinesis_sink_from_stdin_and_from_flags(
    cli: CliRunner, aws_env: str, twilio_env: EventsEmulator
) -> None:
    config = make_stream_and_role(aws_env, "piped")
    piped: Result = cli(
        "sink",
        "create",
        "kinesis",
        "--config",
        "-",
        "-d",
        "piped",
        "--json",
        stdin=json.dumps(config),
    )
    assert piped.exit_code == 0, piped.stderr
    assert piped.json()["description"] == "piped"
    flags: Result = cli(
        "sink",
        "create",
        "kinesis",
        "--arn",
        config["arn"],
        "--role-arn",
        config["role_arn"],
        "--external-id",
        config["external_id"],
        "--json",
    )
    assert flags.exit_code == 0, flags.stderr
    both = [piped.json(), flags.json()]
    assert [s["sink_configuration"]["role_arn"] for s in both] == [config["role_arn"]] * 2
    assert config["external_id"] not in piped.stdout + flags.stdout + piped.stderr + flags.stderr


def test_validate_reads_every_shard_and_takes_the_newest_test_event(
    cli: CliRunner, aws_env: str, twilio_env: EventsEmulator, tmp_path: Path
) -> None:
    """Four shards; a stale test first (its id is dead after the next Test), then ours."""
    config = make_stream_and_role(aws_env, "multi", shards=4)
    sid = create_kinesis_sink(cli, tmp_path, config)
    twilio_env.emit("com.twilio.messaging.message.sent", 5)  # noise, not subscribed: dropped
    assert cli("sink", "test", sid).exit_code == 0  # a test id that validate must NOT use
    twilio_env.wait_deliveries()  # Test answers at once; its event is in the stream after this

    result: Result = cli("sink", "validate", sid, "--force", "--json")
    assert result.exit_code == 0, result.stderr
    outcome = result.json()
    assert isinstance(outcome, dict)
    assert outcome["status"] == "active"
    assert outcome["shard_id"].startswith("shardId-")
    assert outcome["already_active"] is False


def test_wrong_external_id_fails_at_the_read_step_with_93102_cause(
    cli: CliRunner, aws_env: str, twilio_env: EventsEmulator, tmp_path: Path
) -> None:
    config = make_stream_and_role(aws_env, "wrong-ext")
    sid = create_kinesis_sink(cli, tmp_path, {**config, "external_id": "not-the-roles-id"})

    result: Result = cli("sink", "validate", sid, "--timeout", "5")  # too short to re-test
    assert result.exit_code == 5, result.stderr
    error = next(line for line in result.stderr.splitlines() if line.startswith("error: "))
    assert "step 3 (find the test event in the stream) failed" in error
    assert "✓ sent test event" in result.stderr
    assert "93102" in result.stderr
    assert f"twilio-es doctor --sink {sid}" in result.stderr
    assert "not-the-roles-id" not in result.stderr
    assert [e["code"] for e in twilio_env.debugger_log()] == [93102]


def test_test_events_already_in_the_stream_are_not_taken_for_ours(
    cli: CliRunner, aws_env: str, twilio_env: EventsEmulator, tmp_path: Path
) -> None:
    """A second sink on a stream that already holds a test event (of the first sink)."""
    config = make_stream_and_role(aws_env, "shared")
    good = create_kinesis_sink(cli, tmp_path, config)
    assert cli("sink", "validate", good).exit_code == 0
    bad = create_kinesis_sink(cli, tmp_path, {**config, "external_id": "typo"})

    result: Result = cli("sink", "validate", bad, "--timeout", "5")
    assert result.exit_code == 5, result.stderr
    assert "(1 earlier record(s) skipped)" in result.stderr
    assert "error: step 3 (find the test event in the stream) failed" in result.stderr
    assert "93102" in result.stderr
    assert show(cli, good)["status"] == "active"


def test_a_stream_we_cannot_read_fails_step_1_before_any_test(
    cli: CliRunner, aws_env: str, twilio_env: EventsEmulator, tmp_path: Path
) -> None:
    config = make_stream_and_role(aws_env, "exists")
    missing = config["arn"].replace("stream/exists", "stream/deleted-meanwhile")
    sid = create_kinesis_sink(cli, tmp_path, {**config, "arn": missing})
    result: Result = cli("sink", "validate", sid, "--timeout", "5")
    assert result.exit_code == 5, result.stderr
    assert "error: step 1 (read the stream) failed" in result.stderr
    assert "account 123456789012: use credentials for it (--profile)" in result.stderr
    assert "93104" in result.stderr
    assert "sent test event" not in result.stderr
    assert show(cli, sid)["status"] == "initialized"  # no Test was sent


def test_a_test_the_sink_failed_to_receive_is_sent_again(
    aws_env: str, twilio_env: EventsEmulator
) -> None:
    """IAM propagation: the role is not assumable at the first test, it is by the second."""
    from twilio_es_cli.aws import AwsClients
    from twilio_es_cli.config import resolve_settings
    from twilio_es_cli.models import KinesisSinkConfig, StreamRef
    from twilio_es_cli.sink_validation import RETEST_PAUSE, Validator
    from twilio_es_cli.sinks import SinkService
    from twilio_es_cli.tail.reader import stream_reader
    from twilio_es_cli.twilio_api import make_client

    config = make_stream_and_role(aws_env, "young", external_id="not-yet-propagated")
    settings = resolve_settings()
    service = SinkService(make_client(settings))
    sink = service.create(KinesisSinkConfig(**{**config, "external_id": "the-real-id"}))
    iam: Any = boto_client("iam", aws_env)
    notes = progress.Collect()

    def sleep(seconds: float) -> None:
        if seconds == RETEST_PAUSE:  # meanwhile the trust policy "propagates"
            policy = iam.get_role(RoleName="young-writer")["Role"]["AssumeRolePolicyDocument"]
            text = json.dumps(policy).replace("not-yet-propagated", "the-real-id")
            iam.update_assume_role_policy(RoleName="young-writer", PolicyDocument=text)
        else:
            time.sleep(seconds)

    stream = StreamRef.parse(config["arn"])
    assert stream is not None
    read = stream_reader(AwsClients(settings).kinesis(), config["arn"])
    outcome = Validator(service, notes, sleep=sleep).kinesis(sink, stream, read, timeout=30)
    assert outcome.status == "active"
    assert any(
        "the sink failed to receive it" in n and "sending test 2 of 3" in n for n in notes.notes
    )
    assert [e["code"] for e in twilio_env.debugger_log()] == [93102]


def test_event_that_never_arrives_times_out_with_the_likely_causes(
    aws_env: str, twilio_env: EventsEmulator, tmp_path: Path
) -> None:
    """The Test lands in the sink's stream, but we read another (empty) one: nothing arrives."""
    from twilio_es_cli.aws import AwsClients
    from twilio_es_cli.config import resolve_settings
    from twilio_es_cli.errors import CheckFailed
    from twilio_es_cli.models import KinesisSinkConfig, Sink, StreamRef
    from twilio_es_cli.sink_validation import Validator
    from twilio_es_cli.sinks import SinkService
    from twilio_es_cli.tail.reader import stream_reader
    from twilio_es_cli.twilio_api import make_client

    written = make_stream_and_role(aws_env, "written")
    elsewhere = make_stream_and_role(aws_env, "elsewhere")
    settings = resolve_settings()
    service = SinkService(make_client(settings))
    sink: Sink = service.create(KinesisSinkConfig(**written))
    report = progress.Collect()

    read = stream_reader(AwsClients(settings).kinesis(), elsewhere["arn"])
    stream = StreamRef.parse(written["arn"])
    assert stream is not None
    with pytest.raises(CheckFailed) as info:
        Validator(service, report).kinesis(sink, stream, read, timeout=2)
    assert "no com.twilio.eventstreams.test-event arrived in stream written within 2 s" in (
        info.value.message
    )
    assert info.value.hint is not None
    assert "93102" in info.value.hint and "93104" in info.value.hint
    assert report.steps[1:] == [f"sent test event to sink {sink.sid} (submitted)"]
    assert service.get(sink.sid).status == "validating"


def test_a_test_sent_meanwhile_fails_the_validate_step(
    aws_env: str, twilio_env: EventsEmulator
) -> None:
    """Someone sends another Test while we read: our test id is dead, step 3 says why."""
    from twilio_es_cli.aws import AwsClients
    from twilio_es_cli.config import resolve_settings
    from twilio_es_cli.errors import CheckFailed
    from twilio_es_cli.models import KinesisSinkConfig, StreamRef
    from twilio_es_cli.sink_validation import Validator
    from twilio_es_cli.sinks import SinkService
    from twilio_es_cli.tail.reader import stream_reader
    from twilio_es_cli.twilio_api import make_client

    config = make_stream_and_role(aws_env, "raced")
    settings = resolve_settings()
    service = SinkService(make_client(settings))
    sink = service.create(KinesisSinkConfig(**config))
    real = stream_reader(AwsClients(settings).kinesis(), config["arn"])

    def racing(start: Any, deadline: float, checkpoint: Any) -> list[Any]:
        records = list(real(start, deadline, checkpoint))
        if records:
            service.test(sink.sid)  # another user's Test, after we read ours
        return records

    stream = StreamRef.parse(config["arn"])
    assert stream is not None
    with pytest.raises(CheckFailed) as info:
        Validator(service, progress.Collect()).kinesis(sink, stream, racing, timeout=10)
    assert info.value.message.startswith("step 4 (validate) failed: Twilio refused")
    assert info.value.hint is not None and "--force" in info.value.hint


def test_validate_with_a_wrong_test_id_is_a_failed_check(
    cli: CliRunner, aws_env: str, twilio_env: EventsEmulator, tmp_path: Path
) -> None:
    config = make_stream_and_role(aws_env, "wrong-id")
    sid = create_kinesis_sink(cli, tmp_path, config)
    assert cli("sink", "test", sid).exit_code == 0
    result: Result = cli("sink", "validate", sid, "--test-id", "not-the-test-id")
    assert result.exit_code == 5, result.stderr
    assert "TestId not-the-test-id does not match" in result.stderr
    assert "NEWEST test event" in result.stderr
    assert show(cli, sid)["status"] == "validating"


def test_sink_test_says_what_to_do_next(
    cli: CliRunner, aws_env: str, twilio_env: EventsEmulator, tmp_path: Path
) -> None:
    config = make_stream_and_role(aws_env, "tested")
    sid = create_kinesis_sink(cli, tmp_path, config)
    result: Result = cli("sink", "test", sid, "--json")
    assert result.exit_code == 0, result.stderr
    assert result.json() == {"sid": sid, "result": "submitted"}
    assert f"twilio-es sink validate {sid}" in result.stderr
    twilio_env.wait_deliveries()  # Test answers at once and delivers after, as Twilio does
    # the event really is in the stream, readable with the user's credentials
    kinesis = boto_client("kinesis", aws_env)
    it = kinesis.get_shard_iterator(
        StreamName="tested", ShardId="shardId-000000000000", ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    events = [json.loads(r["Data"]) for r in kinesis.get_records(ShardIterator=it)["Records"]]
    assert [e["type"] for e in events] == ["com.twilio.eventstreams.test-event"]


# -- webhook sinks ----------------------------------------------------------------------------


class _Receiver(BaseHTTPRequestHandler):
    bodies: ClassVar[list[Any]] = []

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        type(self).bodies.append(json.loads(self.rfile.read(length)))
        self.send_response(200)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def sink_webhook_receiver() -> Iterator[tuple[str, list[Any]]]:
    """A local endpoint for webhook sinks: (URL, the JSON bodies it received)."""
    _Receiver.bodies = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/events", _Receiver.bodies
    server.shutdown()
    server.server_close()


def test_webhook_sink_validated_with_the_test_id_read_at_the_receiver(
    cli: CliRunner, twilio_env: EventsEmulator, sink_webhook_receiver: tuple[str, list[Any]]
) -> None:
    url, bodies = sink_webhook_receiver
    created: Result = cli("sink", "create", "webhook", "--destination", url, "--json")
    assert created.exit_code == 0, created.stderr
    sink = created.json()
    assert isinstance(sink, dict)
    sid = sink["sid"]
    assert sink["sink_configuration"] == {
        "destination": url,
        "method": "POST",
        "batch_events": False,
    }
    assert sink["description"] == "twilio-es webhook sink to 127.0.0.1"

    forced: Result = cli("sink", "validate", sid, "--force")
    assert forced.exit_code == 2
    assert f"its test event is sent to {url}" in forced.stderr
    assert "--test-id" in forced.stderr

    tested: Result = cli("sink", "test", sid)
    assert tested.exit_code == 0, tested.stderr
    assert f"this test only checks delivery: it goes to {url}" in tested.stderr
    twilio_env.wait_deliveries()
    assert len(bodies) == 1
    assert bodies[0]["type"] == "com.twilio.eventstreams.test-event"
    test_id = json.loads(bodies[0]["data"])["test_id"]

    result: Result = cli("sink", "validate", sid, "--test-id", test_id)
    assert result.exit_code == 0, result.stderr
    assert f"✓ validated sink {sid} with test id {test_id}" in result.stderr
    assert "active" in result.stdout


# -- list / show / update / delete and error paths ------------------------------------------


def test_list_filters_and_redaction(
    cli: CliRunner, aws_env: str, twilio_env: EventsEmulator, tmp_path: Path
) -> None:
    config = make_stream_and_role(aws_env, "listed")
    kinesis_sid = create_kinesis_sink(cli, tmp_path, config)
    web: Result = cli(
        "sink", "create", "webhook", "--destination", "https://example.com/x", "--json"
    )
    web_sid = web.json()["sid"]
    segment: Result = cli(
        "sink", "create", "segment", "--write-key", "SEGMENT-SECRET-KEY-123", "--json"
    )
    segment_sid = segment.json()["sid"]
    assert "SEGMENT-SECRET-KEY-123" not in segment.stdout

    def sids(*args: str) -> set[str]:
        result: Result = cli("sink", "list", *args, "--json")
        assert result.exit_code == 0, result.stderr
        data = result.json()
        assert isinstance(data, list)
        return {s["sid"] for s in data}

    assert sids() == {kinesis_sid, web_sid, segment_sid}
    assert sids("--status", "initialized") == {kinesis_sid, segment_sid}
    assert sids("--status", "ACTIVE") == {web_sid}
    assert sids("--status", "failed") == set()
    assert sids("--not-in-use") == {kinesis_sid, web_sid, segment_sid}
    assert sids("--in-use") == set()

    subscription = twilio_env.service.create_subscription(
        "uses the webhook", web_sid, ['{"type": "com.twilio.messaging.message.sent"}']
    )
    assert subscription.sid.startswith("DF")
    assert sids("--in-use") == {web_sid}
    assert sids("--not-in-use", "--status", "initialized") == {kinesis_sid, segment_sid}

    table: Result = cli("sink", "list")
    assert table.exit_code == 0
    for sid in (kinesis_sid, web_sid, segment_sid):
        assert sid in table.stdout
    assert "listed" in table.stdout and "https://example.com/x" in table.stdout
    everything = table.stdout + cli("sink", "list", "--json").stdout
    assert config["external_id"] not in everything
    assert "SEGMENT-SECRET-KEY-123" not in everything
    assert config["external_id"] in cli("sink", "list", "--show-secrets", "--json").stdout

    segment_validate: Result = cli("sink", "validate", segment_sid)
    assert segment_validate.exit_code == 2
    assert "segment sink: twilio-es cannot read its test event" in segment_validate.stderr
    assert "--test-id" in segment_validate.stderr

    in_use_delete: Result = cli("sink", "delete", web_sid, "--yes")
    assert in_use_delete.exit_code == 1
    assert "in use by subscription" in in_use_delete.stderr


def test_show_update_delete(
    cli: CliRunner, aws_env: str, twilio_env: EventsEmulator, tmp_path: Path
) -> None:
    config = make_stream_and_role(aws_env, "shown")
    sid = create_kinesis_sink(cli, tmp_path, config)

    people: Result = cli("sink", "show", sid)
    assert people.exit_code == 0
    assert sid in people.stdout and config["role_arn"] in people.stdout
    assert "config.external_id" in people.stdout
    assert config["external_id"] not in people.stdout + people.stderr
    assert config["external_id"] not in cli("sink", "show", sid, "--json").stdout
    secret = cli("sink", "show", sid, "--json", "--show-secrets")
    assert secret.json()["sink_configuration"]["external_id"] == config["external_id"]
    assert config["external_id"] in cli("sink", "show", sid, "--show-secrets").stdout

    updated: Result = cli("sink", "update", sid, "--description", "prod events", "--json")
    assert updated.exit_code == 0, updated.stderr
    assert updated.json()["description"] == "prod events"
    assert show(cli, sid)["description"] == "prod events"

    refused: Result = cli("sink", "delete", sid)  # stdin is not a terminal, no --yes
    assert refused.exit_code == 2
    assert "--yes" in refused.stderr
    assert show(cli, sid)["sid"] == sid

    deleted: Result = cli("sink", "delete", sid, "--yes")
    assert deleted.exit_code == 0, deleted.stderr
    assert f"deleted sink {sid}" in deleted.stderr
    gone: Result = cli("sink", "show", sid)
    assert gone.exit_code == 4
    assert gone.stderr.startswith(f"error: Sink {sid} does not exist")


@pytest.mark.parametrize(
    "argv",
    [
        ["sink", "show", "DG" + "a" * 32],
        ["sink", "update", "DG" + "a" * 32, "--description", "x"],
        ["sink", "delete", "DG" + "a" * 32, "--yes"],
        ["sink", "test", "DG" + "a" * 32],
        ["sink", "validate", "DG" + "a" * 32],
        ["sink", "validate", "DG" + "a" * 32, "--test-id", "abc"],
    ],
    ids=lambda v: " ".join(v[:2] + v[3:]),
)
def test_unknown_sink_is_exit_4(
    cli: CliRunner, twilio_env: EventsEmulator, argv: list[str]
) -> None:
    result: Result = cli(*argv)
    assert result.exit_code == 4, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith(f"error: Sink {'DG' + 'a' * 32} does not exist\n")
    assert "hint: See your sinks with `twilio-es sink list`." in result.stderr


def test_bad_credentials_are_exit_3_with_a_hint(
    cli: CliRunner, twilio_env: EventsEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "wrong-token")
    for argv in (
        ["sink", "list"],
        ["sink", "create", "webhook", "--destination", "https://example.com/"],
        ["sink", "validate", "DG" + "a" * 32],
    ):
        result: Result = cli(*argv)
        assert result.exit_code == 3, result.stderr
        assert "20003" in result.stderr
        assert "hint: Check TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN" in result.stderr


def test_region_of_the_stream_arn_wins_and_is_announced(
    cli: CliRunner,
    aws_env: str,
    twilio_env: EventsEmulator,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The user's region is eu-west-1, the stream lives in us-east-1: read it there, and say so."""
    config = make_stream_and_role(aws_env, "regional")
    sid = create_kinesis_sink(cli, tmp_path, config)
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    result: Result = cli("sink", "validate", sid)
    assert result.exit_code == 0, result.stderr
    assert f"in {REGION} (from the sink's ARN), not in your configured region eu-west-1" in (
        result.stderr
    )
