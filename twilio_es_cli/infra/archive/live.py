"""What exists of an archive: bucket, Glue database and table, role, workgroup, delivery stream.

One read per resource, each by the name the block gives (never a listing that needs wider
permissions than the resource itself); "not there" is None, anything else (no permission, an
outage) is the translated error, so a plan never mistakes "may not read" for "missing" and
proposes to create what exists.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from twilio_es_cli.aws import aws_errors, error_code
from twilio_es_cli.errors import NotFoundError, TwilioEsError

if TYPE_CHECKING:
    from twilio_es_cli.aws import AwsClients
    from twilio_es_cli.infra.archive.spec import ArchiveSpec

BUCKET_OK, BUCKET_MISSING, BUCKET_FORBIDDEN = "exists", "missing", "forbidden"


@dataclass
class LiveArchive:
    """The resources of one archive block as they are (None: does not exist)."""

    bucket: str = BUCKET_MISSING
    database: dict[str, Any] | None = None
    table: dict[str, Any] | None = None
    role: dict[str, Any] | None = None
    policy: dict[str, Any] | None = None  # the role's inline policy (ours)
    workgroup: dict[str, Any] | None = None
    delivery: dict[str, Any] | None = None  # DescribeDeliveryStream's description
    delivery_tags: dict[str, str] = field(default_factory=dict)

    @property
    def destination(self) -> dict[str, Any]:
        """The delivery stream's ExtendedS3 destination description ({} when none)."""
        for dest in (self.delivery or {}).get("Destinations") or []:
            found = dest.get("ExtendedS3DestinationDescription")
            if found:
                return dict(found)
        return {}

    @property
    def source_stream(self) -> str | None:
        source = (self.delivery or {}).get("Source") or {}
        arn = (source.get("KinesisStreamSourceDescription") or {}).get("KinesisStreamARN")
        return str(arn) if arn else None


def _absent(exc: TwilioEsError, *codes: str) -> bool:
    return isinstance(exc, NotFoundError) or error_code(exc.__cause__) in codes


def bucket_state(aws: AwsClients, bucket: str) -> str:
    """exists, missing, or forbidden (it exists, and these credentials may not use it)."""
    try:
        with aws_errors(f"find S3 bucket {bucket}"):
            aws.s3().head_bucket(Bucket=bucket)
    except TwilioEsError as exc:
        if _absent(exc, "NoSuchBucket"):
            return BUCKET_MISSING
        if error_code(exc.__cause__) in ("403", "AccessDenied", "Forbidden"):
            return BUCKET_FORBIDDEN
        raise
    return BUCKET_OK


def database(aws: AwsClients, name: str) -> dict[str, Any] | None:
    try:
        with aws_errors(f"read Glue database {name}"):
            return dict(aws.glue().get_database(Name=name)["Database"])
    except TwilioEsError as exc:
        if _absent(exc):
            return None
        raise


def table(aws: AwsClients, database_name: str, name: str) -> dict[str, Any] | None:
    try:
        with aws_errors(f"read Glue table {database_name}.{name}"):
            return dict(aws.glue().get_table(DatabaseName=database_name, Name=name)["Table"])
    except TwilioEsError as exc:
        if _absent(exc):
            return None
        raise


def workgroup(aws: AwsClients, name: str) -> dict[str, Any] | None:
    try:
        with aws_errors(f"read Athena workgroup {name}"):
            return dict(aws.athena().get_work_group(WorkGroup=name)["WorkGroup"])
    except TwilioEsError as exc:
        # Athena says "WorkGroup ... is not found" with InvalidRequestException.
        if _absent(exc) or "not found" in exc.message.lower():
            return None
        raise


def delivery(aws: AwsClients, name: str) -> tuple[dict[str, Any] | None, dict[str, str]]:
    """The delivery stream's description and tags, or (None, {})."""
    firehose = aws.firehose()
    try:
        with aws_errors(f"describe Firehose delivery stream {name}"):
            description = firehose.describe_delivery_stream(DeliveryStreamName=name)
    except TwilioEsError as exc:
        if _absent(exc):
            return None, {}
        raise
    with aws_errors(f"read the tags of Firehose delivery stream {name}"):
        tags = firehose.list_tags_for_delivery_stream(DeliveryStreamName=name).get("Tags", [])
    return dict(description["DeliveryStreamDescription"]), {
        t["Key"]: t.get("Value", "") for t in tags
    }


def read(aws: AwsClients, spec: ArchiveSpec) -> LiveArchive:
    """Every resource of the block (see the module docstring)."""
    from twilio_es_cli.roles import get_role, get_role_policy

    decl = spec.decl
    live = LiveArchive(bucket=bucket_state(aws, decl.bucket))
    live.database = database(aws, decl.database)
    if live.database is not None:
        live.table = table(aws, decl.database, decl.table)
    role = get_role(aws.iam(), spec.role_name)
    live.role = dict(role) if role is not None else None
    if role is not None:
        live.policy = get_role_policy(aws.iam(), spec.role_name, spec.policy_name)
    live.workgroup = workgroup(aws, decl.workgroup)
    live.delivery, live.delivery_tags = delivery(aws, spec.delivery_name)
    return live


def tagged(aws: AwsClients) -> list[tuple[dict[str, Any], dict[str, str]]]:
    """Every delivery stream twilio-es made (its ``twilio-es:project`` tag), described.

    For ``status`` and ``export``, which have no file to name them: one ListDeliveryStreams
    (Kinesis-sourced only) and, per delivery stream, its tags and its description.
    """
    from twilio_es_cli.infra.archive.spec import PROJECT_TAG

    firehose = aws.firehose()
    names: list[str] = []
    start: str | None = None
    while True:
        kwargs: dict[str, Any] = {"DeliveryStreamType": "KinesisStreamAsSource", "Limit": 100}
        if start:
            kwargs["ExclusiveStartDeliveryStreamName"] = start
        with aws_errors("list Firehose delivery streams"):
            page = firehose.list_delivery_streams(**kwargs)
        names += page.get("DeliveryStreamNames", [])
        if not page.get("HasMoreDeliveryStreams") or not names:
            break
        start = names[-1]
    found = []
    for name in names:
        description, tags = delivery(aws, name)
        if description is not None and PROJECT_TAG in tags:
            found.append((description, tags))
    return found
