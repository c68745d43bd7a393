"""The one-line summary of an event's ``data`` that ``tail -o pretty`` and ``tail --stats`` show.

At 80 columns there is room for about 45 characters of summary, so it says what tells events
apart in as few characters as it can: the status value without its key (``DELIVERED``), the
parties as ``FROM→TO``, a duration as ``42s``, resource SIDs bare (their prefix says what they
are), short labels (``err=30003``, ``queue=Support``) and nothing that repeats the envelope or
is the same on every event of an account. Items are added most telling first and only whole;
a SID that does not fit whole is shortened (``SM3fa9…``), anything else is left out. A
TaskRouter event's ``payload`` object is where its fields are, so that is what is summarised.
Every piece goes through :func:`twilio_es_cli.safe_text.visible`: all of it comes from the
record.
"""

from __future__ import annotations

import json
import re
from typing import Any

from twilio_es_cli.safe_text import visible

# Keys that only repeat the CloudEvent envelope or are the same on every event of an account.
_NOISE = frozenset(
    k.lower()
    for k in (
        "accountSid",
        "account_sid",
        "apiVersion",
        "api_version",
        "eventName",
        "event_name",
        "eventtype",
        "timestamp",
        "eventType",
        "event_type",
        "workspace_sid",
        "payload_type",
        "publisher_metadata",
        "product_name",
        "level",
    )
)
# Shorter labels for fields people look for (others lose ``task_``/``_name`` affixes).
_LABELS = {
    "errorcode": "err",
    "error_code": "err",
    "numsegments": "segments",
    "nummedia": "media",
    "processing_state": "processing",
    "task_channel_unique_name": "channel",
    "task_queue_name": "queue",
    "worker_activity_name": "activity",
}
_PARTY_KEYS = ("caller", "callee", "number", "phone_number", "address", "identity")
_SID = re.compile(r"^[A-Z]{2}[0-9a-fA-F]{32}$")
_STATUS_KEYS = frozenset({"result", "reason"})
_WHO = frozenset({"direction", "body", "test_id", "call_type", "worker_name", "task_queue_name"})
MIN_SID = 8  # "SM3fa9…": still tells two events apart


def _is_status(key: str) -> bool:
    return key.endswith(("status", "state")) or key in _STATUS_KEYS


def _rank(key: str, value: Any) -> int:
    """Lower is shown first: status, error, duration, who/what, SIDs, then the rest."""
    if _is_status(key):
        return 0
    if key in ("errorcode", "error_code"):
        return 1
    if key == "duration":
        return 2
    if key in _WHO or key.endswith("activity_name"):
        return 3
    if isinstance(value, str) and _SID.match(value) and "service" not in key:
        return 4
    return 5


def _label(key: str) -> str:
    lowered = key.lower()
    if lowered in _LABELS:
        return _LABELS[lowered]
    short = key.removeprefix("task_").removesuffix("_name")
    return short or key


def _party(value: Any) -> str | None:
    """A phone number or address from ``to``/``from`` (a string, or Voice Insights' object)."""
    if isinstance(value, str | int) and not isinstance(value, bool):
        return str(value) if str(value) else None
    if isinstance(value, dict):
        for key in _PARTY_KEYS:
            found = value.get(key)
            if isinstance(found, str) and found:
                return found
    return None


def _fields(data: dict[str, Any]) -> dict[str, Any]:
    """The fields to summarise: a TaskRouter event's ``payload`` object, else ``data``."""
    payload = data.get("payload")
    return payload if isinstance(payload, dict) else data


def _cut(text: str, limit: int = 36) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _items(data: dict[str, Any], event_type: str) -> list[tuple[int, str, bool]]:
    """(rank, text, is_sid) pieces, in the order they are offered."""
    fields = _fields(data)
    items: list[tuple[int, str, bool]] = []
    sender, receiver = _party(fields.get("from")), _party(fields.get("to"))
    if sender and receiver:
        items.append((1, visible(_cut(f"{sender}→{receiver}", 60)), False))
    elif sender or receiver:
        items.append((1, visible(f"{'from' if sender else 'to'}={sender or receiver}"), False))
    last_part = event_type.rsplit(".", 1)[-1].lower()
    statuses = 0
    for key, value in fields.items():
        lowered = str(key).lower()
        if lowered in ("to", "from") or lowered in _NOISE or isinstance(value, dict | list):
            continue
        if value is None or value == "":
            continue
        text = visible(_cut(str(value)))
        rank = _rank(lowered, value)
        if rank == 0:
            statuses += 1
            if statuses > 1 and str(value).lower() == last_part:
                continue  # the type already says it (call-summary.complete)
            items.append((0, text if statuses == 1 else f"{_label(str(key))}={text}", False))
        elif lowered == "duration" and isinstance(value, int | float):
            items.append((2, f"{value:g}s", False))
        elif rank == 4 or (lowered == "direction" and rank == 3):
            items.append((rank, text, rank == 4))
        else:
            items.append((rank, f"{visible(_label(str(key)))}={text}", False))
    items.sort(key=lambda item: item[0])  # stable: keeps Twilio's order within a rank
    return items


def summarise(data: Any, width: int = 80, event_type: str = "") -> str:
    """A summary of ``data`` at most ``width`` characters long (see the module docstring)."""
    if data is None:
        return ""
    if not isinstance(data, dict):
        if isinstance(data, str) and len(data) > 4 * width:  # a 1 MB record: only its start
            data = data[: 4 * width]
        text = visible(json.dumps(data, ensure_ascii=False, default=str))
        return text if len(text) <= width else text[: width - 1] + "…"
    parts: list[str] = []
    used = -1
    for _, text, is_sid in _items(data, event_type):
        room = width - used - 1
        if len(text) > room:
            if not is_sid or room < MIN_SID:
                continue
            text = text[: room - 1] + "…"
        parts.append(text)
        used += len(text) + 1
    return " ".join(parts)
