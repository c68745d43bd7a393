"""A realistic mix of Twilio events for the analytics benchmarks (bench/analytics.py).

Not bench/emulators.py's ``twilio_event`` (a 1.5 KB MessageStatus with an 800-character random
body, cycled from a pool of 2,000): archive size and query speed depend on what the events
hold, and real ones are not random text repeated. These follow the shapes of Twilio's
examples: every message goes queued -> sent -> delivered (some read), undelivered or failed
(with its error code), each status a CloudEvent of its own, plus TaskRouter events, Voice
Insights call summaries and Debugger error logs; ids and SIDs unique, times spread evenly over
``span_hours``. ``data`` is a JSON string, as Kinesis sinks get it.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

ACCOUNT = "AC" + "0" * 31 + "1"
SENDERS = ("+15550001000", "+15550001001", "+15550001002", "+15550001003", "MG-alpha")
START = datetime(2026, 1, 1, tzinfo=timezone.utc)


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _sid(rng: random.Random, prefix: str) -> str:
    return f"{prefix}{rng.getrandbits(128):032x}"


def _envelope(
    rng: random.Random, event_type: str, schema: str, when: datetime, data: dict[str, Any]
) -> dict[str, Any]:
    return {
        "specversion": "1.0",
        "type": event_type,
        "source": f"/v1/Accounts/{ACCOUNT}/{schema.split('/')[0]}",
        "id": _sid(rng, "EZ"),
        "dataschema": f"https://events-schemas.twilio.com/{schema}",
        "datacontenttype": "application/json",
        "time": _iso(when),
        "data": json.dumps(data, separators=(",", ":")),
    }


def _message(rng: random.Random, when: datetime) -> Iterator[dict[str, Any]]:
    sid, sender = _sid(rng, "SM"), rng.choice(SENDERS)
    to = f"+1555{rng.randrange(10**7):07d}"
    service = _sid(rng, "MG") if rng.random() < 0.5 else None
    final = rng.choices(["delivered", "undelivered", "failed", "read"], [80, 8, 7, 5])[0]
    chain = {"failed": ["queued", "failed"], "read": ["queued", "sent", "delivered", "read"]}
    for step, status in enumerate(chain.get(final, ["queued", "sent", final])):
        moment = when + timedelta(seconds=step)
        data: dict[str, Any] = {
            "accountSid": ACCOUNT,
            "apiVersion": "2010-04-01",
            "eventName": f"com.twilio.messaging.message.{status}",
            "from": sender,
            "to": to,
            "messageSid": sid,
            "messageStatus": status.upper(),
            "timestamp": _iso(moment),
            "numberOfSegments": rng.choice((1, 1, 1, 2)),
        }
        if service:
            data["messagingServiceSid"] = service
        if status in ("failed", "undelivered"):
            data["errorCode"] = rng.choice((30003, 30005, 30006, 30007, 30007, 30008))
        yield _envelope(
            rng, f"com.twilio.messaging.message.{status}", "Messaging.MessageStatus/7", moment, data
        )


def _taskrouter(rng: random.Random, when: datetime) -> dict[str, Any]:
    name = rng.choice(("task.created", "reservation.created", "reservation.accepted"))
    payload = {
        "eventtype": name,
        "account_sid": ACCOUNT,
        "workspace_sid": "WS" + "a" * 32,
        "workspace_name": "Flex Task Assignment",
        "task_sid": _sid(rng, "WT"),
        "task_attributes": json.dumps({"channel": "voice", "from": rng.choice(SENDERS)}),
        "task_priority": 0,
        "task_age": rng.randrange(100),
        "task_queue_sid": "WQ" + "b" * 32,
        "task_queue_name": "Everyone",
        "worker_sid": "WK" + "c" * 32,
        "timestamp": _iso(when),
    }
    data = {
        "sid": _sid(rng, "EV"),
        "name": name,
        "account_sid": ACCOUNT,
        "timestamp": _iso(when),
        "level": "INFO",
        "group": name.split(".")[0],
        "product_name": "TaskRouter",
        "payload_type": "application/json",
        "payload": payload,
    }
    return _envelope(rng, f"com.twilio.taskrouter.{name}", "TaskRouter.WDSEvent/4", when, data)


def _call_summary(rng: random.Random, when: datetime) -> dict[str, Any]:
    data = {
        "account_sid": ACCOUNT,
        "call_sid": _sid(rng, "CA"),
        "call_type": "carrier",
        "call_state": rng.choice(("completed", "completed", "busy", "noanswer", "fail")),
        "processing_state": "complete",
        "direction": rng.choice(("inbound", "outbound_api")),
        "duration": rng.randrange(600),
        "connect_duration": rng.randrange(600),
        "from": {"caller": rng.choice(SENDERS)},
        "to": {"callee": f"+1555{rng.randrange(10**7):07d}"},
    }
    return _envelope(
        rng,
        "com.twilio.voice.insights.call-summary.complete",
        "VoiceInsights.CallSummary/2",
        when,
        data,
    )


def _error_log(rng: random.Random, when: datetime) -> dict[str, Any]:
    code = rng.choice((11200, 30007, 21211))
    data = {
        "sid": _sid(rng, "NO"),
        "account_sid": ACCOUNT,
        "date_created": _iso(when),
        "level": "ERROR",
        "request_sid": _sid(rng, "RQ"),
        "product_name": "Programmable Messaging",
        "error_code": str(code),
        "payload": json.dumps({"error_code": code, "more_info": {"msg": "retrieval failure"}}),
    }
    return _envelope(rng, "com.twilio.error-logs.error.logged", "ErrorLogs.Error/2", when, data)


def events(count: int, *, seed: int = 1, span_hours: float = 48.0) -> Iterator[bytes]:
    """``count`` events as Kinesis record bytes (one CloudEvent JSON each), in time order."""
    rng = random.Random(seed)
    step = timedelta(hours=span_hours) / max(1, count)
    made = 0
    while made < count:
        when = START + step * made
        kind = rng.random()
        if kind < 0.85:
            batch = list(_message(rng, when))
        elif kind < 0.93:
            batch = [_taskrouter(rng, when)]
        elif kind < 0.98:
            batch = [_call_summary(rng, when)]
        else:
            batch = [_error_log(rng, when)]
        for doc in batch[: count - made]:
            yield json.dumps(doc, separators=(",", ":")).encode()
            made += 1
