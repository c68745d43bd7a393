"""What the ``archive:`` block means: names, ARNs and every request document, resolved.

Pure (no AWS calls): built from the block, the region, the account and the event types the
table projects, so plan, apply, doctor and the tests all see the same documents. Each
``*_differences`` function compares a live resource with the document and names only what
matters (AWS answers with defaults of its own that the file never set: they are not drift).

Why these choices (docs/analytics.md explains them to users):

- **Layout**: ``PREFIX/type=TYPE/date=YYYY-MM-DD/``, the embedded archive's, so the same
  views read both, and ``archive --dir s3://`` can write beside Firehose. The type comes from
  the CloudEvent's ``type``, the day from the first ten characters of its ``time`` (UTC in
  every Twilio event) with Firehose's JQ metadata extraction.
- **Columns**: the embedded archive's (:data:`twilio_es_cli.analytics.views.ARCHIVE` and the
  family columns). Firehose's Parquet conversion fills those the event has at its top level
  (``id``, ``source``, ``time``, ``data`` ...); the Kinesis and family columns stay NULL in its
  files, and the Athena base relation extracts the family columns from ``data`` there
  (:mod:`twilio_es_cli.analytics.athena_sql`).
- **Partition projection** (no MSCK REPAIR, no crawler): ``date`` as a date range up to
  ``NOW``; ``type`` as an *enum* of the types the stream carries (the file's subscriptions on
  it, plus ``extra_types``). An *injected* type would force ``WHERE type = '...'`` into every
  query, and the ``events`` view reads all types.
- **Buffering**: 64 to 128 MB and 60 to 900 s; dynamic partitioning and format conversion both
  need at least 64 MB. Records Firehose cannot partition (not JSON, no ``type`` or ``time``)
  go to ``error_prefix``, by error type and day.
- **Role**: trusted by ``firehose.amazonaws.com`` for this account only (``sts:ExternalId`` is
  the account id, as AWS's Firehose guide writes it); reads this stream, writes these two
  prefixes of this bucket, reads this table's definition, writes its own log group.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from twilio_es_cli import iam as iamdoc

if TYPE_CHECKING:
    from twilio_es_cli.infra.schema import ArchiveDecl

#: The type Twilio's sink test events carry: always projected (apply's proof sends one).
TEST_EVENT_TYPE = "com.twilio.eventstreams.test-event"
FIREHOSE_SERVICE = "firehose.amazonaws.com"
PROJECT_TAG = "twilio-es:project"
# The Kinesis stream ARN archived. Not iam.STREAM_TAG ("twilio-es:stream"): that one marks the
# role Twilio assumes to write into a stream, and roles.find_role would take this role for it.
ARCHIVE_TAG = "twilio-es:archive-of"
WORKGROUP_TAG = "twilio-es:workgroup"  # the workgroup made with it (export reads it back)
TABLE_MARKER = "twilio-es:project"  # a Glue table parameter: which project made the table
PARQUET_INPUT = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat"
PARQUET_OUTPUT = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat"
PARQUET_SERDE = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
# JQ 1.6, as Firehose runs it: the partition keys of one record.
EXTRACTION_QUERY = "{type: .type, date: .time[0:10]}"
ENGINE_VERSION = "Athena engine version 3"
# Athena's date projection needs a first day; an archive may be back-filled from a year of
# Kinesis retention (archive --from trim-horizon), so a new table starts that far back.
PROJECTION_BACK = timedelta(days=366)
_HIVE_TYPES = {
    "VARCHAR": "string",
    "TIMESTAMP": "timestamp",
    "INTEGER": "int",
    "BIGINT": "bigint",
    "DATE": "date",
    "BLOB": "binary",
}
_NAME_MAX = 64


def partition_of(region: str) -> str:
    """The ARN partition of a region (aws, aws-cn, aws-us-gov)."""
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def _fit(name: str, limit: int = _NAME_MAX) -> str:
    if len(name) <= limit:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    return f"{name[: limit - 9].rstrip('-.')}-{digest}"


def table_columns() -> list[dict[str, str]]:
    """The Glue columns: the embedded archive's file columns and family columns, typed."""
    from twilio_es_cli.analytics.views import ARCHIVE, FAMILY_COLUMNS

    columns = [
        {"Name": name, "Type": _HIVE_TYPES[kind]}
        for name, kind, _ in ARCHIVE
        if name not in ("type", "date")
    ]
    columns += [{"Name": name, "Type": _HIVE_TYPES[kind]} for name, kind in FAMILY_COLUMNS]
    return columns


PARTITION_KEYS = [{"Name": "type", "Type": "string"}, {"Name": "date", "Type": "date"}]


@dataclass(frozen=True)
class ArchiveSpec:
    """The block resolved for one account and region; see the module docstring."""

    decl: ArchiveDecl
    project: str
    region: str
    account: str
    types: tuple[str, ...]  # event types the table projects, sorted
    first_day: date  # where the date projection starts

    # -- names and ARNs ----------------------------------------------------------------------

    @property
    def partition(self) -> str:
        return partition_of(self.region)

    @property
    def delivery_name(self) -> str:
        return self.decl.delivery_stream or _fit(f"{self.decl.stream}-archive")

    @property
    def role_name(self) -> str:
        return self.decl.role_name or iamdoc.default_role_name(
            f"firehose-{self.delivery_name}", self.region
        )

    @property
    def policy_name(self) -> str:
        return "twilio-es-firehose"

    @property
    def role_arn(self) -> str:
        from twilio_es_cli import arns

        return arns.role_arn(
            self.role_name,
            account_id=self.account,
            path=iamdoc.ROLE_PATH,
            partition=self.partition,
        )

    @property
    def stream_arn(self) -> str:
        from twilio_es_cli import arns

        return arns.stream_arn(
            self.decl.stream, region=self.region, account_id=self.account, partition=self.partition
        )

    @property
    def delivery_arn(self) -> str:
        return (
            f"arn:{self.partition}:firehose:{self.region}:{self.account}:"
            f"deliverystream/{self.delivery_name}"
        )

    @property
    def bucket_arn(self) -> str:
        return f"arn:{self.partition}:s3:::{self.decl.bucket}"

    @property
    def location(self) -> str:
        """The table's location: where every file of the archive lies below."""
        return f"s3://{self.decl.bucket}/{self.decl.prefix}"

    @property
    def results_location(self) -> str:
        return f"s3://{self.decl.bucket}/{self.decl.results_prefix}"

    @property
    def log_group(self) -> str:
        return f"/aws/kinesisfirehose/{self.delivery_name}"

    @property
    def log_stream(self) -> str:
        return "DestinationDelivery"

    def _glue_arn(self, what: str) -> str:
        return f"arn:{self.partition}:glue:{self.region}:{self.account}:{what}"

    # -- documents ---------------------------------------------------------------------------

    def tags(self) -> list[dict[str, str]]:
        """The delivery stream's tags: whose it is, which stream, which workgroup."""
        return [
            {"Key": PROJECT_TAG, "Value": self.project},
            {"Key": ARCHIVE_TAG, "Value": self.stream_arn},
            {"Key": WORKGROUP_TAG, "Value": self.decl.workgroup},
        ]

    def database_input(self) -> dict[str, Any]:
        return {
            "Name": self.decl.database,
            "Description": "Twilio Event Streams events (twilio-es archive)",
        }

    def projection(self) -> dict[str, str]:
        """The table parameters of the partition projection (Athena's documented names)."""
        return {
            "projection.enabled": "true",
            "projection.type.type": "enum",
            "projection.type.values": ",".join(self.types),
            "projection.date.type": "date",
            "projection.date.format": "yyyy-MM-dd",
            "projection.date.range": f"{self.first_day.isoformat()},NOW",
            "projection.date.interval": "1",
            "projection.date.interval.unit": "DAYS",
            "storage.location.template": f"{self.location}type=${{type}}/date=${{date}}/",
        }

    def table_input(self) -> dict[str, Any]:
        return {
            "Name": self.decl.table,
            "Description": "Twilio Event Streams events: the twilio-es archive layout, "
            "written by Firehose (and twilio-es archive --dir s3://)",
            "TableType": "EXTERNAL_TABLE",
            "Parameters": {
                "classification": "parquet",
                "EXTERNAL": "TRUE",
                TABLE_MARKER: self.project,
                **self.projection(),
            },
            "PartitionKeys": PARTITION_KEYS,
            "StorageDescriptor": {
                "Columns": table_columns(),
                "Location": self.location,
                "InputFormat": PARQUET_INPUT,
                "OutputFormat": PARQUET_OUTPUT,
                "SerdeInfo": {
                    "SerializationLibrary": PARQUET_SERDE,
                    "Parameters": {"serialization.format": "1"},
                },
            },
        }

    def trust_policy(self) -> dict[str, Any]:
        return {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": FIREHOSE_SERVICE},
                    "Action": "sts:AssumeRole",
                    "Condition": {"StringEquals": {"sts:ExternalId": self.account}},
                }
            ],
        }

    def permissions_policy(self) -> dict[str, Any]:
        """Least privilege: this stream, these prefixes, this table, its own log group."""
        decl = self.decl
        objects = [
            f"{self.bucket_arn}/{decl.prefix}*",
            f"{self.bucket_arn}/{decl.error_prefix}*",
        ]
        logs = (
            f"arn:{self.partition}:logs:{self.region}:{self.account}:log-group:"
            f"{self.log_group}:log-stream:*"
        )
        return {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "ReadTheStream",
                    "Effect": "Allow",
                    "Action": [
                        "kinesis:DescribeStream",
                        "kinesis:GetShardIterator",
                        "kinesis:GetRecords",
                        "kinesis:ListShards",
                    ],
                    "Resource": self.stream_arn,
                },
                {
                    "Sid": "FindTheBucket",
                    "Effect": "Allow",
                    "Action": [
                        "s3:GetBucketLocation",
                        "s3:ListBucket",
                        "s3:ListBucketMultipartUploads",
                    ],
                    "Resource": self.bucket_arn,
                },
                {
                    "Sid": "WriteTheFiles",
                    "Effect": "Allow",
                    "Action": ["s3:AbortMultipartUpload", "s3:GetObject", "s3:PutObject"],
                    "Resource": objects,
                },
                {
                    "Sid": "ReadTheTable",
                    "Effect": "Allow",
                    "Action": ["glue:GetTable", "glue:GetTableVersion", "glue:GetTableVersions"],
                    "Resource": [
                        self._glue_arn("catalog"),
                        self._glue_arn(f"database/{decl.database}"),
                        self._glue_arn(f"table/{decl.database}/{decl.table}"),
                    ],
                },
                {
                    "Sid": "LogDeliveryErrors",
                    "Effect": "Allow",
                    "Action": ["logs:PutLogEvents"],
                    "Resource": logs,
                },
            ],
        }

    def source(self) -> dict[str, str]:
        return {"KinesisStreamARN": self.stream_arn, "RoleARN": self.role_arn}

    def destination(self) -> dict[str, Any]:
        """ExtendedS3DestinationConfiguration: dynamic partitioning and Parquet conversion."""
        decl = self.decl
        return {
            "RoleARN": self.role_arn,
            "BucketARN": self.bucket_arn,
            "Prefix": (
                f"{decl.prefix}type=!{{partitionKeyFromQuery:type}}/"
                "date=!{partitionKeyFromQuery:date}/"
            ),
            "ErrorOutputPrefix": (
                f"{decl.error_prefix}!{{firehose:error-output-type}}/!{{timestamp:yyyy-MM-dd}}/"
            ),
            "BufferingHints": {
                "SizeInMBs": decl.buffer_size_mb,
                "IntervalInSeconds": decl.buffer_interval_seconds,
            },
            # Parquet files compress themselves (the serializer's SNAPPY); Firehose refuses
            # another compression on top of format conversion.
            "CompressionFormat": "UNCOMPRESSED",
            "CloudWatchLoggingOptions": {
                "Enabled": True,
                "LogGroupName": self.log_group,
                "LogStreamName": self.log_stream,
            },
            "DynamicPartitioningConfiguration": {
                "Enabled": True,
                "RetryOptions": {"DurationInSeconds": 300},
            },
            "ProcessingConfiguration": {
                "Enabled": True,
                "Processors": [
                    {
                        "Type": "MetadataExtraction",
                        "Parameters": [
                            {
                                "ParameterName": "MetadataExtractionQuery",
                                "ParameterValue": EXTRACTION_QUERY,
                            },
                            {"ParameterName": "JsonParsingEngine", "ParameterValue": "JQ-1.6"},
                        ],
                    }
                ],
            },
            "DataFormatConversionConfiguration": {
                "Enabled": True,
                "SchemaConfiguration": {
                    "RoleARN": self.role_arn,
                    "CatalogId": self.account,
                    "DatabaseName": decl.database,
                    "TableName": decl.table,
                    "Region": self.region,
                    "VersionId": "LATEST",
                },
                "InputFormatConfiguration": {"Deserializer": {"OpenXJsonSerDe": {}}},
                "OutputFormatConfiguration": {
                    "Serializer": {"ParquetSerDe": {"Compression": "SNAPPY"}}
                },
            },
        }

    def workgroup_configuration(self) -> dict[str, Any]:
        configuration: dict[str, Any] = {
            "ResultConfiguration": {
                "OutputLocation": self.results_location,
                "EncryptionConfiguration": {"EncryptionOption": "SSE_S3"},
            },
            "EnforceWorkGroupConfiguration": True,
            "PublishCloudWatchMetricsEnabled": True,
            "EngineVersion": {"SelectedEngineVersion": ENGINE_VERSION},
        }
        if self.decl.scan_limit_gb is not None:
            configuration["BytesScannedCutoffPerQuery"] = self.scan_limit_bytes
        return configuration

    @property
    def scan_limit_bytes(self) -> int | None:
        gb = self.decl.scan_limit_gb
        return None if gb is None else max(10_000_000, int(gb * 1_000_000_000))


def resolve(
    decl: ArchiveDecl,
    *,
    project: str,
    region: str,
    account: str,
    subscribed: Iterable[str],
    first_day: date | None = None,
    today: date | None = None,
) -> ArchiveSpec:
    """The spec; ``subscribed`` are the types the file's subscriptions send to the stream,
    ``first_day`` the projection start of an existing table (kept: not drift)."""
    types = sorted({TEST_EVENT_TYPE, *subscribed, *decl.extra_types})
    start = first_day or ((today or date.today()) - PROJECTION_BACK)
    return ArchiveSpec(decl, project, region, account, tuple(types), start)


def first_day_of(table: Mapping[str, Any] | None) -> date | None:
    """The projection start of a live table (None when it has none we can read)."""
    if not table:
        return None
    value = str((table.get("Parameters") or {}).get("projection.date.range", ""))
    try:
        return date.fromisoformat(value.split(",", 1)[0].strip())
    except ValueError:
        return None


# ----------------------------------------------------------------------------- differences


def _changed(label: str, have: Any, want: Any) -> list[str]:
    return [] if have == want else [f"{label} {_short(have)} -> {_short(want)}"]


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= 80 else text[:77] + "..."


def _columns(items: Sequence[Mapping[str, Any]] | None) -> list[tuple[str, str]]:
    return [(str(c.get("Name", "")).lower(), str(c.get("Type", "")).lower()) for c in items or ()]


def table_differences(spec: ArchiveSpec, live: Mapping[str, Any]) -> list[str]:
    """What makes a live Glue table differ from :meth:`ArchiveSpec.table_input`."""
    want = spec.table_input()
    storage = live.get("StorageDescriptor") or {}
    reasons: list[str] = []
    have_cols, want_cols = (
        _columns(storage.get("Columns")),
        _columns(want["StorageDescriptor"]["Columns"]),
    )
    if have_cols != want_cols:
        missing = [n for n, _ in want_cols if n not in dict(have_cols)]
        reasons.append(
            "columns differ" + (f" (missing {', '.join(missing[:5])})" if missing else "")
        )
    if _columns(live.get("PartitionKeys")) != _columns(PARTITION_KEYS):
        reasons.append("partition keys are not (type string, date date)")
    reasons += _changed("location", storage.get("Location"), spec.location)
    serde = (storage.get("SerdeInfo") or {}).get("SerializationLibrary")
    reasons += _changed("SerDe", serde, PARQUET_SERDE)
    params = live.get("Parameters") or {}
    for key, value in spec.projection().items():
        if key == "projection.type.values":
            reasons += _type_differences(str(params.get(key, "")), spec.types)
        elif params.get(key) != value:
            reasons.append(f"{key} {params.get(key)!r} -> {value!r}")
    return reasons


def _type_differences(have: str, want: Sequence[str]) -> list[str]:
    current = [t for t in have.split(",") if t]
    added = [t for t in want if t not in current]
    removed = [t for t in current if t not in want]
    out = []
    if added:
        out.append("projected types + " + ", ".join(added))
    if removed:
        out.append("projected types - " + ", ".join(removed))
    return out


def _statement_key(statement: Mapping[str, Any]) -> tuple[Any, ...]:
    return (
        statement.get("Effect"),
        tuple(sorted(str(a).lower() for a in iamdoc.as_list(statement.get("Action")))),
        tuple(sorted(str(r) for r in iamdoc.as_list(statement.get("Resource")))),
        json.dumps(statement.get("Principal"), sort_keys=True),
        json.dumps(statement.get("Condition"), sort_keys=True),
    )


def document_differs(live: str | Mapping[str, Any] | None, want: Mapping[str, Any]) -> bool:
    """Whether two policy documents grant differently (order, Sids and case of actions aside)."""
    if live is None:
        return True
    try:
        document = iamdoc.parse_document(live)
    except ValueError:
        return True
    have = sorted(map(_statement_key, iamdoc.statements(document)))
    return have != sorted(map(_statement_key, iamdoc.statements(want)))


def destination_fingerprint(destination: Mapping[str, Any]) -> dict[str, Any]:
    """What matters of a Firehose S3 destination, from a request or a Describe answer."""
    conversion = destination.get("DataFormatConversionConfiguration") or {}
    schema = conversion.get("SchemaConfiguration") or {}
    serializer = (conversion.get("OutputFormatConfiguration") or {}).get("Serializer") or {}
    processors = (destination.get("ProcessingConfiguration") or {}).get("Processors") or []
    query = [
        p.get("ParameterValue")
        for proc in processors
        if proc.get("Type") == "MetadataExtraction"
        for p in proc.get("Parameters") or []
        if p.get("ParameterName") == "MetadataExtractionQuery"
    ]
    hints = destination.get("BufferingHints") or {}
    return {
        "role": destination.get("RoleARN"),
        "bucket": destination.get("BucketARN"),
        "prefix": destination.get("Prefix"),
        "error prefix": destination.get("ErrorOutputPrefix"),
        "buffering": f"{hints.get('SizeInMBs')} MB / {hints.get('IntervalInSeconds')} s",
        "dynamic partitioning": bool(
            (destination.get("DynamicPartitioningConfiguration") or {}).get("Enabled")
        ),
        "partition keys": query[0] if query else None,
        "Parquet conversion": bool(conversion.get("Enabled", bool(conversion)))
        and "ParquetSerDe" in serializer,
        "schema table": (schema.get("DatabaseName"), schema.get("TableName")),
        "schema role": schema.get("RoleARN"),
    }


def destination_differences(spec: ArchiveSpec, live: Mapping[str, Any]) -> list[str]:
    """What differs between a live ExtendedS3 destination description and the spec's."""
    have, want = destination_fingerprint(live), destination_fingerprint(spec.destination())
    return [
        f"{key} {_short(have[key])} -> {_short(want[key])}"
        for key in want
        if have[key] != want[key]
    ]


def _gb(value: Any) -> str:
    return "none" if not value else f"{int(value) / 1e9:g} GB"


def workgroup_differences(spec: ArchiveSpec, live: Mapping[str, Any]) -> list[str]:
    """What differs between a live workgroup (GetWorkGroup's WorkGroup) and the spec's."""
    config = live.get("Configuration") or {}
    reasons: list[str] = []
    location = (config.get("ResultConfiguration") or {}).get("OutputLocation")
    reasons += _changed("results location", location, spec.results_location)
    reasons += _changed(
        "enforce the workgroup's settings", config.get("EnforceWorkGroupConfiguration"), True
    )
    reasons += _changed(
        "per-query scan limit",
        _gb(config.get("BytesScannedCutoffPerQuery")),
        _gb(spec.scan_limit_bytes),
    )
    selected = (config.get("EngineVersion") or {}).get("SelectedEngineVersion")
    if selected not in (ENGINE_VERSION, "AUTO"):
        reasons += _changed("engine", selected, ENGINE_VERSION)
    if live.get("State") not in (None, "ENABLED"):
        reasons.append(f"state {live.get('State')} -> ENABLED")
    return reasons


PARTITION_SUFFIX = "type=!{partitionKeyFromQuery:type}/date=!{partitionKeyFromQuery:date}/"
ERROR_SUFFIX = "!{firehose:error-output-type}/!{timestamp:yyyy-MM-dd}/"


def summary(description: Mapping[str, Any]) -> dict[str, Any]:
    """What ``status`` and ``export`` read of a delivery stream twilio-es made."""
    from twilio_es_cli.arns import stream_name

    destination: Mapping[str, Any] = {}
    for dest in description.get("Destinations") or []:
        destination = dest.get("ExtendedS3DestinationDescription") or destination
    source = (description.get("Source") or {}).get("KinesisStreamSourceDescription") or {}
    schema = (destination.get("DataFormatConversionConfiguration") or {}).get(
        "SchemaConfiguration"
    ) or {}
    hints = destination.get("BufferingHints") or {}
    bucket = str(destination.get("BucketARN", "")).rsplit(":", 1)[-1]
    return {
        "name": description.get("DeliveryStreamName"),
        "status": description.get("DeliveryStreamStatus"),
        "stream": stream_name(str(source.get("KinesisStreamARN", ""))) or None,
        "bucket": bucket,
        "prefix": str(destination.get("Prefix", "")).removesuffix(PARTITION_SUFFIX),
        "error_prefix": str(destination.get("ErrorOutputPrefix", "")).removesuffix(ERROR_SUFFIX),
        "database": schema.get("DatabaseName"),
        "table": schema.get("TableName"),
        "role_arn": destination.get("RoleARN"),
        "buffer_size_mb": hints.get("SizeInMBs"),
        "buffer_interval_seconds": hints.get("IntervalInSeconds"),
    }
