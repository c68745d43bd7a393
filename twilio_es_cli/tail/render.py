"""How ``tail`` writes events: ``pretty`` for people, ``json``/``jsonl`` envelopes, ``raw`` bytes.

The json/jsonl envelope is the decoded CloudEvent (its attributes at the top level, ``data``
parsed, so ``jq .data`` works) plus a ``kinesis`` object with shard id, sequence number,
partition key and arrival time. A record that is not a CloudEvent becomes
``{"cloudevent": false, "error": ..., "raw": "<text>", "kinesis": {...}}`` (plus
``raw_base64`` when the bytes are not UTF-8, so nothing is lost). The machine formats
(json/jsonl/raw) are buffered: ``tail`` flushes whenever its reader has handed out every record
read so far (and before each checkpoint save), so ``tail | jq`` still shows events as they
arrive without one flush per line. ``pretty`` uses rich colours only on a terminal;
piped, it is plain text.

The terminal is not the event's to control: events come from anyone who can put a record into
the stream or text into an SMS body, so every human format shows control characters (C0, DEL,
C1, Unicode line separators and bidi overrides) as visible escapes (``\\x1b``); json output
writes them as ``\\u`` escapes (same JSON value); ``raw`` is byte-exact only when stdout is not
a terminal. Both are :mod:`twilio_es_cli.safe_text`'s, the one definition of what is unsafe.
"""

from __future__ import annotations

import base64
import codecs
import json
import os
import re
from datetime import datetime, timezone
from typing import Any, BinaryIO, TextIO

from twilio_es_cli.safe_text import json_safe, visible
from twilio_es_cli.tail.decode import DecodedEvent
from twilio_es_cli.tail.records import KinesisRecord
from twilio_es_cli.tail.sink import TextSink

#: How much a machine-format renderer gathers before writing it out in one call. Why: each
#: write that reaches the OS releases the GIL, and getting it back from four busy reader
#: threads costs far more than the write; 8 KB (the stream's own buffer) meant one per 5 lines.
DRAIN_AT = 256 * 1024


_last_iso: tuple[datetime | None, str] = (None, "")


def iso_utc(when: datetime) -> str:
    """``2026-01-01T00:00:00.123Z`` (UTC, milliseconds): what people and jq compare.

    Records of one batch usually share an arrival time, so the last conversion is reused.
    """
    global _last_iso
    last, text = _last_iso
    if last is not None and when == last:
        return text
    # aws.parse_timestamp hands out UTC datetimes: no conversion (nor dateutil tzinfo) needed.
    tz = when.tzinfo
    utc = when.astimezone(timezone.utc) if tz is not None and tz is not timezone.utc else when
    text = utc.replace(tzinfo=None).isoformat(timespec="milliseconds") + "Z"
    _last_iso = (when, text)
    return text


def kinesis_meta(record: KinesisRecord, decoded: DecodedEvent | None = None) -> dict[str, Any]:
    """Where the record came from; ``subsequence_number`` only for KPL user records and
    ``content_encoding`` only for gzip-compressed records, so Twilio's records look as before."""
    meta: dict[str, Any] = {
        "shard_id": record.shard_id,
        "sequence_number": record.sequence_number,
        "partition_key": record.partition_key,
        "arrival": iso_utc(record.arrival),
    }
    if record.subsequence is not None:
        meta["subsequence_number"] = record.subsequence
    if decoded is not None and decoded.encoding:
        meta["content_encoding"] = decoded.encoding
    return meta


def envelope(record: KinesisRecord, decoded: DecodedEvent) -> dict[str, Any]:
    """The JSON shape of one event (see the module docstring)."""
    if decoded.attrs is not None:
        return {**decoded.attrs, "kinesis": kinesis_meta(record, decoded)}
    return not_an_event(record, decoded, decoded.error)


def not_an_event(record: KinesisRecord, decoded: DecodedEvent, error: str | None) -> dict[str, Any]:
    """The envelope of a record shown raw (``raw_base64`` too when it is not UTF-8)."""
    doc: dict[str, Any] = {"cloudevent": False, "error": error, "raw": decoded.text()}
    if not decoded.is_utf8:
        doc["raw_base64"] = base64.b64encode(decoded.raw).decode("ascii")
    doc["kinesis"] = kinesis_meta(record, decoded)
    return doc


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value)


def _utf8_buffer(out: TextIO) -> BinaryIO | None:
    """``out``'s byte stream, when writing UTF-8 there is what writing text to ``out`` does
    (a UTF-8 text stream without newline translation, like stdout on every POSIX system)."""
    buffer = getattr(out, "buffer", None)
    try:
        utf8 = codecs.lookup(getattr(out, "encoding", None) or "").name == "utf-8"
    except LookupError:
        return None
    return buffer if utf8 and os.linesep == "\n" and buffer is not None else None


def _encodes_everything(out: TextIO) -> bool:
    """``out`` can encode any character (UTF-8 and its kin), so no escape is needed."""
    try:
        "\U0001f642\u00e9".encode(getattr(out, "encoding", None) or "utf-8")
    except (UnicodeEncodeError, LookupError):
        return False
    return True


_NON_ASCII = re.compile(r"[^\x00-\x7f]")


def _as_json_escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    code -= 0x10000  # a UTF-16 surrogate pair, as JSON spells characters beyond the BMP
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"


def _ascii_json(text: str) -> str:
    """JSON text with every non-ASCII character as a ``\\u`` escape: the same JSON value
    (such characters only occur inside strings), writable to an ASCII-only stream."""
    return text if text.isascii() else _NON_ASCII.sub(_as_json_escape, text)


class JsonLines(TextSink):
    """One compact JSON document per line (or indented ones for ``json``), buffered (see above).

    Compact lines of CloudEvents take a fast path: orjson (about 4x faster than pydantic-core's
    encoder and byte-identical to it for every value a decoded event holds; tests/tail's
    corpus test checks), the envelope built in one dict display, and escaping only for the
    rare line that is not ASCII (DEL is escaped once per batch, see :meth:`drain`). What
    orjson refuses (integers beyond 64 bits, nesting past 254) takes pydantic-core, then the
    stdlib. Rendering is the tail's hottest step (see bench/tail.py).
    """

    def __init__(self, out: TextIO, *, indent: int | None = None) -> None:
        import orjson

        super().__init__(out)
        self.indent = indent
        self._dumps = orjson.dumps if indent is None else None
        self._newline = orjson.OPT_APPEND_NEWLINE
        # The gathered lines (UTF-8). One growing buffer, not a list of lines joined later:
        # 160 live line objects freed at once made malloc hand pages back and fault them in
        # again, two page faults per line (bench/tail.py measured it).
        self._pending = bytearray()
        self._arrival: datetime | None = None  # the last arrival time seen, and its text
        self._arrival_text = ""
        self._buffer = _utf8_buffer(out)
        self._ascii = self._buffer is None and not _encodes_everything(out)

    def drain(self) -> None:
        """Write the gathered lines to ``out`` (tail calls this before flushing or saving).

        As UTF-8 bytes straight to the stream's buffer when writing text would produce the
        same bytes: decoding a 256 KB batch into text only for the stream to encode it back
        cost more than rendering its lines.
        """
        data = self._pending
        if not data:
            return
        self._pending = bytearray()
        if b"\x7f" in data:  # DEL, the one unsafe ASCII character (see safe_text.json_safe)
            data = data.replace(b"\x7f", b"\\u007f")
        if self._buffer is not None:
            self.out.flush()  # whatever text another writer left in the text layer goes first
            self._buffer.write(data)
        elif self._ascii:  # PYTHONIOENCODING=ascii, a C locale: \u escapes, the same JSON
            self.out.write(_ascii_json(data.decode(errors="surrogatepass")))
        else:
            self.out.write(data.decode(errors="surrogatepass"))

    def write(self, record: KinesisRecord, decoded: DecodedEvent) -> None:
        attrs = decoded.attrs
        if (
            attrs is None
            or self._dumps is None
            or record.subsequence is not None
            or decoded.encoding is not None
        ):
            self._write_doc(envelope(record, decoded), record, decoded)
            return
        arrival = record.arrival
        if arrival is not self._arrival:
            self._arrival, self._arrival_text = arrival, iso_utc(arrival)
        meta = {
            "shard_id": record.shard_id,
            "sequence_number": record.sequence_number,
            "partition_key": record.partition_key,
            "arrival": self._arrival_text,
        }
        if "kinesis" in attrs:  # an extension attribute of that name: the envelope's wins
            self._write_doc({**attrs, "kinesis": meta}, record, decoded)
            return
        # The envelope is the attributes plus "kinesis": added for the dump and taken away
        # again rather than copying every attribute into a new dict.
        attrs["kinesis"] = meta
        try:
            line = self._dumps(attrs, option=self._newline)
        except TypeError:  # orjson.JSONEncodeError: integers beyond 64 bits
            self._write_doc({**attrs}, record, decoded)
            return
        finally:
            del attrs["kinesis"]
        if not line.isascii():
            line = json_safe(line.decode()).encode()
        pending = self._pending
        pending += line
        if len(pending) >= DRAIN_AT:
            self.drain()

    def _write_doc(self, doc: dict[str, Any], record: KinesisRecord, decoded: DecodedEvent) -> None:
        """Any document the fast path of :meth:`write` does not take (same bytes as it)."""
        text = None
        if self._dumps is not None:
            try:
                text = self._dumps(doc, default=_default).decode()
            except TypeError:  # orjson.JSONEncodeError
                text = None
        if text is None:
            import pydantic_core  # the rare document orjson refuses: not on every start-up

            try:
                text = pydantic_core.to_json(doc, indent=self.indent, fallback=_default).decode()
            except ValueError:  # e.g. integers beyond 64 bits: the stdlib encoder takes those
                text = self._strict(doc, record, decoded)
        self._pending += (json_safe(text) + "\n").encode(errors="surrogatepass")
        if len(self._pending) >= DRAIN_AT:
            self.drain()

    def _strict(self, doc: dict[str, Any], record: KinesisRecord, decoded: DecodedEvent) -> str:
        """RFC 8259 JSON from the stdlib, never NaN/Infinity: else the record is shown raw."""
        try:
            return json.dumps(
                doc, indent=self.indent, default=_default, ensure_ascii=False, allow_nan=False
            )
        except (ValueError, RecursionError) as exc:
            fallback = not_an_event(record, decoded, f"cannot be written as JSON ({exc})")
            return json.dumps(fallback, indent=self.indent, ensure_ascii=False)


class Raw(TextSink):
    """The record's bytes as they are, one record per line (binary-safe when possible).

    On a terminal the bytes are shown, not obeyed: invalid UTF-8 as ``\\xNN`` and control
    characters other than tab and newline as escapes (see :func:`visible`).
    """

    def __init__(self, out: TextIO, *, tty: bool = False) -> None:
        super().__init__(out)
        self.tty = tty
        self.buffer = getattr(out, "buffer", None)
        self._pending: list[bytes] = []
        self._size = 0

    def drain(self) -> None:
        """Write the gathered records to the byte stream (see :data:`DRAIN_AT`)."""
        if self._pending and self.buffer is not None:
            data = b"".join(self._pending)
            self._pending.clear()
            self._size = 0
            self.buffer.write(data)

    def write(self, record: KinesisRecord, decoded: DecodedEvent) -> None:
        if self.tty:
            text = record.data.decode("utf-8", errors="backslashreplace")
            text = visible(text, keep_lines=True)
            self.out.write(text + "\n")
            self.out.flush()
        elif self.buffer is not None:
            # Only raw writes to this stream, so nothing waits in the text layer above the
            # buffer; the text layer's flush() (tail's) flushes the buffer too.
            self._pending.append(record.data + b"\n")
            self._size += len(record.data) + 1
            if self._size >= DRAIN_AT:
                self.drain()
        else:  # a text-only stream (tests, the quickstart): as close to the bytes as text gets
            self.out.write(record.data.decode("utf-8", errors="backslashreplace") + "\n")


def summarise(data: Any, width: int = 80, event_type: str = "") -> str:
    """The data summary of a pretty line (see :mod:`twilio_es_cli.tail.summary`)."""
    from twilio_es_cli.tail.summary import summarise as summary

    return summary(data, width, event_type)


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


def format_lag(seconds: float) -> str:
    """``0.3s``, ``42.0s``, ``12m``, ``3.5h``, ``326d``: short enough for a fixed-width column."""
    size = abs(seconds)
    if size < 100:
        return f"{seconds:.1f}s"
    if size < 3600:
        return f"{seconds / 60:.0f}m"
    if size < 48 * 3600:
        return f"{seconds / 3600:.1f}h"
    return f"{seconds / 86400:.0f}d"


def short_shard(shard_id: str) -> str:
    """``shardId-000000000003`` -> ``shard-3`` (the full id is in json output)."""
    head, _, number = shard_id.rpartition("-")
    return f"shard-{int(number)}" if head == "shardId" and number.isdigit() else shard_id


# ``/v1/Accounts/AC…/`` or ``/2010-04-01/Accounts/AC…/``: the same on every event of an account.
_ACCOUNT_PREFIX = re.compile(r"^/[^/]+/Accounts/AC[0-9a-fA-F]{32}/")


def short_source(source: str) -> str:
    """``/v1/Accounts/AC…/Messaging.MessageStatus`` -> ``Messaging.MessageStatus``.

    The account part is identical on every event and would take a third of a terminal line;
    json/jsonl keep the full source.
    """
    return _ACCOUNT_PREFIX.sub("", source, count=1)


def short_type(event_type: str) -> str:
    """``com.twilio.messaging.message.delivered`` -> ``messaging.message.delivered``.

    Every Twilio type starts with ``com.twilio.``; on an 80-column terminal those 11 characters
    are the difference between seeing the message status and not. json/jsonl keep the full type.
    """
    return event_type.removeprefix("com.twilio.")


LAG_WIDTH = 10  # "lag 12.5s" and room for a sign


def pretty_fields(
    record: KinesisRecord, decoded: DecodedEvent, *, summary_width: int = 80
) -> list[tuple[str, str]]:
    """(text, style) pieces of one pretty line, most telling first.

    Order: time, lag (arrival minus event time; blank when unknown), shard, type, summary of
    data, source, partition key. The fixed-width pieces come first so they line up on a
    terminal, where :class:`RichPretty` also pads the type and cuts what does not fit.
    Every piece is passed through :func:`visible`: all of it can come from the record.
    """
    pieces = _pretty_pieces(record, decoded, summary_width)
    return [(visible(text), style) for text, style in pieces]


def _pretty_pieces(
    record: KinesisRecord, decoded: DecodedEvent, summary_width: int
) -> list[tuple[str, str]]:
    event = decoded.event
    shard = (short_shard(record.shard_id), "dim")
    pk = (f"pk={record.partition_key}", "dim")
    if event is None:
        return [
            (iso_utc(record.arrival), "dim"),
            ("", "dim"),
            shard,
            ("(not a CloudEvent)", "yellow"),
            (summarise(decoded.text(), summary_width), ""),
            ("", "green"),
            pk,
        ]
    lag = lag_seconds(record, decoded)
    return [
        (event.time or iso_utc(record.arrival), "dim"),
        (f"lag {format_lag(lag)}" if lag is not None else "", "dim"),
        shard,
        (short_type(event.type), "bold cyan"),
        (summarise(event.data, summary_width, event.type), ""),
        (short_source(event.source), "green"),
        pk,
    ]


class PlainPretty(TextSink):
    """Pretty lines without colour (stdout is not a terminal): whole lines, never cut."""

    def __init__(self, out: TextIO) -> None:
        super().__init__(out)

    def write(self, record: KinesisRecord, decoded: DecodedEvent) -> None:
        self.out.write("  ".join(t for t, _ in pretty_fields(record, decoded) if t) + "\n")
        self.out.flush()


def short_time(text: str, today: str) -> str:
    """``2026-11-23T05:42:01.231Z`` -> ``05:42:01.231Z`` when it is ``today`` (UTC)."""
    if text.startswith(today) and len(text) > 11 and text[10] == "T":
        return text[11:]
    return text.replace("T", " ", 1)


_CLOCK = re.compile(r"^(?:(\d{4})-(\d\d-\d\d) )?(\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)?$")


def clock(text: str, today: str, *, millis: bool) -> str:
    """The time column: ``05:42:01Z`` (``05:42:01.231Z`` with ``millis``), dated if not today.

    An event of another day keeps its date as ``11-22 05:42:01Z``; text that is not an ISO
    time is shown as it is (it came from the record).
    """
    shown = short_time(text, today)
    match = re.match(
        r"^(?:(\d{4})-(\d\d-\d\d) )?(\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)?$", shown
    )
    if match is None:
        return shown
    _, date, hms, fraction, zone = match.groups()
    seconds = hms + ((fraction or "")[:4] if millis else "")
    return f"{date + ' ' if date else ''}{seconds}{'Z' if zone in (None, 'Z') else zone}"


def narrow_type(event_type: str) -> str:
    """``messaging.message.delivered`` -> ``message.delivered``: the last two parts of a type.

    For terminals under :data:`WIDE` columns, where the product name would cost the summary
    its status; json output and wider terminals keep the type (less ``com.twilio.``).
    """
    parts = short_type(event_type).split(".")
    return ".".join(parts[-2:]) if len(parts) > 2 else ".".join(parts)


WIDE = 120  # from here on a terminal also shows lag, shard and the product part of the type


class RichPretty(TextSink):
    """Pretty lines with colour for a terminal: one screen line per event, in columns.

    The data summary is what people read, so it gets its room first: under :data:`WIDE`
    columns a line is ``time  type  summary`` (time of day without the date, type without its
    product part); from :data:`WIDE` on, lag and shard come before the type, whose product
    part is kept. The type is padded to the longest seen so far, so events line up; source
    and partition key follow only when they fit whole, and a line that still does not fit is
    cut with an ellipsis instead of wrapping into the next event. json output has it all.
    """

    TYPE_CAP = 48
    PK_CAP = 16
    SEP = "  "

    def __init__(self, out: TextIO) -> None:
        from twilio_es_cli.console import new_console

        super().__init__(out)
        self.console = new_console(out, highlight=False)
        self.type_width = 0

    def write(self, record: KinesisRecord, decoded: DecodedEvent) -> None:
        from rich.text import Text

        pieces = self.pieces(record, decoded, self.console.width)
        line = Text(no_wrap=True, overflow="ellipsis")
        for i, (text, style) in enumerate(pieces):
            if i:
                line.append(self.SEP)
            line.append(text, style=style or None)
        self.console.print(line, no_wrap=True, overflow="ellipsis", crop=True)

    def pieces(
        self, record: KinesisRecord, decoded: DecodedEvent, width: int
    ) -> list[tuple[str, str]]:
        """The (text, style) pieces of one line for a terminal ``width`` columns wide."""
        time_, lag, shard, type_, _, source, pk = pretty_fields(record, decoded)
        wide = width >= WIDE
        today = datetime.now(timezone.utc).strftime("%Y-%m-%d")
        time_ = (clock(time_[0], today, millis=wide), time_[1])
        if decoded.event is not None and not wide:
            type_ = (visible(narrow_type(decoded.event.type)), type_[1])
        self.type_width = min(self.TYPE_CAP, max(self.type_width, len(type_[0])))
        type_ = (type_[0].ljust(self.type_width), type_[1])
        fixed = [time_, type_]
        if wide:
            fixed = [time_, (lag[0].ljust(LAG_WIDTH - 1), lag[1]), shard, type_]
        used = sum(len(t) + len(self.SEP) for t, _ in fixed)
        room = min(80, max(20, width - used))
        data = decoded.data if decoded.event is not None else decoded.text()
        event_type = decoded.event.type if decoded.event is not None else ""
        summary = summarise(data, room, event_type)
        used += len(summary)
        if len(pk[0]) > self.PK_CAP:  # Twilio's keys are 34-character ids: the start tells
            pk = (pk[0][: self.PK_CAP - 1] + "…", pk[1])
        extra = []
        for piece in (source, pk):
            if piece[0] and used + len(self.SEP) + len(piece[0]) <= width:
                extra.append(piece)
                used += len(self.SEP) + len(piece[0])
        return [*fixed, *([(summary, "")] if summary else []), *extra]


def make_renderer(kind: str, out: TextIO, *, tty: bool) -> TextSink:
    """The renderer for ``--output kind`` writing to ``out``."""
    if kind == "jsonl":
        return JsonLines(out)
    if kind == "json":
        return JsonLines(out, indent=2)
    if kind == "raw":
        return Raw(out, tty=tty)
    if kind == "pretty":
        return RichPretty(out) if tty else PlainPretty(out)
    raise ValueError(f"unknown output format {kind!r}")
