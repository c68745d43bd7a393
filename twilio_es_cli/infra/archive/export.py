"""``export``'s archive block: read back from the delivery stream twilio-es tagged for the
project, its Glue table and its workgroup, so that ``plan`` on the exported file shows no
changes. Only what differs from a block's defaults is written.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from twilio_es_cli.infra.archive import live as reading
from twilio_es_cli.infra.archive import spec as specs

if TYPE_CHECKING:
    from twilio_es_cli.aws import AwsClients


def _defaults() -> dict[str, Any]:
    from twilio_es_cli.infra.schema import ArchiveDecl

    return {name: field.default for name, field in ArchiveDecl.model_fields.items()}


def _role_name(role_arn: str | None) -> str | None:
    from twilio_es_cli.arns import role_name

    return role_name(role_arn or "")


def _workgroup(aws: AwsClients, name: str, bucket: str) -> dict[str, Any]:
    found = reading.workgroup(aws, name) or {}
    config = found.get("Configuration") or {}
    location = str((config.get("ResultConfiguration") or {}).get("OutputLocation") or "")
    out: dict[str, Any] = {"workgroup": name}
    if location.startswith(f"s3://{bucket}/"):
        out["results_prefix"] = location[len(f"s3://{bucket}/") :]
    cutoff = config.get("BytesScannedCutoffPerQuery")
    if cutoff:
        out["scan_limit_gb"] = round(int(cutoff) / 1e9, 3)
    return out


def block(
    aws: AwsClients, project: str, streams: list[str], subscribed: dict[str, set[str]]
) -> dict[str, Any] | None:
    """The archive block of ``project`` (the first of its delivery streams on ``streams``,
    any stream when empty); ``subscribed`` maps a stream to the types exported subscriptions
    send it (the rest of the table's projection becomes ``extra_types``)."""
    for description, tags in reading.tagged(aws):
        if tags.get(specs.PROJECT_TAG) != project:
            continue
        found = specs.summary(description)
        if streams and found["stream"] not in streams:
            continue
        return _entry(aws, found, tags, subscribed.get(found["stream"] or "", set()))
    return None


def _entry(
    aws: AwsClients, found: dict[str, Any], tags: dict[str, str], subscribed: Iterable[str]
) -> dict[str, Any]:
    values: dict[str, Any] = {
        "stream": found["stream"],
        "bucket": found["bucket"],
        "prefix": found["prefix"],
        "error_prefix": found["error_prefix"],
        "database": found["database"],
        "table": found["table"],
        "buffer_size_mb": found["buffer_size_mb"],
        "buffer_interval_seconds": found["buffer_interval_seconds"],
    }
    region = aws.region
    default_delivery = specs.resolve(
        _decl(values), project="", region=region, account="0", subscribed=()
    ).delivery_name
    if found["name"] != default_delivery:
        values["delivery_stream"] = found["name"]
    decl = _decl(values)
    default_role = specs.resolve(
        decl, project="", region=region, account="0", subscribed=()
    ).role_name
    role = _role_name(found["role_arn"])
    if role and role != default_role:
        values["role_name"] = role
    values.update(
        _workgroup(aws, tags.get(specs.WORKGROUP_TAG) or _defaults()["workgroup"], found["bucket"])
    )
    table = reading.table(aws, str(found["database"]), str(found["table"]))
    projected = str(((table or {}).get("Parameters") or {}).get("projection.type.values", ""))
    extra = sorted(
        t for t in projected.split(",") if t and t != specs.TEST_EVENT_TYPE and t not in subscribed
    )
    if extra:
        values["extra_types"] = extra
    defaults = _defaults()
    return {k: v for k, v in values.items() if k in ("stream", "bucket") or v != defaults.get(k)}


def _decl(values: dict[str, Any]) -> Any:
    from twilio_es_cli.infra.schema import ArchiveDecl

    return ArchiveDecl.model_validate({k: v for k, v in values.items() if v is not None})
