"""The sandbox's catalogue of event types and schemas, read from ``catalogue.json``.

``catalogue.json`` (beside this module; provenance in ``CATALOGUE.md``) lists every event type
on Twilio's public pages with its status and schema, each schema's latest version, and a JSON
Schema *shape* per schema (fields, required fields, an example). Every fact carries the key of
its source in the file's ``sources``; ``"sandbox"`` marks a value no public page stored for this
project states (the sandbox's own, modelled on its siblings). This module only loads and
indexes the file; events are generated in :mod:`.events`, the rules live in :mod:`.service`.

Ordering follows Twilio's Event Type resource page: types are listed "in ascending order by
event type". Schema version dates are not published; they are the sandbox's own, spaced half a
year apart from 2020-07-30 (the first Event Streams schema), so that ``date_created`` increases
with the version.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, timedelta
from importlib import resources
from typing import Any

SANDBOX_SOURCE = "sandbox"  # the source key of values no public page states
TEST_EVENT_TYPE = "com.twilio.eventstreams.test-event"
_FIRST_SCHEMA_DATE = date(2020, 7, 30)
_VERSION_SPACING = timedelta(days=183)


@dataclass(frozen=True)
class Shape:
    """The fields of a schema: JSON Schema ``properties``/``required`` and an example ``data``."""

    name: str
    description: str
    properties: dict[str, Any] = field(hash=False, compare=False)
    required: tuple[str, ...]
    example: dict[str, Any] = field(hash=False, compare=False)
    fields_source: str
    closed: bool = True  # additionalProperties: false, as Twilio's own documents are


@dataclass(frozen=True)
class SchemaDef:
    """A schema id, its latest version and where each fact comes from."""

    id: str
    latest_version: int
    shape: Shape
    title: str
    id_source: str
    version_source: str
    event_id_prefix: str = "EZ"  # CloudEvent ids: EZ messaging, VW voice, NO error logs
    event_source: str = "/v1/Accounts/{account}/"

    @property
    def version_dates(self) -> tuple[str, ...]:
        """Creation date of each version (the sandbox's own; Twilio publishes none)."""
        return tuple(
            (_FIRST_SCHEMA_DATE + n * _VERSION_SPACING).strftime("%Y-%m-%dT12:00:00Z")
            for n in range(self.latest_version)
        )


@dataclass(frozen=True)
class EventTypeDef:
    """One event type of the catalogue (``GET /v1/Types``)."""

    type: str
    schema_id: str
    description: str
    status: str = "available"  # available | deprecated | restricted | discontinued
    documentation_url: str | None = None
    date_created: str = "2020-08-13T13:28:20Z"  # the date Twilio's own example shows
    source: str = SANDBOX_SOURCE
    # Fields this type sets in the schema's example (messageStatus, verification_status...).
    data: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)


def _load() -> dict[str, Any]:
    text = (resources.files("twilio_es_cli.local") / "catalogue.json").read_text("utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def _shapes(raw: dict[str, Any]) -> dict[str, Shape]:
    return {
        name: Shape(
            name=name,
            description=item["description"],
            properties=item["properties"],
            required=tuple(item["required"]),
            example=item["example"],
            fields_source=item["fields_source"],
            closed=item.get("closed", True),
        )
        for name, item in raw["shapes"].items()
    }


def _schemas(raw: dict[str, Any], shapes: dict[str, Shape]) -> tuple[SchemaDef, ...]:
    return tuple(
        SchemaDef(
            id=sid,
            latest_version=int(item["latest_version"]),
            shape=shapes[item["shape"]],
            title=item["title"],
            id_source=item["id_source"],
            version_source=item["version_source"],
            event_id_prefix=item.get("event_id_prefix", "EZ"),
            event_source=item.get("event_source", "/v1/Accounts/{account}/"),
        )
        for sid, item in raw["schemas"].items()
    )


def _types(raw: dict[str, Any]) -> tuple[EventTypeDef, ...]:
    entries = [
        EventTypeDef(
            type=item["type"],
            schema_id=item["schema_id"],
            description=item["description"],
            status=item["status"],
            documentation_url=item.get("documentation_url"),
            source=item["source"],
            data=item.get("data", {}),
        )
        for item in raw["types"]
    ]
    return tuple(sorted(entries, key=lambda t: t.type))


_RAW = _load()
SOURCES: dict[str, dict[str, Any]] = _RAW["sources"]
SHAPES: dict[str, Shape] = _shapes(_RAW)
SCHEMAS: tuple[SchemaDef, ...] = _schemas(_RAW, SHAPES)
EVENT_TYPES: tuple[EventTypeDef, ...] = _types(_RAW)
TYPES_BY_NAME: dict[str, EventTypeDef] = {t.type: t for t in EVENT_TYPES}
SCHEMAS_BY_ID: dict[str, SchemaDef] = {s.id: s for s in SCHEMAS}
