"""The tail's pure parts: decoding, start positions, filters, dedupe, shard plans, checkpoints."""

from __future__ import annotations

import gzip
import json
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Protocol

import pytest

from tests.tail.tail_support import event
from twilio_es_cli.errors import UsageError
from twilio_es_cli.shards import Shard
from twilio_es_cli.tail.checkpoint import Checkpoint
from twilio_es_cli.tail.decode import (
    KPL_MAGIC,
    TEST_EVENT_TYPE,
    deaggregate,
    decode,
    expand_nested,
)
from twilio_es_cli.tail.filters import Deduper, TypeFilter
from twilio_es_cli.tail.positions import SHARD_END, StartPosition, parse_duration, parse_start
from twilio_es_cli.tail.reader import plan

_CE = b'{"specversion":"1.0","id":"EZ1","source":"/s","type":"t"}'


def test_decode_data_as_string_or_object() -> None:
    as_string = decode(event(7))
    as_object = decode(event(7, data_as_string=False))
    for decoded in (as_string, as_object):
        assert decoded.is_cloudevent and decoded.error is None
        assert decoded.data["n"] == 7
    assert as_string.data_was_string and not as_object.data_was_string


def test_decode_test_event_as_the_sink_validator_reads_it() -> None:
    doc = {
        "specversion": "1.0",
        "id": "EZ1",
        "source": "/v1/Sinks/DG1",
        "type": TEST_EVENT_TYPE,
        "data": json.dumps({"test_id": "abc"}),
    }
    decoded = decode(json.dumps(doc).encode())
    assert decoded.event is not None and decoded.event.type == TEST_EVENT_TYPE
    assert decoded.data == {"test_id": "abc"}


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        (b"\xff\xfe not utf-8", "not JSON"),
        (b"", "not JSON"),
        (b"[1, 2]", "JSON array, not a CloudEvent object"),
        (b'"text"', "JSON string, not a CloudEvent object"),
        (b'{"id": "x", "type": "t"}', "missing CloudEvent attribute(s): specversion, source"),
        (b'{"specversion": "1.0", "id": 5, "source": "s", "type": "t"}', "invalid"),
        # Deeper than the stdlib parser's recursion limit: RecursionError before the fix.
        (b"[" * 100_000 + b"]" * 100_000, "JSON nested too deeply"),
        (b'{"a":' * 50_000 + b"1" + b"}" * 50_000, "JSON nested too deeply"),
        (_CE[:-1] + b',"data":' + b"[" * 100_000 + b"]" * 100_000 + b"}", "JSON nested too deep"),
        # Not strict JSON (RFC 8259): NaN/Infinity, or a number no JSON output can hold.
        (_CE[:-1] + b',"data":{"x":NaN}}', "not strict JSON (NaN or Infinity)"),
        (_CE[:-1] + b',"data":[-Infinity]}', "not strict JSON (NaN or Infinity)"),
        (_CE[:-1] + b',"ext":Infinity}', "not strict JSON (NaN or Infinity)"),
        (_CE[:-1] + b',"data":{"x":1e400}}', "not strict JSON (a number too large"),
        (_CE[:-1] + b',"data":"{\\"x\\":[1e999]}"}', "not strict JSON (a number too large"),
        (bytes(range(256)) * 4, "not JSON"),
        (b"x" * 1_000_000, "not JSON"),
        (b"\x1f\x8b\x08\x00broken gzip", "gzip data that does not decompress"),
        (gzip.compress(_CE, mtime=0)[:-4], "truncated gzip data"),
        (gzip.compress(b"\0" * (17 * 1024 * 1024)), "gzip data larger than 16 MB"),
    ],
)
def test_records_that_are_not_cloudevents_are_flagged_not_raised(raw: bytes, why: str) -> None:
    decoded = decode(raw)
    assert not decoded.is_cloudevent and decoded.data is None
    assert decoded.error is not None and decoded.error.startswith(why), decoded.error
    assert decoded.raw == raw


def test_nan_inside_a_data_string_stays_a_string() -> None:
    # The record itself is strict JSON; the text in its data string is not: kept as text.
    decoded = decode(_CE[:-1] + b',"data":"{\\"x\\": NaN}"}')
    assert decoded.is_cloudevent and decoded.data == '{"x": NaN}'


def test_gzip_records_are_decompressed() -> None:
    decoded = decode(gzip.compress(_CE[:-1] + b',"data":{"x":1}}'))
    assert decoded.is_cloudevent and decoded.data == {"x": 1} and decoded.encoding == "gzip"


def test_kpl_aggregated_records_are_split_into_user_records() -> None:
    # Built with AWS's own aggregator (aws-kinesis-agg), not with our decoder's idea of it.
    from aws_kinesis_agg.aggregator import RecordAggregator

    aggregator = RecordAggregator()
    users = [(f"key-{i % 3}", _CE[:-1] + f',"data":{{"n":{i}}}}}'.encode()) for i in range(5)]
    for key, data in users:
        aggregator.add_user_record(key, data)
    _, _, aggregated = aggregator.clear_and_get().get_contents()
    found = deaggregate(aggregated)
    assert found is not None
    assert [(u.partition_key, u.data) for u in found] == users
    assert deaggregate(_CE) is None
    assert deaggregate(aggregated[:-1] + b"x") is None  # MD5 does not match: not aggregated
    assert deaggregate(KPL_MAGIC + b"\xff" * 40) is None


def test_data_strings_that_are_not_json_objects_stay_strings() -> None:
    doc = {"specversion": "1.0", "id": "1", "source": "s", "type": "t", "data": "hello {"}
    assert decode(json.dumps(doc).encode()).data == "hello {"
    doc["data"] = "{broken"
    assert decode(json.dumps(doc).encode()).data == "{broken"


def test_extension_attributes_are_kept() -> None:
    doc = {"specversion": "1.0", "id": "1", "source": "s", "type": "t", "traceparent": "00-x"}
    decoded = decode(json.dumps(doc).encode())
    assert decoded.event is not None
    assert decoded.event.attributes()["traceparent"] == "00-x"


def test_expand_nested_is_recursive_and_bounded() -> None:
    inner = json.dumps({"c": json.dumps([1, {"d": "x"}])})
    assert expand_nested({"a": inner, "b": "plain"}) == {"a": {"c": [1, {"d": "x"}]}, "b": "plain"}
    deep: object = "leaf"
    for _ in range(20):
        deep = json.dumps({"k": deep})
    result = expand_nested(deep, depth=3)
    assert isinstance(result["k"]["k"], str)  # stopped expanding after the depth budget


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30s", 30), ("15m", 900), ("2h", 7200), ("1d", 86400), ("1h30m", 5400), ("500ms", 0.5)],
)
def test_parse_duration(text: str, seconds: float) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "15", "m", "15 m", "-5m", "15min", "1h x"])
def test_parse_duration_rejects(text: str) -> None:
    with pytest.raises(UsageError):
        parse_duration(text)


def test_parse_start() -> None:
    now = datetime(2026, 1, 31, 12, 0, tzinfo=timezone.utc)
    assert parse_start(None, None) is None
    assert parse_start("latest", None) == StartPosition.latest()
    assert parse_start("TRIM_HORIZON", None) == StartPosition.trim_horizon()
    assert parse_start(None, "15m", now=now) == StartPosition.at(now - timedelta(minutes=15))
    naive = parse_start("2026-01-31T09:00:00", None)
    assert naive == StartPosition.at(datetime(2026, 1, 31, 9, tzinfo=timezone.utc))
    zoned = parse_start("2026-01-31T09:00:00+02:00", None)
    assert zoned is not None and zoned.timestamp == datetime(2026, 1, 31, 7, tzinfo=timezone.utc)
    with pytest.raises(UsageError):
        parse_start("latest", "5m")
    with pytest.raises(UsageError):
        parse_start("soon", None)
    with pytest.raises(UsageError, match="in the future"):  # AWS would refuse it
        parse_start("2026-01-31T12:00:01Z", None, now=now)


def test_type_filter_globs() -> None:
    messaging = TypeFilter(["com.twilio.messaging.*", "*.call.completed"])
    assert messaging.matches("com.twilio.messaging.message.sent")
    assert messaging.matches("com.twilio.voice.status-callback.call.completed")
    assert not messaging.matches("com.twilio.taskrouter.task.created")
    assert not messaging.matches(None)  # not a CloudEvent: no type to match
    everything = TypeFilter([])
    assert not everything and everything.matches(None) and everything.matches("x")


def test_dedupe_memory_is_bounded_lru() -> None:
    seen = Deduper(capacity=3)
    assert [seen.seen("s", i) for i in ("a", "b", "c")] == [False, False, False]
    assert seen.seen("s", "a")  # refreshes a
    assert not seen.seen("s", "d")  # evicts b, the least recently seen
    assert not seen.seen("s", "b")
    assert seen.seen("s", "a")
    assert not seen.seen("other-source", "a")


def _shard(sid: str, *parents: str, closed: bool = False) -> Shard:
    return Shard(sid, parents, closed)


# 0 split into 1 and 2; 1 and 2 later merged into 3 (open).
LINEAGE = [
    _shard("0", closed=True),
    _shard("1", "0", closed=True),
    _shard("2", "0", closed=True),
    _shard("3", "1", "2"),
]


class _Planned(Protocol):
    """What ``plan`` decides per shard (its type is the reader's own business)."""

    @property
    def position(self) -> StartPosition | None: ...


def _positions(shards: Mapping[str, _Planned]) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for sid, shard in shards.items():
        position = shard.position
        out[sid] = None if position is None else position.sequence_number or position.kind
    return out


def test_plan_start_positions_without_checkpoint() -> None:
    trim = plan(LINEAGE, StartPosition.trim_horizon(), {})
    assert _positions(trim) == dict.fromkeys("0123", "TRIM_HORIZON")
    assert trim["3"].parents == ("1", "2")
    latest = plan(LINEAGE, StartPosition.latest(), {})
    assert _positions(latest) == {"0": None, "1": None, "2": None, "3": "LATEST"}


def test_plan_resumes_from_a_checkpoint() -> None:
    shards = plan(LINEAGE, StartPosition.latest(), {"0": SHARD_END, "1": "42"})
    # 0 drained, 1 resumes after 42, 2 (a child of checkpointed 0) from its start, 3 after both.
    assert _positions(shards) == {"0": None, "1": "42", "2": "TRIM_HORIZON", "3": "TRIM_HORIZON"}
    deep = plan(LINEAGE, StartPosition.trim_horizon(), {"3": "77"})
    assert _positions(deep) == {"0": None, "1": None, "2": None, "3": "77"}


def test_checkpoint_round_trip_and_atomic_write(tmp_path: Path) -> None:
    (tmp_path / "state").mkdir()
    path = tmp_path / "state" / "cp.json"
    when = datetime(2026, 1, 31, 9, tzinfo=timezone.utc)
    cp = Checkpoint.open(path, "s", StartPosition.at(when))
    assert not cp.existed
    cp.shards.update({"shardId-0": "123", "shardId-1": SHARD_END})
    cp.save()
    again = Checkpoint.open(path, "arn:aws:kinesis:us-east-1:1:stream/s", StartPosition.latest())
    assert again.existed and again.shards == cp.shards
    assert again.start == StartPosition.at(when)  # the first run's start wins
    assert [p.name for p in path.parent.iterdir()] == ["cp.json"]  # no temp file left


@pytest.mark.parametrize(
    "content", ["", "{", "[]", '{"shards": {}}', '{"stream": "s", "start": 5}']
)
def test_unreadable_checkpoint_is_a_usage_error(tmp_path: Path, content: str) -> None:
    path = tmp_path / "cp.json"
    path.write_text(content)
    with pytest.raises(UsageError, match="not readable"):
        Checkpoint.open(path, "s", StartPosition.latest())


def test_checkpoint_that_cannot_be_written_is_a_clean_error(tmp_path: Path) -> None:
    import shutil

    from twilio_es_cli.errors import TwilioEsError

    with pytest.raises(UsageError, match="does not exist or is not writable"):
        Checkpoint.open(tmp_path / "missing" / "cp.json", "s", StartPosition.latest())
    state = tmp_path / "state"
    state.mkdir()
    cp = Checkpoint.open(state / "cp.json", "s", StartPosition.latest())
    shutil.rmtree(state)  # e.g. a temp directory cleaned up while the tail ran
    with pytest.raises(TwilioEsError, match="could not save checkpoint file"):
        cp.save()


def test_fast_path_field_names_are_the_models() -> None:
    """cloudevents writes the model's fields out (no pydantic import); they must not drift."""
    from twilio_es_cli.tail import decode as decoding
    from twilio_es_cli.tail.cloudevent import CloudEvent

    assert tuple(CloudEvent.model_fields) == decoding._FIELD_NAMES
