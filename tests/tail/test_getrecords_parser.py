"""The fast GetRecords parser (wire.py, installed by aws.py) against botocore's own parser.

Every answer our Kinesis client parses is parsed again by botocore's stock JSON parser (same
timestamp parser) and the two results must be equal, keys in the same order; each test also
checks the fast path was taken (a fallback to botocore would pass any comparison). Answers
come from real servers on 127.0.0.1 (moto, kinesis-local, ministack) and, for what they never
send (throttling, garbage, odd base64), from a local HTTP server answering as Kinesis would.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from botocore.exceptions import ClientError
from botocore.parsers import EventStreamJSONParser, create_parser
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import boto_client
from tests.tail.tail_support import create_stream
from twilio_es_cli import aws
from twilio_es_cli.aws import THROTTLED, AwsClients, classify, parse_timestamp
from twilio_es_cli.config import resolve_settings
from twilio_es_cli.tail import getrecords_parser as wire


class Spy:
    """Counts the answers the fast path parsed itself (not handed back to botocore)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.fast = 0
        self.declined = 0
        real = wire.parse_flat_answer

        def spy(*args: Any, **kwargs: Any) -> dict[str, Any] | None:
            parsed = real(*args, **kwargs)
            if parsed is None:
                self.declined += 1
            else:
                self.fast += 1
            return parsed

        monkeypatch.setattr(wire, "parse_flat_answer", spy)


class Checked:
    """Our Kinesis client; each GetRecords answer is re-parsed by stock botocore and compared."""

    def __init__(self, endpoint: str, max_attempts: int = 1) -> None:
        settings_ = resolve_settings(endpoint_url=endpoint)
        self.client = AwsClients(settings_, max_attempts=max_attempts).kinesis()
        self.shape = self.client.meta.service_model.operation_model("GetRecords").output_shape
        self.raw: list[dict[str, Any]] = []
        self.client.meta.events.register("before-parse.kinesis.GetRecords", self._keep)

    def _keep(self, response_dict: dict[str, Any], **_: Any) -> None:
        self.raw.append(dict(response_dict))

    def get_records(self, **kwargs: Any) -> dict[str, Any]:
        ours = dict(self.client.get_records(**kwargs))
        assert_same(outcome(lambda: ours), outcome(lambda: self.stock()))
        return ours

    def stock(self) -> Any:
        """botocore's stock parse of the last answer."""
        return stock_parse(self.raw[-1], self.shape)


def stock_parse(response: dict[str, Any], shape: Any) -> Any:
    parser: Any = create_parser("json")
    parser._timestamp_parser = parse_timestamp  # as our factory configures it
    return parser.parse(response, shape)


def outcome(call: Callable[[], Any]) -> Any:
    """What ``call`` returns (without botocore's retry count, added after parsing), or the
    type and message of what it raises."""
    try:
        result = call()
    except Exception as exc:
        return (type(exc), str(exc))
    if isinstance(result, dict) and "ResponseMetadata" in result:
        result = {**result, "ResponseMetadata": dict(result["ResponseMetadata"])}
        result["ResponseMetadata"].pop("RetryAttempts", None)
    return result


def assert_same(ours: Any, theirs: Any) -> None:
    """Equal, with the same key order at every level (what a dump of either would show)."""
    assert ours == theirs
    assert repr(ours) == repr(theirs)


def read_shard(checked: Checked, kinesis: Any, stream: str, shard_id: str) -> list[dict[str, Any]]:
    """Every answer of one shard from TRIM_HORIZON until it is drained or caught up."""
    iterator = kinesis.get_shard_iterator(
        StreamName=stream, ShardId=shard_id, ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    answers = []
    while iterator:
        answer = checked.get_records(ShardIterator=iterator, Limit=7)
        answers.append(answer)
        if not answer["Records"] and answer.get("MillisBehindLatest", 0) == 0:
            break
        iterator = answer.get("NextShardIterator")
    return answers


def odd_records(count: int) -> list[dict[str, Any]]:
    """Records whose bytes are every byte value, empty-ish, not UTF-8, and unicode keys."""
    records = []
    for n in range(count):
        data = bytes((n * 7 + i) % 256 for i in range(n % 300 + 1))
        records.append({"Data": data, "PartitionKey": f"clé-{n}-✓"})
    return records


def put_all(kinesis: Any, stream: str, records: list[dict[str, Any]]) -> None:
    for start in range(0, len(records), 100):
        answer = kinesis.put_records(StreamName=stream, Records=records[start : start + 100])
        assert answer.get("FailedRecordCount", 0) == 0


def check_server(endpoint: str, name: str, monkeypatch: pytest.MonkeyPatch) -> Spy:
    """Fill a 2-shard stream with odd records and read every shard through the checks."""
    spy = Spy(monkeypatch)
    kinesis: Any = boto_client("kinesis", endpoint)
    create_stream(kinesis, name, 2)
    written = odd_records(60)
    put_all(kinesis, name, written)
    checked = Checked(endpoint)
    seen: list[bytes] = []
    for shard in kinesis.list_shards(StreamName=name)["Shards"]:
        for answer in read_shard(checked, kinesis, name, shard["ShardId"]):
            seen.extend(r["Data"] for r in answer["Records"])
    assert sorted(seen) == sorted(r["Data"] for r in written)
    assert spy.fast >= 4 and spy.declined == 0  # every answer, the empty last ones included
    return spy


def test_moto_answers_equal_botocore_including_child_shards(
    aws_env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    spy = check_server(aws_env, "wire-moto", monkeypatch)
    kinesis: Any = boto_client("kinesis", aws_env)
    kinesis.update_shard_count(
        StreamName="wire-moto", TargetShardCount=4, ScalingType="UNIFORM_SCALING"
    )
    checked = Checked(aws_env)
    before = spy.fast
    children: list[dict[str, Any]] = []
    for shard in kinesis.list_shards(StreamName="wire-moto")["Shards"]:
        answers = read_shard(checked, kinesis, "wire-moto", shard["ShardId"])
        children.extend(answers[-1].get("ChildShards") or [])
    assert children and all(c["ParentShards"] and c["HashKeyRange"] for c in children)
    assert spy.fast > before and spy.declined == 0


def test_kinesis_local_answers_equal_botocore(
    kinesis_local_env: str, unique_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    check_server(kinesis_local_env, unique_name, monkeypatch)


def test_ministack_answers_equal_botocore(
    ministack_env: str, unique_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    check_server(ministack_env, unique_name, monkeypatch)


def test_botocore_internals_the_fast_parser_needs_are_there() -> None:
    """Fails naming what moved when botocore changes the private names aws.py relies on."""
    import botocore

    problem = aws.wire_seam_problem()
    assert problem is None, (
        f"botocore {botocore.__version__} changed what aws._parser_factory relies on: "
        f"{problem}. tail still works (botocore's own parser is installed instead) but parses "
        "GetRecords the slow way; update aws.py/wire.py to the new internals."
    )


def test_moved_internals_fall_back_to_botocores_parser(
    aws_env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As if botocore renamed one of them: its own factory, the same answers, no fast path."""
    from botocore.parsers import ResponseParserFactory

    gone = ("JSONParser", "_renamed_in_a_later_botocore", None)
    monkeypatch.setattr(aws, "_WIRE_SEAM", (*aws._WIRE_SEAM, gone))
    assert aws.wire_seam_problem() == (
        "botocore.parsers.JSONParser._renamed_in_a_later_botocore is gone"
    )
    assert type(aws._parser_factory()) is ResponseParserFactory
    spy = Spy(monkeypatch)
    kinesis: Any = boto_client("kinesis", aws_env)
    create_stream(kinesis, "wire-fallback", 1)
    written = odd_records(30)
    put_all(kinesis, "wire-fallback", written)
    checked = Checked(aws_env)  # our client, every answer compared with stock botocore's
    shard_id = kinesis.list_shards(StreamName="wire-fallback")["Shards"][0]["ShardId"]
    answers = read_shard(checked, kinesis, "wire-fallback", shard_id)
    assert [r["Data"] for a in answers for r in a["Records"]] == [r["Data"] for r in written]
    assert (spy.fast, spy.declined) == (0, 0)  # wire.py was never asked


def test_a_parser_without_the_private_attributes_is_declined() -> None:
    """The per-answer guard: a parser lacking what wire.py reads is left to botocore."""
    assert aws._as_wire(object()) is False


# --- a local HTTP server answering GetRecords as scripted ---------------------------------


class Scripted:
    """A local HTTP server that answers each POST with the next (status, body) of a script."""

    def __init__(self) -> None:
        self.script: list[tuple[int, bytes]] = []
        self.requests = 0
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                owner.requests += 1
                status, body = owner.script.pop(0) if owner.script else (200, b"{}")
                self.send_response(status)
                self.send_header("Content-Type", "application/x-amz-json-1.1")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("x-amzn-RequestId", f"req-{owner.requests}")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def scripted(monkeypatch: pytest.MonkeyPatch) -> Iterator[Scripted]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    server = Scripted()
    yield server
    server.close()


def _body(doc: Any) -> bytes:
    return json.dumps(doc).encode()


RECORD = {
    "SequenceNumber": "49590338271490256608559692538361571095921575989136588898",
    "ApproximateArrivalTimestamp": 1767225600.123,
    "Data": base64.b64encode(b'{"hello": "world"}').decode(),
    "PartitionKey": "k",
}


def test_throttling_is_botocores_error_and_retried(scripted: Scripted) -> None:
    throttled = _body({"__type": "ProvisionedThroughputExceededException", "message": "slow"})
    ok = _body({"Records": [RECORD], "NextShardIterator": "it-2", "MillisBehindLatest": 0})
    scripted.script = [(400, throttled), (200, ok)]
    checked = Checked(scripted.url, max_attempts=3)  # botocore's retry handles the first
    answer = checked.get_records(ShardIterator="it-1")
    assert scripted.requests == 2 and answer["Records"][0]["Data"] == b'{"hello": "world"}'

    scripted.script = [(400, throttled)] * 5
    scripted.requests = 0
    single = Checked(scripted.url, max_attempts=1)  # botocore: one retry, then raise
    with pytest.raises(ClientError) as caught:
        single.client.get_records(ShardIterator="it-1")
    error = caught.value.response
    assert error["Error"]["Code"] == "ProvisionedThroughputExceededException"
    assert scripted.requests == 1 + error["ResponseMetadata"]["RetryAttempts"] < 5
    assert classify(caught.value) == THROTTLED


@pytest.mark.parametrize(
    "body",
    [
        b"",  # botocore: no keys at all (the reader asks again)
        b'{"Records": [',  # cut short
        b"\xff\xfe not utf-8",
        b'{"Records": [{"Data": "QQ", "SequenceNumber": "1"}]}',  # unpadded
        b'{"Records": [{"Data": 5, "SequenceNumber": "1"}]}',
        b'{"Records": "nope"}',
        b'{"Records": [null, 3]}',
        b"[1, 2]",
        # Not JSON by RFC 8259, but Python's json (botocore's) reads it: so does ours.
        b'{"Records": [], "MillisBehindLatest": 1e999, "NextShardIterator": NaN}',
    ],
)
def test_garbage_is_left_to_botocore(
    scripted: Scripted, monkeypatch: pytest.MonkeyPatch, body: bytes
) -> None:
    spy = Spy(monkeypatch)
    scripted.script = [(200, body)]
    checked = Checked(scripted.url)
    ours = outcome(lambda: checked.client.get_records(ShardIterator="it"))
    assert_same(ours, outcome(checked.stock))
    # Declined (an empty body is never tried): botocore decided; or read exactly as botocore.
    assert spy.fast == (b"NaN" in body)


@pytest.mark.parametrize(
    "data",
    [
        "QUJD\nREVG",  # newline inside: botocore's lenient decoder skips it
        "QUJDREVG====",  # excess padding
        "QUI=QUI=",  # data after padding
        "QUJ",  # bad length
        "",  # empty
        "QR==",  # non-zero trailing bits
        "%%%",  # nothing of the alphabet: b""
        "QU%JD",  # a stray character inside
    ],
)
def test_base64_decided_as_botocore(scripted: Scripted, data: str) -> None:
    scripted.script = [(200, _body({"Records": [{**RECORD, "Data": data}]}))]
    checked = Checked(scripted.url)
    ours = outcome(lambda: checked.client.get_records(ShardIterator="it"))
    assert_same(ours, outcome(checked.stock))


_text = st.text(max_size=20)
_field = st.one_of(st.none(), _text, st.integers(-(2**70), 2**70), st.booleans())
_stamp = st.one_of(
    st.none(),
    st.floats(min_value=0, max_value=4e9),
    st.integers(min_value=0, max_value=4 * 10**9),
)
_record = st.fixed_dictionaries(
    {
        "SequenceNumber": _field,
        "PartitionKey": _field,
        "ApproximateArrivalTimestamp": _stamp,
        "Data": st.one_of(st.none(), st.binary(max_size=64).map(lambda b: base64.b64encode(b))),
        "EncryptionType": _field,
    },
    optional={"Extra": _field},
)
_answer = st.fixed_dictionaries(
    {"Records": st.lists(st.one_of(st.none(), _record), max_size=6)},
    optional={
        "NextShardIterator": _field,
        "MillisBehindLatest": st.one_of(st.integers(-(2**70), 2**70), st.none()),
        "ChildShards": st.lists(
            st.fixed_dictionaries(
                {
                    "ShardId": _text,
                    "ParentShards": st.lists(_text, max_size=2),
                    "HashKeyRange": st.fixed_dictionaries(
                        {"StartingHashKey": _text, "EndingHashKey": _text}
                    ),
                }
            ),
            max_size=2,
        ),
    },
)


@pytest.mark.slow
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(answer=_answer, data=st.data())
def test_generated_answers_parse_as_botocore(answer: dict[str, Any], data: st.DataObject) -> None:
    for record in answer["Records"]:
        if record is not None and record["Data"] is not None:
            record["Data"] = record["Data"].decode()
    order = data.draw(st.permutations(list(answer)))
    body = json.dumps({key: answer[key] for key in order}).encode()
    response = {"status_code": 200, "headers": {"x-amzn-requestid": "r"}, "body": body}
    shape = _kinesis_model().operation_model("GetRecords").output_shape
    ours = aws._parser_factory()
    ours.set_parser_defaults(timestamp_parser=parse_timestamp)
    mine = outcome(lambda: ours.create_parser("json").parse(response, shape))
    assert_same(mine, outcome(lambda: stock_parse(response, shape)))

    # The same fields as a SubscribeToShard event (tail --efo), through the event parsers.
    if "NextShardIterator" in answer:
        answer["ContinuationSequenceNumber"] = answer.pop("NextShardIterator")
    event = {
        "status_code": 200,
        "headers": {":event-type": "SubscribeToShardEvent", ":message-type": "event"},
        "body": json.dumps(answer).encode(),
    }
    stream = _kinesis_model().shape_for("SubscribeToShardEventStream")
    our_events = ours.create_parser("json")._event_stream_parser
    stock_events = EventStreamJSONParser(parse_timestamp, None)
    mine = outcome(lambda: our_events.parse(event, stream))
    assert_same(mine, outcome(lambda: stock_events.parse(event, stream)))


_MODEL: list[Any] = []


def _kinesis_model() -> Any:
    if not _MODEL:
        import botocore.session

        _MODEL.append(botocore.session.get_session().get_service_model("kinesis"))
    return _MODEL[0]


def test_records_plan_follows_botocores_model() -> None:
    shape = _kinesis_model().operation_model("GetRecords").output_shape
    plans = wire.answer_plan(shape)
    assert plans is not None
    plan, records = plans
    assert [name for name, _, _ in plan] == list(shape.members)
    assert set(records) == {"Records"}
    assert dict((n, k) for n, _, k in records["Records"]) == {
        "SequenceNumber": "plain",
        "ApproximateArrivalTimestamp": "timestamp",
        "Data": "blob",
        "PartitionKey": "plain",
        "EncryptionType": "plain",
    }
    # Anything not planned is botocore's: a map member, or no structure at all.
    assert wire.answer_plan(_kinesis_model().shape_for("Data")) is None


def test_records_of_builds_the_same_frozen_records() -> None:
    import dataclasses
    from datetime import datetime, timezone

    from twilio_es_cli.tail.records import KinesisRecord, records_of

    when = datetime(2026, 1, 1, tzinfo=timezone.utc)
    raw: list[dict[str, Any]] = [
        {"SequenceNumber": "1", "ApproximateArrivalTimestamp": when, "Data": b"a"},
        {"SequenceNumber": "2", "ApproximateArrivalTimestamp": when, "Data": b""},
    ]
    raw[1]["PartitionKey"] = "k"
    built = records_of("shardId-1", raw)
    assert built == [
        KinesisRecord("shardId-1", "1", "", when, b"a"),
        KinesisRecord("shardId-1", "2", "k", when, b""),
    ]
    assert repr(built[1]) == repr(KinesisRecord("shardId-1", "2", "k", when, b""))
    assert hash(built[0]) == hash(KinesisRecord("shardId-1", "1", "", when, b"a"))
    assert dataclasses.replace(built[0], subsequence=3).subsequence == 3
    with pytest.raises(dataclasses.FrozenInstanceError):
        built[0].data = b"changed"  # type: ignore[misc]


def test_ministack_subscribe_to_shard_events_equal_botocore(
    ministack_env: str, unique_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """tail --efo's events: our client reads the records a stock botocore client reads."""
    import botocore.session
    from botocore.parsers import ResponseParserFactory

    spy = Spy(monkeypatch)
    admin: Any = boto_client("kinesis", ministack_env)
    create_stream(admin, unique_name, 1)
    written = odd_records(40)
    put_all(admin, unique_name, written)
    arn = admin.describe_stream_summary(StreamName=unique_name)["StreamDescriptionSummary"][
        "StreamARN"
    ]
    consumer = admin.register_stream_consumer(StreamARN=arn, ConsumerName="wire-test")
    consumer_arn = consumer["Consumer"]["ConsumerARN"]
    shard_id = admin.list_shards(StreamName=unique_name)["Shards"][0]["ShardId"]

    stock_session = botocore.session.get_session()
    factory = ResponseParserFactory()
    factory.set_parser_defaults(timestamp_parser=parse_timestamp)  # as ours: only wire differs
    stock_session.register_component("response_parser_factory", factory)
    stock = stock_session.create_client(
        "kinesis",
        endpoint_url=ministack_env,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    ours = AwsClients(resolve_settings(endpoint_url=ministack_env)).kinesis()

    def records(client: Any) -> list[dict[str, Any]]:
        answer = client.subscribe_to_shard(
            ConsumerARN=consumer_arn, ShardId=shard_id, StartingPosition={"Type": "TRIM_HORIZON"}
        )
        got: list[dict[str, Any]] = []
        for event in answer["EventStream"]:
            got.extend(event["SubscribeToShardEvent"]["Records"])
            if len(got) >= len(written):
                break
        answer["EventStream"].close()
        return got

    mine, theirs = records(ours), records(stock)
    assert [r["Data"] for r in mine] == [r["Data"] for r in written]
    assert_same(mine, theirs)
    assert spy.fast >= 1 and spy.declined == 0
