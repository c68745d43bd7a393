"""Realistic CloudEvents for the sandbox, and the JSON Schema documents behind them.

Events look like what Twilio writes into a sink: CloudEvents 1.0 JSON whose ``dataschema`` is
``events-schemas.twilio.com/<SchemaId>/<version>``, with the id prefix Twilio uses for the
product (``EZ`` messaging, ``VW`` voice, ``NO`` error logs) and a ``source`` path like the live
ones. ``data`` starts from the example of the schema's shape in ``catalogue.json`` (taken from
Twilio's page where one shows it), gets fresh SIDs and timestamps, then the type's own fields
(``messageStatus: DELIVERED`` for ``...message.delivered``), then what the caller asks for.

Every event validates against the document its ``dataschema`` names (:func:`raw_schema`):
``Messaging.MessageStatus`` version 4 is Twilio's own document (``schemas/``); other versions
and schemas are built from the shape, in the style of Twilio's documents (draft-07, closed
objects), with a ``$comment`` saying where the fields come from.
"""

from __future__ import annotations

import copy
import email.utils
import json
import re
import uuid
from datetime import datetime, timezone
from functools import cache
from importlib import resources
from typing import Any

from twilio_es_cli.local.catalog_data import (
    SCHEMAS_BY_ID,
    SOURCES,
    TEST_EVENT_TYPE,
    TYPES_BY_NAME,
    SchemaDef,
)

SCHEMA_HOST = "https://events-schemas.twilio.com"
DRAFT_07 = "http://json-schema.org/draft-07/schema#"
_STORED_SCHEMAS = {("Messaging.MessageStatus", 4): "Messaging.MessageStatus.4.json"}
# The examples in catalogue.json are written around this moment; generated events move it to now.
_EXAMPLE_EPOCH = datetime(2025, 1, 1, tzinfo=timezone.utc)
_SID = re.compile(r"([A-Z]{2})[0-9a-fA-F]{32}")
_ISO = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z")
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_EPOCH_MS = (10**12, 10**13)


def now_iso(millis: bool = False) -> str:
    """UTC now as ISO 8601 with a ``Z`` (Twilio's format; events carry milliseconds)."""
    return _iso(datetime.now(timezone.utc), millis)


def _iso(moment: datetime, millis: bool) -> str:
    if millis:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


TEST_EVENT_SCHEMA = f"{SCHEMA_HOST}/EventStreams.TestSink/1.json"


def test_event(test_id: str, account_sid: str) -> dict[str, Any]:
    """The sink test event, as the Kinesis quickstart shows it.

    Its ``id`` is the account SID (the quickstart's example event), ``dataschema`` names the
    TestSink schema and ``data`` is a JSON string holding the ``test_id``.
    """
    return {
        "specversion": "1.0",
        "type": TEST_EVENT_TYPE,
        "source": "Sink",
        "id": account_sid,
        "dataschema": TEST_EVENT_SCHEMA,
        "datacontenttype": "application/json",
        "time": now_iso(millis=True),
        "data": json.dumps({"test_id": test_id}, separators=(",", ":")),
    }


class _Refresher:
    """Fresh values for an example: new SIDs (one per old SID), times moved to now."""

    def __init__(self, account_sid: str) -> None:
        self.account_sid = account_sid
        self.sids: dict[str, str] = {}
        self.now = datetime.now(timezone.utc)
        self.shift = self.now - _EXAMPLE_EPOCH

    def value(self, key: str, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: self.value(k, v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.value(key, v) for v in value]
        if isinstance(value, bool):
            return value
        if isinstance(value, int) and _EPOCH_MS[0] <= value < _EPOCH_MS[1]:
            return value + int(self.shift.total_seconds() * 1000)
        if isinstance(value, str):
            return self._text(value)
        return value

    def _text(self, value: str) -> str:
        if _SID.fullmatch(value):
            if value.startswith("AC"):
                return self.account_sid
            return self.sids.setdefault(value, value[:2] + uuid.uuid4().hex)
        if _ISO.fullmatch(value):
            moment = datetime.fromisoformat(value.replace("Z", "+00:00")) + self.shift
            return _iso(moment, millis="." in value)
        if _UUID.fullmatch(value):
            return str(uuid.uuid4())
        if value.isdigit() and len(value) == 13:
            return str(int(value) + int(self.shift.total_seconds() * 1000))
        if re.fullmatch(r"[A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d \+0000", value):
            return email.utils.format_datetime(self.now.replace(microsecond=0), usegmt=False)
        return value


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """``extra`` over ``base``, objects merged key by key (a type sets one nested field)."""
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _merge(base[key], value)
        else:
            base[key] = value
    return base


def sample_data(
    event_type: str, account_sid: str, schema_version: int | None = None
) -> dict[str, Any]:
    """A realistic ``data`` object for ``event_type``, valid for that schema version."""
    spec = TYPES_BY_NAME[event_type]
    schema = SCHEMAS_BY_ID[spec.schema_id]
    refresh = _Refresher(account_sid)
    data: dict[str, Any] = refresh.value("", copy.deepcopy(schema.shape.example))
    _merge(data, refresh.value("", copy.deepcopy(spec.data)))
    document = raw_schema(schema.id, schema_version or schema.latest_version)
    if document.get("additionalProperties") is False:
        data = {k: v for k, v in data.items() if k in document["properties"]}
    return data


class _Fields(dict[str, Any]):
    """``str.format_map`` over data fields; a field the data lacks stays visible as ``-``."""

    def __missing__(self, key: str) -> str:
        return "-"


def _source(schema: SchemaDef, account_sid: str, data: dict[str, Any]) -> str:
    template = schema.event_source
    if template.endswith("/"):
        template += schema.id
    return template.format_map(_Fields({**data, "account": account_sid}))


def make_event(
    event_type: str,
    account_sid: str,
    schema_version: int | None = None,
    data: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A CloudEvent of ``event_type``; ``data`` keys override the generated ones."""
    spec = TYPES_BY_NAME[event_type]
    schema = SCHEMAS_BY_ID[spec.schema_id]
    version = schema_version or schema.latest_version
    payload = sample_data(event_type, account_sid, version)
    if data:
        payload.update(data)
    return {
        "specversion": "1.0",
        "type": event_type,
        "source": _source(schema, account_sid, payload),
        "id": schema.event_id_prefix + uuid.uuid4().hex,
        "dataschema": f"{SCHEMA_HOST}/{schema.id}/{version}",
        "datacontenttype": "application/json",
        "time": now_iso(millis=True),
        "data": payload,
    }


@cache
def _stored(filename: str) -> str:
    return (resources.files("twilio_es_cli.local") / "schemas" / filename).read_text("utf-8")


def _where(key: str) -> str:
    source = SOURCES.get(key, {})
    return str(source.get("url") or "the sandbox's own choice (no public page states them)")


def raw_schema(schema_id: str, version: int) -> dict[str, Any]:
    """The JSON Schema document for one schema version (what its ``raw`` URL serves)."""
    schema_url = f"{SCHEMA_HOST}/{schema_id}/{version}"
    schema = SCHEMAS_BY_ID[schema_id]
    shape = schema.shape
    if schema_id == "Messaging.MessageStatus":
        # Only version 4 is Twilio's own document; earlier versions are served as version 4,
        # later ones add the fields the Outbound Message page lists for them.
        document: dict[str, Any] = json.loads(_stored(_STORED_SCHEMAS[(schema_id, 4)]))
        if version > 4:
            for name, prop in shape.properties.items():
                document["properties"].setdefault(name, prop)
        if version != 4:
            where = _where(shape.fields_source)
            document["$comment"] = f"twilio-es sandbox: version 4 plus fields from {where}"
        document["$id"] = schema_url
        return document
    document = {
        "$id": schema_url,
        "$schema": DRAFT_07,
        "$comment": f"twilio-es sandbox: fields from {_where(shape.fields_source)}",
        "description": shape.description,
        "properties": copy.deepcopy(shape.properties),
        "required": list(shape.required),
        "title": schema.title,
        "type": "object",
    }
    if shape.closed:
        document["additionalProperties"] = False
    return document
