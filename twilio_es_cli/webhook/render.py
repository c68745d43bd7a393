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
from twilio_es_cli.tail.render import WIDE, clock, narrow_type, short_source, short_type, summarise

SEP = "  "


def terminal_width(out: TextIO) -> int | None:
    """The width of the terminal ``out`` writes to; None when it is a file or a pipe (lines
    then keep every field, for grep and logs)."""
    import os

    try:
        if not out.isatty():
            return None
        return os.get_terminal_size(out.fileno()).columns
    except (AttributeError, OSError, ValueError):
        return None


def fit(pieces: list[str], width: int, optional: tuple[str, ...] = ()) -> str:
    """One screen line like ``tail``'s pretty lines: ``pieces`` joined, then each of
    ``optional`` only when it fits whole, and a line still too long cut with an ellipsis
    instead of wrapping into the next one."""
    line = SEP.join(p for p in pieces if p)
    for extra in optional:
        if extra and len(line) + len(SEP) + len(extra) <= width:
            line += SEP + extra
    return line if len(line) <= width else line[: max(width - 1, 0)] + "…"


def _short_time(text: str, width: int) -> str:
    today = datetime.now(timezone.utc).strftime("%Y-%m-%d")
    return clock(text, today, millis=width >= WIDE)


def _kind(event_type: str, width: int) -> str:
    return narrow_type(event_type) if width < WIDE else short_type(event_type)


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

    def fitted(self, width: int) -> str:
        """The line for a terminal ``width`` columns wide: time of day, type, status,
        latency and what happens next first; the event id only when it fits whole."""
        kind = _kind(self.types[0], width) if self.types else "(not a CloudEvent)"
        if len(self.ids) > 1:
            kind += f" +{len(self.ids) - 1}"
        status = str(self.status) if self.status is not None else "---"
        pieces = [_short_time(self.time, width), kind, status, f"{self.latency * 1000:.0f}ms"]
        note = self._note()
        ids = (self.ids[0],) if self.ids else ()
        if note and len(fit([*pieces, *ids, note], 10**6)) > width:
            ids = ()  # what happens next matters more than the id (--output jsonl has it)
        return visible(fit([*pieces, *ids, note], width))

    def _note(self) -> str:
        note = {"delivered": "", "dropped": "dropped", "skipped": "skipped"}.get(
            self.outcome, self.outcome
        )
        if self.outcome == "retrying" and self.retry_in is not None:
            note = f"retry {self.attempt + 1} in {self.retry_in:.1f}s"
        if self.error:
            note = f"{note}: {self.error}" if note else self.error
        return note

    def pretty(self) -> str:
        kind = short_type(self.types[0]) if self.types else "(not a CloudEvent)"
        if len(self.ids) > 1:
            kind += f" +{len(self.ids) - 1}"
        status = str(self.status) if self.status is not None else "---"
        parts = [self.time, kind, self.ids[0] if self.ids else "-", status]
        parts.append(f"{self.latency * 1000:.0f}ms")
        note = self._note()
        if note:
            parts.append(note)
        return visible("  ".join(parts))  # types, ids and errors come from events and servers


class DeliveryLog:
    """Writes :class:`Delivery` lines to ``out`` in the chosen format, one thread at a time."""

    def __init__(self, out: TextIO, kind: str) -> None:
        self.out = out
        self.kind = kind
        self._lock = threading.Lock()
        self._tty = terminal_width(out) is not None

    def write(self, delivery: Delivery) -> None:
        if self.kind in ("json", "jsonl"):
            import pydantic_core  # the Rust encoder: this runs once per delivery

            text = pydantic_core.to_json(delivery.to_json()).decode()
        else:
            width = terminal_width(self.out) if self._tty else None  # resized meanwhile?
            text = delivery.pretty() if width is None else delivery.fitted(width)
        with self._lock:
            self.out.write(text + "\n")
            self.out.flush()


def received_line(
    event: dict[str, Any] | None,
    verdict: str,
    path: str,
    raw: str = "",
    *,
    width: int | None = None,
) -> str:
    """A pretty line for one event received by ``webhook listen`` (like ``tail``'s).

    Every piece passes through :func:`~twilio_es_cli.safe_text.visible`, as tail's do:
    the request path, the verdict's reason and the event all come from whoever sent it.

    With ``width`` (a terminal) it fits that many columns as tail's lines do: time of day,
    verdict, type (without its product part under 120 columns), the data summary in the room
    left, the source only when it fits whole, and an ellipsis rather than a wrap.
    """
    if event is None:
        pieces = [now_iso(), visible(verdict), visible(path), "(not a CloudEvent)"]
        if width is None:
            return "  ".join([*pieces, visible(summarise(raw, 80))])
        pieces[0] = _short_time(pieces[0], width)
        room = max(20, width - len(SEP.join(pieces)) - len(SEP))
        return fit([*pieces, visible(summarise(raw, room))], width)
    when = str(event.get("time") or now_iso())
    event_type = str(event.get("type", "?"))
    source = visible(short_source(str(event.get("source", ""))))
    if width is None:
        parts = [when, verdict, short_type(event_type), summarise(event.get("data"), 80), source]
        parts = [visible(p) for p in parts]  # all of it came in the request
        return "  ".join(p for p in parts if p)
    pieces = [
        visible(_short_time(when, width)),
        visible(verdict),
        visible(_kind(event_type, width)),
    ]
    room = min(80, max(20, width - len(SEP.join(pieces)) - len(SEP)))
    summary = visible(summarise(event.get("data"), room, event_type))
    return fit([*pieces, summary], width, optional=(source,))
