"""The sandbox's event-stream encoder, read back by botocore's own decoder and parser.

botocore has only the decoding half of ``application/vnd.amazon.eventstream``
(``botocore.eventstream``); what the sandbox's SubscribeToShard writes must be exactly what it
reads, checksums included.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.eventstream import ChecksumMismatch, EventStream, EventStreamBuffer
from botocore.exceptions import EventStreamError

from twilio_es_cli.local import eventstream


def _decode(data: bytes, chunk: int = 7) -> list[Any]:
    """Feed ``data`` in small pieces, as a socket delivers it, and collect the messages."""
    buffer = EventStreamBuffer()
    messages: list[Any] = []
    for start in range(0, len(data), chunk):
        buffer.add_data(data[start : start + chunk])
        messages.extend(buffer)
    return messages


def test_messages_round_trip_through_botocores_decoder() -> None:
    payloads = [b"{}", b'{"Records":[]}', "é€😀".encode(), b"", bytes(range(256)) * 40]
    data = b"".join(eventstream.event(f"type-{n}", p) for n, p in enumerate(payloads))
    messages = _decode(data)
    assert [m.payload for m in messages] == payloads
    for n, message in enumerate(messages):
        assert message.headers == {
            ":message-type": "event",
            ":event-type": f"type-{n}",
            ":content-type": "application/json",
        }
        assert message.to_response_dict()["status_code"] == 200


def test_exception_messages_are_errors_to_botocore() -> None:
    frame = eventstream.exception("ResourceInUseException", b'{"message": "taken over"}')
    (message,) = _decode(frame)
    assert message.headers[":exception-type"] == "ResourceInUseException"
    assert message.to_response_dict()["status_code"] == 400


@pytest.mark.parametrize("where", [2, 9, 20, -1])
def test_a_changed_byte_fails_the_checksums_botocore_checks(where: int) -> None:
    frame = bytearray(eventstream.event("initial-response", b'{"a": 1}'))
    frame[where] ^= 0x01  # total length, prelude CRC, a header byte, the message CRC
    with pytest.raises(ChecksumMismatch):
        _decode(bytes(frame), chunk=len(frame))


def test_limits_are_refused_before_writing() -> None:
    with pytest.raises(ValueError, match="1-255 bytes"):
        eventstream.encode_headers({"": "x"})
    with pytest.raises(ValueError, match="32767"):
        eventstream.encode_headers({"h": "x" * 40000})
    with pytest.raises(ValueError, match="16 MiB"):
        eventstream.encode_message({}, b"x" * (16 * 1024 * 1024 + 1))


class _Raw:
    def __init__(self, data: bytes) -> None:
        self.data = data

    def stream(self) -> Iterator[bytes]:
        for start in range(0, len(self.data), 5):
            yield self.data[start : start + 5]

    def close(self) -> None:
        pass


def _kinesis_event_stream(data: bytes) -> EventStream[Any]:
    """botocore's own EventStream for SubscribeToShard's output, over ``data``."""
    import botocore.session
    from botocore.parsers import EventStreamJSONParser

    model = botocore.session.get_session().get_service_model("kinesis")
    shape = model.operation_model("SubscribeToShard").output_shape
    assert shape is not None
    members: Any = shape.members  # the stubs type the output as a plain Shape
    return EventStream(
        _Raw(data), members["EventStream"], EventStreamJSONParser(), "SubscribeToShard"
    )


def test_botocore_parses_kinesis_events_as_boto3_hands_them_out() -> None:
    record = {
        "SequenceNumber": "49" + "1" * 54,
        "ApproximateArrivalTimestamp": 1767225600.5,
        "Data": "aGVsbG8=",
        "PartitionKey": "k",
    }
    body = {"Records": [record], "ContinuationSequenceNumber": "49" + "1" * 54}
    data = (
        eventstream.event("initial-response", b"{}")
        + eventstream.event(
            "SubscribeToShardEvent", json.dumps(body | {"MillisBehindLatest": 7}).encode()
        )
        + eventstream.exception("ResourceInUseException", b'{"message": "taken over"}')
    )
    stream = _kinesis_event_stream(data)
    assert stream.get_initial_response().headers[":event-type"] == "initial-response"
    events = iter(stream)
    event = next(events)["SubscribeToShardEvent"]
    assert event["Records"][0]["Data"] == b"hello"  # base64 decoded, as for GetRecords
    assert event["Records"][0]["ApproximateArrivalTimestamp"].timestamp() == 1767225600.5
    assert event["MillisBehindLatest"] == 7
    with pytest.raises(EventStreamError) as caught:
        next(events)
    assert caught.value.response["Error"]["Code"] == "ResourceInUseException"
