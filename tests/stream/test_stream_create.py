"""`stream create` against moto's server over HTTP: output, IAM content, re-runs, rollback."""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.conftest import iam_document
from tests.fixture_types import CliRunner

if TYPE_CHECKING:
    from mypy_boto3_iam import IAMClient
    from mypy_boto3_kinesis import KinesisClient

TWILIO = "arn:aws:iam::177261743968:root"
ROLE = "twilio-es-twilio-events-us-east-1"
POLICY = "twilio-es-put-twilio-events"
STREAM_ARN = "arn:aws:kinesis:us-east-1:123456789012:stream/twilio-events"


def _our_roles(iam_client: IAMClient) -> list[str]:
    return [r["RoleName"] for r in iam_client.list_roles(PathPrefix="/twilio-es/")["Roles"]]


def _streams(kinesis_client: KinesisClient) -> list[str]:
    return list(kinesis_client.list_streams()["StreamNames"])


def test_create_prints_config_and_makes_exactly_the_documented_iam(
    cli: CliRunner, iam_client: IAMClient, kinesis_client: KinesisClient
) -> None:
    result = cli("stream", "create", "twilio-events", "1")
    assert result.exit_code == 0, result.stderr
    config = result.json()
    assert isinstance(config, dict) and set(config) == {"arn", "role_arn", "external_id"}
    assert config["arn"] == STREAM_ARN
    assert re.fullmatch(r"[0-9a-f]{80}", config["external_id"])
    assert config["external_id"] not in result.stderr

    summary = kinesis_client.describe_stream_summary(StreamName="twilio-events")
    assert summary["StreamDescriptionSummary"]["StreamStatus"] == "ACTIVE"
    assert summary["StreamDescriptionSummary"]["OpenShardCount"] == 1

    role = iam_client.get_role(RoleName=ROLE)["Role"]
    assert role["Arn"] == config["role_arn"]
    assert iam_document(role["AssumeRolePolicyDocument"])["Statement"] == [
        {
            "Effect": "Allow",
            "Principal": {"AWS": TWILIO},
            "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"sts:ExternalId": config["external_id"]}},
        }
    ]
    assert {"Key": "twilio-es:stream", "Value": STREAM_ARN} in role["Tags"]
    assert iam_client.list_role_policies(RoleName=ROLE)["PolicyNames"] == [POLICY]
    policy = iam_document(
        iam_client.get_role_policy(RoleName=ROLE, PolicyName=POLICY)["PolicyDocument"]
    )
    grants = sorted(
        (action, statement["Resource"], statement["Effect"])
        for statement in policy["Statement"]
        for action in statement["Action"]
    )
    assert grants == [
        ("kinesis:DescribeLimits", "*", "Allow"),
        ("kinesis:ListShards", "*", "Allow"),
        ("kinesis:PutRecord", STREAM_ARN, "Allow"),
        ("kinesis:PutRecords", STREAM_ARN, "Allow"),
    ]
    assert iam_client.list_attached_role_policies(RoleName=ROLE)["AttachedPolicies"] == []


def test_principal_override_on_demand_and_custom_names(
    cli: CliRunner,
    iam_client: IAMClient,
    kinesis_client: KinesisClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TWILIO_ES_TWILIO_PRINCIPAL", "111122223333")
    result = cli(
        "stream", "create", "od", "--on-demand", "--role-name", "mine", "--policy-name", "p1",
        "--retention-hours", "48",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    role = iam_client.get_role(RoleName="mine")["Role"]
    statement = iam_document(role["AssumeRolePolicyDocument"])["Statement"][0]
    assert statement["Principal"] == {"AWS": "arn:aws:iam::111122223333:root"}
    assert iam_client.list_role_policies(RoleName="mine")["PolicyNames"] == ["p1"]
    summary = kinesis_client.describe_stream_summary(StreamName="od")["StreamDescriptionSummary"]
    assert summary["StreamModeDetails"]["StreamMode"] == "ON_DEMAND"
    assert summary["RetentionPeriodHours"] == 48
    # the flag beats the environment
    flagged = cli("stream", "create", "od2", "1", "--twilio-principal", TWILIO)
    assert flagged.exit_code == 0, flagged.stderr
    trust = iam_client.get_role(RoleName="twilio-es-od2-us-east-1")["Role"]
    assert iam_document(trust["AssumeRolePolicyDocument"])["Statement"][0]["Principal"] == {
        "AWS": TWILIO
    }


def test_out_file_is_private_and_stdout_stays_empty(
    cli: CliRunner, tmp_path: Path, aws_env: str
) -> None:
    target = tmp_path / "twilio-sink.json"
    target.write_text("old")
    target.chmod(0o644)
    result = cli("stream", "create", "twilio-events", "1", "--out", str(target))
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o600
    config = json.loads(target.read_text())
    assert set(config) == {"arn", "role_arn", "external_id"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["home", "twilio-sink.json"]


def test_out_into_missing_directory_fails_before_aws(
    cli: CliRunner, kinesis_client: KinesisClient
) -> None:
    result = cli("stream", "create", "twilio-events", "1", "--out", "/nonexistent/dir/f.json")
    assert result.exit_code == 2
    assert "does not exist" in result.stderr
    assert _streams(kinesis_client) == []


def test_rerun_prints_the_same_config_and_changes_nothing(
    cli: CliRunner, iam_client: IAMClient
) -> None:
    first = cli("stream", "create", "twilio-events", "1")
    assert first.exit_code == 0, first.stderr
    before = iam_client.get_role(RoleName=ROLE)["Role"]
    second = cli("stream", "create", "twilio-events", "1")
    assert second.exit_code == 0, second.stderr
    assert second.json() == first.json()
    assert "unchanged" in second.stderr
    after = iam_client.get_role(RoleName=ROLE)["Role"]
    assert after["RoleId"] == before["RoleId"]
    assert after["AssumeRolePolicyDocument"] == before["AssumeRolePolicyDocument"]


def test_rerun_with_other_shard_count_warns_and_keeps_the_stream(
    cli: CliRunner, aws_env: str
) -> None:
    assert cli("stream", "create", "twilio-events", "1").exit_code == 0
    again = cli("stream", "create", "twilio-events", "2")
    assert again.exit_code == 0
    assert "has 1 open shard(s), not 2" in again.stderr
    assert "twilio-es stream scale twilio-events 2" in again.stderr


def test_trust_policy_changed_behind_our_back_is_a_named_mismatch(
    cli: CliRunner, iam_client: IAMClient
) -> None:
    config = cli("stream", "create", "twilio-events", "1").json()
    assert isinstance(config, dict)
    other = "arn:aws:iam::999999999999:root"
    trust = iam_document(iam_client.get_role(RoleName=ROLE)["Role"]["AssumeRolePolicyDocument"])
    trust["Statement"][0]["Principal"]["AWS"] = other
    iam_client.update_assume_role_policy(RoleName=ROLE, PolicyDocument=json.dumps(trust))

    result = cli("stream", "create", "twilio-events", "1")
    assert result.exit_code == 5
    assert result.stdout == ""
    assert f"principal(s) {other}, expected only {TWILIO}" in result.stderr
    assert "--twilio-principal" in result.stderr
    assert f"aws iam delete-role --role-name {ROLE}" in result.stderr
    # nothing was "repaired" or rolled back: the role is as the user left it
    assert iam_client.get_role(RoleName=ROLE)["Role"]["AssumeRolePolicyDocument"] == trust

    # naming the principal the role trusts makes the same config come back
    accepted = cli("stream", "create", "twilio-events", "1", "--twilio-principal", other)
    assert accepted.exit_code == 0, accepted.stderr
    assert accepted.json() == config


def test_permissions_changed_behind_our_back_is_a_named_mismatch(
    cli: CliRunner, iam_client: IAMClient
) -> None:
    assert cli("stream", "create", "twilio-events", "1").exit_code == 0
    wide = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "kinesis:*", "Resource": "*"}],
    }
    iam_client.put_role_policy(RoleName=ROLE, PolicyName=POLICY, PolicyDocument=json.dumps(wide))
    result = cli("stream", "create", "twilio-events", "1")
    assert result.exit_code == 5
    assert "permissions policy lacks" in result.stderr
    assert f"kinesis:PutRecords on {STREAM_ARN}" in result.stderr
    assert "also grants kinesis:* on *" in result.stderr


def test_stream_without_role_gets_one(
    cli: CliRunner, kinesis_client: KinesisClient, iam_client: IAMClient
) -> None:
    kinesis_client.create_stream(StreamName="twilio-events", ShardCount=1)
    result = cli("stream", "create", "twilio-events", "1")
    assert result.exit_code == 0, result.stderr
    assert "already exists" in result.stderr
    assert _our_roles(iam_client) == [ROLE]


def test_role_name_taken_by_a_foreign_role_rolls_back_the_new_stream(
    cli: CliRunner, kinesis_client: KinesisClient, iam_client: IAMClient
) -> None:
    foreign = json.dumps({"Version": "2012-10-17", "Statement": []})
    iam_client.create_role(RoleName=ROLE, AssumeRolePolicyDocument=foreign)
    result = cli("stream", "create", "twilio-events", "1")
    assert result.exit_code == 1
    assert f"IAM role {ROLE} already exists and was not made by twilio-es" in result.stderr
    assert "--role-name" in result.stderr
    assert "rolled back: deleted stream twilio-events" in result.stderr
    assert _streams(kinesis_client) == []
    assert "Tags" not in iam_client.get_role(RoleName=ROLE)["Role"]  # untouched

    other = cli("stream", "create", "twilio-events", "1", "--role-name", "twilio-sink-role")
    assert other.exit_code == 0, other.stderr


def test_injected_failure_rolls_back_everything_this_run_created(
    cli: CliRunner,
    inject_faults: Callable[..., None],
    kinesis_client: KinesisClient,
    iam_client: IAMClient,
) -> None:
    inject_faults(("iam", "PutRolePolicy"))
    result = cli("stream", "create", "twilio-events", "1")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "ServiceFailure" in result.stderr
    assert f"rolled back: deleted IAM role {ROLE}" in result.stderr
    assert "rolled back: deleted stream twilio-events" in result.stderr
    assert "left behind" not in result.stderr
    assert _streams(kinesis_client) == []
    assert _our_roles(iam_client) == []


def test_failure_on_rerun_keeps_what_existed_before(
    cli: CliRunner,
    inject_faults: Callable[..., None],
    kinesis_client: KinesisClient,
    iam_client: IAMClient,
) -> None:
    kinesis_client.create_stream(StreamName="twilio-events", ShardCount=1)
    inject_faults(("iam", "PutRolePolicy"))
    result = cli("stream", "create", "twilio-events", "1")
    assert result.exit_code == 1
    assert "rolled back: deleted IAM role" in result.stderr
    assert _streams(kinesis_client) == ["twilio-events"]  # not ours to delete
    assert _our_roles(iam_client) == []


def test_failed_rollback_says_what_was_left_and_how_to_remove_it(
    cli: CliRunner,
    inject_faults: Callable[..., None],
    kinesis_client: KinesisClient,
    iam_client: IAMClient,
) -> None:
    inject_faults(("iam", "PutRolePolicy"), ("iam", "DeleteRole"))
    result = cli("stream", "create", "twilio-events", "1")
    assert result.exit_code == 1
    assert f"left behind: IAM role {ROLE}" in result.stderr
    assert f"remove it with: aws iam delete-role --role-name {ROLE}" in result.stderr
    assert "Rollback was incomplete" in result.stderr
    assert "rolled back: deleted stream twilio-events" in result.stderr
    assert _our_roles(iam_client) == [ROLE]
    assert _streams(kinesis_client) == []


def test_rollback_counts_something_already_gone_as_undone(
    cli: CliRunner,
    inject_faults: Callable[..., None],
    kinesis_client: KinesisClient,
    iam_client: IAMClient,
) -> None:
    """A role someone else removed meanwhile (NoSuchEntity) is not 'left behind'."""
    inject_faults(("iam", "PutRolePolicy"), ("iam", "DeleteRole", "NoSuchEntity"))
    result = cli("stream", "create", "twilio-events", "1")
    assert result.exit_code == 1
    assert f"rolled back: IAM role {ROLE} is gone" in result.stderr
    assert "left behind" not in result.stderr
    assert "Rollback was incomplete" not in result.stderr
    assert "rolled back: deleted stream twilio-events" in result.stderr
    assert _streams(kinesis_client) == []


def test_second_ctrl_c_during_rollback_still_lists_what_is_left(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from twilio_es_cli.rollback import Rollback

    undone: list[str] = []

    def interrupted() -> None:
        raise KeyboardInterrupt

    rollback = Rollback()
    rollback.add("stream s", lambda: undone.append("stream"), "aws kinesis delete-stream s")
    rollback.add("IAM role r", interrupted, "aws iam delete-role --role-name r")
    with pytest.raises(KeyboardInterrupt):
        rollback.run()
    err = capsys.readouterr().err
    assert undone == []
    assert "left behind: IAM role r (rollback interrupted); remove it with: aws iam" in err
    assert "left behind: stream s (rollback interrupted); remove it with: aws kinesis" in err


def test_shell_redirect_in_a_fresh_process_yields_an_assumable_role(
    aws_env: str, tmp_path: Path, iam_client: IAMClient
) -> None:
    """The README's line, verbatim: `twilio-es stream create twilio-events 1 > file`."""
    script = Path(sys.executable).parent / "twilio-es"
    sink = tmp_path / "twilio-sink.json"
    proc = subprocess.run(
        f"umask 022; '{script}' stream create twilio-events 1 > '{sink}'",
        shell=True,
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(os.environ),
    )
    assert proc.returncode == 0, proc.stderr
    config = json.loads(sink.read_text())
    assert set(config) == {"arn", "role_arn", "external_id"}
    assert config["external_id"] not in proc.stderr
    # the next step names the file the shell wrote, and says it is readable by others
    assert f"Next: twilio-es sink create kinesis --config {sink}\n" in proc.stderr
    assert f"chmod 600 {sink}" in proc.stderr

    from tests.conftest import boto_client

    sts = boto_client("sts", aws_env)
    creds = sts.assume_role(
        RoleArn=config["role_arn"], RoleSessionName="twilio", ExternalId=config["external_id"]
    )["Credentials"]
    assert creds["AccessKeyId"]


def test_rerun_with_another_policy_name_keeps_the_one_policy(
    cli: CliRunner, iam_client: IAMClient
) -> None:
    first = cli("stream", "create", "twilio-events", "1", "--no-wait")
    assert first.exit_code == 0, first.stderr
    again = cli("stream", "create", "twilio-events", "1", "--policy-name", "renamed")
    assert again.exit_code == 0, again.stderr
    assert again.json() == first.json()
    assert f"was made with policy {POLICY}; ignoring --policy-name" in again.stderr
    assert iam_client.list_role_policies(RoleName=ROLE)["PolicyNames"] == [POLICY]


def test_missing_policy_on_our_role_is_put_back(cli: CliRunner, iam_client: IAMClient) -> None:
    config = cli("stream", "create", "twilio-events", "1").json()
    iam_client.delete_role_policy(RoleName=ROLE, PolicyName=POLICY)
    again = cli("stream", "create", "twilio-events", "1")
    assert again.exit_code == 0, again.stderr
    assert again.json() == config
    assert f"had no policy {POLICY}; added it" in again.stderr
    assert iam_client.list_role_policies(RoleName=ROLE)["PolicyNames"] == [POLICY]


def test_rerun_without_the_custom_role_name_finds_that_role(
    cli: CliRunner, iam_client: IAMClient
) -> None:
    first = cli("stream", "create", "twilio-events", "1", "--role-name", "my-sink-role")
    assert first.exit_code == 0, first.stderr
    again = cli("stream", "create", "twilio-events", "1")
    assert again.exit_code == 0, again.stderr
    assert again.json() == first.json()
    assert "Found IAM role my-sink-role made for twilio-events" in again.stderr
    assert _our_roles(iam_client) == ["my-sink-role"]
