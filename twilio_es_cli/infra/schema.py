"""The model of ``twilio-es.yaml``: what a team declares, checked by pydantic, and its JSON Schema.

Why pydantic: the same model validates the file (unknown keys, wrong types, ranges) and
generates ``docs/twilio-es.schema.json`` for editors, so the two cannot disagree (a test checks
the committed schema is current). Cross-references (a sink naming an undeclared stream, a
subscription naming an undeclared sink) and limits are checked by :mod:`.loader`, which knows
line numbers.

Heavy: imports pydantic. Only the infra core imports this module.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from twilio_es_cli.models import KinesisSinkConfig, SegmentSinkConfig, WebhookSinkConfig

SCHEMA_VERSION = 1
NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
STREAM_NAME = r"^[a-zA-Z0-9_.-]{1,128}$"
SINK_SID = r"^DG[0-9a-fA-F]{32}$"
SUBSCRIPTION_SID = r"^DF[0-9a-fA-F]{32}$"
MAX_SINKS = 100  # Twilio's per-account limits (Event Streams docs)
MAX_SUBSCRIPTIONS = 100
DEFAULT_PROJECT = "default"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class StreamDecl(_Strict):
    """A Kinesis stream and the IAM role Twilio assumes to write into it (`stream create`)."""

    shards: int | None = Field(
        default=None, ge=1, le=10_000, description="Open shards (provisioned mode)."
    )
    on_demand: bool = Field(default=False, description="On-demand capacity instead of shards.")
    retention_hours: int | None = Field(
        default=None, ge=24, le=8760, description="How long records are kept (24 to 8760)."
    )
    role_name: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9_+=,.@-]{1,64}$",  # IAM's [\w+=,.@-] is ASCII only
        description="IAM role name (default: twilio-es-<stream>-<region>).",
    )

    @model_validator(mode="after")
    def _capacity(self) -> StreamDecl:
        if self.on_demand and self.shards is not None:
            raise ValueError("give either shards or on_demand: true, not both")
        if not self.on_demand and self.shards is None:
            raise ValueError("give shards (e.g. shards: 1) or on_demand: true")
        return self


class _SinkBase(_Strict):
    description: str | None = Field(
        default=None, min_length=1, description="Human-readable description (no PII)."
    )
    sid: str | None = Field(
        default=None,
        pattern=SINK_SID,
        description="Adopt this existing sink (written by `export` for sinks twilio-es did "
        "not create). twilio-es then matches it by SID instead of by its marker.",
    )


class KinesisSinkDecl(_SinkBase):
    """A kinesis sink: on a declared stream (``stream``), or an existing one (``arn`` ...)."""

    type: Literal["kinesis"]
    stream: str | None = Field(
        default=None, description="Name of a stream declared under `streams`."
    )
    arn: str | None = Field(default=None, description="Stream ARN (a stream not declared here).")
    role_arn: str | None = Field(default=None, description="Role ARN (with `arn`).")
    external_id: str | None = Field(
        default=None, description="The role's sts:ExternalId; use ${env:NAME}."
    )

    @model_validator(mode="after")
    def _target(self) -> KinesisSinkDecl:
        explicit = [self.arn, self.role_arn, self.external_id]
        if self.stream is not None and any(v is not None for v in explicit):
            raise ValueError("give either stream or arn/role_arn/external_id, not both")
        if self.stream is None:
            arn, role_arn, external_id = explicit
            if arn is None or role_arn is None or external_id is None:
                raise ValueError("give stream (a declared stream) or arn, role_arn and external_id")
            KinesisSinkConfig(arn=arn, role_arn=role_arn, external_id=external_id)
        return self

    def explicit_config(self) -> dict[str, Any] | None:
        if self.stream is not None:
            return None
        return {"arn": self.arn, "role_arn": self.role_arn, "external_id": self.external_id}


class WebhookSinkDecl(_SinkBase):
    """A webhook sink: Twilio POSTs (or GETs) events to a URL."""

    type: Literal["webhook"]
    destination: str = Field(description="http(s) URL Twilio delivers events to.")
    method: Literal["POST", "GET"] = "POST"
    batch_events: bool = False

    @field_validator("destination")
    @classmethod
    def _url(cls, value: str) -> str:
        WebhookSinkConfig(destination=value)
        return value

    @field_validator("method", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    def explicit_config(self) -> dict[str, Any]:
        return {
            "destination": self.destination,
            "method": self.method,
            "batch_events": self.batch_events,
        }


class SegmentSinkDecl(_SinkBase):
    """A segment sink: events go to a Segment source."""

    type: Literal["segment"]
    write_key: str = Field(min_length=1, description="The source's write key; use ${env:NAME}.")

    @field_validator("write_key")
    @classmethod
    def _key(cls, value: str) -> str:
        SegmentSinkConfig(write_key=value)
        return value

    def explicit_config(self) -> dict[str, Any]:
        return {"write_key": self.write_key}


SinkDecl = Annotated[
    KinesisSinkDecl | WebhookSinkDecl | SegmentSinkDecl, Field(discriminator="type")
]


class TypeEntry(_Strict):
    """One event type (or glob) and the schema version to pin it to."""

    type: str = Field(min_length=1, description="Event type, or a glob such as com.twilio.x.*")
    schema_version: int | None = Field(
        default=None, ge=1, description="Pinned schema version (default: the latest, pinned)."
    )


class SubscriptionDecl(_Strict):
    """Which event types (at which schema versions) go to which declared sink."""

    sink: str = Field(description="Name of a sink declared under `sinks`.")
    description: str | None = Field(default=None, min_length=1)
    sid: str | None = Field(
        default=None,
        pattern=SUBSCRIPTION_SID,
        description="Adopt this existing subscription (written by `export`).",
    )
    types: list[str | TypeEntry] = Field(
        min_length=1,
        description="TYPE, TYPE:VERSION or a glob; or {type, schema_version} objects.",
    )


S3_BUCKET = r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$"
S3_PREFIX = r"^(?:[A-Za-z0-9_.=-]+/)+$"
GLUE_NAME = r"^[a-z0-9_]{1,255}$"
DELIVERY_STREAM = r"^[a-zA-Z0-9_.-]{1,64}$"
WORKGROUP = r"^[a-zA-Z0-9._-]{1,128}$"
EVENT_TYPE = r"^[A-Za-z0-9_.-]{1,200}$"


class ArchiveDecl(_Strict):
    """The archive at scale: Firehose reads the stream and writes Parquet files into S3 in
    the layout of ``twilio-es archive``; Glue describes them and Athena answers SQL on them
    (``twilio-es query --athena``). docs/analytics.md has the picture and what each part costs.
    """

    stream: str = Field(
        pattern=STREAM_NAME,
        description="The Kinesis stream to archive: one declared under `streams`, or an "
        "existing one in the region.",
    )
    bucket: str = Field(pattern=S3_BUCKET, description="The S3 bucket the files go to.")
    create_bucket: bool = Field(
        default=True,
        description="Create the bucket when it does not exist (private, public access "
        "blocked); false: it must exist already. An existing bucket is never changed.",
    )
    prefix: str = Field(
        default="twilio-events/",
        pattern=S3_PREFIX,
        description="Where the files go in the bucket: PREFIX/type=TYPE/date=YYYY-MM-DD/.",
    )
    error_prefix: str = Field(
        default="twilio-events-errors/",
        pattern=S3_PREFIX,
        description="Where Firehose puts records it could not deliver (not CloudEvents, no "
        "time), by error type and day. Outside `prefix`.",
    )
    database: str = Field(
        default="twilio_events", pattern=GLUE_NAME, description="The Glue database."
    )
    table: str = Field(
        default="archive",
        pattern=GLUE_NAME,
        description="The Glue table over the files: the archive's columns, partitions "
        "projected on type and date.",
    )
    delivery_stream: str | None = Field(
        default=None,
        pattern=DELIVERY_STREAM,
        description="The Firehose delivery stream's name (default: <stream>-archive).",
    )
    role_name: str | None = Field(
        default=None,
        pattern=r"^[\w+=,.@-]{1,64}$",
        description="The IAM role Firehose uses (default: twilio-es-firehose-<delivery "
        "stream>-<region>).",
    )
    buffer_size_mb: int = Field(
        default=128,
        ge=64,
        le=128,
        description="Firehose writes a file when this many MB are buffered (64 to 128 with "
        "dynamic partitioning) ...",
    )
    buffer_interval_seconds: int = Field(
        default=300,
        ge=60,
        le=900,
        description="... or when the oldest buffered record is this old (60 to 900).",
    )
    workgroup: str = Field(
        default="twilio-es",
        pattern=WORKGROUP,
        description="The Athena workgroup `query --athena` runs in.",
    )
    results_prefix: str = Field(
        default="athena-results/",
        pattern=S3_PREFIX,
        description="Where Athena writes query results, in the same bucket. Outside `prefix`.",
    )
    scan_limit_gb: float | None = Field(
        default=None,
        ge=0.01,
        description="Cancel a query of the workgroup that would scan more than this many GB "
        "(Athena bills per TB scanned). Default: no limit.",
    )
    extra_types: list[Annotated[str, Field(pattern=EVENT_TYPE)]] = Field(
        default_factory=list,
        description="Event types written to the stream by subscriptions not in this file: "
        "Athena's partition projection lists the types it reads (those of the file's "
        "subscriptions on the stream, and these).",
    )


class InfraFile(_Strict):
    """The whole file."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        title="twilio-es Event Streams file",
        json_schema_extra={"$schema": "https://json-schema.org/draft/2020-12/schema"},
    )

    version: Literal[1] = Field(description="File format version (1).")
    project: str = Field(
        default=DEFAULT_PROJECT,
        pattern=NAME,
        description="Namespace of the markers twilio-es records in descriptions, so two files "
        "(e.g. two apps) can share one Twilio account without touching each other.",
    )
    streams: dict[Annotated[str, Field(pattern=STREAM_NAME)], StreamDecl] = Field(
        default_factory=dict, description="Kinesis streams by name."
    )
    sinks: dict[Annotated[str, Field(pattern=NAME)], SinkDecl] = Field(
        default_factory=dict, description="Sinks by name (the name is their identity)."
    )
    subscriptions: dict[Annotated[str, Field(pattern=NAME)], SubscriptionDecl] = Field(
        default_factory=dict, description="Subscriptions by name."
    )
    archive: ArchiveDecl | None = Field(
        default=None,
        description="The archive at scale: Firehose -> S3 (Parquet) -> Glue -> Athena.",
    )


# Field names at each level, for "did you mean" on unknown keys.
FIELDS_TOP = tuple(InfraFile.model_fields)
FIELDS_STREAM = tuple(StreamDecl.model_fields)
FIELDS_SINK = tuple(
    dict.fromkeys(
        [
            *KinesisSinkDecl.model_fields,
            *WebhookSinkDecl.model_fields,
            *SegmentSinkDecl.model_fields,
        ]
    )
)
FIELDS_SUBSCRIPTION = tuple(SubscriptionDecl.model_fields)
FIELDS_TYPE = tuple(TypeEntry.model_fields)
FIELDS_ARCHIVE = tuple(ArchiveDecl.model_fields)


def json_schema() -> dict[str, Any]:
    """The JSON Schema editors use (``# yaml-language-server: $schema=...``)."""
    schema = InfraFile.model_json_schema()
    schema["$id"] = "https://github.com/twilio-es/twilio-es/docs/twilio-es.schema.json"
    return schema


def json_schema_text() -> str:
    return json.dumps(json_schema(), indent=2, sort_keys=True) + "\n"
