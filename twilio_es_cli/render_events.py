"""How ``tail`` writes events: ``pretty`` for people, ``json``/``jsonl`` envelopes, ``raw`` bytes.

The json/jsonl envelope is the decoded CloudEvent (its attributes at the top level, ``data``
parsed, so ``jq .data`` works) plus a ``kinesis`` object with shard id, sequence number,
partition key and arrival time. A record that is not a CloudEvent becomes
``{"cloudevent": false, "error": ..., "raw": "<text>", "kinesis": {...}}``. Every line is
flushed, so ``tail | jq`` shows events as they arrive. ``pretty`` uses rich colours only on a
terminal; piped, it is plain text.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any, Protocol, TextIO

from twilio_es_cli.cloudevents import DecodedEvent
from twilio_es_cli.reader import KinesisRecord

FORMATS = ("pretty", "json", "jsonl", "raw")


class Renderer(Protocol):
    def write(self, record: KinesisRecord, decoded: DecodedEvent) -> None: ...


_last_iso: tuple[datetime | None, str] = (None, "")


def iso_utc(when: datetime) -> str:
    """``2026-01-01T00:00:00.123Z`` (UTC, milliseconds): what people and jq compare.

    Records of one batch usually share an arrival time, so the last conversion is reused.
    """
    global _last_iso
    last, text = _last_iso
    if last is not None and when == last:
        return text
    utc = when.astimezone(timezone.utc) if when.tzinfo is not None else when
    text = utc.replace(tzinfo=None).isoformat(timespec="milliseconds") + "Z"
    _last_iso = (when, text)
    return text


def kinesis_meta(record: KinesisRecord) -> dict[str, Any]:
    return {
        "shard_id": record.shard_id,
        "sequence_number": record.sequence_number,
        "partition_key": record.partition_key,
        "arrival": iso_utc(record.arrival),
    }


def envelope(record: KinesisRecord, decoded: DecodedEvent) -> dict[str, Any]:
    """The JSON shape of one event (see the module docstring)."""
    event = decoded.event
    if event is not None:
        # Read the fields directly: model_dump() would copy ``data`` again (hot path).
        doc = {k: v for k, v in event.__dict__.items() if v is not None}
        if event.__pydantic_extra__:
            doc.update(event.__pydantic_extra__)
        doc["kinesis"] = kinesis_meta(record)
        return doc
    return {
        "cloudevent": False,
        "error": decoded.error,
        "raw": decoded.text(),
        "kinesis": kinesis_meta(record),
    }


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value)


class JsonLines:
    """One compact JSON document per line (or indented ones for ``json``), flushed per line.

    Serialised with pydantic-core's Rust encoder: about 3x faster than ``json.dumps`` here,
    which matters because rendering is the tail's hottest step (see bench/tail.py).
    """

    def __init__(self, out: TextIO, *, indent: int | None = None) -> None:
        import pydantic_core

        self.out = out
        self.indent = indent
        self._to_json = pydantic_core.to_json

    def write(self, record: KinesisRecord, decoded: DecodedEvent) -> None:
        doc = envelope(record, decoded)
        try:
            text = self._to_json(doc, indent=self.indent, fallback=_default).decode()
        except ValueError:  # e.g. out-of-range numbers: the stdlib encoder is more lenient
            text = json.dumps(doc, indent=self.indent, default=_default, ensure_ascii=False)
        self.out.write(text + "\n")
        self.out.flush()


class Raw:
    """The record's bytes as they are, one record per line (binary-safe when possible)."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.buffer = getattr(out, "buffer", None)

    def write(self, record: KinesisRecord, decoded: DecodedEvent) -> None:
        if self.buffer is not None:
            self.out.flush()
            self.buffer.write(record.data + b"\n")
            self.buffer.flush()
        else:
            self.out.write(decoded.text() + "\n")
            self.out.flush()


# Keys that only repeat the CloudEvent envelope (or are the same on every event of an account):
# showing them would push what matters (status, to/from, the resource SID) off the line.
_NOISE_KEYS = frozenset(
    k.lower()
    for k in (
        "accountSid",
        "account_sid",
        "apiVersion",
        "api_version",
        "eventName",
        "event_name",
        "timestamp",
        "eventType",
        "event_type",
    )
)


def _rank(key: str) -> int:
    """Lower is shown first: statuses, then who/where, then resource SIDs, then the rest."""
    lowered = key.lower()
    if lowered.endswith(("status", "state")) or lowered in {"result", "reason", "errorcode"}:
        return 0
    if lowered in {"to", "from", "direction", "test_id", "duration", "call_type"}:
        return 1
    if lowered.endswith("sid"):
        return 2
    return 3


def summarise(data: Any, width: int = 80) -> str:
    """A short ``key=value`` summary of ``data``: the telling scalars first, long values cut."""
    if data is None:
        return ""
    if not isinstance(data, dict):
        text = json.dumps(data, default=_default, ensure_ascii=False)
        return text if len(text) <= width else text[: width - 1] + "…"
    scalars = [
        (key, value)
        for key, value in data.items()
        if not isinstance(value, dict | list)
        and value is not None
        and value != ""
        and str(key).lower() not in _NOISE_KEYS
    ]
    scalars.sort(key=lambda item: _rank(str(item[0])))  # stable: keeps Twilio's order within
    parts: list[str] = []
    for key, value in scalars:
        text = str(value)
        if len(text) > 36:
            text = text[:35] + "…"
        parts.append(f"{key}={text}")
        if sum(len(p) + 1 for p in parts) > width:
            break
    line = " ".join(parts)
    return line if len(line) <= width else line[: width - 1] + "…"


def lag_seconds(record: KinesisRecord, decoded: DecodedEvent) -> float | None:
    """Arrival in Kinesis minus the event's own time (None when unknown)."""
    when = decoded.event.time if decoded.event is not None else None
    if not when:
        return None
    try:
        event_time = datetime.fromisoformat(when.replace("Z", "+00:00"))
    except ValueError:
        return None
    if event_time.tzinfo is None:
        event_time = event_time.replace(tzinfo=timezone.utc)
    arrival = record.arrival
    if arrival.tzinfo is None:
        arrival = arrival.replace(tzinfo=timezone.utc)
    return (arrival - event_time).total_seconds()


def short_shard(shard_id: str) -> str:
    """``shardId-000000000003`` -> ``shard-3`` (the full id is in json output)."""
    head, _, number = shard_id.rpartition("-")
    return f"shard-{int(number)}" if head == "shardId" and number.isdigit() else shard_id


def pretty_fields(record: KinesisRecord, decoded: DecodedEvent) -> list[tuple[str, str]]:
    """(text, style) pieces of one pretty line."""
    event = decoded.event
    meta = f"{short_shard(record.shard_id)} pk={record.partition_key}"
    if event is None:
        return [
            (iso_utc(record.arrival), "dim"),
            ("(not a CloudEvent)", "yellow"),
            (summarise(decoded.text()), ""),
            (meta, "dim"),
        ]
    lag = lag_seconds(record, decoded)
    pieces = [
        (event.time or iso_utc(record.arrival), "dim"),
        (event.type, "bold cyan"),
        (event.source, "green"),
        (summarise(event.data), ""),
        (meta, "dim"),
    ]
    if lag is not None:
        pieces.append((f"lag={lag:.1f}s", "dim"))
    return pieces


class PlainPretty:
    """Pretty lines without colour (stdout is not a terminal)."""

    def __init__(self, out: TextIO) -> None:
        self.out = out

    def write(self, record: KinesisRecord, decoded: DecodedEvent) -> None:
        self.out.write("  ".join(t for t, _ in pretty_fields(record, decoded) if t) + "\n")
        self.out.flush()


class RichPretty:
    """Pretty lines with colour, for a terminal."""

    def __init__(self, out: TextIO) -> None:
        from rich.console import Console

        self.console = Console(file=out, highlight=False, soft_wrap=True)

    def write(self, record: KinesisRecord, decoded: DecodedEvent) -> None:
        from rich.text import Text

        line = Text()
        for i, (text, style) in enumerate(p for p in pretty_fields(record, decoded) if p[0]):
            if i:
                line.append("  ")
            line.append(text, style=style or None)
        self.console.print(line)


def make_renderer(kind: str, out: TextIO, *, tty: bool) -> Renderer:
    """The renderer for ``--output kind`` writing to ``out``."""
    if kind == "jsonl":
        return JsonLines(out)
    if kind == "json":
        return JsonLines(out, indent=2)
    if kind == "raw":
        return Raw(out)
    if kind == "pretty":
        return RichPretty(out) if tty else PlainPretty(out)
    raise ValueError(f"unknown output format {kind!r}")
