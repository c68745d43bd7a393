"""Decoding of Kinesis records into Twilio's CloudEvents.

Twilio Event Streams writes one CloudEvent (JSON, structured mode) per Kinesis record. Its
``data`` arrives as a JSON *string* in Kinesis sinks and as an object elsewhere, so both are
accepted and ``data`` is always handed on parsed. Some payloads nest further JSON strings
(TaskRouter ``attributes``, error-log payloads): :func:`expand_nested` unpacks those on request.

A record that is not a CloudEvent (not UTF-8, not JSON, or missing required attributes) is not
an error: :func:`decode` returns it flagged (``is_cloudevent`` false) so a tail can show it raw
and carry on. Parsing uses pydantic's Rust JSON parser (``model_validate_json``), which keeps
decoding well above 100k events/s on one core (see bench/tail.py).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pydantic_core
from pydantic import BaseModel, ConfigDict, ValidationError

TEST_EVENT_TYPE = "com.twilio.eventstreams.test-event"


class CloudEvent(BaseModel):
    """A CloudEvents 1.0 event as Twilio sends it; extension attributes are kept (extra=allow)."""

    model_config = ConfigDict(extra="allow")

    specversion: str
    id: str
    source: str
    type: str
    time: str | None = None
    datacontenttype: str | None = None
    dataschema: str | None = None
    subject: str | None = None
    data: Any = None

    def attributes(self) -> dict[str, Any]:
        """Every attribute (extensions included) with ``data`` as decoded; None values dropped."""
        return {k: v for k, v in self.model_dump().items() if v is not None}


@dataclass(frozen=True)
class DecodedEvent:
    """One record's bytes, decoded as far as they go.

    ``event`` is the CloudEvent (with ``event.data`` already parsed) or None when the record is
    not one; ``error`` then says why, and ``raw`` always holds the original bytes.
    """

    raw: bytes
    event: CloudEvent | None
    error: str | None = None
    data_was_string: bool = False

    @property
    def is_cloudevent(self) -> bool:
        return self.event is not None

    @property
    def data(self) -> Any:
        """The parsed ``data`` (dict/list/scalar), or None for a non-CloudEvent record."""
        return self.event.data if self.event is not None else None

    @property
    def type(self) -> str | None:
        return self.event.type if self.event is not None else None

    def text(self) -> str:
        """The raw bytes as text (undecodable bytes replaced), for showing non-events."""
        return self.raw.decode("utf-8", errors="replace")


def _parse_json_string(value: str) -> tuple[Any, bool]:
    """Parse ``value`` when it holds a JSON object/array; returns (value, parsed?)."""
    stripped = value.lstrip()
    if not stripped or stripped[0] not in "{[":
        return value, False
    try:
        return pydantic_core.from_json(value), True
    except ValueError:
        return value, False


def decode(data: bytes, *, expand: bool = False) -> DecodedEvent:
    """Decode one Kinesis record (already base64-decoded by boto3) into a :class:`DecodedEvent`.

    ``data`` given as a JSON string holding an object/array is parsed; with ``expand`` every
    nested string that holds JSON is parsed too (see :func:`expand_nested`).
    """
    try:
        event = CloudEvent.model_validate_json(data)
    except ValidationError as exc:
        return DecodedEvent(raw=data, event=None, error=_why_not(data, exc))
    was_string = False
    if isinstance(event.data, str):
        event.data, was_string = _parse_json_string(event.data)
    if expand and event.data is not None:
        event.data = expand_nested(event.data)
    return DecodedEvent(raw=data, event=event, data_was_string=was_string)


def _why_not(data: bytes, exc: ValidationError) -> str:
    """A short reason a record is not a CloudEvent (for the warning, not for control flow)."""
    try:
        value = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        return "not JSON"
    if not isinstance(value, dict):
        return f"JSON {type(value).__name__}, not a CloudEvent object"
    missing = [
        ".".join(str(p) for p in err["loc"]) for err in exc.errors() if err["type"] == "missing"
    ]
    if missing:
        return "missing CloudEvent attribute(s): " + ", ".join(missing)
    return "invalid CloudEvent attributes"


def expand_nested(value: Any, *, depth: int = 8) -> Any:
    """Parse strings that hold JSON objects/arrays, recursively (bounded by ``depth``).

    Why: Twilio payloads such as TaskRouter ``attributes`` or Debugger ``payload`` carry JSON
    encoded as a string inside the event; unpacking them makes ``jq`` filters straightforward.
    """
    if depth <= 0:
        return value
    if isinstance(value, str):
        parsed, ok = _parse_json_string(value)
        return expand_nested(parsed, depth=depth - 1) if ok else value
    if isinstance(value, dict):
        return {k: expand_nested(v, depth=depth - 1) for k, v in value.items()}
    if isinstance(value, list):
        return [expand_nested(v, depth=depth - 1) for v in value]
    return value
