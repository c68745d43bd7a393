"""Encode ``application/vnd.amazon.eventstream`` messages: the frames SubscribeToShard sends.

botocore ships only a decoder (``botocore.eventstream``), and the sandbox's SubscribeToShard
must write what that decoder reads, so this is the other half, kept small: one message is

    total length (4 bytes) | headers length (4) | prelude CRC32 (4)
    | headers | payload | message CRC32 (4)

all big-endian, the prelude CRC over the first 8 bytes and the message CRC over everything
before it (AWS's event stream encoding, as botocore's ``EventStreamMessage`` checks it). A
header is ``name length (1) | name | type (1) | value``; only string values (type 7: a 2-byte
length, then UTF-8) are written, the one type Kinesis's events carry. Pure stdlib;
tests/local/test_eventstream.py decodes every frame with botocore's own decoder.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Mapping

PRELUDE_LENGTH = 12  # total length, headers length, prelude CRC
CRC_LENGTH = 4
STRING_TYPE = 7
# The decoder's limits (botocore.eventstream): larger frames are refused on the other side.
MAX_HEADERS_LENGTH = 128 * 1024
MAX_PAYLOAD_LENGTH = 16 * 1024 * 1024
MAX_NAME_LENGTH = 255  # one length byte
MAX_VALUE_LENGTH = 32767  # a signed 2-byte length


def _crc(data: bytes, start: int = 0) -> bytes:
    return struct.pack(">I", zlib.crc32(data, start) & 0xFFFFFFFF)


def encode_headers(headers: Mapping[str, str]) -> bytes:
    """The headers block: each name and string value with their lengths (see module doc)."""
    out = bytearray()
    for name, value in headers.items():
        raw_name, raw_value = name.encode("utf-8"), value.encode("utf-8")
        if not 0 < len(raw_name) <= MAX_NAME_LENGTH:
            raise ValueError(f"event stream header name {name!r} must be 1-255 bytes")
        if len(raw_value) > MAX_VALUE_LENGTH:
            raise ValueError(f"event stream header {name!r} is longer than 32767 bytes")
        out += struct.pack(">B", len(raw_name)) + raw_name
        out += struct.pack(">BH", STRING_TYPE, len(raw_value)) + raw_value
    if len(out) > MAX_HEADERS_LENGTH:
        raise ValueError("event stream headers are longer than 128 KiB")
    return bytes(out)


def encode_message(headers: Mapping[str, str], payload: bytes) -> bytes:
    """One complete message (prelude, headers, payload, both CRCs)."""
    if len(payload) > MAX_PAYLOAD_LENGTH:
        raise ValueError("event stream payload is larger than 16 MiB")
    block = encode_headers(headers)
    total = PRELUDE_LENGTH + len(block) + len(payload) + CRC_LENGTH
    prelude = struct.pack(">II", total, len(block))
    head = prelude + _crc(prelude) + block + payload
    return head + _crc(head)


def event(event_type: str, payload: bytes, content_type: str = "application/json") -> bytes:
    """An ``event`` message (``initial-response``, ``SubscribeToShardEvent``, ...)."""
    return encode_message(
        {
            ":message-type": "event",
            ":event-type": event_type,
            ":content-type": content_type,
        },
        payload,
    )


def exception(error_type: str, payload: bytes, content_type: str = "application/json") -> bytes:
    """An ``exception`` message: botocore raises it as ``EventStreamError`` with that code."""
    return encode_message(
        {
            ":message-type": "exception",
            ":exception-type": error_type,
            ":content-type": content_type,
        },
        payload,
    )
