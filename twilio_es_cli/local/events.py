"""Realistic CloudEvents for the emulator, and the raw JSON Schemas behind them.

Events look like what Twilio writes into a sink: CloudEvents 1.0 JSON with ``dataschema``
pointing at ``events-schemas.twilio.com/<SchemaId>/<version>``. ``Messaging.MessageStatus``
data validates against the real schema shipped in ``schemas/``; other schemas are described by
documents derived from the generated samples (see :func:`raw_schema`), so an event always
validates against the schema its ``dataschema`` names.
"""

from __future__ import annotations

import json
import random
import uuid
from datetime import datetime, timezone
from functools import cache
from importlib import resources
from typing import Any

from twilio_es_cli.local.catalog_data import (
    SCHEMAS_BY_ID,
    TEST_EVENT_TYPE,
    TYPES_BY_NAME,
)

SCHEMA_HOST = "https://events-schemas.twilio.com"
_STORED_SCHEMAS = {("Messaging.MessageStatus", 4): "Messaging.MessageStatus.4.json"}
# Fields Messaging.MessageStatus v7 has beyond v4 (Twilio's Outbound Message event-type page).
_LATER_MESSAGE_STATUS_FIELDS: dict[str, Any] = {
    "mnc": {"description": "Mobile Network Code for the FROM number", "type": "string"},
    "mcc": {"description": "Mobile Country Code for the FROM number", "type": "string"},
    "rawDlrDoneDate": {"description": "Dlr delivered time", "type": "string"},
    "numberOfSegments": {"description": "Number of segments for the message", "type": "integer"},
    "dateUpdated": {"description": "Date of status update in ISO 8601 format", "type": "string"},
}


def now_iso(millis: bool = False) -> str:
    """UTC now as ISO 8601 with a ``Z`` (Twilio's format; events carry milliseconds)."""
    moment = datetime.now(timezone.utc)
    if millis:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _sid(prefix: str) -> str:
    return prefix + uuid.uuid4().hex


def _phone() -> str:
    return "+1555" + "".join(random.choice("0123456789") for _ in range(7))


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


def _message_status(event_type: str, account_sid: str) -> dict[str, Any]:
    status = event_type.rsplit(".", 1)[-1].upper()
    data: dict[str, Any] = {
        "accountSid": account_sid,
        "apiVersion": "2010-04-01",
        "eventName": event_type,
        "from": _phone(),
        "to": _phone(),
        "messageSid": _sid("SM"),
        "messageStatus": status,
        "messagingServiceSid": _sid("MG"),
        "timestamp": now_iso(millis=True),
    }
    if status in ("FAILED", "UNDELIVERED"):
        data["errorCode"] = random.choice((30003, 30005, 30006, 30007, 30008))
    return data


def _inbound(account_sid: str) -> dict[str, Any]:
    return {
        "accountSid": account_sid,
        "messageSid": _sid("SM"),
        "from": _phone(),
        "to": _phone(),
        "body": random.choice(("Hello", "STOP", "Is my order ready?", "Thanks!")),
        "numMedia": 0,
        "numSegments": 1,
        "timestamp": now_iso(millis=True),
    }


def _call_summary(event_type: str, account_sid: str) -> dict[str, Any]:
    return {
        "account_sid": account_sid,
        "call_sid": _sid("CA"),
        "call_type": "carrier",
        "call_state": "completed",
        "processing_state": event_type.rsplit(".", 1)[-1],
        "direction": random.choice(("inbound", "outbound_api")),
        "duration": random.randint(5, 600),
        "from": {"caller": _phone()},
        "to": {"callee": _phone()},
        "start_time": now_iso(),
        "end_time": now_iso(),
    }


def _call_event(account_sid: str) -> dict[str, Any]:
    return {
        "account_sid": account_sid,
        "call_sid": _sid("CA"),
        "edge": "carrier_edge",
        "event": random.choice(("initiated", "ringing", "answered", "completed")),
        "timestamp": now_iso(millis=True),
    }


def _taskrouter(event_type: str, account_sid: str) -> dict[str, Any]:
    eventtype = event_type.removeprefix("com.twilio.taskrouter.")
    return {
        "sid": _sid("EV"),
        "name": eventtype,
        "account_sid": account_sid,
        "timestamp": now_iso(millis=True),
        "level": "INFO",
        "group": eventtype.split(".", 1)[0],
        "product_name": "TaskRouter",
        "publisher": "Flex Task Assignment",
        "publisher_metadata": "{}",
        "payload_type": "application/json",
        "payload": {
            "eventtype": eventtype,
            "account_sid": account_sid,
            "workspace_sid": _sid("WS"),
            "workspace_name": "Flex Task Assignment",
            "task_sid": _sid("WT"),
            # Nested JSON in a string, as TaskRouter really sends it.
            "task_attributes": json.dumps({"channel": "voice", "from": _phone()}),
            "task_priority": 1,
            "timestamp": now_iso(millis=True),
        },
    }


def _studio(event_type: str, account_sid: str) -> dict[str, Any]:
    return {
        "account_sid": account_sid,
        "flow_sid": _sid("FW"),
        "execution_sid": _sid("FN"),
        "step_sid": _sid("FT"),
        "name": event_type.removeprefix("com.twilio.studio."),
        "status": "ended" if event_type.endswith("ended") else "active",
        "timestamp": now_iso(millis=True),
    }


def sample_data(event_type: str, account_sid: str) -> dict[str, Any]:
    """A realistic ``data`` object for ``event_type`` (by its schema)."""
    schema_id = TYPES_BY_NAME[event_type].schema_id
    if schema_id == "Messaging.MessageStatus":
        return _message_status(event_type, account_sid)
    if schema_id == "Messaging.InboundMessageV1":
        return _inbound(account_sid)
    if schema_id == "VoiceInsights.CallSummary":
        return _call_summary(event_type, account_sid)
    if schema_id == "VoiceInsights.CallEvent":
        return _call_event(account_sid)
    if schema_id == "TaskRouter.WDSEvent":
        return _taskrouter(event_type, account_sid)
    if schema_id.startswith("Studio."):
        return _studio(event_type, account_sid)
    return {"test_id": str(uuid.uuid4())}


def make_event(
    event_type: str,
    account_sid: str,
    schema_version: int | None = None,
    data: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A CloudEvent of ``event_type``; ``data`` keys override the generated ones."""
    spec = TYPES_BY_NAME[event_type]
    version = schema_version or SCHEMAS_BY_ID[spec.schema_id].latest_version
    payload = sample_data(event_type, account_sid)
    if data:
        payload.update(data)
    return {
        "specversion": "1.0",
        "type": event_type,
        "source": f"/v1/Accounts/{account_sid}/{spec.schema_id}",
        "id": _sid("EZ"),
        "dataschema": f"{SCHEMA_HOST}/{spec.schema_id}/{version}",
        "datacontenttype": "application/json",
        "time": now_iso(millis=True),
        "data": payload,
    }


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    return "string"


@cache
def _stored(filename: str) -> str:
    return (resources.files("twilio_es_cli.local") / "schemas" / filename).read_text("utf-8")


def raw_schema(schema_id: str, version: int) -> dict[str, Any]:
    """The JSON Schema document for one schema version (what its ``raw`` URL serves)."""
    schema_url = f"{SCHEMA_HOST}/{schema_id}/{version}"
    stored = _STORED_SCHEMAS.get((schema_id, version))
    if stored is None and schema_id == "Messaging.MessageStatus":
        # Only version 4 is stored; serve its real shape under each version's own id, plus
        # the fields the Outbound Message page lists for later versions (v7 = v6 fields).
        document: dict[str, Any] = json.loads(_stored(_STORED_SCHEMAS[(schema_id, 4)]))
        if version > 4:
            document["properties"].update(_LATER_MESSAGE_STATUS_FIELDS)
        document["$id"] = schema_url
        return document
    if stored is not None:
        document = json.loads(_stored(stored))
        document["$id"] = schema_url
        return document
    example_type = next(t.type for t in TYPES_BY_NAME.values() if t.schema_id == schema_id)
    sample = sample_data(example_type, "AC" + "0" * 32)
    return {
        "$id": schema_url,
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": schema_id.split(".", 1)[-1],
        "description": f"{schema_id} event definition (emulator-derived)",
        "type": "object",
        "properties": {key: {"type": _json_type(value)} for key, value in sample.items()},
        "required": sorted(sample),
    }
