"""Tricky Kinesis records for the decoder: every shape where a shortcut could differ from the
validated (pydantic) path. Each entry is (name, record bytes); names are test ids.

Built by hand, not generated from the code under test: unicode and terminal controls in values
and keys, integers at and past 64 bits, floats at the edges, nesting around the parsers' depth
limits, ``data`` as object, string, JSON-in-a-string and broken JSON, missing and null
optional attributes, extension attributes (one named like the envelope's own ``kinesis``),
duplicate keys, and records that are not CloudEvents at all.
"""

from __future__ import annotations

import gzip
import json
from typing import Any

BASE: dict[str, Any] = {
    "specversion": "1.0",
    "type": "com.twilio.messaging.message.delivered",
    "source": "/2010-04-01/Accounts/AC00000000000000000000000000000000/Messages/SM1.json",
    "id": "EZ00000000000000000000000000000001",
    "dataschema": "https://events-schemas.twilio.com/Messaging.MessageStatus/5",
    "datacontenttype": "application/json",
    "time": "2026-01-01T00:00:00.000Z",
}

#: Characters a terminal may act on or that reorder text: DEL, C1 (NEL, CSI), bidi
#: overrides/isolates/marks, line and paragraph separators, and the Arabic letter mark.
CONTROLS = "\x7f\x85\x9b\u061c\u200e\u200f\u2028\u2029\u202a\u202e\u2066\u2069"
#: Non-ASCII text that must pass unescaped: Latin-1, smart quotes, CJK, emoji (astral).
TEXT = "£ café “quoted” — 東京 😀 \u00a0\u200d"


def ce(
    data: Any = None, *, as_string: bool = False, drop: tuple[str, ...] = (), **extra: Any
) -> bytes:
    """A CloudEvent from BASE with ``data`` (as a JSON string when ``as_string``)."""
    doc = {k: v for k, v in BASE.items() if k not in drop}
    if data is not None:
        doc["data"] = json.dumps(data, ensure_ascii=False) if as_string else data
    doc.update(extra)
    return json.dumps(doc, ensure_ascii=False).encode()


def with_data(data_json: bytes) -> bytes:
    """A CloudEvent whose ``data`` is the given JSON text verbatim (may be non-strict)."""
    head = json.dumps({k: BASE[k] for k in ("specversion", "id", "source", "type")})
    return head[:-1].encode() + b',"data":' + data_json + b"}"


def nested(depth: int) -> bytes:
    """An array nested ``depth`` levels deep, as JSON text."""
    return b"[" * depth + b"]" * depth


def nested_object(depth: int) -> bytes:
    return b'{"a":' * (depth - 1) + b"{}" + b"}" * (depth - 1)


BIG_INTS = [2**63 - 1, 2**63, 2**64 - 1, 2**64, -(2**63), -(2**63) - 1, 10**30, -(10**40)]
FLOATS_JSON = [
    b"-0.0",
    b"1.0",
    b"1e16",
    b"1.5e300",
    b"9.2e18",
    b"2e19",
    b"-9.3e18",
    b"1e-7",
    b"0.1",
    b"123456789.123",
    b"1E5",
    b"5e-324",
    b"1.7976931348623157e308",
]

CORPUS: list[tuple[str, bytes]] = [
    ("plain-string-data", ce({"messageStatus": "delivered", "n": 1}, as_string=True)),
    ("plain-object-data", ce({"messageStatus": "delivered", "n": 1})),
    ("no-data", ce()),
    ("data-null", with_data(b"null")),
    ("data-zero", with_data(b"0")),
    ("data-false", with_data(b"false")),
    ("data-empty-object", with_data(b"{}")),
    ("data-empty-array", with_data(b"[]")),
    ("data-empty-string", with_data(b'""')),
    ("data-plain-string", ce("hello {", as_string=False)),
    ("data-broken-json-string", ce("{broken", as_string=False)),
    ("data-string-array", ce([1, "two", None, True], as_string=True)),
    ("data-string-leading-space", with_data(b'"  \\n {\\"x\\": 1}"')),
    ("data-string-leading-unicode-space", with_data(b'"\\u3000{\\"x\\": 1}"')),
    ("data-string-leading-c0-space", with_data(b'"\\u001c{\\"x\\": 1}"')),
    ("data-string-nan", with_data(b'"{\\"x\\": NaN}"')),
    ("data-string-1e400", with_data(b'"{\\"x\\": 1e400}"')),
    ("data-string-big-int", with_data(b'"{\\"x\\": 123456789012345678901234567890}"')),
    ("data-string-trailing-garbage", with_data(b'"{\\"x\\": 1} x"')),
    (
        "data-string-nested-json-string",
        ce({"attributes": json.dumps({"a": [1, 2]})}, as_string=True),
    ),
    ("unicode-values", ce({"body": TEXT, "to": "+44 7700 900123"}, as_string=True)),
    ("unicode-object-data", ce({"body": TEXT})),
    ("controls-in-values", ce({"body": "hi" + CONTROLS}, as_string=True)),
    ("controls-in-object-data", ce({"body": CONTROLS + TEXT})),
    ("controls-in-keys", ce({"k" + CONTROLS: 1, TEXT: "x"})),
    ("controls-in-attributes", ce({"n": 1}, subject="s\x9b\u202e" + TEXT)),
    (
        "controls-in-extension-key",
        ce({"n": 1})[:-1]
        + b","
        + json.dumps({"ext\x7f\u2066": "v\x85"}, ensure_ascii=False)[1:].encode(),
    ),
    ("del-only", ce({"body": "a\x7fb"}, as_string=True)),
    ("c0-controls", ce({"body": "\x00\x01\x1b[2J\t\n\r"}, as_string=True)),
    ("escaped-unicode-in-source", with_data(b'{"s": "\\u202e\\u0085\\u007f\\ud83d\\ude00"}')),
    ("backslashes-and-quotes", ce({"body": 'a\\"b\\\\c"d'}, as_string=True)),
    *[(f"big-int-{i}-in-data", ce({"n": v})) for i, v in enumerate(BIG_INTS)],
    *[
        (f"big-int-{i}-in-string-data", ce({"n": v}, as_string=True))
        for i, v in enumerate(BIG_INTS)
    ],
    ("big-int-in-extension", ce({"n": 1}, seq=2**70)),
    ("big-int-nested", ce({"a": [{"b": [2**65]}]})),
    *[
        (f"float-{f.decode()}", with_data(b'{"x": ' + f + b', "y": [' + f + b"]}"))
        for f in FLOATS_JSON
    ],
    *[
        (f"float-{f.decode()}-in-string", with_data(b'"{\\"x\\": ' + f + b'}"'))
        for f in FLOATS_JSON
    ],
    ("float-in-extension", ce({"n": 1}, rate=0.5, huge=1e300)),
    ("float-1e400", with_data(b'{"x": 1e400}')),
    ("float-1e400-in-extension", ce({"n": 1})[:-1] + b',"x": -1e400}'),
    ("nan-in-data", with_data(b'{"x": NaN}')),
    ("infinity-in-data", with_data(b"[Infinity, -Infinity]")),
    ("nan-in-extension", ce({"n": 1})[:-1] + b',"x": NaN}'),
    ("nan-text-in-string", ce({"body": "NaN and Infinity"}, as_string=True)),
    *[
        (f"nested-data-{d}", with_data(nested(d)))
        for d in (2, 50, 99, 100, 101, 150, 199, 200, 201, 202, 300)
    ],
    *[(f"nested-object-data-{d}", with_data(nested_object(d))) for d in (100, 101, 199, 200, 201)],
    *[
        (f"nested-string-data-{d}", with_data(json.dumps(nested(d).decode()).encode()))
        for d in (100, 150, 201, 202)
    ],
    ("nested-too-deep-for-orjson", with_data(nested(1100))),
    ("brackets-in-strings", ce({"body": "[{" * 300}, as_string=True)),
    ("brackets-in-object-strings", ce({"body": "[{" * 300})),
    ("nested-extension", ce({"n": 1}, ext={"a": [{"b": [1.5, None, True]}]})),
    ("extension-traceparent", ce({"n": 1}, traceparent="00-x", tracestate="")),
    ("extension-null", ce({"n": 1}, ext=None)),
    ("extension-named-kinesis", ce({"n": 1}, kinesis={"shard_id": "forged"})),
    ("extension-named-cloudevent", ce({"n": 1}, cloudevent=False, error="forged")),
    ("extension-before-fields", b'{"zzz":1,' + ce({"n": 1})[1:]),
    ("optional-missing", ce({"n": 1}, drop=("time", "datacontenttype", "dataschema"))),
    ("optional-null", ce({"n": 1}, time=None, subject=None)),
    ("subject-given", ce({"n": 1}, subject="SM1")),
    ("optional-wrong-type", ce({"n": 1}, time=5)),
    ("optional-wrong-type-list", ce({"n": 1}, subject=["a"])),
    ("required-missing-id", ce({"n": 1}, drop=("id",))),
    ("required-null-type", ce({"n": 1}, type=None)),
    ("required-wrong-type", ce({"n": 1}, id=5)),
    ("required-bool", ce({"n": 1}, specversion=True)),
    (
        "only-required",
        json.dumps({k: BASE[k] for k in ("specversion", "id", "source", "type")}).encode(),
    ),
    ("duplicate-id", b'{"id":"a",' + ce({"n": 1})[1:]),
    ("duplicate-data", ce({"n": 1})[:-1] + b',"data":{"n":2}}'),
    ("duplicate-extension", ce({"n": 1})[:-1] + b',"x":1,"x":2}'),
    ("duplicate-data-string-then-null", with_data(b'"{\\"a\\":1}"')[:-1] + b',"data":null}'),
    ("whitespace-around", b"  \n" + ce({"n": 1}) + b" \r\n\t"),
    ("bom", b"\xef\xbb\xbf" + ce({"n": 1})),
    ("gzip", gzip.compress(ce({"n": 1}, as_string=True))),
    ("gzip-broken", b"\x1f\x8b\x08\x00broken"),
    ("top-array", b"[1, 2, 3]"),
    ("top-string", b'"a string"'),
    ("top-number", b"42"),
    ("top-null", b"null"),
    ("empty", b""),
    ("not-utf8", b"\xff\xfe\xfd not UTF-8"),
    ("every-byte", bytes(range(256))),
    ("lone-surrogate-escape", with_data(b'"\\ud800"')),
    ("lone-surrogate-in-key", ce({"n": 1})[:-1] + b',"\\udc00":1}'),
    ("invalid-utf8-in-string", ce({"n": 1})[:-1] + b',"x":"\xc3\x28"}'),
    ("trailing-comma", ce({"n": 1})[:-1] + b",}"),
    ("two-documents", ce({"n": 1}) + ce({"n": 2})),
    ("single-quotes", b"{'specversion': '1.0'}"),
]
