"""Events shaped like Twilio's, and small archives built from them, for the analytics tests.

The field names of each family follow Twilio's event-type pages (the examples on
https://www.twilio.com/docs/events/event-types/...: messaging/outbound-message,
messaging/inbound-message, voice/status-callback, taskrouter/*, errors/error-logs, and the
Voice Insights call-summary page); the values are made up here.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from twilio_es_cli.analytics.engine import connect
from twilio_es_cli.analytics.writer import ArchiveWriter
from twilio_es_cli.tail.decode import decode
from twilio_es_cli.tail.records import KinesisRecord

ACCOUNT = "AC" + "0" * 31 + "1"
ARRIVAL = datetime(2026, 1, 31, 12, 0, 0, tzinfo=timezone.utc)


def cloudevent(
    event_type: str,
    data: Mapping[str, Any] | str,
    *,
    event_id: str,
    time: str = "2026-01-31T10:15:00.000Z",
    source: str = "/v1/Accounts/" + ACCOUNT,
    schema: str = "",
    as_string: bool = True,
    **extra: Any,
) -> dict[str, Any]:
    """A CloudEvent as Twilio writes it into Kinesis (``data`` a JSON string by default)."""
    body: Any = json.dumps(data) if as_string and not isinstance(data, str) else data
    doc: dict[str, Any] = {
        "specversion": "1.0",
        "type": event_type,
        "source": source,
        "id": event_id,
        "datacontenttype": "application/json",
        "time": time,
        "data": body,
        **extra,
    }
    if schema:
        doc["dataschema"] = f"https://events-schemas.twilio.com/{schema}"
    return doc


def message_status(
    status: str,
    *,
    event_id: str,
    sid: str = "SM" + "1" * 32,
    sender: str = "+15550001000",
    error: int | None = None,
    time: str = "2026-01-31T10:15:00.000Z",
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "accountSid": ACCOUNT,
        "apiVersion": "2010-04-01",
        "eventName": f"com.twilio.messaging.message.{status}",
        "from": sender,
        "to": "+15557654321",
        "messageSid": sid,
        "messageStatus": status.upper(),
        "messagingServiceSid": "MG" + "2" * 32,
        "timestamp": time,
        "numberOfSegments": 2,
        "mcc": "310",
        "mnc": "090",
    }
    if error is not None:
        data["errorCode"] = error
    return cloudevent(
        f"com.twilio.messaging.message.{status}",
        data,
        event_id=event_id,
        time=time,
        schema="Messaging.MessageStatus/7",
    )


def inbound(event_id: str) -> dict[str, Any]:
    data = {
        "messageSid": "SM" + "3" * 32,
        "timestamp": "2026-01-31T10:15:00.000Z",
        "accountSid": ACCOUNT,
        "eventName": "com.twilio.messaging.inbound-message.received",
        "from": "+11234567890",
        "to": "+12345678901",
        "numMedia": 1,
        "numSegments": 1,
        "body": "Ahoy!",
        "fromCountry": "US",
        "messagingServiceSid": "MG" + "4" * 32,
        "optOutType": "STOP",
    }
    return cloudevent(
        "com.twilio.messaging.inbound-message.received",
        data,
        event_id=event_id,
        schema="Messaging.InboundMessageV1/6",
    )


def call_status(event_id: str, status: str = "completed") -> dict[str, Any]:
    data = {
        "sid": "CA" + "5" * 32,
        "timestamp": "2026-01-31T10:15:00.000Z",
        "eventSid": "VW" + "6" * 32,
        "request": {
            "method": "POST",
            "url": "https://example.com/status",
            "parameters": {
                "CallSid": "CA" + "5" * 32,
                "CallStatus": status,
                "From": "+15550002000",
                "To": "+15550003000",
                "Direction": "outbound-api",
                "CallDuration": "42",
                "AccountSid": ACCOUNT,
            },
        },
        "response": {"responseCode": 200, "requestDuration": 140},
    }
    return cloudevent(
        f"com.twilio.voice.status-callback.call.{status}",
        data,
        event_id=event_id,
        schema="Voice.WebhookEvent/2",
    )


def call_summary(event_id: str) -> dict[str, Any]:
    data = {
        "account_sid": ACCOUNT,
        "call_sid": "CA" + "7" * 32,
        "call_type": "carrier",
        "call_state": "completed",
        "processing_state": "complete",
        "direction": "inbound",
        "duration": 61,
        "connect_duration": 58,
        "from": {"caller": "+15550004000"},
        "to": {"callee": "+15550005000"},
    }
    return cloudevent(
        "com.twilio.voice.insights.call-summary.complete",
        data,
        event_id=event_id,
        schema="VoiceInsights.CallSummary/2",
    )


def taskrouter(event_id: str) -> dict[str, Any]:
    data = {
        "sid": "EV" + "8" * 32,
        "name": "task.created",
        "account_sid": ACCOUNT,
        "timestamp": "2026-01-31T10:15:00.000Z",
        "level": "INFO",
        "group": "task",
        "product_name": "TaskRouter",
        "publisher": "Flex Task Assignment",
        "publisher_metadata": "{}",
        "payload_type": "application/json",
        "payload": {
            "eventtype": "task.created",
            "account_sid": ACCOUNT,
            "workspace_sid": "WS" + "9" * 32,
            "task_sid": "WT" + "a" * 32,
            "task_attributes": json.dumps({"channel": "voice"}),
            "task_age": 3,
            "task_priority": 5,
            "task_assignment_status": "pending",
            "task_queue_sid": "WQ" + "b" * 32,
            "task_queue_name": "Everyone",
            "task_channel_unique_name": "voice",
            "workflow_sid": "WW" + "c" * 32,
        },
    }
    return cloudevent(
        "com.twilio.taskrouter.task.created",
        data,
        event_id=event_id,
        schema="TaskRouter.WDSEvent/4",
    )


def error_log(event_id: str, code: str = "93101") -> dict[str, Any]:
    data = {
        "sid": "NO" + "d" * 32,
        "account_sid": ACCOUNT,
        "date_created": "2026-01-31T10:15:00.000Z",
        "level": "ERROR",
        "master_account_sid": ACCOUNT,
        "request_sid": "RQ" + "e" * 32,
        "service_sid": "ZH" + "f" * 32,
        "correlation_sid": "ZE" + "0" * 32,
        "product_name": "Event Streams",
        "error_code": code,
        "payload": json.dumps({"error_code": int(code), "message": "Error delivering event"}),
    }
    return cloudevent(
        "com.twilio.error-logs.error.logged",
        data,
        event_id=event_id,
        schema="ErrorLogs.Error/2",
    )


def record(
    doc: Mapping[str, Any] | bytes,
    sequence: int,
    *,
    shard: str = "shardId-000000000000",
    arrival: datetime = ARRIVAL,
    subsequence: int | None = None,
) -> KinesisRecord:
    data = doc if isinstance(doc, bytes) else json.dumps(doc).encode()
    return KinesisRecord(shard, f"{sequence:056d}", "pk", arrival, data, subsequence)


def build(root: Path, records: Iterable[KinesisRecord], **writer: Any) -> ArchiveWriter:
    """Write ``records`` into an archive at ``root`` (every file rolled at the end)."""
    archive = ArchiveWriter(root, connect(), **writer)
    for item in records:
        archive.add(item, decode(item.data))
    archive.roll_all()
    return archive
