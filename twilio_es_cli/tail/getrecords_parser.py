"""A fast parser for Kinesis' GetRecords answer (and SubscribeToShard's record events, the
same fields), exactly equal to botocore's, or nothing.

Why: on a fast server, parsing a 2,000-record GetRecords answer cost the client more than
fetching it: after ``json.loads``, botocore walks the output shape generically (a method
lookup and call per field of every record) and base64-decodes ``Data`` through two Python
wrappers per record. :func:`parse_flat_answer` parses the body the same way (the stdlib's
``json.loads`` of the UTF-8 text, as botocore does; orjson is slower on these bodies of long
base64 strings and widens integers past 64 bits), then converts each record's fields in one
loop planned once from botocore's own model: ``Data`` straight to a C base64 decoder, the
timestamp to the parser botocore was given, everything else passed through as botocore does.

It never guesses. The result is what botocore's JSON parser returns for the same body, or
None, and then the caller hands the body to botocore, which also raises botocore's own errors
for garbage: a body that is not UTF-8 or not JSON, a ``Data`` that is not a base64 string, a
record that is not an object, a shape this module does not plan for. Error answers never come
here (botocore parses those before any output shape is used), so throttling, retries and
:func:`twilio_es_cli.aws.classify` see botocore's exceptions as ever.

Base64: pybase64 (SIMD) in strict mode when installed, which only accepts canonical base64,
whose bytes every decoder agrees on; anything it refuses goes to ``binascii.a2b_base64``,
which is what ``base64.b64decode`` (botocore's blob parser) runs, lenient rules included.

Pure: no botocore import. ``shape`` is botocore's ``StructureShape`` used duck-typed (members,
``type_name``, ``serialization``); tests/tail/test_getrecords_parser.py checks equality against
botocore's parser on real moto, kinesis-local and ministack answers.
"""

from __future__ import annotations

import binascii
import json
from collections.abc import Callable
from typing import Any

#: botocore's names of the answers this parser is for: ``kinesis.get_records``, and each
#: record-carrying event of ``subscribe_to_shard`` (tail --efo), the same fields.
GET_RECORDS_OUTPUT = "GetRecordsOutput"
SUBSCRIBE_TO_SHARD_EVENT = "SubscribeToShardEvent"

# Field kinds a plan knows; any other member type makes the shape unplanned (botocore's).
_PLAIN, _BLOB, _TIMESTAMP, _NESTED = "plain", "blob", "timestamp", "nested"
#: Model types botocore's JSON parser hands back as they came from ``json.loads``.
PLAIN_TYPES = ("string", "long", "integer", "boolean")
_KINDS = dict.fromkeys(PLAIN_TYPES, _PLAIN)
_KINDS.update(blob=_BLOB, timestamp=_TIMESTAMP)

#: (member name, JSON key, kind) per field, in the model's order (botocore's key order).
Plan = tuple[tuple[str, str, str], ...]


def _strict_b64() -> Callable[[str], bytes] | None:
    """pybase64's strict decoder when installed (about 4x binascii on these records)."""
    try:
        import pybase64
    except ImportError:  # optional speed-up: binascii gives the same bytes
        return None

    def decode(text: str) -> bytes:
        return pybase64.b64decode(text, validate=True)

    return decode


_FAST_B64 = _strict_b64()


def b64decode(text: str) -> bytes:
    """``base64.b64decode(text)`` (botocore's blob parser), faster: same bytes, same errors."""
    if _FAST_B64 is not None:
        try:
            return _FAST_B64(text)
        except ValueError:
            pass  # not canonical base64: the lenient rules decide, as in botocore
    return binascii.a2b_base64(text)


class _Unexpected(Exception):
    """Something botocore should judge: the caller falls back to botocore's parser."""


def _plain_structure(shape: Any) -> bool:
    """A structure botocore walks member by member (not a document, not a union)."""
    return (
        getattr(shape, "type_name", None) == "structure"
        and not getattr(shape, "is_document_type", False)
        and not getattr(shape, "is_tagged_union", False)
    )


def plan_of(shape: Any) -> Plan | None:
    """The conversion plan of a structure of scalars (a Kinesis ``Record``), or None."""
    if not _plain_structure(shape):
        return None
    plan: list[tuple[str, str, str]] = []
    for name, member in shape.members.items():
        kind = _KINDS.get(member.type_name)
        if kind is None or member.serialization.get("location"):
            return None
        plan.append((name, member.serialization.get("name", name), kind))
    return tuple(plan)


def answer_plan(shape: Any) -> tuple[Plan, dict[str, Plan]] | None:
    """The plan of an answer: scalars, lists of planned records, other members (botocore's).

    The second item maps each list-of-records member to its records' plan; members of kind
    ``nested`` (``ChildShards``: small, rare) are handed to botocore's own walk.
    """
    if not _plain_structure(shape):
        return None
    plan: list[tuple[str, str, str]] = []
    records: dict[str, Plan] = {}
    for name, member in shape.members.items():
        if member.serialization.get("location"):
            return None  # from a header, not the body
        kind = _KINDS.get(member.type_name, _NESTED)
        if member.type_name == "list":
            record_plan = plan_of(member.member)
            if record_plan is not None:
                records[name] = record_plan
        plan.append((name, member.serialization.get("name", name), kind))
    return tuple(plan), records


def parse_flat_answer(
    body: bytes,
    shape: Any,
    plans: tuple[Plan, dict[str, Plan]],
    timestamp: Callable[[Any], Any],
    nested: Callable[[Any, Any], Any],
) -> dict[str, Any] | None:
    """botocore's parse of ``body`` as ``shape`` (without ResponseMetadata), or None.

    ``plans`` is :func:`answer_plan` of ``shape``; ``timestamp`` the parser's timestamp parser
    and ``nested(member_shape, value)`` its generic walk, for members not planned here.
    """
    if not body:
        return None  # botocore reads an empty body as {}: let it
    try:
        doc = json.loads(body.decode("utf-8"))
    except ValueError:  # UnicodeDecodeError and JSONDecodeError both
        return None
    if type(doc) is not dict:
        return None
    plan, records = plans
    parsed: dict[str, Any] = {}
    try:
        for name, key, kind in plan:
            value = doc.get(key)
            if value is None:
                continue
            if name in records:
                parsed[name] = _records(value, records[name], timestamp)
            elif kind is _PLAIN:
                parsed[name] = value
            elif kind is _NESTED:
                parsed[name] = nested(shape.members[name], value)
            else:
                parsed[name] = _convert(value, kind, timestamp)
    except (_Unexpected, ValueError, TypeError, OverflowError, OSError, AttributeError):
        return None  # botocore decides (and raises its own error for garbage)
    return parsed


def _records(
    value: Any, plan: Plan, timestamp: Callable[[Any], Any]
) -> list[dict[str, Any] | None]:
    """Each record's fields converted as botocore would (the hot loop: one pass per record)."""
    if type(value) is not list:
        raise _Unexpected
    out: list[dict[str, Any] | None] = []
    append = out.append
    for item in value:
        if item is None:
            append(None)  # botocore reads lists as sparse
            continue
        if type(item) is not dict:
            raise _Unexpected
        record: dict[str, Any] = {}
        for name, key, kind in plan:
            field = item.get(key)
            if field is None:
                continue
            record[name] = field if kind is _PLAIN else _convert(field, kind, timestamp)
        append(record)
    return out


def _convert(value: Any, kind: str, timestamp: Callable[[Any], Any]) -> Any:
    """A blob or timestamp field as botocore converts it."""
    if kind is _TIMESTAMP:
        return timestamp(value)
    if type(value) is not str:
        raise _Unexpected  # b64decode of bytes-like values: botocore's business
    return b64decode(value)
