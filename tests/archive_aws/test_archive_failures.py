"""apply's archive steps when something fails: done / not done, undo, re-run converges.

Failures are injected at the executor's step announcement (the seam the rest of apply's
failure tests use) and, for what AWS does and ministack does not (a role IAM has not
propagated yet, a delivery stream whose creation failed), with botocore ``before-send`` hooks
that answer as AWS answers.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.archive_aws.conftest import write
from tests.conftest import aws_response, boto_client
from tests.fixture_types import CliRunner
from twilio_es_cli.errors import ApiError

FILE = """
version: 1
streams: {st: {shards: 1}}
archive: {stream: st, bucket: st-lake}
"""
STEPS = [
    "create stream st and its IAM role",
    "create bucket st-lake",
    "create glue database twilio_events",
    "create glue table twilio_events.archive",
    "create firehose role twilio-es-firehose-st-archive-us-east-1",
    "create athena workgroup twilio-es",
    "create delivery stream st-archive",
]


@pytest.mark.parametrize("fail_at", range(1, len(STEPS) + 1))
def test_failure_at_each_archive_step_then_rerun_converges(
    archive_env: str,
    cli: CliRunner,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    fail_at: int,
) -> None:
    from twilio_es_cli.infra.executor import Executor

    write(tmp_path / "twilio-es.yaml", FILE)
    original = Executor.announce

    def failing(self: Executor, number: int, total: int, step: Any) -> None:
        assert total == len(STEPS)
        assert step.text == STEPS[number - 1], step.text
        if number == fail_at:
            raise ApiError("injected failure")
        original(self, number, total, step)

    monkeypatch.setattr(Executor, "announce", failing)
    failed = cli("apply", "--yes")
    assert failed.exit_code == 1
    assert f"step {fail_at} of {len(STEPS)} failed" in failed.stderr
    for text in STEPS[: fail_at - 1]:
        assert f"done: {text}" in failed.stderr
    for text in STEPS[fail_at - 1 :]:
        assert f"not done: {text}" in failed.stderr

    monkeypatch.setattr(Executor, "announce", original)
    replanned = cli("plan")
    pending = [line for line in replanned.stdout.splitlines() if line.startswith("    + ")]
    assert len(pending) == len(STEPS) - fail_at + 1, replanned.stdout  # exactly what was not done
    assert cli("apply", "--yes").exit_code == 0
    assert cli("plan", "--detailed-exitcode").exit_code == 0


class _Body:
    def __init__(self, payload: bytes) -> None:
        self.payload = payload

    def stream(self, **_: Any) -> Any:
        yield self.payload


def _answer(request: Any, status: int, document: dict[str, Any], code: str = "") -> Any:
    headers = {"Content-Type": "application/x-amz-json-1.1"}
    if code:
        headers["x-amzn-ErrorType"] = code
        document = {"__type": code, **document}
    return aws_response(request.url, status, headers, _Body(json.dumps(document).encode()))


def _spec_and_clients(path: str) -> tuple[Any, Any]:
    from twilio_es_cli.aws import AwsClients
    from twilio_es_cli.config import resolve_settings
    from twilio_es_cli.infra.archive.plan import resolve_spec
    from twilio_es_cli.infra.loader import load

    aws = AwsClients(resolve_settings())
    return resolve_spec(aws, load(path), set()), aws


def test_create_waits_until_iam_lets_firehose_use_the_new_role(
    archive_env: str, cli: CliRunner, tmp_path: Path
) -> None:
    """AWS refuses a role minutes old ("unable to assume role"); ministack never does."""
    from twilio_es_cli.infra.archive.steps import create_delivery
    from twilio_es_cli.progress import Collect

    path = write(tmp_path / "twilio-es.yaml", FILE)
    assert cli("apply", "--yes").exit_code == 0
    boto_client("firehose", archive_env).delete_delivery_stream(DeliveryStreamName="st-archive")
    spec, aws = _spec_and_clients(path)
    refusals: list[str] = []

    def not_yet(request: Any, **_: Any) -> Any:
        if len(refusals) < 2:
            refusals.append(request.url)
            message = "Firehose is unable to assume role arn:aws:iam::000000000000:role/x."
            return _answer(request, 400, {"message": message}, "InvalidArgumentException")
        return None

    aws.firehose().meta.events.register("before-send.firehose.CreateDeliveryStream", not_yet)
    report = Collect()
    create_delivery(aws, spec, report, sleep=lambda _: None, role_wait=60)
    assert len(refusals) == 2
    assert (
        report.notes.count("  waiting for IAM to let Firehose use role " + spec.role_name + " ...")
        == 2
    )
    assert "  delivery stream st-archive is ACTIVE" in report.notes
    assert cli("plan", "--detailed-exitcode").exit_code == 0


def test_other_refusals_are_not_retried(archive_env: str, cli: CliRunner, tmp_path: Path) -> None:
    from twilio_es_cli.infra.archive.steps import create_delivery
    from twilio_es_cli.progress import Collect

    path = write(tmp_path / "twilio-es.yaml", FILE)
    assert cli("apply", "--yes").exit_code == 0
    boto_client("firehose", archive_env).delete_delivery_stream(DeliveryStreamName="st-archive")
    spec, aws = _spec_and_clients(path)
    calls: list[int] = []

    def invalid(request: Any, **_: Any) -> Any:
        calls.append(1)
        message = "Buffering size must be at least 64 MiB with dynamic partitioning."
        return _answer(request, 400, {"message": message}, "InvalidArgumentException")

    aws.firehose().meta.events.register("before-send.firehose.CreateDeliveryStream", invalid)
    with pytest.raises(Exception, match="must be at least 64 MiB"):
        create_delivery(aws, spec, Collect(), sleep=lambda _: None)
    assert len(calls) == 1


def test_a_delivery_stream_whose_creation_failed_is_deleted_again(
    archive_env: str, cli: CliRunner, tmp_path: Path
) -> None:
    """AWS can answer CREATING_FAILED (e.g. a KMS key it may not use); ministack never does."""
    from twilio_es_cli.infra.archive.steps import create_delivery
    from twilio_es_cli.progress import Collect

    path = write(tmp_path / "twilio-es.yaml", FILE)
    assert cli("apply", "--yes").exit_code == 0
    firehose = boto_client("firehose", archive_env)
    firehose.delete_delivery_stream(DeliveryStreamName="st-archive")
    spec, aws = _spec_and_clients(path)

    def failed(request: Any, **_: Any) -> Any:
        return _answer(
            request,
            200,
            {
                "DeliveryStreamDescription": {
                    "DeliveryStreamName": "st-archive",
                    "DeliveryStreamARN": spec.delivery_arn,
                    "DeliveryStreamStatus": "CREATING_FAILED",
                    "DeliveryStreamType": "KinesisStreamAsSource",
                    "VersionId": "1",
                    "Destinations": [],
                    "HasMoreDestinations": False,
                    "FailureDescription": {"Type": "KMS_ACCESS_DENIED", "Details": "injected"},
                }
            },
        )

    aws.firehose().meta.events.register("before-send.firehose.DescribeDeliveryStream", failed)
    with pytest.raises(ApiError, match="could not be created: KMS_ACCESS_DENIED: injected") as err:
        create_delivery(aws, spec, Collect(), sleep=lambda _: None)
    assert "It was deleted again" in (err.value.hint or "")
    assert "st-archive" not in firehose.list_delivery_streams()["DeliveryStreamNames"]
    replanned = cli("plan")
    assert "+ delivery stream st-archive: create" in replanned.stdout  # a re-run makes it again


def test_role_is_removed_again_when_its_policy_cannot_be_put(
    archive_env: str, cli: CliRunner, tmp_path: Path
) -> None:
    from twilio_es_cli.infra.archive.steps import create_role
    from twilio_es_cli.progress import Collect

    path = write(tmp_path / "twilio-es.yaml", FILE)
    assert cli("apply", "--yes").exit_code == 0
    iam = boto_client("iam", archive_env)
    role = "twilio-es-firehose-st-archive-us-east-1"
    iam.delete_role_policy(RoleName=role, PolicyName="twilio-es-firehose")
    iam.delete_role(RoleName=role)
    spec, aws = _spec_and_clients(path)

    def denied(request: Any, **_: Any) -> Any:
        body = (
            b"<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code>"
            b"<Message>injected</Message></Error></ErrorResponse>"
        )
        return aws_response(request.url, 403, {"Content-Type": "text/xml"}, _Body(body))

    aws.iam().meta.events.register("before-send.iam.PutRolePolicy", denied)
    report = Collect()
    with pytest.raises(Exception, match="AccessDenied"):
        create_role(aws, spec, report)
    assert f"rolled back: deleted IAM role {role}" in report.notes
    assert role not in [r["RoleName"] for r in iam.list_roles()["Roles"]]
