"""The decoder's fast path (orjson, no model) against its definition, the validated path
(pydantic): for every tricky record (event_corpus.py) and for generated ones, both must
decide the same (event or not, and why), hold the same values, and make every output format
write the same bytes. The fast path is switched off by replacing it, so the two are compared
on the very same records; a separate test proves the fast path really takes the ordinary ones.
"""

from __future__ import annotations

import io
import json
import math
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.tail.event_corpus import BIG_INTS, CONTROLS, CORPUS, TEXT
from twilio_es_cli.tail import decode as decoding
from twilio_es_cli.tail.decode import OUT_OF_RANGE, DecodedEvent, decode
from twilio_es_cli.tail.records import KinesisRecord
from twilio_es_cli.tail.render import JsonLines, PlainPretty, _utf8_buffer
from twilio_es_cli.webhook.forward import webhook_body

ARRIVAL = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=timezone.utc)
RECORDS = [
    KinesisRecord("shardId-000000000001", "4951", "pk-1", ARRIVAL, b""),
    KinesisRecord("shardId-000000000002", "4952", "pk\x1b[5m\x9b\u202e", ARRIVAL, b"", 3),
]


@contextmanager
def validated_only() -> Iterator[None]:
    """Every record through pydantic: the fast path declines everything meanwhile."""
    saved = decoding._fast_decode
    decoding._fast_decode = lambda data, encoding: None
    try:
        yield
    finally:
        decoding._fast_decode = saved


def observed(decoded: DecodedEvent) -> dict[str, Any]:
    """Everything a caller can see of a decoded record (repr tells 1 from 1.0 and -0.0)."""
    seen: dict[str, Any] = {
        "is_cloudevent": decoded.is_cloudevent,
        "error": decoded.error,
        "data_was_string": decoded.data_was_string,
        "encoding": decoded.encoding,
        "type": decoded.type,
        "source": decoded.source,
        "id": decoded.id,
        "data": repr(decoded.data),
        "attrs": repr(decoded.attrs),
        "attr_order": list(decoded.attrs or ()),
    }
    event = decoded.event
    if event is not None:
        seen["model"] = repr(event.__dict__)
        seen["extra"] = repr(event.__pydantic_extra__)
        seen["fields_set"] = sorted(event.model_fields_set)
        seen["attributes"] = repr(event.attributes())
    return seen


def rendered(decoded: DecodedEvent) -> dict[str, Any]:
    """What every output writes for the record, on a text stream and on stdout-like bytes."""
    shown: dict[str, Any] = {}
    for name in ("jsonl", "json", "pretty", "jsonl-bytes"):
        text, raw = io.StringIO(), io.BytesIO()
        out: Any = text
        if name == "jsonl-bytes":
            out = io.TextIOWrapper(raw, encoding="utf-8", write_through=False)
        renderer: Any = (
            PlainPretty(out)
            if name == "pretty"
            else JsonLines(out, indent=2 if name == "json" else None)
        )
        for record in RECORDS:
            renderer.write(record, decoded)
        if name != "pretty":
            renderer.drain()
        out.flush()
        shown[name] = raw.getvalue() if name == "jsonl-bytes" else text.getvalue()
    shown["webhook"] = webhook_body(decoded)
    return shown


def both_paths(data: bytes, expand: bool = False) -> tuple[DecodedEvent, DecodedEvent]:
    fast = decode(data, expand=expand)
    with validated_only():
        full = decode(data, expand=expand)
    return fast, full


@pytest.mark.parametrize("expand", [False, True], ids=["plain", "expand"])
@pytest.mark.parametrize(("name", "data"), CORPUS, ids=[name for name, _ in CORPUS])
def test_fast_and_validated_paths_agree(name: str, data: bytes, expand: bool) -> None:
    fast, full = both_paths(data, expand)
    # Rendered first: the fast path builds its model only when asked, after writing.
    assert rendered(fast) == rendered(full)
    assert observed(fast) == observed(full)


# Ordinary records, and unusual ones the fast path still decides: it must take them all
# (else the comparison above would compare pydantic with itself).
FAST = [
    "plain-string-data",
    "plain-object-data",
    "no-data",
    "data-null",
    "data-empty-string",
    "data-plain-string",
    "data-string-array",
    "data-string-leading-space",
    "unicode-values",
    "controls-in-values",
    "controls-in-keys",
    "controls-in-attributes",
    "controls-in-extension-key",
    "escaped-unicode-in-source",
    "big-int-0-in-data",  # 2**63 - 1
    "big-int-2-in-data",  # 2**64 - 1: orjson keeps it exact
    "big-int-4-in-data",  # -(2**63)
    "float--0.0",
    "float-1.0",
    "float-1e16",
    "float-9.2e18",
    "float-5e-324",
    "nested-data-100",
    "nested-object-data-100",
    "brackets-in-strings",
    "extension-traceparent",
    "extension-null",
    "extension-named-kinesis",
    "optional-missing",
    "optional-null",
    "duplicate-id",
    "duplicate-extension",
    "whitespace-around",
    "gzip",
]
# What only pydantic may decide: beyond 64 bits, beyond the fast path's depth, not strict
# JSON, not an object with string attributes.
VALIDATED = [
    "big-int-3-in-data",  # 2**64: orjson would widen it to a float
    "big-int-6-in-string-data",
    "big-int-in-extension",
    "float-1.5e300",
    "float-1e400",
    "nan-in-data",
    "nested-data-101",
    "nested-too-deep-for-orjson",
    "data-string-nan",
    "data-string-leading-c0-space",
    "optional-wrong-type",
    "required-missing-id",
    "required-null-type",
    "top-array",
    "not-utf8",
    "lone-surrogate-escape",
]


def test_the_fast_path_decides_the_ordinary_records() -> None:
    corpus = dict(CORPUS)
    for name in FAST:
        decoded = decode(corpus[name])
        assert decoded.attrs is not None, name
        assert decoded._parsed is not None and decoded._event is None, name  # no model yet
    for name in VALIDATED:
        assert decoding._fast_decode(decoding.gunzip(corpus[name])[0] or b"", None) is None, name


def _line(name: str) -> str:
    out = io.StringIO()
    renderer = JsonLines(out)
    renderer.write(RECORDS[0], decode(dict(CORPUS)[name]))
    renderer.drain()
    return out.getvalue()


def test_controls_are_escaped_and_other_text_is_kept() -> None:
    line = _line("controls-in-values")
    assert not any(char in line for char in CONTROLS)
    for escape in ("\\u007f", "\\u0085", "\\u009b", "\\u061c", "\\u2028", "\\u202e", "\\u2069"):
        assert escape in line
    assert json.loads(line)["data"]["body"] == "hi" + CONTROLS  # the same JSON value
    keys = _line("controls-in-keys")
    assert not any(char in keys for char in CONTROLS)
    assert "k" + CONTROLS in json.loads(keys)["data"]
    unicode = _line("unicode-values")
    assert TEXT in unicode  # non-ASCII text that cannot drive a terminal stays as it is
    assert json.loads(unicode)["data"]["body"] == TEXT


def test_numbers_keep_their_exact_values() -> None:
    for index, value in enumerate(BIG_INTS):
        for form in ("in-data", "in-string-data"):
            line = _line(f"big-int-{index}-{form}")
            assert f'"n":{value}' in line
            assert json.loads(line)["data"]["n"] == value
    negative_zero = json.loads(_line("float--0.0"))["data"]["x"]
    assert negative_zero == 0 and math.copysign(1, negative_zero) == -1
    assert '"x":1.0,' in _line("float-1.0")  # a float stays a float
    assert json.loads(_line("float-5e-324"))["data"]["y"] == [5e-324]
    huge = json.loads(_line("float-1e400"))
    assert huge["cloudevent"] is False and huge["error"] == OUT_OF_RANGE


def test_envelope_order_and_the_kinesis_object_win() -> None:
    doc = json.loads(_line("extension-named-kinesis"))
    assert doc["kinesis"]["shard_id"] == "shardId-000000000001"
    first = json.loads(_line("extension-before-fields"))
    assert list(first)[:4] == ["specversion", "id", "source", "type"]
    assert list(first)[-2:] == ["zzz", "kinesis"]
    assert json.loads(_line("duplicate-id"))["id"] == "EZ00000000000000000000000000000001"


def test_del_is_escaped_in_every_line_of_a_batch() -> None:
    out = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    renderer = JsonLines(out)
    for _ in range(3):
        renderer.write(RECORDS[0], decode(dict(CORPUS)["del-only"]))
    renderer.drain()
    out.flush()
    written = out.buffer.getvalue()
    assert b"\x7f" not in written and written.count(b"a\\u007fb") == 3


def test_bytes_go_to_the_buffer_only_when_they_are_what_the_text_would_be() -> None:
    utf8 = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    assert _utf8_buffer(utf8) is utf8.buffer
    assert _utf8_buffer(io.TextIOWrapper(io.BytesIO(), encoding="latin-1")) is None
    assert _utf8_buffer(io.StringIO()) is None


def test_layout_cache_is_bounded() -> None:
    decoding._LAYOUTS.clear()
    base = {"specversion": "1.0", "id": "1", "source": "/s", "type": "t"}
    for n in range(decoding.MAX_LAYOUTS + 50):
        assert decode(json.dumps({**base, f"ext{n}": n}).encode()).attrs is not None
    wide = {**base, **{f"k{n}": n for n in range(decoding.MAX_LAYOUT_KEYS + 1)}}
    assert decode(json.dumps(wide).encode()).attrs == wide
    assert len(decoding._LAYOUTS) == decoding.MAX_LAYOUTS
    assert tuple(wide) not in decoding._LAYOUTS
    with pytest.raises(ValueError):
        decoding._builder(("id", "__import__('os')"))


# --- generated records ---------------------------------------------------------------------

_TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=12) | st.sampled_from(
    ["", CONTROLS, TEXT, "{", "[1]", "NaN", "Infinity", "kinesis"]
)
_NUMBERS = (
    st.integers()
    | st.sampled_from([*BIG_INTS, 0, -1, 2**53 + 1])
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from([-0.0, 1.0, 1e16, 9.3e18, 2e19, 1e300, 5e-324])
)
_JSON = st.recursive(
    st.none() | st.booleans() | _NUMBERS | _TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_TEXT, inner, max_size=4),
    max_leaves=12,
)
_ATTRIBUTE = st.none() | _TEXT | st.sampled_from([0, True, ["x"]])


@st.composite
def records(draw: st.DrawFn) -> bytes:
    """A CloudEvent-ish record: required attributes mostly strings, optional ones maybe null
    or mistyped, extensions, data as object or as a JSON string written in any style."""
    doc: dict[str, Any] = {}
    for key in ("specversion", "id", "source", "type"):
        if draw(st.integers(0, 20)):
            doc[key] = draw(_TEXT) if draw(st.integers(0, 15)) else draw(_ATTRIBUTE)
    for key in ("time", "datacontenttype", "dataschema", "subject"):
        if draw(st.booleans()):
            doc[key] = draw(_ATTRIBUTE)
    for key in draw(st.lists(_TEXT, max_size=3)):
        doc[key] = draw(_JSON)
    if draw(st.integers(0, 5)):
        data = draw(_JSON)
        if draw(st.booleans()):
            ascii_only, compact = draw(st.booleans()), draw(st.booleans())
            separators = (",", ":") if compact else (", ", ": ")
            data = json.dumps(data, ensure_ascii=ascii_only, separators=separators)
        doc["data"] = data
    items = list(doc.items())
    order = draw(st.permutations(range(len(items))))
    return json.dumps(dict(items[i] for i in order), ensure_ascii=False).encode()


@pytest.mark.slow
@settings(
    max_examples=300,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(records(), st.booleans())
def test_generated_records_agree(data: bytes, expand: bool) -> None:
    fast, full = both_paths(data, expand)
    assert rendered(fast) == rendered(full)
    assert observed(fast) == observed(full)
