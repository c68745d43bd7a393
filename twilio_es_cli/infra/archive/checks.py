"""``doctor --archive``: is the archive at scale working? One check per thing that can break.

"Athena shows nothing" has a handful of causes, each invisible from the others' consoles:
the delivery stream is not ACTIVE or reads another stream, the role no longer trusts
Firehose or may not read the stream, write the prefix or read the table, the table lost its
projection (AWS then shows 0 rows until partitions are registered) or does not project a type
that arrives, no file was written lately, or records went to the error prefix. Each check
reads, judges with the same documents :mod:`.spec` made, and names the fix; the report is
:mod:`twilio_es_cli.doctor`'s. Record contents from the error prefix are never shown (they
are events: PII), only their error codes.

A few reads of S3 per type (the newest day's folder of each), never a listing of the whole
archive.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from twilio_es_cli import iam as iamdoc
from twilio_es_cli.aws import aws_errors
from twilio_es_cli.doctor import FAIL, OK, SKIP, WARN, Check, Report
from twilio_es_cli.errors import TwilioEsError
from twilio_es_cli.infra.archive import live as reading
from twilio_es_cli.infra.archive import spec as specs

if TYPE_CHECKING:
    from twilio_es_cli.aws import AwsClients
    from twilio_es_cli.infra.archive.live import LiveArchive
    from twilio_es_cli.infra.archive.spec import ArchiveSpec
    from twilio_es_cli.infra.archive.target import Block

MAX_TYPES = 50  # type folders looked into for the newest file
APPLY = "run `twilio-es apply` (it puts the archive back as the file says)"


@dataclass
class Partitions:
    """What lies under the prefix: type folders, each with its newest day and file."""

    types: dict[str, str] = field(default_factory=dict)  # type -> newest date folder
    newest: datetime | None = None
    newest_key: str = ""


def _fail(report: Report, name: str, exc: TwilioEsError) -> None:
    report.add(Check(name, FAIL, exc.message, exc.hint))


def _spec(aws: AwsClients, found: Block) -> tuple[ArchiveSpec, LiveArchive]:
    """The spec with the live table's projected types (what Athena reads now)."""
    spec = specs.resolve(
        found.decl,
        project=found.project,
        region=aws.region,
        account=aws.account_id(),
        subscribed=(),
    )
    live = reading.read(aws, spec)
    projected = _projected(live.table)
    spec = specs.resolve(
        found.decl,
        project=found.project,
        region=aws.region,
        account=spec.account,
        subscribed=projected,
        first_day=specs.first_day_of(live.table),
    )
    return spec, live


def _projected(table: dict[str, Any] | None) -> list[str]:
    values = str(((table or {}).get("Parameters") or {}).get("projection.type.values", ""))
    return [t for t in values.split(",") if t]


def check_stream(report: Report, aws: AwsClients, spec: ArchiveSpec) -> None:
    from twilio_es_cli.streams import stream_summary

    name = "archived stream is ACTIVE"
    summary = stream_summary(aws.kinesis(), spec.decl.stream)
    if summary is None:
        report.add(Check(name, FAIL, f"{spec.decl.stream} does not exist", APPLY))
    elif summary["StreamStatus"] not in ("ACTIVE", "UPDATING"):
        report.add(Check(name, FAIL, f"{spec.decl.stream} is {summary['StreamStatus']}"))
    else:
        report.add(Check(name, OK, f"{spec.decl.stream} ({summary['StreamStatus']})"))


def check_delivery(report: Report, live: LiveArchive, spec: ArchiveSpec) -> None:
    name = "delivery stream is ACTIVE and reads the stream"
    if live.delivery is None:
        report.add(Check(name, FAIL, f"{spec.delivery_name} does not exist", APPLY))
        return
    status = str(live.delivery.get("DeliveryStreamStatus"))
    if status != "ACTIVE":
        failure = (live.delivery.get("FailureDescription") or {}).get("Details") or ""
        detail = f"{spec.delivery_name} is {status}" + (f": {failure}" if failure else "")
        report.add(Check(name, FAIL, detail, APPLY))
        return
    if live.source_stream != spec.stream_arn:
        detail = f"{spec.delivery_name} reads {live.source_stream}, not {spec.stream_arn}"
        report.add(Check(name, FAIL, detail, APPLY))
        return
    report.add(Check(name, OK, f"{spec.delivery_name} reads {spec.decl.stream}"))
    differences = specs.destination_differences(spec, live.destination)
    name = "delivery stream writes as the file says"
    if differences:
        report.add(Check(name, WARN, "; ".join(differences), APPLY))
    else:
        report.add(Check(name, OK, f"{spec.location}type=.../date=.../ as Parquet"))


def _trusts_firehose(document: Any) -> bool:
    try:
        statements = iamdoc.statements(iamdoc.parse_document(document))
    except ValueError:
        return False
    for statement in statements:
        principal = statement.get("Principal")
        services = iamdoc.as_list(principal.get("Service")) if isinstance(principal, dict) else []
        actions = [str(a).lower() for a in iamdoc.as_list(statement.get("Action"))]
        if (
            statement.get("Effect") == "Allow"
            and specs.FIREHOSE_SERVICE in services
            and any(a in ("sts:assumerole", "sts:*", "*") for a in actions)
        ):
            return True
    return False


def _needs(spec: ArchiveSpec) -> list[tuple[str, str, str]]:
    """(what, action, resource) the role must be allowed, with a sample object key."""
    sample = f"{spec.bucket_arn}/{spec.decl.prefix}type=x/date=2026-01-01/f.parquet"
    error = f"{spec.bucket_arn}/{spec.decl.error_prefix}processing-failed/x"
    table = (
        f"arn:{spec.partition}:glue:{spec.region}:{spec.account}:"
        f"table/{spec.decl.database}/{spec.decl.table}"
    )
    return [
        ("read the stream", "kinesis:GetRecords", spec.stream_arn),
        ("read the stream", "kinesis:GetShardIterator", spec.stream_arn),
        ("read the stream", "kinesis:DescribeStream", spec.stream_arn),
        ("write the prefix", "s3:PutObject", sample),
        ("write the error prefix", "s3:PutObject", error),
        ("find the bucket", "s3:ListBucket", spec.bucket_arn),
        ("read the table", "glue:GetTable", table),
    ]


def check_role(report: Report, aws: AwsClients, live: LiveArchive, spec: ArchiveSpec) -> None:
    from twilio_es_cli.roles import role_policies

    if live.role is None:
        report.add(Check("Firehose role exists", FAIL, f"{spec.role_name} is missing", APPLY))
        return
    trust = "Firehose may assume the role"
    if _trusts_firehose(live.role.get("AssumeRolePolicyDocument")):
        report.add(Check(trust, OK, f"{spec.role_name} trusts {specs.FIREHOSE_SERVICE}"))
    else:
        detail = f"{spec.role_name} does not trust {specs.FIREHOSE_SERVICE}"
        report.add(Check(trust, FAIL, detail, APPLY))
    name = "role may read the stream, write the prefixes, read the table"
    try:
        documents = role_policies(aws.iam(), spec.role_name)
    except TwilioEsError as exc:
        _fail(report, name, exc)
        return
    missing = sorted(
        {
            f"{action} ({what})"
            for what, action, resource in _needs(spec)
            if not iamdoc.allows(documents, action, resource)
        }
    )
    if missing:
        report.add(Check(name, FAIL, "not allowed: " + ", ".join(missing), APPLY))
    else:
        report.add(Check(name, OK, f"{len(_needs(spec))} permissions checked"))


def check_table(report: Report, live: LiveArchive, spec: ArchiveSpec) -> None:
    name = "Glue table and its partition projection"
    where = f"{spec.decl.database}.{spec.decl.table}"
    if live.table is None:
        report.add(Check(name, FAIL, f"{where} does not exist", APPLY))
        return
    params = live.table.get("Parameters") or {}
    if str(params.get("projection.enabled", "")).lower() != "true":
        detail = (
            f"{where} has no partition projection: Athena reads only registered partitions "
            "(0 rows until each type and day is added)"
        )
        report.add(Check(name, FAIL, detail, APPLY))
        return
    differences = [
        d for d in specs.table_differences(spec, live.table) if not d.startswith("projected")
    ]
    if differences:
        report.add(Check(name, WARN, "; ".join(differences), APPLY))
        return
    types = len(_projected(live.table))
    report.add(Check(name, OK, f"{where}: projected on type ({types} types) and date"))


def check_workgroup(report: Report, live: LiveArchive, spec: ArchiveSpec) -> None:
    name = "Athena workgroup"
    if live.workgroup is None:
        report.add(Check(name, FAIL, f"{spec.decl.workgroup} does not exist", APPLY))
        return
    differences = specs.workgroup_differences(spec, live.workgroup)
    if differences:
        report.add(Check(name, WARN, "; ".join(differences), APPLY))
    else:
        report.add(Check(name, OK, f"{spec.decl.workgroup}: results in {spec.results_location}"))


def _folders(aws: AwsClients, bucket: str, prefix: str) -> list[str]:
    """The sub-folders (common prefixes) of ``prefix``, every page."""
    found: list[str] = []
    paginator = aws.s3().get_paginator("list_objects_v2")
    with aws_errors(f"list s3://{bucket}/{prefix}"):
        for page in paginator.paginate(Bucket=bucket, Prefix=prefix, Delimiter="/"):
            found += [str(p["Prefix"]) for p in page.get("CommonPrefixes", [])]
    return found


def _newest(aws: AwsClients, bucket: str, prefix: str) -> tuple[datetime | None, str]:
    newest: datetime | None = None
    key = ""
    paginator = aws.s3().get_paginator("list_objects_v2")
    with aws_errors(f"list s3://{bucket}/{prefix}"):
        for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                if newest is None or item["LastModified"] > newest:
                    newest, key = item["LastModified"], str(item["Key"])
    return newest, key


def read_partitions(aws: AwsClients, spec: ArchiveSpec) -> Partitions:
    """Type folders and, for each, its newest day and that day's newest file."""
    from urllib.parse import unquote

    out = Partitions()
    bucket, prefix = spec.decl.bucket, spec.decl.prefix
    for folder in _folders(aws, bucket, prefix)[:MAX_TYPES]:
        name = folder[len(prefix) :].rstrip("/")
        if not name.startswith("type="):
            continue
        days = sorted(f for f in _folders(aws, bucket, folder) if "date=" in f)
        if not days:
            continue
        event_type = unquote(name[len("type=") :])
        out.types[event_type] = days[-1][len(folder) :].strip("/").removeprefix("date=")
        when, key = _newest(aws, bucket, days[-1])
        if when is not None and (out.newest is None or when > out.newest):
            out.newest, out.newest_key = when, key
    return out


def check_partitions(report: Report, found: Partitions, spec: ArchiveSpec) -> None:
    name = "every type that arrives is projected"
    if not found.types:
        report.add(Check(name, SKIP, f"no type=... folder under {spec.location} yet"))
        return
    unread = sorted(set(found.types) - set(spec.types))
    if unread:
        detail = f"Athena does not read {', '.join(unread)} (not in the projection)"
        fix = "Subscribe them in the file, or list them under archive.extra_types; then apply."
        report.add(Check(name, WARN, detail, fix))
    else:
        report.add(Check(name, OK, f"{len(found.types)} type folder(s), all projected"))


def check_last_delivery(
    report: Report, found: Partitions, live: LiveArchive, spec: ArchiveSpec
) -> None:
    name = "last delivery"
    if found.newest is None:
        detail = (
            f"no file under {spec.location} yet: Firehose writes one "
            f"{spec.decl.buffer_interval_seconds} s after events arrive"
        )
        report.add(Check(name, WARN, detail, "Send events (twilio-es sink test), then wait."))
        return
    age = datetime.now(timezone.utc) - found.newest.astimezone(timezone.utc)
    detail = f"newest file {found.newest_key} ({_ago(age.total_seconds())} ago)"
    status = WARN if age.total_seconds() > 86_400 else OK
    report.add(
        Check(name, status, detail, "No file for a day: check that events reach the stream.")
    )


def _ago(seconds: float) -> str:
    if seconds < 120:
        return f"{max(seconds, 0):.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def check_errors(report: Report, aws: AwsClients, spec: ArchiveSpec) -> None:
    """Records Firehose could not deliver: their error codes (never their contents)."""
    name = "no records in the error prefix"
    bucket, prefix = spec.decl.bucket, spec.decl.error_prefix
    kinds = _folders(aws, bucket, prefix)
    if not kinds:
        report.add(Check(name, OK, f"nothing under s3://{bucket}/{prefix}"))
        return
    _, key = _newest(aws, bucket, prefix)
    reason = _error_reason(aws, bucket, key) if key else ""
    names = ", ".join(k[len(prefix) :].rstrip("/") for k in kinds)
    detail = f"{names}; newest {key}" + (f" ({reason})" if reason else "")
    fix = "Records that are not CloudEvents, or have no type or time, cannot be partitioned."
    report.add(Check(name, WARN, detail, fix))


def _error_reason(aws: AwsClients, bucket: str, key: str) -> str:
    """The error code and message of the first record of an error object (not its data)."""
    try:
        with aws_errors(f"read s3://{bucket}/{key}"):
            body = aws.s3().get_object(Bucket=bucket, Key=key, Range="bytes=0-65535")["Body"]
            first = body.read().split(b"\n", 1)[0]
        record = json.loads(first)
    except (TwilioEsError, ValueError):
        return ""
    if not isinstance(record, dict):
        return ""
    parts = [str(record.get(k)) for k in ("errorCode", "ErrorCode", "errorMessage", "ErrorMessage")]
    return ": ".join(p for p in parts if p != "None")[:200]


def diagnose(aws: AwsClients, found: Block) -> Report:
    """Every check of the archive block (see the module docstring)."""
    from twilio_es_cli.doctor import check_aws

    report = Report()
    if check_aws(report, aws) is None:
        return report
    try:
        spec, live = _spec(aws, found)
    except TwilioEsError as exc:
        _fail(report, "read the archive's resources", exc)
        return report
    bucket = live.bucket == reading.BUCKET_OK
    check_stream(report, aws, spec)
    report.add(
        Check("bucket exists", OK if bucket else FAIL, f"s3://{spec.decl.bucket} {live.bucket}")
    )
    check_delivery(report, live, spec)
    check_role(report, aws, live, spec)
    check_table(report, live, spec)
    check_workgroup(report, live, spec)
    if not bucket:
        return report
    try:
        partitions = read_partitions(aws, spec)
        check_partitions(report, partitions, spec)
        check_last_delivery(report, partitions, live, spec)
        check_errors(report, aws, spec)
    except TwilioEsError as exc:
        _fail(report, "read the archive's files", exc)
    return report
