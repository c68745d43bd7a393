"""Pydantic models: sink configurations (validated input) and resource views (rendered output).

Input models reject bad values before any remote call, so a typo in an ARN is an exit-2 message
naming the field instead of a sink that never validates. Views are small, API-shaped records the
commands render; they know which configuration keys are secrets so tables and logs never show
an external id or a write key unless the user asks for it.

Heavy: imports pydantic. Only core modules and command bodies import this module.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any, Literal, TypeVar
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from twilio_es_cli import arns
from twilio_es_cli.arns import StreamArn
from twilio_es_cli.errors import UsageError

# sts:ExternalId as AWS's AssumeRole accepts it (length is checked separately: 2-1224).
EXTERNAL_ID = re.compile(r"^[\w+=,.@:/-]+$", re.ASCII)

# A stream named by its ARN; arns.py owns the type (one parser for every command).
StreamRef = StreamArn

SinkType = Literal["kinesis", "webhook", "segment"]
SINK_STATUSES = ("initialized", "validating", "active", "failed")
# Configuration keys whose values are credentials: redacted unless --show-secrets.
SECRET_KEYS = frozenset({"external_id", "write_key"})


class _Config(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)


class KinesisSinkConfig(_Config):
    """``{arn, role_arn, external_id}``: what ``stream create`` prints and Twilio needs."""

    arn: str = Field(description="ARN of the Kinesis stream Twilio writes to")
    role_arn: str = Field(description="ARN of the IAM role Twilio assumes to write")
    external_id: str = Field(description="sts:ExternalId the role's trust policy requires")

    @field_validator("arn")
    @classmethod
    def _stream_arn(cls, value: str) -> str:
        if arns.parse_stream(value) is None:
            raise ValueError(f"must look like {arns.STREAM_FORM}")
        return value

    @field_validator("role_arn")
    @classmethod
    def _role_arn(cls, value: str) -> str:
        if arns.parse_role(value) is None:
            raise ValueError(f"must look like {arns.ROLE_FORM}")
        return value

    @field_validator("external_id")
    @classmethod
    def _external_id(cls, value: str) -> str:
        # AWS refuses AssumeRole with any other sts:ExternalId, so such a sink could never work.
        if not value:
            raise ValueError("must not be empty")
        if any(ch.isspace() for ch in value):
            raise ValueError("must not contain whitespace")
        if not 2 <= len(value) <= 1224 or not EXTERNAL_ID.match(value):
            raise ValueError(
                "must be 2 to 1224 characters of letters, digits and _+=,.@:/- "
                "(what AWS accepts as sts:ExternalId)"
            )
        return value

    @property
    def stream(self) -> StreamRef:
        parsed = arns.parse_stream(self.arn)
        assert parsed is not None  # validated on construction
        return parsed

    @property
    def region(self) -> str:
        return self.stream.region

    @property
    def account_id(self) -> str:
        return self.stream.account_id

    @property
    def stream_name(self) -> str:
        return self.stream.name

    def as_dict(self) -> dict[str, str]:
        """The three fields as ``stream create`` prints them and Twilio takes them."""
        return {"arn": self.arn, "role_arn": self.role_arn, "external_id": self.external_id}

    def default_description(self) -> str:
        return f"twilio-es kinesis sink for stream {self.stream_name} ({self.region})"


class WebhookSinkConfig(_Config):
    """``{destination, method, batch_events}``: Twilio POSTs (or GETs) events to a URL."""

    destination: str = Field(description="http(s) URL Twilio delivers events to")
    method: Literal["POST", "GET"] = "POST"
    batch_events: bool = False

    @field_validator("destination")
    @classmethod
    def _url(cls, value: str) -> str:
        try:
            parts = urlsplit(value)
            parts.port  # noqa: B018  (raises ValueError for a port out of range or not a number)
        except ValueError as exc:
            raise ValueError(f"is not a usable URL: {exc}") from None
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an http:// or https:// URL with a host")
        return value

    @field_validator("method", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    def default_description(self) -> str:
        return f"twilio-es webhook sink to {urlsplit(self.destination).hostname}"


class SegmentSinkConfig(_Config):
    """``{write_key}``: events go to a Segment source."""

    write_key: str = Field(description="the Segment source's write key")

    @field_validator("write_key")
    @classmethod
    def _key(cls, value: str) -> str:
        if not value:
            raise ValueError("must not be empty")
        return value

    def default_description(self) -> str:
        return "twilio-es segment sink"


ConfigT = TypeVar("ConfigT", bound=_Config)

SinkConfig = KinesisSinkConfig | WebhookSinkConfig | SegmentSinkConfig

SINK_TYPE_OF: dict[type[BaseModel], SinkType] = {
    KinesisSinkConfig: "kinesis",
    WebhookSinkConfig: "webhook",
    SegmentSinkConfig: "segment",
}


def _field_error(exc: ValidationError, *, source: str | None = None) -> UsageError:
    """One line naming the field, from pydantic's (possibly many) errors."""
    first = exc.errors()[0]
    loc = ".".join(str(p) for p in first.get("loc", ())) or "input"
    flag = "--" + loc.replace("_", "-")
    where = f"{loc} in {source}" if source else flag
    msg = str(first.get("msg", "is invalid")).removeprefix("Value error, ")
    msg = msg.replace("Input should be", "must be")  # ours, not the validation library's
    if first.get("type") == "missing":
        msg = "is required"
    elif first.get("type") == "extra_forbidden":
        msg = "is not a known setting"
    others = [".".join(str(p) for p in e.get("loc", ())) for e in exc.errors()[1:] if e.get("loc")]
    if source is None:
        others = ["--" + o.replace("_", "-") for o in others]
    tail = f" (also invalid: {', '.join(others)})" if others else ""
    return UsageError(f"{where}: {msg}{tail}")


def parse_config(
    model: type[ConfigT], values: Mapping[str, Any], *, source: str | None = None
) -> ConfigT:
    """Build ``model`` from ``values`` or raise a one-line :class:`UsageError` naming the field."""
    try:
        return model.model_validate(dict(values))
    except ValidationError as exc:
        raise _field_error(exc, source=source) from None


def load_kinesis_config(text: str, *, source: str) -> KinesisSinkConfig:
    """Parse a ``twilio-sink.json`` into a validated :class:`KinesisSinkConfig` (see below)."""
    data = sink_file_fields(text, source=source)
    keys = ("arn", "role_arn", "external_id")
    return parse_config(KinesisSinkConfig, {k: data[k] for k in keys if k in data}, source=source)


def sink_file_fields(text: str, *, source: str) -> dict[str, Any]:
    """The configuration object in a ``twilio-sink.json``, unvalidated; the one reader of it.

    Accepted shapes: the flat ``{"arn", "role_arn", "external_id"}`` both tools print; a sink
    resource as the API or the Twilio CLI shows it (``{"sink_configuration": {...}}``, also
    ``SinkConfiguration``), where the configuration may itself be a JSON string. Unknown keys
    next to the three fields (e.g. a stream name) are ignored by callers. ``tail`` needs only
    the ``arn``, so it reads through here without validating the rest.
    """
    hint = "Create it with `twilio-es stream create NAME 1 > twilio-sink.json`."
    try:
        data: Any = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(
            f"{source} is not valid JSON (line {exc.lineno}, column {exc.colno})", hint=hint
        ) from None
    except RecursionError:  # '[' x 100000: no sink configuration nests like that
        raise UsageError(f"{source} is not valid JSON (nested too deeply)", hint=hint) from None
    if isinstance(data, list) and len(data) == 1:
        data = data[0]  # `twilio api:events:v1:sinks:fetch -o json` prints a one-item array
    if isinstance(data, dict):
        for key in ("sink_configuration", "SinkConfiguration", "sinkConfiguration"):
            if key in data:
                data = data[key]
                break
    if isinstance(data, str):
        try:
            data = json.loads(data)
        except (json.JSONDecodeError, RecursionError):
            data = None
    if not isinstance(data, dict):
        raise UsageError(
            f"{source} does not hold a kinesis sink configuration",
            hint='Expected {"arn": ..., "role_arn": ..., "external_id": ...}, as printed by '
            "`twilio-es stream create`.",
        )
    return data


def read_config_file(path: str) -> tuple[str, str]:
    """Read ``path`` (``-`` is stdin); return (text, display name). Missing file -> exit 2."""
    import sys

    if path == "-":
        return sys.stdin.read(), "stdin"
    file = Path(path)
    try:
        return file.read_text(encoding="utf-8"), str(file)
    except FileNotFoundError:
        raise UsageError(
            f"config file {path} does not exist",
            hint="Create it with `twilio-es stream create NAME 1 > twilio-sink.json`.",
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read config file {path}: {exc}") from None


def redact(secret: str | None, *, keep: int = 4) -> str:
    """Show enough of a secret to recognise it, never the whole value."""
    if not secret:
        return "-"
    if len(secret) <= keep * 2:
        return "****"
    return f"{secret[:keep]}…({len(secret)} chars)"


def redact_configuration(config: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of a sink configuration with secret values shortened beyond use (external id,
    write key) or hidden (the password of a webhook destination's ``user:password@``)."""
    from twilio_es_cli.safe_text import redact_urls

    return {
        key: redact(str(value))
        if key in SECRET_KEYS and value
        else redact_urls(value)
        if key == "destination" and isinstance(value, str)
        else value
        for key, value in config.items()
    }


def _as_mapping(value: Any) -> dict[str, Any]:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except (json.JSONDecodeError, RecursionError):
            return {"raw": value}
    return dict(value) if isinstance(value, Mapping) else {}


class Sink(BaseModel):
    """A sink as the Events API returns it (``sink_configuration`` unredacted: see views)."""

    model_config = ConfigDict(frozen=True)

    sid: str
    description: str | None = None
    status: str | None = None
    sink_type: str | None = None
    sink_configuration: dict[str, Any] = Field(default_factory=dict)
    date_created: datetime | None = None
    date_updated: datetime | None = None
    url: str | None = None

    @classmethod
    def from_resource(cls, resource: Any) -> Sink:
        """From a twilio SDK ``SinkInstance`` or a plain API dict (``sid``, ``status``, ...)."""

        def get(name: str) -> Any:
            if isinstance(resource, Mapping):
                return resource.get(name)
            return getattr(resource, name, None)

        return cls(
            sid=str(get("sid") or ""),
            description=get("description"),
            status=None if get("status") is None else str(get("status")),
            sink_type=None if get("sink_type") is None else str(get("sink_type")),
            sink_configuration=_as_mapping(get("sink_configuration")),
            date_created=get("date_created"),
            date_updated=get("date_updated"),
            url=get("url"),
        )

    @property
    def target(self) -> str:
        """Where events go, in a few words: stream name, URL, or the sink type."""
        config = self.sink_configuration
        if self.sink_type == "kinesis" and isinstance(config.get("arn"), str):
            parsed = arns.parse_stream(config["arn"])
            return parsed.name if parsed else str(config["arn"])
        if self.sink_type == "webhook" and config.get("destination"):
            from twilio_es_cli.safe_text import redact_urls

            return redact_urls(str(config["destination"]))  # shown in tables: no password
        return self.sink_type or "-"

    def kinesis_stream(self) -> StreamRef | None:
        """The stream a kinesis sink writes to (from its ARN), or None when there is none."""
        arn = self.sink_configuration.get("arn") if self.sink_type == "kinesis" else None
        return StreamRef.parse(arn) if isinstance(arn, str) else None

    def view(self, *, show_secrets: bool = False) -> dict[str, Any]:
        """The JSON document commands print; secrets redacted unless asked for."""
        data = self.model_dump(mode="json")
        if not show_secrets:
            data["sink_configuration"] = redact_configuration(self.sink_configuration)
        return data

    def fields(self, *, show_secrets: bool = False) -> dict[str, Any]:
        """Ordered ``label -> value`` pairs for ``print_fields``."""
        config = (
            self.sink_configuration
            if show_secrets
            else redact_configuration(self.sink_configuration)
        )
        out: dict[str, Any] = {
            "sid": self.sid,
            "type": self.sink_type,
            "status": self.status,
            "description": self.description,
        }
        for key, value in config.items():
            out[f"config.{key}"] = value
        out.update(created=self.date_created, updated=self.date_updated, url=self.url)
        return out
