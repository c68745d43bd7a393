"""Decoding of Kinesis records into Twilio's CloudEvents.

Twilio Event Streams writes one CloudEvent (JSON, structured mode) per Kinesis record. Its
``data`` arrives as a JSON *string* in Kinesis sinks and as an object elsewhere, so both are
accepted and ``data`` is always handed on parsed. Some payloads nest further JSON strings
(TaskRouter ``attributes``, error-log payloads): :func:`expand_nested` unpacks those on request.

A record that is not a CloudEvent (not UTF-8, not JSON, nested deeper than the parser allows,
not strict JSON, or missing required attributes) is not an error: :func:`decode` returns it
flagged (``is_cloudevent`` false) so a tail can show it raw and carry on. No input may raise:
one record that stops the tail would stop every later run resumed from a checkpoint too.
Well-formed events take a fast path (:func:`_fast_decode`): orjson parses them, cheap checks
make it accept exactly what the full path accepts, with the same values, and the result is the
attribute dict json output writes (``DecodedEvent.attrs``); the :class:`CloudEvent` model is
built from it only when someone asks for ``DecodedEvent.event`` (pydantic is imported then, or
for the first unusual record: never by a plain ``tail -o jsonl``). Everything else goes through
pydantic's Rust JSON parser (``model_validate_json``), which is depth-bounded (no
RecursionError, unlike the stdlib's) and says why a record is not an event; it is the
definition the fast path is tested against (tests/tail/test_decode_paths.py). See
bench/tail.py for the speeds.

Strict JSON (RFC 8259): ``NaN``/``Infinity`` are not JSON, and a number too large for a double
(``1e400``) cannot be written back as JSON either; an event holding either is shown raw, so
``-o jsonl`` never emits what ``jq`` would refuse.

Producers other than Twilio may gzip their records or aggregate many user records into one
with the Kinesis Producer Library (KPL): :func:`decode` undoes gzip (bounded, against
decompression bombs) and :func:`deaggregate` splits KPL records into their user records.
"""

from __future__ import annotations

import functools
import hashlib
import math
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from operator import itemgetter
from typing import TYPE_CHECKING, Any, NamedTuple

import orjson

if TYPE_CHECKING:
    from pydantic import ValidationError

    from twilio_es_cli.tail.cloudevent import CloudEvent

TEST_EVENT_TYPE = "com.twilio.eventstreams.test-event"


class DecodedEvent:
    """One record's bytes, decoded as far as they go (read-only once :func:`decode` made it).

    ``attrs`` holds the event's attributes as every json output shows them (the CloudEvent
    attributes that are not null, in the model's order, ``data`` parsed, then the extension
    attributes as given), or None when the record is not a CloudEvent; ``error`` then says why,
    and ``raw`` always holds the original bytes. ``event`` is the same event as a
    :class:`CloudEvent`; records taken by the fast path build it only when asked (a plain
    ``tail -o jsonl`` never does: building a model per record cost as much as parsing it).
    """

    __slots__ = ("_event", "_parsed", "attrs", "data_was_string", "encoding", "error", "raw")

    def __init__(
        self,
        raw: bytes,
        event: CloudEvent | None,
        error: str | None = None,
        data_was_string: bool = False,
        encoding: str | None = None,  # "gzip" when the record's bytes were gzip-compressed
        attrs: dict[str, Any] | None = None,
        parsed: dict[str, Any] | None = None,
    ) -> None:
        self.raw = raw
        self.error = error
        self.data_was_string = data_was_string
        self.encoding = encoding
        self._event = event
        self._parsed = parsed  # the fast path's parsed record, to build ``event`` from
        self.attrs = attrs  # see the class docstring; _full_decode derives it from ``event``

    def __repr__(self) -> str:
        return (
            f"DecodedEvent(raw={self.raw[:60]!r}, attrs={self.attrs!r:.200}, error={self.error!r})"
        )

    @property
    def event(self) -> CloudEvent | None:
        """The CloudEvent (built on first use for fast-path records), None for a non-event."""
        if self._event is None and self._parsed is not None and self.attrs is not None:
            self._event = _model(self._parsed, self.attrs)
        return self._event

    @property
    def is_cloudevent(self) -> bool:
        return self.attrs is not None

    @property
    def data(self) -> Any:
        """The parsed ``data`` (dict/list/scalar), or None for a non-CloudEvent record."""
        return self.attrs.get("data") if self.attrs is not None else None

    @property
    def type(self) -> str | None:
        return self.attrs["type"] if self.attrs is not None else None

    @property
    def source(self) -> str | None:
        return self.attrs["source"] if self.attrs is not None else None

    @property
    def id(self) -> str | None:
        return self.attrs["id"] if self.attrs is not None else None

    def text(self) -> str:
        """The raw bytes as text (undecodable bytes as ``\\xNN``), for showing non-events."""
        return self.raw.decode("utf-8", errors="backslashreplace")

    @property
    def is_utf8(self) -> bool:
        """Whether :attr:`raw` is valid UTF-8 (otherwise json output adds it in base64)."""
        try:
            self.raw.decode("utf-8")
        except UnicodeDecodeError:
            return False
        return True


def _attributes(event: CloudEvent) -> dict[str, Any]:
    """The attributes json output shows: the model's non-null fields, then the extensions."""
    attrs = {k: v for k, v in event.__dict__.items() if v is not None}
    if event.__pydantic_extra__:
        attrs.update(event.__pydantic_extra__)
    return attrs


def _model(parsed: dict[str, Any], attrs: dict[str, Any]) -> CloudEvent:
    """The CloudEvent of a fast-path record, as ``model_validate_json`` would have made it:
    fields as given (``data`` as decoded), the other keys as extensions, every key "set"."""
    from twilio_es_cli.tail.cloudevent import CloudEvent

    fields = {k: parsed.get(k) for k in _FIELD_NAMES}
    fields["data"] = attrs.get("data")
    extra = {k: v for k, v in parsed.items() if k not in _FIELD_SET}
    event = CloudEvent.__new__(CloudEvent)
    object.__setattr__(event, "__dict__", fields)
    object.__setattr__(event, "__pydantic_extra__", extra)
    object.__setattr__(event, "__pydantic_fields_set__", set(parsed))
    object.__setattr__(event, "__pydantic_private__", None)
    return event


def _parse_json_string(value: str) -> tuple[Any, bool]:
    """Parse ``value`` when it holds a strict-JSON object/array; returns (value, parsed?)."""
    stripped = value.lstrip()
    if not stripped or stripped[0] not in "{[":
        return value, False
    if _shallow(value):
        try:
            parsed = orjson.loads(value)
        except orjson.JSONDecodeError:
            pass  # pydantic decides (same answer, but keeps one definition of "strict")
        else:
            if _no_big_numbers(parsed):
                return parsed, True
    import pydantic_core

    try:
        return pydantic_core.from_json(value, allow_inf_nan=False), True
    except (ValueError, RecursionError):
        return value, False


GZIP_MAGIC = b"\x1f\x8b"
MAX_DECOMPRESSED = 16 * 1024 * 1024  # a gzip bomb must not exhaust memory


def gunzip(data: bytes, limit: int = MAX_DECOMPRESSED) -> tuple[bytes | None, str | None]:
    """Decompress one gzip member: (bytes, None), or (None, why not) when broken or too big."""
    inflater = zlib.decompressobj(wbits=31)
    try:
        out = inflater.decompress(data, limit)
    except zlib.error:
        return None, "gzip data that does not decompress"
    if inflater.unconsumed_tail:
        return None, f"gzip data larger than {limit // (1024 * 1024)} MB when decompressed"
    if not inflater.eof:
        return None, "truncated gzip data"
    return out, None


def decode(data: bytes, *, expand: bool = False) -> DecodedEvent:
    """Decode one Kinesis record (already base64-decoded by boto3) into a :class:`DecodedEvent`.

    Never raises, whatever the bytes. gzip-compressed records are decompressed first.
    ``data`` given as a JSON string holding an object/array is parsed; with ``expand`` every
    nested string that holds JSON is parsed too (see :func:`expand_nested`).
    """
    encoding = None
    if data.startswith(GZIP_MAGIC):
        unzipped, problem = gunzip(data)
        if unzipped is None:
            return DecodedEvent(data, None, problem)
        data, encoding = unzipped, "gzip"
    fast = _fast_decode(data, encoding)
    if fast is None:
        return _full_decode(data, encoding, expand)
    return _expanded(fast) if expand else fast


def _expanded(decoded: DecodedEvent) -> DecodedEvent:
    """A fast-path event with its nested JSON strings parsed (``--expand``)."""
    attrs = decoded.attrs
    if attrs is None or attrs.get("data") is None:
        return decoded
    expanded = expand_nested(attrs["data"])
    if not _finite(expanded):  # pydantic may have parsed a nested string
        return DecodedEvent(decoded.raw, None, OUT_OF_RANGE, encoding=decoded.encoding)
    attrs["data"] = expanded
    return decoded


def _full_decode(data: bytes, encoding: str | None, expand: bool) -> DecodedEvent:
    """Decode through pydantic: what the fast path leaves, and the definition it must match."""
    from pydantic import ValidationError

    from twilio_es_cli.tail.cloudevent import CloudEvent

    try:
        event = CloudEvent.model_validate_json(data)
    except ValidationError as exc:
        return DecodedEvent(data, None, _why_not(data, exc), encoding=encoding)
    except (ValueError, RecursionError, MemoryError):  # not expected from pydantic; never fatal
        return DecodedEvent(data, None, "not JSON", encoding=encoding)
    if (b"NaN" in data or b"Infinity" in data) and not _is_strict_json(data):
        return DecodedEvent(data, None, NOT_STRICT, encoding=encoding)
    was_string = False
    if isinstance(event.data, str):
        event.data, was_string = _parse_json_string(event.data)
    if expand and event.data is not None:
        event.data = expand_nested(event.data)
    if not _finite(event.data) or not _finite(event.__pydantic_extra__):
        return DecodedEvent(data, None, OUT_OF_RANGE, encoding=encoding)
    return DecodedEvent(data, event, None, was_string, encoding, _attributes(event))


#: What pydantic's parser accepts nested: a record with at most this many ``[``/``{`` bytes
#: (in strings too) cannot be nested deeper, so orjson (limit 1024) may parse it instead.
MAX_FAST_BRACKETS = 200
_REQUIRED = ("specversion", "id", "source", "type")
_OPTIONAL = ("time", "datacontenttype", "dataschema", "subject")


def _shallow(text: str | bytes) -> bool:
    if isinstance(text, str):
        return text.count("[") + text.count("{") <= MAX_FAST_BRACKETS
    return text.count(b"[") + text.count(b"{") <= MAX_FAST_BRACKETS


#: orjson keeps integers from -2**63 to 2**64 - 1 exact and turns any other into the nearest
#: float, which is then at most -2**63 or at least 2**64 (both exact doubles): a float outside
#: these bounds may have been such an integer. (Until 0.2.0 the bounds were -9.3e18 and 1.9e19,
#: which let 2**64 .. 1.9e19 and -9.3e18 .. -2**63 - 1 through as floats.)
_WIDENED_BELOW = float(-(2**63))
_WIDENED_FROM = float(2**64)


def _no_big_numbers(*values: Any) -> bool:
    """False if a float in ``values`` could be an integer orjson widened (beyond 64 bits).

    pydantic keeps such integers exact; orjson turns them into floats. Floats this large are
    rare, so the full path simply decides then. Iterative (depth is no risk), plain loops
    (this runs on every event).
    """
    todo: list[Any] = list(values)
    while todo:
        item = todo.pop()
        kind = type(item)
        if kind is float:
            if not _WIDENED_BELOW < item < _WIDENED_FROM:
                return False
            continue
        if kind is dict:
            item = item.values()
        elif kind is not list:
            continue
        for value in item:
            kind = type(value)
            if kind is float:
                if not _WIDENED_BELOW < value < _WIDENED_FROM:
                    return False
            elif kind is dict or kind is list:
                todo.append(value)
    return True


#: CloudEvent's fields in model order (``cloudevent_model.CloudEvent.model_fields``; written out
#: so that decoding well-formed records never imports pydantic; tests/tail/test_tail_units.py
#: holds them equal).
_FIELD_NAMES = (
    "specversion",
    "id",
    "source",
    "type",
    "time",
    "datacontenttype",
    "dataschema",
    "subject",
    "data",
)
_FIELD_SET = frozenset(_FIELD_NAMES)
assert _FIELD_NAMES[-1] == "data"  # json output shows data after the other attributes
_ATTRIBUTES = _FIELD_NAMES[:-1]  # strings (the optional ones may be null)
_REQUIRED_SET = frozenset(_REQUIRED)
_ONLY_STRINGS = {str}
#: How deep the fast path follows ``data`` and extensions: well below pydantic's limit (a
#: record nested 201 levels still parses there), so the fast path never accepts what it refuses.
MAX_FAST_DEPTH = 100
_NOT_FLAT = frozenset({dict, list, float})


class _Layout(NamedTuple):
    """What the fast path needs to know of one set of keys (records of a producer share it)."""

    values: Callable[[dict[str, Any]], tuple[Any, ...]]  # the attributes' values (not data)
    build: Callable[[tuple[Any, ...]], dict[str, Any]]  # those values -> attrs, output order
    names: tuple[str, ...]  # the CloudEvent attributes present (not data), in output order
    extras: tuple[str, ...]  # extension attributes, in the record's order


#: Layouts by the record's keys in order. Bounded in count and key length: keys come from
#: whoever writes to the stream.
_LAYOUTS: dict[tuple[str, ...], _Layout | None] = {}
MAX_LAYOUTS = 256
MAX_LAYOUT_KEYS = 32


def _layout(keys: tuple[str, ...]) -> _Layout | None:
    """The layout of a record with these keys, None when a required attribute is missing."""
    names = tuple(k for k in _ATTRIBUTES if k in keys)
    layout = None
    if _REQUIRED_SET.issubset(names):
        extras = tuple(k for k in keys if k not in _FIELD_SET)
        layout = _Layout(itemgetter(*names), _builder(names), names, extras)
    if len(keys) <= MAX_LAYOUT_KEYS and len(_LAYOUTS) < MAX_LAYOUTS:
        _LAYOUTS[keys] = layout
    return layout


@functools.cache
def _builder(names: tuple[str, ...]) -> Callable[[tuple[Any, ...]], dict[str, Any]]:
    """``lambda v: {"specversion": v[0], "id": v[1], ...}`` for these attribute names.

    Why generated: a dict display with constant keys is the fastest way CPython builds a
    dict, three times faster than ``dict(zip(names, values))`` (bench/tail.py counts every
    microsecond per record). ``names`` are this module's own attribute names (a subset of
    ``_ATTRIBUTES``, at most 2**8 combinations), never text from a record.
    """
    if not set(names) <= set(_ATTRIBUTES):
        raise ValueError(f"not CloudEvent attributes: {names}")
    items = ", ".join(f"{name!r}: v[{i}]" for i, name in enumerate(names))
    built: Callable[[tuple[Any, ...]], dict[str, Any]] = eval(f"lambda v: {{{items}}}")
    return built


def _fast_decode(data: bytes, encoding: str | None) -> DecodedEvent | None:
    """The record decoded via orjson, several times faster than validating; None when
    anything is unusual and pydantic must decide.

    Equivalent by construction: orjson parses strict JSON only (no NaN, no lone surrogates,
    no number beyond a double), attribute types are checked as the model would (the required
    ones strings, the optional ones strings or null), :func:`_plain` keeps the nesting within
    pydantic's depth limit and leaves integers beyond 64 bits (orjson widens them to floats)
    to pydantic.
    """
    try:
        parsed = _loads(data)
    except JSONDecodeError:
        return None
    if type(parsed) is not dict:
        return None
    keys = tuple(parsed)
    layout = _LAYOUTS[keys] if keys in _LAYOUTS else _layout(keys)
    if layout is None:
        return None
    get_values, build, names, extras = layout
    values = get_values(parsed)
    try:
        "".join(values)  # the cheapest proof that every attribute is a string
    except TypeError:  # null optional attributes are left out, as from the full path
        attrs = {k: v for k, v in zip(names, values, strict=True) if v is not None}
        if not attrs.keys() >= _REQUIRED_SET or set(map(type, attrs.values())) != _ONLY_STRINGS:
            return None
    else:
        attrs = build(values)
    inner = parsed.get("data")
    was_string = False
    if type(inner) is str and inner.lstrip()[:1] in ("{", "["):
        try:
            inner, was_string = _loads(inner), True
        except JSONDecodeError:
            return None
    if inner is not None:
        flat = type(inner) is dict and _NOT_FLAT.isdisjoint(map(type, inner.values()))
        if not flat and not _plain(inner):
            return None
        attrs["data"] = inner
    if extras:
        extra = {k: parsed[k] for k in extras}
        if not _plain(extra):
            return None
        attrs.update(extra)
    return DecodedEvent(data, None, None, was_string, encoding, attrs, parsed)


def _plain(value: Any) -> bool:
    """Whether the fast path may keep ``value``: no float that may be an integer orjson
    widened (beyond 64 bits; pydantic keeps those exact), nested at most MAX_FAST_DEPTH.

    Twilio's ``data`` is a flat object of strings and small integers: one C-level pass over
    its values says so; anything else gets the full walk.
    """
    kind = type(value)
    if kind is dict:
        if _NOT_FLAT.isdisjoint(map(type, value.values())):
            return True
    elif kind is list:
        if _NOT_FLAT.isdisjoint(map(type, value)):
            return True
    elif kind is float:
        return bool(_WIDENED_BELOW < value < _WIDENED_FROM)
    else:
        return True
    return _walk(value)


def _walk(value: dict[str, Any] | list[Any]) -> bool:
    """:func:`_plain` for nested values (iterative: depth is no risk)."""
    todo: list[tuple[Any, int]] = [(value, 1)]
    while todo:
        item, depth = todo.pop()
        if depth > MAX_FAST_DEPTH:
            return False
        for child in item.values() if type(item) is dict else item:
            kind = type(child)
            if kind is float:
                if not _WIDENED_BELOW < child < _WIDENED_FROM:
                    return False
            elif kind is dict or kind is list:
                todo.append((child, depth + 1))
    return True


_loads = orjson.loads
JSONDecodeError = orjson.JSONDecodeError


NOT_STRICT = "not strict JSON (NaN or Infinity)"
OUT_OF_RANGE = "not strict JSON (a number too large for JSON output)"


def _is_strict_json(data: bytes) -> bool:
    """Whether ``data`` parses without the NaN/Infinity extensions (only asked when present)."""
    import pydantic_core

    try:
        pydantic_core.from_json(data, allow_inf_nan=False)
    except (ValueError, RecursionError):
        return False
    return True


def _finite(value: Any) -> bool:
    """False if ``value`` holds a NaN/infinite float anywhere (iterative: depth is no risk).

    Only containers and floats are pushed, compared by exact type: this runs on every event,
    and Twilio's ``data`` is mostly strings.
    """
    todo = [value]
    while todo:
        item = todo.pop()
        kind = type(item)
        if kind is dict:
            todo.extend(v for v in item.values() if type(v) in _WALKED)
        elif kind is list:
            todo.extend(v for v in item if type(v) in _WALKED)
        elif kind is float and not math.isfinite(item):
            return False
    return True


_WALKED = frozenset({dict, list, float})


def _why_not(data: bytes, exc: ValidationError) -> str:
    """A short reason a record is not a CloudEvent (for the warning, not for control flow)."""
    import pydantic_core

    try:
        value = pydantic_core.from_json(data)
    except (ValueError, RecursionError):
        if any(err["type"] == "json_invalid" and "recursion" in err["msg"] for err in exc.errors()):
            return "JSON nested too deeply"
        return "not JSON"
    if not isinstance(value, dict):
        return f"JSON {_json_kind(value)}, not a CloudEvent object"
    missing = [
        ".".join(str(p) for p in err["loc"]) for err in exc.errors() if err["type"] == "missing"
    ]
    if missing:
        return "missing CloudEvent attribute(s): " + ", ".join(missing)
    return "invalid CloudEvent attributes"


def _json_kind(value: Any) -> str:
    kinds = {list: "array", str: "string", bool: "boolean", int: "number", float: "number"}
    return "null" if value is None else kinds.get(type(value), type(value).__name__)


# --- KPL aggregation ----------------------------------------------------------------------

#: The Kinesis Producer Library's aggregated-record magic number (then protobuf, then MD5).
KPL_MAGIC = b"\xf3\x89\x9a\xc2"


@dataclass(frozen=True)
class UserRecord:
    """One user record inside a KPL-aggregated Kinesis record."""

    partition_key: str
    data: bytes


def deaggregate(data: bytes) -> list[UserRecord] | None:
    """The user records of a KPL-aggregated record, or None when ``data`` is not one.

    Format (amazon-kinesis-producer's aggregation-format.md): magic, a protobuf
    ``AggregatedRecord`` {1: partition key table, 2: explicit hash key table, 3: records
    {1: partition key index, 2: hash key index, 3: data, 4: tags}}, then the MD5 of the
    protobuf bytes. A record that merely starts with the magic but fails the MD5 or the parse
    is not aggregated: it is shown as it is (like the KCL does).
    """
    if len(data) < len(KPL_MAGIC) + 16 or not data.startswith(KPL_MAGIC):
        return None
    body, digest = data[len(KPL_MAGIC) : -16], data[-16:]
    if hashlib.md5(body, usedforsecurity=False).digest() != digest:
        return None
    try:
        keys: list[str] = []
        entries: list[tuple[int, bytes]] = []
        for number, value in _protobuf_fields(body):
            if number == 1 and isinstance(value, bytes):
                keys.append(value.decode("utf-8", errors="backslashreplace"))
            elif number == 3 and isinstance(value, bytes):
                entries.append(_user_entry(value))
        return [UserRecord(keys[index], payload) for index, payload in entries]
    except (ValueError, IndexError):
        return None


def _user_entry(message: bytes) -> tuple[int, bytes]:
    """(partition key index, data) of one protobuf ``Record``."""
    index: int | None = None
    payload: bytes | None = None
    for number, value in _protobuf_fields(message):
        if number == 1 and isinstance(value, int):
            index = value
        elif number == 3 and isinstance(value, bytes):
            payload = value
    if index is None or payload is None:
        raise ValueError("record without partition key index or data")
    return index, payload


def _protobuf_fields(buf: bytes) -> Iterator[tuple[int, int | bytes]]:
    """(field number, value) of a protobuf message: varints as int, length-delimited as bytes."""
    pos = 0
    while pos < len(buf):
        key, pos = _varint(buf, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(buf, pos)
            yield number, value
        elif wire == 2:
            size, pos = _varint(buf, pos)
            if pos + size > len(buf):
                raise ValueError("truncated field")
            yield number, buf[pos : pos + size]
            pos += size
        elif wire in (1, 5):  # fixed64 / fixed32: not used by the format, skipped
            pos += 8 if wire == 1 else 4
        else:
            raise ValueError(f"unsupported wire type {wire}")
    if pos != len(buf):
        raise ValueError("truncated message")


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    for _ in range(10):
        if pos >= len(buf):
            raise ValueError("truncated varint")
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
        shift += 7
    raise ValueError("varint too long")


def expand_nested(value: Any, *, depth: int = 8) -> Any:
    """Parse strings that hold JSON objects/arrays, recursively (bounded by ``depth``).

    Why: Twilio payloads such as TaskRouter ``attributes`` or Debugger ``payload`` carry JSON
    encoded as a string inside the event; unpacking them makes ``jq`` filters straightforward.
    """
    if depth <= 0:
        return value
    if isinstance(value, str):
        parsed, ok = _parse_json_string(value)
        return expand_nested(parsed, depth=depth - 1) if ok else value
    if isinstance(value, dict):
        return {k: expand_nested(v, depth=depth - 1) for k, v in value.items()}
    if isinstance(value, list):
        return [expand_nested(v, depth=depth - 1) for v in value]
    return value
