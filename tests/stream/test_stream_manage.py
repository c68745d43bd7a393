"""`stream scale/describe/list/delete`, bad input and missing configuration, on moto over HTTP."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest

from tests.fixture_types import CliRunner

if TYPE_CHECKING:
    from mypy_boto3_iam import IAMClient
    from mypy_boto3_kinesis import KinesisClient

ROLE = "twilio-es-twilio-events-us-east-1"


def _create(cli: CliRunner, *args: str) -> dict[str, str]:
    result = cli("stream", "create", *args)
    assert result.exit_code == 0, result.stderr
    config = result.json()
    assert isinstance(config, dict)
    return config


def _open_shards(kinesis_client: KinesisClient, name: str) -> int:
    summary = kinesis_client.describe_stream_summary(StreamName=name)
    return int(summary["StreamDescriptionSummary"]["OpenShardCount"])


# --------------------------------------------------------------------------- scale


def test_scale_waits_and_prints_old_to_new(cli: CliRunner, kinesis_client: KinesisClient) -> None:
    _create(cli, "twilio-events", "2")
    result = cli("stream", "scale", "twilio-events", "4")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip() == "twilio-events: 2 -> 4 shards (ACTIVE)"
    assert _open_shards(kinesis_client, "twilio-events") == 4
    down = cli("stream", "scale", "twilio-events", "2", "--json")
    assert down.exit_code == 0, down.stderr
    assert down.json() == {"stream": "twilio-events", "old": 4, "new": 2, "status": "ACTIVE"}


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("5", "AWS allows 1 to 4"),
    ],
)
def test_scale_guard_rail_refuses_before_calling_aws(
    cli: CliRunner, kinesis_client: KinesisClient, target: str, message: str
) -> None:
    _create(cli, "twilio-events", "2")
    result = cli("stream", "scale", "twilio-events", target)
    assert result.exit_code == 2
    assert message in result.stderr
    assert _open_shards(kinesis_client, "twilio-events") == 2


def test_scale_to_the_current_count_is_a_no_op_that_says_so(
    cli: CliRunner, kinesis_client: KinesisClient
) -> None:
    _create(cli, "twilio-events", "2")
    result = cli("stream", "scale", "twilio-events", "2")
    assert result.exit_code == 0, result.stderr
    assert "already has 2 open shard(s); nothing to change" in result.stderr
    assert result.stdout.strip() == "twilio-events: 2 -> 2 shards (ACTIVE)"
    as_json = cli("stream", "scale", "twilio-events", "2", "--json")
    assert as_json.json() == {"stream": "twilio-events", "old": 2, "new": 2, "status": "ACTIVE"}
    assert _open_shards(kinesis_client, "twilio-events") == 2


def test_scale_guard_rail_lower_bound(cli: CliRunner, kinesis_client: KinesisClient) -> None:
    _create(cli, "twilio-events", "5")
    result = cli("stream", "scale", "twilio-events", "2")
    assert result.exit_code == 2
    assert "AWS allows 3 to 10" in result.stderr
    assert _open_shards(kinesis_client, "twilio-events") == 5


def test_scale_missing_and_on_demand_streams(cli: CliRunner, kinesis_client: KinesisClient) -> None:
    missing = cli("stream", "scale", "nope", "2")
    assert missing.exit_code == 4
    assert "stream nope does not exist in us-east-1" in missing.stderr
    kinesis_client.create_stream(StreamName="od", StreamModeDetails={"StreamMode": "ON_DEMAND"})
    on_demand = cli("stream", "scale", "od", "2")
    assert on_demand.exit_code == 2
    assert "on-demand" in on_demand.stderr


# --------------------------------------------------------------------------- describe / list


def test_describe_shows_stream_and_role_but_hides_the_external_id(
    cli: CliRunner, kinesis_client: KinesisClient
) -> None:
    config = _create(cli, "twilio-events", "1", "--retention-hours", "36")
    result = cli("stream", "describe", "twilio-events", "--json")
    assert result.exit_code == 0, result.stderr
    view = result.json()
    assert isinstance(view, dict)
    assert {k: view[k] for k in ("name", "arn", "status", "mode", "retention_hours")} == {
        "name": "twilio-events",
        "arn": config["arn"],
        "status": "ACTIVE",
        "mode": "PROVISIONED",
        "retention_hours": 36,
    }
    assert (view["open_shards"], view["closed_shards"]) == (1, 0)
    assert view["role"]["arn"] == config["role_arn"]
    assert view["role"]["principals"] == ["arn:aws:iam::177261743968:root"]
    assert view["role"]["external_id_set"] is True
    assert config["external_id"] not in result.stdout + result.stderr

    table = cli("stream", "describe", "twilio-events")
    assert table.exit_code == 0
    assert "PROVISIONED" in table.stdout and "hidden" in table.stdout
    assert config["external_id"] not in table.stdout + table.stderr

    secret = cli("stream", "describe", "twilio-events", "--json", "--show-secrets").json()
    assert isinstance(secret, dict)
    assert secret["role"]["external_id"] == config["external_id"]


def test_describe_finds_a_custom_named_role_and_reports_none(
    cli: CliRunner, kinesis_client: KinesisClient
) -> None:
    _create(cli, "twilio-events", "1", "--role-name", "custom-sink-role")
    view = cli("stream", "describe", "twilio-events", "--json").json()
    assert isinstance(view, dict)
    assert view["role"]["name"] == "custom-sink-role"

    kinesis_client.create_stream(StreamName="bare", ShardCount=1)
    bare = cli("stream", "describe", "bare")
    assert bare.exit_code == 0
    assert "none made by twilio-es found" in bare.stdout
    assert cli("stream", "describe", "bare", "--json").json()["role"] is None
    assert cli("stream", "describe", "missing").exit_code == 4


def test_list_shows_every_stream(cli: CliRunner, kinesis_client: KinesisClient) -> None:
    empty = cli("stream", "list", "--json")
    assert empty.exit_code == 0 and empty.json() == []
    _create(cli, "twilio-events", "2")
    kinesis_client.create_stream(StreamName="other", StreamModeDetails={"StreamMode": "ON_DEMAND"})
    rows = cli("stream", "list", "--json").json()
    assert isinstance(rows, list)
    assert [(r["name"], r["status"], r["mode"], r["open_shards"]) for r in rows] == [
        ("other", "ACTIVE", "ON_DEMAND", None),
        ("twilio-events", "ACTIVE", "PROVISIONED", None),
    ]
    assert rows[1]["arn"].endswith(":stream/twilio-events")
    assert rows[1]["created"].startswith("20")
    with_shards = cli("stream", "list", "--shards", "--json").json()
    assert isinstance(with_shards, list)
    assert isinstance(with_shards[0]["open_shards"], int) and with_shards[1]["open_shards"] == 2
    assert [{**r, "open_shards": None} for r in with_shards] == rows
    table = cli("stream", "list")
    assert "twilio-events" in table.stdout and "other" in table.stdout
    assert "Open shards" not in table.stdout
    assert "Open shards" in cli("stream", "list", "--shards").stdout


def test_list_pages_without_describing_each_stream(
    cli: CliRunner, kinesis_client: KinesisClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ListStreams' summaries are enough: 105 streams (two pages), no DescribeStreamSummary."""
    from twilio_es_cli import streams

    described: list[str] = []
    real = streams.stream_summary

    def spy(kinesis: KinesisClient, name: str) -> Any:
        described.append(name)
        return real(kinesis, name)

    monkeypatch.setattr(streams, "stream_summary", spy)
    names = sorted(f"s-{i:03d}" for i in range(105))
    for name in names:
        kinesis_client.create_stream(StreamName=name, ShardCount=1)
    rows = cli("stream", "list", "--json").json()
    assert isinstance(rows, list)
    assert [r["name"] for r in rows] == names
    assert {r["status"] for r in rows} == {"ACTIVE"} and described == []
    cli("stream", "list", "--shards", "--json")
    assert described == names


# --------------------------------------------------------------------------- delete


def test_delete_removes_stream_and_our_role(
    cli: CliRunner, kinesis_client: KinesisClient, iam_client: IAMClient
) -> None:
    _create(cli, "twilio-events", "1")
    result = cli("stream", "delete", "twilio-events", "--yes")
    assert result.exit_code == 0, result.stderr
    assert kinesis_client.list_streams()["StreamNames"] == []
    assert iam_client.list_roles(PathPrefix="/twilio-es/")["Roles"] == []
    again = cli("stream", "delete", "twilio-events", "--yes")
    assert again.exit_code == 4


def test_delete_removes_every_role_made_for_the_stream(
    cli: CliRunner, kinesis_client: KinesisClient, iam_client: IAMClient
) -> None:
    """Two `create --role-name` runs made two roles for one stream: delete leaves no orphan."""
    _create(cli, "twilio-events", "1", "--role-name", "first-role")
    _create(cli, "twilio-events", "1", "--role-name", "second-role")
    result = cli("stream", "delete", "twilio-events", "--yes")
    assert result.exit_code == 0, result.stderr
    assert "Deleted IAM role first-role" in result.stderr
    assert "Deleted IAM role second-role" in result.stderr
    assert iam_client.list_roles(PathPrefix="/twilio-es/")["Roles"] == []


def test_delete_keep_role_and_refusal_without_confirmation(
    cli: CliRunner, kinesis_client: KinesisClient, iam_client: IAMClient
) -> None:
    _create(cli, "twilio-events", "1")
    refused = cli("stream", "delete", "twilio-events")  # stdin is not a terminal
    assert refused.exit_code == 2
    assert "--yes" in refused.stderr
    assert kinesis_client.list_streams()["StreamNames"] == ["twilio-events"]

    kept = cli("stream", "delete", "twilio-events", "--yes", "--keep-role")
    assert kept.exit_code == 0, kept.stderr
    assert kinesis_client.list_streams()["StreamNames"] == []
    assert iam_client.get_role(RoleName=ROLE)["Role"]["RoleName"] == ROLE


def test_delete_leaves_roles_that_are_not_only_ours(
    cli: CliRunner, kinesis_client: KinesisClient, iam_client: IAMClient
) -> None:
    _create(cli, "twilio-events", "1")
    extra = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}],
    }
    iam_client.put_role_policy(
        RoleName=ROLE, PolicyName="added-by-hand", PolicyDocument=json.dumps(extra)
    )
    result = cli("stream", "delete", "twilio-events", "--yes")
    assert result.exit_code == 0, result.stderr
    assert "keeping IAM role" in result.stderr and "added-by-hand" in result.stderr
    assert kinesis_client.list_streams()["StreamNames"] == []
    assert iam_client.get_role(RoleName=ROLE)["Role"]["RoleName"] == ROLE

    # a role of the derived name that twilio-es did not make is never touched
    trust = json.dumps({"Version": "2012-10-17", "Statement": []})
    iam_client.create_role(RoleName="twilio-es-plain-us-east-1", AssumeRolePolicyDocument=trust)
    kinesis_client.create_stream(StreamName="plain", ShardCount=1)
    assert cli("stream", "delete", "plain", "--yes").exit_code == 0
    assert iam_client.get_role(RoleName="twilio-es-plain-us-east-1")["Role"]


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["create", "bad name", "1"], "stream name 'bad name' is not valid"),
        (["create", "x" * 129, "1"], "is not valid"),
        (["create", "ok", "0"], "SHARDS must be between 1 and 10000"),
        (["create", "ok", "10001"], "SHARDS must be between 1 and 10000"),
        (["create", "ok"], "SHARDS is required"),
        (["create", "ok", "1", "--on-demand"], "exclude each other"),
        (["create", "ok", "x"], "SHARDS must be a whole number, not 'x'"),
        (["create", "ok", "1", "--retention-hours", "1"], "--retention-hours must be"),
        (["create", "ok", "1", "--role-name", "a" * 65], "not a valid IAM role name"),
        (["create", "ok", "1", "--policy-name", "a b"], "not a valid IAM policy name"),
        (["create", "ok", "1", "--twilio-principal", "twilio"], "neither an IAM ARN"),
        (["create", "ok", "1", "--timeout", "0"], "--timeout must be"),
        (["scale", "ok", "0"], "COUNT must be between 1"),
        (["scale", "bad/name", "2"], "is not valid"),
        (["scale", "ok", "2", "--scaling-type", "RANDOM"], "--scaling-type 'RANDOM'"),
        (["describe", "bad name"], "is not valid"),
        (["describe", "ok", "--role-name", "sp ace"], "not a valid IAM role name"),
        (["delete", "bad name", "--yes"], "is not valid"),
    ],
)
def test_bad_input_is_rejected_before_any_aws_call(
    cli: CliRunner, argv: list[str], message: str
) -> None:
    """No region, no credentials, no endpoint: any AWS call would end in exit 3, not 2."""
    result = cli("stream", *argv)
    assert result.exit_code == 2, result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr


# --------------------------------------------------------------------------- configuration


@pytest.mark.parametrize("argv", [["create", "twilio-events", "1"], ["list"], ["describe", "s"]])
def test_missing_credentials_is_exit_3_with_hint(
    cli: CliRunner, aws_env: str, monkeypatch: pytest.MonkeyPatch, argv: list[str]
) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    result = cli("stream", *argv)
    assert result.exit_code == 3
    assert "No AWS credentials were found" in result.stderr
    assert "hint: Configure credentials" in result.stderr


@pytest.mark.parametrize("argv", [["create", "twilio-events", "1"], ["list"], ["scale", "s", "2"]])
def test_missing_region_is_exit_3_with_hint(
    cli: CliRunner, aws_env: str, monkeypatch: pytest.MonkeyPatch, argv: list[str]
) -> None:
    monkeypatch.delenv("AWS_REGION")
    result = cli("stream", *argv)
    assert result.exit_code == 3
    assert "No AWS region is configured" in result.stderr
    assert "--region" in result.stderr
    # and the global flag fixes it
    fixed = cli("--region", "us-east-1", "stream", "list", "--json")
    assert fixed.exit_code == 0, fixed.stderr
