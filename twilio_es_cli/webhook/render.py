"""How the forwarder's deliveries and the listener's requests are shown.

One line per delivery (Stripe's CLI taught people to expect it): time, event type, event id,
status, latency, and what happens next (retry, dropped). ``jsonl`` writes the same facts as one
JSON object per line for scripts. The listener shows received events like ``tail`` does,
reusing :mod:`twilio_es_cli.tail.render`' pieces (type shortening, data summary, envelope).
Writes are serialised with a lock: deliveries finish on several threads.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, TextIO

from twilio_es_cli.safe_text import visible
from twilio_es_cli.tail.render import short_source, short_type, summarise


def now_iso() -> str:
    """``2026-01-01T00:00:00.123Z``: the same time format as ``tail``."""
    return datetime.now(timezone.utc).replace(tzinfo=None).isoformat(timespec="milliseconds") + "Z"


@dataclass
class Delivery:
    """One attempt to deliver one request (one event, or a batch of them)."""

    types: list[str]
    ids: list[str]
    status: int | None
    latency: float
    attempt: int
    outcome: str  # delivered | retrying | dropped | skipped | abandoned
    error: str | None = None
    retry_in: float | None = None
    time: str = field(default_factory=now_iso)

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "time": self.time,
            "type": self.types[0] if self.types else None,
            "id": self.ids[0] if self.ids else None,
            "events": len(self.ids),
            "status": self.status,
            "latency_ms": round(self.latency * 1000, 1),
            "attempt": self.attempt,
            "outcome": self.outcome,
        }
        if len(self.ids) > 1:
            doc["ids"] = self.ids
        if self.error:
            doc["error"] = self.error
        if self.retry_in is not None:
            doc["retry_in_s"] = round(self.retry_in, 2)
        return doc

    def pretty(self) -> str:
        kind = short_type(self.types[0]) if self.types else "(not a CloudEvent)"
        if len(self.ids) > 1:
            kind += f" +{len(self.ids) - 1}"
        status = str(self.status) if self.status is not None else "---"
        parts = [self.time, kind, self.ids[0] if self.ids else "-", status]
        parts.append(f"{self.latency * 1000:.0f}ms")
        note = {"delivered": "", "dropped": "dropped", "skipped": "skipped"}.get(
            self.outcome, self.outcome
        )
        if self.outcome == "retrying" and self.retry_in is not None:
            note = f"retry {self.attempt + 1} in {self.retry_in:.1f}s"
        if self.error:
            note = f"{note}: {self.error}" if note else self.error
        if note:
            parts.append(note)
        return visible("  ".join(parts))  # types, ids and errors come from events and servers


class DeliveryLog:
    """Writes :class:`Delivery` lines to ``out`` in the chosen format, one thread at a time."""

    def __init__(self, out: TextIO, kind: str) -> None:
        self.out = out
        self.kind = kind
        self._lock = threading.Lock()

    def write(self, delivery: Delivery) -> None:
        if self.kind in ("json", "jsonl"):
            import pydantic_core  # the Rust encoder: this runs once per delivery

            text = pydantic_core.to_json(delivery.to_json()).decode()
        else:
            text = delivery.pretty()
        with self._lock:
            self.out.write(text + "\n")
            self.out.flush()


def received_line(event: dict[str, Any] | None, verdict: str, path: str, raw: str = "") -> str:
    """A pretty line for one event received by ``webhook listen`` (like ``tail``'s)."""
    if event is None:
        return "  ".join(
            [now_iso(), verdict, visible(path), "(not a CloudEvent)", summarise(raw, 80)]
        )
    parts = [
        str(event.get("time") or now_iso()),
        verdict,
        short_type(str(event.get("type", "?"))),
        summarise(event.get("data"), 80),
        short_source(str(event.get("source", ""))),
    ]
    parts = [visible(p) for p in parts]  # all of it came in the request
    return "  ".join(p for p in parts if p)
