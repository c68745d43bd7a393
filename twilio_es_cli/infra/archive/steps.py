"""Apply's steps for the archive block: each makes or mends one resource, in dependency order.

The executor runs them right after the streams and before any sink, so that Firehose reads
the stream before Twilio writes its first event there. Each step leaves the account
consistent: a step that fails halfway undoes what it made (a bucket without its public-access
block, a role without its policy, a delivery stream that never became ACTIVE), says what it
left behind if it could not, and the executor's report lists what was and was not done; a
re-run plans from what exists and goes on.

IAM is eventually consistent: a role minutes old may not yet be assumable by Firehose, which
then refuses CreateDeliveryStream with InvalidArgumentException. That one refusal is retried
for up to :data:`ROLE_PROPAGATION` seconds.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from twilio_es_cli.aws import aws_errors, error_code, polls
from twilio_es_cli.errors import ApiError, NotFoundError, TwilioEsError
from twilio_es_cli.infra.archive import plan as kinds
from twilio_es_cli.infra.planner import CREATE, REPLACE, UPDATE, Change
from twilio_es_cli.progress import TERMINAL, Reporter

if TYPE_CHECKING:
    from twilio_es_cli.aws import AwsClients
    from twilio_es_cli.infra.archive.spec import ArchiveSpec

ROLE_PROPAGATION = 90.0  # seconds a new role may take to reach Firehose (IAM propagation)
ACTIVE_TIMEOUT = 600.0  # seconds a delivery stream may take to become ACTIVE
Sleep = Callable[[float], None]


# ----------------------------------------------------------------------------- bucket


def create_bucket(aws: AwsClients, spec: ArchiveSpec, report: Reporter = TERMINAL) -> None:
    """A private bucket: created, then every public access blocked (undone if that fails)."""
    from twilio_es_cli.rollback import Rollback

    s3, bucket = aws.s3(), spec.decl.bucket
    kwargs: dict[str, Any] = {"Bucket": bucket}
    if spec.region != "us-east-1":  # us-east-1 refuses its own name as a constraint
        kwargs["CreateBucketConfiguration"] = {"LocationConstraint": spec.region}
    with aws_errors(f"create S3 bucket {bucket}"):
        s3.create_bucket(**kwargs)
    undo = Rollback(report)
    undo.add(
        f"S3 bucket {bucket}",
        lambda: s3.delete_bucket(Bucket=bucket),
        f"aws s3api delete-bucket --bucket {bucket}",
    )
    try:
        with aws_errors(f"block public access to S3 bucket {bucket}"):
            s3.put_public_access_block(
                Bucket=bucket,
                PublicAccessBlockConfiguration={
                    "BlockPublicAcls": True,
                    "IgnorePublicAcls": True,
                    "BlockPublicPolicy": True,
                    "RestrictPublicBuckets": True,
                },
            )
    except BaseException:
        undo.run()
        raise
    report.note(f"  created S3 bucket {bucket} (public access blocked)")


# ----------------------------------------------------------------------------- glue


def create_database(aws: AwsClients, spec: ArchiveSpec) -> None:
    with aws_errors(f"create Glue database {spec.decl.database}"):
        aws.glue().create_database(DatabaseInput=spec.database_input())  # type: ignore[arg-type]


def put_table(aws: AwsClients, spec: ArchiveSpec, *, create: bool) -> None:
    glue, decl = aws.glue(), spec.decl
    table: Any = spec.table_input()
    with aws_errors(f"{'create' if create else 'update'} Glue table {decl.database}.{decl.table}"):
        if create:
            glue.create_table(DatabaseName=decl.database, TableInput=table)
        else:
            glue.update_table(DatabaseName=decl.database, TableInput=table)


# ----------------------------------------------------------------------------- role


def create_role(aws: AwsClients, spec: ArchiveSpec, report: Reporter = TERMINAL) -> None:
    """The role and its inline policy; the role is deleted again if the policy fails."""
    from twilio_es_cli import iam as iamdoc
    from twilio_es_cli.rollback import Rollback

    iam, name = aws.iam(), spec.role_name
    with aws_errors(f"create IAM role {name}"):
        iam.create_role(
            RoleName=name,
            Path=iamdoc.ROLE_PATH,
            AssumeRolePolicyDocument=json.dumps(spec.trust_policy()),
            Description=f"Firehose {spec.delivery_name}: archive {spec.decl.stream} (twilio-es)",
            Tags=[{"Key": t["Key"], "Value": t["Value"]} for t in spec.tags()],
        )
    undo = Rollback(report)
    undo.add(
        f"IAM role {name}",
        lambda: iam.delete_role(RoleName=name),
        f"aws iam delete-role --role-name {name}",
    )
    try:
        put_policy(aws, spec)
    except BaseException:
        undo.run()
        raise


def put_policy(aws: AwsClients, spec: ArchiveSpec) -> None:
    with aws_errors(f"put policy {spec.policy_name} on IAM role {spec.role_name}"):
        aws.iam().put_role_policy(
            RoleName=spec.role_name,
            PolicyName=spec.policy_name,
            PolicyDocument=json.dumps(spec.permissions_policy()),
        )


def mend_role(aws: AwsClients, spec: ArchiveSpec) -> None:
    with aws_errors(f"update the trust policy of IAM role {spec.role_name}"):
        aws.iam().update_assume_role_policy(
            RoleName=spec.role_name, PolicyDocument=json.dumps(spec.trust_policy())
        )
    put_policy(aws, spec)


# ----------------------------------------------------------------------------- workgroup


def put_workgroup(aws: AwsClients, spec: ArchiveSpec, *, create: bool) -> None:
    athena, name = aws.athena(), spec.decl.workgroup
    configuration: Any = spec.workgroup_configuration()
    if create:
        with aws_errors(f"create Athena workgroup {name}"):
            athena.create_work_group(
                Name=name,
                Configuration=configuration,
                Description=f"twilio-es: queries over {spec.location}",
                Tags=[{"Key": t["Key"], "Value": t["Value"]} for t in spec.tags()],
            )
        return
    update: Any = {
        "ResultConfigurationUpdates": {
            "OutputLocation": spec.results_location,
            "EncryptionConfiguration": {"EncryptionOption": "SSE_S3"},
        },
        "EnforceWorkGroupConfiguration": True,
        "PublishCloudWatchMetricsEnabled": True,
        "EngineVersion": configuration["EngineVersion"],
    }
    if spec.scan_limit_bytes is None:
        update["RemoveBytesScannedCutoffPerQuery"] = True
    else:
        update["BytesScannedCutoffPerQuery"] = spec.scan_limit_bytes
    with aws_errors(f"update Athena workgroup {name}"):
        athena.update_work_group(WorkGroup=name, ConfigurationUpdates=update, State="ENABLED")


# ----------------------------------------------------------------------------- delivery stream


def ensure_log_group(aws: AwsClients, spec: ArchiveSpec) -> None:
    """Firehose logs delivery errors into a group it does not create itself."""
    logs = aws.logs()
    calls: tuple[tuple[str, Callable[[], object]], ...] = (
        (f"log group {spec.log_group}", lambda: logs.create_log_group(logGroupName=spec.log_group)),
        (
            f"log stream {spec.log_stream}",
            lambda: logs.create_log_stream(
                logGroupName=spec.log_group, logStreamName=spec.log_stream
            ),
        ),
    )
    for what, call in calls:
        try:
            with aws_errors(f"create CloudWatch Logs {what}"):
                call()
        except TwilioEsError as exc:
            if error_code(exc.__cause__) != "ResourceAlreadyExistsException":
                raise


def _role_not_ready(exc: TwilioEsError) -> bool:
    """Firehose's refusal of a role IAM has not propagated yet (worth waiting for)."""
    text = exc.message.lower()
    return error_code(exc.__cause__) == "InvalidArgumentException" and (
        "role" in text or "assume" in text or "access" in text
    )


def create_delivery(
    aws: AwsClients,
    spec: ArchiveSpec,
    report: Reporter = TERMINAL,
    *,
    sleep: Sleep = time.sleep,
    role_wait: float = ROLE_PROPAGATION,
) -> None:
    """Create the delivery stream (waiting out IAM propagation), then wait for ACTIVE."""
    ensure_log_group(aws, spec)
    firehose, name = aws.firehose(), spec.delivery_name
    request: Any = {
        "DeliveryStreamName": name,
        "DeliveryStreamType": "KinesisStreamAsSource",
        "KinesisStreamSourceConfiguration": spec.source(),
        "ExtendedS3DestinationConfiguration": spec.destination(),
        "Tags": spec.tags(),
    }
    for left in polls(role_wait, sleep, growth=2, cap=5.0):
        try:
            with aws_errors(f"create Firehose delivery stream {name}"):
                firehose.create_delivery_stream(**request)
            break
        except TwilioEsError as exc:
            if not _role_not_ready(exc) or left <= 0:
                raise
            report.note(f"  waiting for IAM to let Firehose use role {spec.role_name} ...")
    wait_active(aws, spec, report, sleep=sleep)


def wait_active(
    aws: AwsClients,
    spec: ArchiveSpec,
    report: Reporter = TERMINAL,
    *,
    sleep: Sleep = time.sleep,
    timeout: float = ACTIVE_TIMEOUT,
) -> None:
    """Wait for ACTIVE; a delivery stream whose creation failed is deleted again."""
    firehose, name = aws.firehose(), spec.delivery_name
    status = "unknown"
    with report.waiting(f"waiting for delivery stream {name} to become ACTIVE"):
        for left in polls(timeout, sleep, growth=2, cap=5.0):
            with aws_errors(f"describe Firehose delivery stream {name}"):
                found = firehose.describe_delivery_stream(DeliveryStreamName=name)
            description = found["DeliveryStreamDescription"]
            status = description["DeliveryStreamStatus"]
            if status == "ACTIVE":
                report.note(f"  delivery stream {name} is ACTIVE")
                return
            if status == "CREATING_FAILED":
                failure: dict[str, Any] = dict(description.get("FailureDescription") or {})
                _delete_failed(aws, spec, report)
                raise ApiError(
                    f"delivery stream {name} could not be created: "
                    f"{failure.get('Type', 'failed')}: {failure.get('Details', '')}".rstrip(": "),
                    hint="It was deleted again. Check the role's permissions on the stream, "
                    "bucket and table (twilio-es doctor --archive).",
                )
            if left <= 0:
                break
    raise ApiError(
        f"delivery stream {name} is still {status} after {timeout:g} s",
        hint="Run `twilio-es apply` again later: it waits for ACTIVE.",
    )


def _delete_failed(aws: AwsClients, spec: ArchiveSpec, report: Reporter) -> None:
    name = spec.delivery_name
    try:
        with aws_errors(f"delete Firehose delivery stream {name}"):
            aws.firehose().delete_delivery_stream(DeliveryStreamName=name, AllowForceDelete=True)
    except TwilioEsError as exc:
        report.warn(
            f"left behind: delivery stream {name} ({exc.message}); delete it with "
            f"`aws firehose delete-delivery-stream --delivery-stream-name {name}`"
        )


def update_delivery(aws: AwsClients, spec: ArchiveSpec, report: Reporter = TERMINAL) -> None:
    """UpdateDestination with the spec's destination (after waiting for ACTIVE)."""
    firehose, name = aws.firehose(), spec.delivery_name
    with aws_errors(f"describe Firehose delivery stream {name}"):
        description = firehose.describe_delivery_stream(DeliveryStreamName=name)
    if description["DeliveryStreamDescription"]["DeliveryStreamStatus"] != "ACTIVE":
        wait_active(aws, spec, report)
        with aws_errors(f"describe Firehose delivery stream {name}"):
            description = firehose.describe_delivery_stream(DeliveryStreamName=name)
    current = description["DeliveryStreamDescription"]
    from twilio_es_cli.infra.archive import spec as specs

    destination_id = current["Destinations"][0]["DestinationId"]
    live: dict[str, Any] = dict(
        current["Destinations"][0].get("ExtendedS3DestinationDescription") or {}
    )
    if not specs.destination_differences(spec, live):
        return
    ensure_log_group(aws, spec)
    update: Any = spec.destination()
    with aws_errors(f"update Firehose delivery stream {name}"):
        firehose.update_destination(
            DeliveryStreamName=name,
            CurrentDeliveryStreamVersionId=current["VersionId"],
            DestinationId=destination_id,
            ExtendedS3DestinationUpdate=update,
        )
    wait_active(aws, spec, report)


def replace_delivery(aws: AwsClients, spec: ArchiveSpec, report: Reporter = TERMINAL) -> None:
    """Delete the old delivery stream, wait until it is gone, create the new one."""
    firehose, name = aws.firehose(), spec.delivery_name
    try:
        with aws_errors(f"delete Firehose delivery stream {name}"):
            firehose.delete_delivery_stream(DeliveryStreamName=name, AllowForceDelete=True)
    except NotFoundError:
        pass
    with report.waiting(f"waiting for the old delivery stream {name} to be deleted"):
        for left in polls(ACTIVE_TIMEOUT, growth=2, cap=5.0):
            try:
                with aws_errors(f"describe Firehose delivery stream {name}"):
                    firehose.describe_delivery_stream(DeliveryStreamName=name)
            except NotFoundError:
                break
            if left <= 0:
                raise ApiError(f"delivery stream {name} is still being deleted")
    create_delivery(aws, spec, report)


# ----------------------------------------------------------------------------- the steps


def _spec(change: Change) -> ArchiveSpec:
    spec: ArchiveSpec = change.details["config"]
    return spec


def _run(change: Change, aws: AwsClients, report: Reporter) -> Callable[[], None]:
    """What applying ``change`` does."""
    spec, kind, action = _spec(change), change.kind, change.action
    create = action == CREATE
    actions: dict[str, Callable[[], None]] = {
        kinds.BUCKET: lambda: create_bucket(aws, spec, report),
        kinds.DATABASE: lambda: create_database(aws, spec),
        kinds.TABLE: lambda: put_table(aws, spec, create=create),
        kinds.ROLE: (lambda: create_role(aws, spec, report))
        if create
        else (lambda: mend_role(aws, spec)),
        kinds.WORKGROUP: lambda: put_workgroup(aws, spec, create=create),
    }
    if kind == kinds.DELIVERY:
        if action == REPLACE:
            return lambda: replace_delivery(aws, spec, report)
        if action == UPDATE:
            return lambda: update_delivery(aws, spec, report)
        return lambda: create_delivery(aws, spec, report)
    return actions[kind]


def archive_steps(
    changes: list[Change], aws: AwsClients, report: Reporter
) -> list[tuple[str, Callable[[], None]]]:
    """(text, run) per pending archive change, in dependency order."""
    out: list[tuple[str, Callable[[], None]]] = []
    for kind in kinds.KINDS:
        for change in changes:
            if change.kind != kind or change.action not in (CREATE, UPDATE, REPLACE):
                continue
            verb = {CREATE: "create", UPDATE: "update", REPLACE: "replace"}[change.action]
            why = "" if change.action == CREATE else f" ({'; '.join(change.reasons)})"
            out.append((f"{verb} {kind} {change.name}{why}", _run(change, aws, report)))
    return out
