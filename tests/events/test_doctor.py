"""`twilio-es doctor` on moto (stream, role, policies) + the Events emulator (the sink).

Each test builds a working Kinesis sink the way Twilio needs it (stream, role trusting
Twilio's principal with the external id, put/list permissions), validates it for real (Test ->
read the stream -> Validate), then breaks one thing the way users do and checks that doctor
names it with the right 931xx code and exits 5. Where the emulator can reproduce the failure,
the Debugger code it records for a real delivery must equal the one doctor reported.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest

from tests.conftest import Result, boto_client, events_client, wait_active
from tests.fixture_types import CliRunner, EventsEmulator
from twilio_es_cli import iam as iamdoc

if TYPE_CHECKING:
    from mypy_boto3_iam.type_defs import TagTypeDef
    from mypy_boto3_kinesis import KinesisClient

TWILIO = "arn:aws:iam::177261743968:root"
DELIVERED = "com.twilio.messaging.message.delivered"


@dataclass
class Setup:
    stream: str
    stream_arn: str
    role_name: str
    role_arn: str
    external_id: str
    sink: str


def trust(principal: str, external_id: str) -> str:
    """The trust policy `stream create` writes (iam.trust_policy), as IAM takes it."""
    return json.dumps(iamdoc.trust_policy(principal, external_id))


def permissions(stream_arn: str, *, without: str | None = None) -> str:
    """Twilio's documented permissions (iam.permissions_policy), less one action if asked."""
    document = iamdoc.permissions_policy(stream_arn)
    for statement in document["Statement"]:
        statement["Action"] = [a for a in statement["Action"] if a != without]
    return json.dumps(document)


def build(aws_url: str, *, path: str = "/", tag: bool = False, validate: bool = True) -> Setup:
    """Stream + role + policy in moto, a kinesis sink in the emulator, validated to active."""
    kinesis = boto_client("kinesis", aws_url)
    iam = boto_client("iam", aws_url)
    name = f"doc-{uuid.uuid4().hex[:10]}"
    kinesis.create_stream(StreamName=name, ShardCount=1)
    wait_active(kinesis, name)
    stream_arn = kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"][
        "StreamARN"
    ]
    external_id = uuid.uuid4().hex + uuid.uuid4().hex
    tags: list[TagTypeDef] = [{"Key": "twilio-es:stream", "Value": stream_arn}] if tag else []
    role = iam.create_role(
        RoleName=f"role-{name}",
        Path=path,
        AssumeRolePolicyDocument=trust(TWILIO, external_id),
        Tags=tags,
    )["Role"]
    iam.put_role_policy(
        RoleName=role["RoleName"],
        PolicyName="twilio-put",
        PolicyDocument=permissions(stream_arn),
    )
    sink = events_client().events.v1.sinks.create(
        description="doctor test",
        sink_configuration={
            "arn": stream_arn,
            "role_arn": role["Arn"],
            "external_id": external_id,
        },
        sink_type="kinesis",
    )
    setup = Setup(name, stream_arn, role["RoleName"], role["Arn"], external_id, str(sink.sid))
    if validate:
        _validate(kinesis, setup)
    return setup


def _validate(kinesis: KinesisClient, setup: Setup) -> None:
    """What `sink validate` does, by hand: Test, read the test id out of the stream, Validate."""
    client = events_client()
    client.events.v1.sinks(setup.sink).sink_test.create()
    shard = kinesis.list_shards(StreamName=setup.stream)["Shards"][0]["ShardId"]
    records: list[Any] = []
    for _ in range(200):  # Test answers at once and delivers in the background, as Twilio does
        iterator = kinesis.get_shard_iterator(
            StreamName=setup.stream, ShardId=shard, ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        records = list(kinesis.get_records(ShardIterator=iterator)["Records"])
        if records:
            break
        time.sleep(0.05)
    event = json.loads(records[-1]["Data"])
    assert event["type"] == "com.twilio.eventstreams.test-event"
    data = event["data"] if isinstance(event["data"], dict) else json.loads(event["data"])
    client.events.v1.sinks(setup.sink).sink_validate.create(test_id=data["test_id"])
    assert client.events.v1.sinks(setup.sink).fetch().status == "active"
    client.events.v1.subscriptions.create(
        description="doctor test",
        sink_sid=setup.sink,
        types=[{"type": DELIVERED, "schema_version": 4}],
    )


def checks(result: Result) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in result.json()["checks"]}


def failing(result: Result) -> list[dict[str, Any]]:
    return [c for c in result.json()["checks"] if c["status"] == "fail"]


def debugger_code_after_emit(emulator: EventsEmulator) -> int:
    before = len(emulator.debugger_log())
    emulator.emit(DELIVERED, 1)
    log = emulator.debugger_log()
    assert len(log) == before + 1, log
    return int(log[-1]["code"])


def assert_no_secret(result: Result, setup: Setup) -> None:
    assert setup.external_id not in result.stdout
    assert setup.external_id not in result.stderr


def test_all_good(aws_env: str, twilio_env: EventsEmulator, cli: CliRunner) -> None:
    setup = build(aws_env)
    result = cli("doctor", "--sink", setup.sink, "--json")
    assert result.exit_code == 0, result.stdout + result.stderr
    found = checks(result)
    assert result.json()["ok"] is True
    assert all(c["status"] == "ok" for c in found.values()), found
    assert found["trust external id matches the sink"]["detail"] == "matches"
    for name in (
        "Twilio credentials",
        "AWS credentials",
        "stream exists and is ACTIVE",
        "role exists",
        "trust principal is Twilio's",
        "role may put records",
        "role may list shards and limits",
        "sink is active",
    ):
        assert name in found
    assert_no_secret(result, setup)
    human = cli("doctor", "--sink", setup.sink)
    assert human.exit_code == 0
    assert "All checks passed" in human.stderr
    assert_no_secret(human, setup)


def _wrong_principal(aws_url: str, setup: Setup) -> None:
    iam = boto_client("iam", aws_url)
    iam.update_assume_role_policy(
        RoleName=setup.role_name,
        PolicyDocument=trust("arn:aws:iam::999999999999:root", setup.external_id),
    )


def _delete_stream(aws_url: str, setup: Setup) -> None:
    kinesis = boto_client("kinesis", aws_url)
    kinesis.delete_stream(StreamName=setup.stream, EnforceConsumerDeletion=True)


def _delete_role(aws_url: str, setup: Setup) -> None:
    iam = boto_client("iam", aws_url)
    iam.delete_role_policy(RoleName=setup.role_name, PolicyName="twilio-put")
    iam.delete_role(RoleName=setup.role_name)


def _without(action: str) -> Callable[[str, Setup], None]:
    def breaks(aws_url: str, setup: Setup) -> None:
        iam = boto_client("iam", aws_url)
        iam.put_role_policy(
            RoleName=setup.role_name,
            PolicyName="twilio-put",
            PolicyDocument=permissions(setup.stream_arn, without=action),
        )

    return breaks


@dataclass(frozen=True)
class Breakage:
    """One thing broken the way users break it, and what doctor must say about it."""

    breaks: Callable[[str, Setup], None]
    check: str
    code: int
    detail: str  # in the failing check's detail
    fix: str  # in its fix
    # The emulator reproduces it on a real delivery (moto does not enforce IAM policies, so a
    # missing permission still delivers there).
    delivered: bool


BREAKAGES = {
    "principal-93102": Breakage(
        _wrong_principal, "trust principal is Twilio's", 93102, "999999999999", TWILIO, True
    ),
    "stream-93104": Breakage(
        _delete_stream,
        "stream exists and is ACTIVE",
        93104,
        "drops the events",
        "stream create",
        True,
    ),
    "put-93101": Breakage(
        _without("kinesis:PutRecords"),
        "role may put records",
        93101,
        "kinesis:PutRecords",
        "kinesis:PutRecords",
        False,
    ),
    "discovery-93103": Breakage(
        _without("kinesis:DescribeLimits"),
        "role may list shards and limits",
        93103,
        "kinesis:DescribeLimits",
        "kinesis:DescribeLimits",
        False,
    ),
    "role-93102": Breakage(
        _delete_role, "role exists", 93102, "does not exist", "stream create", True
    ),
}


@pytest.mark.parametrize("breakage", BREAKAGES.values(), ids=list(BREAKAGES))
def test_one_broken_thing_is_named_with_its_code(
    aws_env: str, twilio_env: EventsEmulator, cli: CliRunner, breakage: Breakage
) -> None:
    setup = build(aws_env)
    breakage.breaks(aws_env, setup)
    result = cli("doctor", "--sink", setup.sink, "--json")
    assert result.exit_code == 5
    [problem] = failing(result)
    assert (problem["name"], problem["code"]) == (breakage.check, breakage.code)
    assert breakage.detail in problem["detail"]
    assert breakage.fix in problem["fix"]
    assert_no_secret(result, setup)
    if breakage.delivered:
        assert debugger_code_after_emit(twilio_env) == breakage.code


def test_wrong_external_id_says_differs_without_showing_it(
    aws_env: str, twilio_env: EventsEmulator, cli: CliRunner
) -> None:
    setup = build(aws_env)
    other = "f" * 80
    iam = boto_client("iam", aws_env)
    iam.update_assume_role_policy(RoleName=setup.role_name, PolicyDocument=trust(TWILIO, other))
    result = cli("doctor", "--sink", setup.sink, "--json")
    assert result.exit_code == 5
    [problem] = failing(result)
    assert problem["name"] == "trust external id matches the sink"
    assert problem["code"] == 93102
    assert problem["detail"].startswith("differs")
    assert other not in result.stdout
    assert_no_secret(result, setup)
    human = cli("doctor", "--sink", setup.sink)
    assert human.exit_code == 5
    assert "93102" in human.stdout
    assert "Twilio error 93102" in human.stderr
    assert other not in human.stdout + human.stderr
    assert_no_secret(human, setup)
    assert debugger_code_after_emit(twilio_env) == 93102


def test_stream_in_another_region_is_93104(
    aws_env: str, twilio_env: EventsEmulator, cli: CliRunner
) -> None:
    twilio_env.legacy_validation = True  # the old flow: kinesis/segment sinks start inactive
    # The sink's ARN names eu-west-1, where no such stream exists: doctor looks there.
    setup = build(aws_env, validate=False)
    wrong_arn = setup.stream_arn.replace("us-east-1", "eu-west-1")
    sink = events_client().events.v1.sinks.create(
        description="wrong region",
        sink_configuration={
            "arn": wrong_arn,
            "role_arn": setup.role_arn,
            "external_id": setup.external_id,
        },
        sink_type="kinesis",
    )
    result = cli("doctor", "--sink", str(sink.sid), "--json")
    assert result.exit_code == 5
    found = checks(result)
    stream = found["stream exists and is ACTIVE"]
    assert stream["status"] == "fail"
    assert stream["code"] == 93104
    assert "eu-west-1" in stream["detail"]
    assert found["sink is active"]["status"] == "fail"
    assert f"twilio-es sink validate {sink.sid}" in found["sink is active"]["fix"]


def test_attached_managed_policy_counts(
    aws_env: str, twilio_env: EventsEmulator, cli: CliRunner
) -> None:
    setup = build(aws_env)
    iam = boto_client("iam", aws_env)
    iam.delete_role_policy(RoleName=setup.role_name, PolicyName="twilio-put")
    missing = cli("doctor", "--sink", setup.sink, "--json")
    assert {c["code"] for c in failing(missing)} == {93101, 93103}
    policy = iam.create_policy(
        PolicyName=f"managed-{setup.stream}",
        PolicyDocument=permissions("arn:aws:kinesis:*:*:stream/*"),
    )["Policy"]
    iam.attach_role_policy(RoleName=setup.role_name, PolicyArn=policy["Arn"])
    result = cli("doctor", "--sink", setup.sink, "--json")
    assert result.exit_code == 0, failing(result)


def test_stream_mode_finds_the_tagged_role(
    aws_env: str, twilio_env: EventsEmulator, cli: CliRunner
) -> None:
    setup = build(aws_env, path="/twilio-es/", tag=True, validate=False)
    result = cli("doctor", "--stream", setup.stream, "--json")
    assert result.exit_code == 0, failing(result)
    found = checks(result)
    assert found["role exists"]["detail"] == setup.role_arn
    assert found["trust requires an external id"]["status"] == "ok"
    missing = cli("doctor", "--stream", "no-such-stream", "--json")
    assert missing.exit_code == 5
    assert failing(missing)[0]["code"] == 93104


def test_stream_mode_with_role_arn_and_untagged_role(
    aws_env: str, twilio_env: EventsEmulator, cli: CliRunner
) -> None:
    setup = build(aws_env, validate=False)
    unfound = cli("doctor", "--stream", setup.stream, "--json")
    assert unfound.exit_code == 5
    assert "--role-arn" in failing(unfound)[0]["fix"]
    given = cli("doctor", "--stream", setup.stream, "--role-arn", setup.role_arn, "--json")
    assert given.exit_code == 0, failing(given)


def test_no_options_lists_sinks_with_status(
    aws_env: str, twilio_env: EventsEmulator, cli: CliRunner
) -> None:
    twilio_env.legacy_validation = True  # the old flow: kinesis/segment sinks start inactive
    setup = build(aws_env, validate=False)
    result = cli("doctor", "--json")
    assert result.exit_code == 0, result.stderr
    data = result.json()
    names = [c["name"] for c in data["checks"]]
    assert names == ["Twilio credentials", "AWS credentials", "sinks are active"]
    assert [(s["sid"], s["status"]) for s in data["sinks"]] == [(setup.sink, "initialized")]
    # an idle sink is a warning (exit 0) that points at the per-sink diagnosis, never "all passed"
    idle = data["checks"][-1]
    assert idle["status"] == "warn"
    assert f"{setup.sink} is initialized" in idle["detail"]
    assert f"twilio-es doctor --sink {setup.sink}" in idle["fix"]
    human = cli("doctor")
    assert human.exit_code == 0, human.stderr
    assert setup.sink in human.stdout and "initialized" in human.stdout
    assert "All checks passed" not in human.stderr
    assert "1 warning(s)" in human.stderr


def test_no_options_with_every_sink_active_passes(
    aws_env: str, twilio_env: EventsEmulator, cli: CliRunner
) -> None:
    build(aws_env)
    result = cli("doctor")
    assert result.exit_code == 0, result.stderr
    assert "All checks passed" in result.stderr
    assert checks(cli("doctor", "--json"))["sinks are active"]["status"] == "ok"


def test_bad_credentials_and_options(
    aws_env: str, twilio_env: EventsEmulator, cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert cli("doctor", "--sink", "DG" + "0" * 32, "--stream", "x").exit_code == 2
    assert cli("doctor", "--role-arn", "arn:aws:iam::123456789012:role/x").exit_code == 2
    assert cli("doctor", "--sink", "nope").exit_code == 2
    missing = cli("doctor", "--sink", "DG" + "0" * 32, "--json")
    assert missing.exit_code == 5
    assert failing(missing)[0]["name"] == "sink exists"
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "wrong")
    result = cli("doctor", "--json")
    assert result.exit_code == 5
    [problem] = failing(result)
    assert problem["name"] == "Twilio credentials"
    assert "TWILIO_AUTH_TOKEN" in (problem["fix"] or "")


def test_missing_aws_credentials_skip_the_aws_checks(
    aws_env: str, twilio_env: EventsEmulator, cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    setup = build(aws_env, validate=False)
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    result = cli("doctor", "--sink", setup.sink, "--json")
    assert result.exit_code == 5
    found = checks(result)
    assert found["AWS credentials"]["status"] == "fail"
    assert "No AWS credentials were found" in found["AWS credentials"]["detail"]
    assert found["stream exists and is ACTIVE"]["status"] == "skip"
    assert found["Twilio credentials"]["status"] == "ok"
    assert "Traceback" not in result.stderr


def test_inactive_segment_sink_fix_asks_for_the_test_id(
    twilio_env: EventsEmulator, cli: CliRunner
) -> None:
    """twilio-es cannot read a segment sink's test event: the fix must not be a bare validate."""
    twilio_env.legacy_validation = True  # the old flow: kinesis/segment sinks start inactive
    sink = events_client().events.v1.sinks.create(
        description="segment", sink_configuration={"write_key": "k" * 12}, sink_type="segment"
    )
    result = cli("doctor", "--sink", sink.sid, "--json")
    assert result.exit_code == 5, result.stderr
    fix = checks(result)["sink is active"]["fix"]
    assert fix.endswith(f"twilio-es sink validate {sink.sid} --test-id ID")
    assert fix.startswith(f"twilio-es sink test {sink.sid}")
