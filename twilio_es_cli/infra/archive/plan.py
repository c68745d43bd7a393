"""The archive block's part of the plan: one Change per AWS resource, with reasons.

Kinds, in the order apply makes them (each needs the ones before it): ``bucket``,
``glue database``, ``glue table``, ``firehose role``, ``athena workgroup``,
``delivery stream``. Rules:

- missing: create (a bucket only when ``create_bucket``; otherwise the plan stops, exit 4);
- differs from the file: update in place (the table's columns and projection, the role's
  trust and policy, the workgroup's settings, the delivery stream's destination);
- a delivery stream reading another stream, or one whose creation failed: replace (Firehose
  cannot change its source); events written between the old one's deletion and the new one's
  start are not archived by Firehose (``archive --from`` can fill the gap);
- not ``ACTIVE`` yet: update ("wait for ACTIVE").

Nothing is deleted when the block goes away: the delivery stream, role, table and workgroup
stay, and buckets and objects are never touched (docs/as-code.md says how to remove them).
The spec travels in each change's ``details["config"]`` (left out of ``plan --json``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from twilio_es_cli.errors import ConfigError, NotFoundError
from twilio_es_cli.infra.archive import live as reading
from twilio_es_cli.infra.archive import spec as specs
from twilio_es_cli.infra.planner import CREATE, REPLACE, UNCHANGED, UPDATE, Change

if TYPE_CHECKING:
    from twilio_es_cli.aws import AwsClients
    from twilio_es_cli.infra.archive.live import LiveArchive
    from twilio_es_cli.infra.archive.spec import ArchiveSpec
    from twilio_es_cli.infra.live import Live
    from twilio_es_cli.infra.loader import Desired
    from twilio_es_cli.infra.planner import Plan

BUCKET, DATABASE, TABLE, ROLE, WORKGROUP, DELIVERY = (
    "bucket",
    "glue database",
    "glue table",
    "firehose role",
    "athena workgroup",
    "delivery stream",
)
KINDS = (BUCKET, DATABASE, TABLE, ROLE, WORKGROUP, DELIVERY)
#: Firehose states that need nothing but waiting, and those that need a new delivery stream.
SETTLING = frozenset({"CREATING", "UPDATING"})
BROKEN = frozenset({"CREATING_FAILED", "DELETING_FAILED", "DELETING"})


def subscribed_types(desired: Desired, types: dict[str, list[tuple[str, int]]]) -> set[str]:
    """The event types the file's subscriptions send to the archive's stream."""
    archive = desired.model.archive
    if archive is None:
        return set()
    from twilio_es_cli.arns import stream_name

    found: set[str] = set()
    for name, sub in desired.model.subscriptions.items():
        sink = desired.model.sinks.get(sub.sink)
        if sink is None or sink.type != "kinesis":
            continue
        target = sink.stream or stream_name(sink.arn or "")
        if target == archive.stream:
            found.update(t for t, _ in types.get(name, []))
    return found


def resolve_spec(
    aws: AwsClients, desired: Desired, subscribed: set[str], table: dict[str, Any] | None = None
) -> ArchiveSpec:
    """The block resolved in this account and region (STS GetCallerIdentity, once)."""
    archive = desired.model.archive
    assert archive is not None
    return specs.resolve(
        archive,
        project=desired.model.project,
        region=aws.region,
        account=aws.account_id(),
        subscribed=subscribed,
        first_day=specs.first_day_of(table),
    )


def read(
    aws: AwsClients, desired: Desired, subscribed: set[str]
) -> tuple[ArchiveSpec, LiveArchive]:
    """The spec and what exists (the table's projection start is kept, not drift)."""
    spec = resolve_spec(aws, desired, subscribed)
    found = reading.read(aws, spec)
    if found.table is not None:
        spec = resolve_spec(aws, desired, subscribed, found.table)
    return spec, found


def _change(kind: str, name: str, reasons: list[str], spec: ArchiveSpec, **public: Any) -> Change:
    action = UPDATE if reasons else UNCHANGED
    return Change(kind, name, action, reasons, details={"config": spec, **public})


def _created(kind: str, name: str, why: str, spec: ArchiveSpec, **public: Any) -> Change:
    return Change(kind, name, CREATE, [why], details={"config": spec, **public})


def _bucket(desired: Desired, spec: ArchiveSpec, found: LiveArchive) -> Change:
    decl = spec.decl
    if found.bucket == reading.BUCKET_FORBIDDEN:
        raise ConfigError(
            f"S3 bucket {decl.bucket} exists but these credentials may not use it "
            f"({desired.where('archive', 'bucket')})",
            hint="It belongs to another account, or your credentials lack s3:ListBucket on "
            "it: name another bucket, or fix the permissions.",
        )
    if found.bucket == reading.BUCKET_OK:
        return _change(BUCKET, decl.bucket, [], spec)
    if not decl.create_bucket:
        raise NotFoundError(
            f"S3 bucket {decl.bucket} does not exist and archive.create_bucket is false "
            f"({desired.where('archive', 'create_bucket')})",
            hint="Create the bucket, or set create_bucket: true to let apply create it.",
        )
    return _created(BUCKET, decl.bucket, "does not exist: create it (private)", spec)


def _table(spec: ArchiveSpec, found: LiveArchive) -> Change:
    name = f"{spec.decl.database}.{spec.decl.table}"
    if found.table is None:
        why = (
            f"does not exist: create it (partitions projected on type, {len(spec.types)} "
            "types, and date)"
        )
        return _created(TABLE, name, why, spec, location=spec.location)
    return _change(TABLE, name, specs.table_differences(spec, found.table), spec)


def _role(spec: ArchiveSpec, found: LiveArchive) -> Change:
    if found.role is None:
        return _created(ROLE, spec.role_name, "does not exist: create it (least privilege)", spec)
    reasons = []
    if specs.document_differs(found.role.get("AssumeRolePolicyDocument"), spec.trust_policy()):
        reasons.append("trust policy differs: only firehose.amazonaws.com for this account")
    if specs.document_differs(found.policy, spec.permissions_policy()):
        reasons.append(f"permissions policy {spec.policy_name} differs: put it back")
    return _change(ROLE, spec.role_name, reasons, spec, arn=spec.role_arn)


def _workgroup(spec: ArchiveSpec, found: LiveArchive) -> Change:
    name = spec.decl.workgroup
    if found.workgroup is None:
        why = f"does not exist: create it (results in {spec.results_location})"
        return _created(WORKGROUP, name, why, spec)
    return _change(WORKGROUP, name, specs.workgroup_differences(spec, found.workgroup), spec)


def _delivery(spec: ArchiveSpec, found: LiveArchive) -> Change:
    name = spec.delivery_name
    public = {"arn": spec.delivery_arn, "source": spec.stream_arn}
    if found.delivery is None:
        why = f"does not exist: create it (reads {spec.decl.stream}, writes {spec.location})"
        return _created(DELIVERY, name, why, spec, **public)
    status = str(found.delivery.get("DeliveryStreamStatus", ""))
    source = found.source_stream
    replace: list[str] = []
    if status in BROKEN:
        failure = (found.delivery.get("FailureDescription") or {}).get("Details") or ""
        replace.append(f"is {status}" + (f" ({failure})" if failure else ""))
    if source != spec.stream_arn:
        replace.append(f"reads {source or 'no Kinesis stream'}, not {spec.stream_arn}")
    if replace:
        reasons = [*replace, "Firehose cannot change its source: delete it, create it again"]
        return Change(DELIVERY, name, REPLACE, reasons, details={"config": spec, **public})
    reasons = specs.destination_differences(spec, found.destination)
    if status in SETTLING:
        reasons.append(f"is {status}: wait for ACTIVE")
    return _change(DELIVERY, name, reasons, spec, **public)


def _check_stream(desired: Desired, aws: AwsClients, live: Live) -> None:
    """The archived stream exists, or the file creates it."""
    archive = desired.model.archive
    assert archive is not None
    if archive.stream in desired.model.streams:
        return
    from twilio_es_cli.streams import stream_summary

    if archive.stream in live.streams and live.streams[archive.stream] is not None:
        return
    if stream_summary(aws.kinesis(), archive.stream) is None:
        raise NotFoundError(
            f"Kinesis stream {archive.stream} does not exist in {aws.region} "
            f"({desired.where('archive', 'stream')})",
            hint="Declare it under `streams:` so apply creates it, or name an existing one.",
        )


def plan_archive(
    plan: Plan,
    desired: Desired,
    aws: AwsClients,
    live: Live,
    types: dict[str, list[tuple[str, int]]],
) -> None:
    """Add the archive's changes to ``plan`` (after its streams, before its sinks)."""
    _check_stream(desired, aws, live)
    spec, found = read(aws, desired, subscribed_types(desired, types))
    decl = spec.decl
    changes = [
        _bucket(desired, spec, found),
        _change(DATABASE, decl.database, [], spec)
        if found.database is not None
        else _created(DATABASE, decl.database, "does not exist: create it", spec),
        _table(spec, found),
        _role(spec, found),
        _workgroup(spec, found),
        _delivery(spec, found),
    ]
    # Shown (and applied) right after the streams: the order apply follows.
    at = sum(1 for c in plan.changes if c.kind == "stream")
    plan.changes[at:at] = changes
    if changes[-1].action == CREATE:
        plan.notes.append(
            f"archive: Firehose will write a file per type and day every "
            f"{decl.buffer_interval_seconds} s or {decl.buffer_size_mb} MB; then "
            "`twilio-es query --athena` answers over them"
        )
