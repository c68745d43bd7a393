"""`sink` input checks: every bad value is exit 2 naming the field, before any remote call.

"Before any call" is checked for real: the Events API URL points at a local HTTP server that
counts requests, and it must see none. Also unit tests of the config-file loader (both file
shapes) and of secret redaction.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

from tests.conftest import Result
from tests.fixture_types import CliRunner

ARN = "arn:aws:kinesis:us-east-1:123456789012:stream/twilio-events"
ROLE = "arn:aws:iam::123456789012:role/twilio-events-writer"
EXT = "e" * 80
SID = "DG" + "0" * 32


class _Counter(BaseHTTPRequestHandler):
    hits: ClassVar[list[str]] = []

    def _any(self) -> None:
        type(self).hits.append(f"{self.command} {self.path}")
        self.send_response(500)
        self.end_headers()

    do_GET = do_POST = do_DELETE = _any

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def sink_counting_api(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """TWILIO_* set and the API URL on a server that records every request it gets."""
    _Counter.hits = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Counter)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", "AC" + "1" * 32)
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "token")
    monkeypatch.setenv("TWILIO_ES_API_URL", f"http://127.0.0.1:{server.server_address[1]}")
    yield _Counter.hits
    server.shutdown()
    server.server_close()


def _file(tmp_path: Path, data: object, name: str = "twilio-sink.json") -> str:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return str(path)


BAD_INPUTS = [
    # (argv, words the one-line message must contain)
    (
        ["sink", "create", "kinesis", "--arn", "nope", "--role-arn", ROLE, "--external-id", EXT],
        ["--arn", "arn:aws:kinesis"],
    ),
    (
        [
            "sink",
            "create",
            "kinesis",
            "--arn",
            ARN,
            "--role-arn",
            "arn:aws:iam::123:role/x",
            "--external-id",
            EXT,
        ],
        ["--role-arn"],
    ),
    (
        ["sink", "create", "kinesis", "--arn", ARN, "--role-arn", ROLE, "--external-id", ""],
        ["--external-id", "empty"],
    ),
    (
        ["sink", "create", "kinesis", "--arn", ARN, "--role-arn", ROLE],
        ["--external-id", "required"],
    ),
    # AWS accepts only 2-1224 of [\w+=,.@:/-] as sts:ExternalId: such a sink could never work
    (
        ["sink", "create", "kinesis", "--arn", ARN, "--role-arn", ROLE, "--external-id", "x"],
        ["--external-id", "2 to 1224"],
    ),
    (
        ["sink", "create", "kinesis", "--arn", ARN, "--role-arn", ROLE, "--external-id", "a#b"],
        ["--external-id", "2 to 1224"],
    ),
    (
        ["sink", "create", "kinesis", "--arn", ARN, "--role-arn", ROLE, "--external-id", "é" * 4],
        ["--external-id", "2 to 1224"],
    ),
    (["sink", "create", "kinesis"], ["--config"]),
    (
        ["sink", "create", "kinesis", "--config", "/nonexistent/twilio-sink.json"],
        ["does not exist"],
    ),
    (["sink", "create", "kinesis", "--config", "x.json", "--arn", ARN], ["either --config"]),
    (
        ["sink", "create", "kinesis", "--config", "x.json", "--destination", "http://h/"],
        ["--destination", "kinesis"],
    ),
    (["sink", "create", "webhook", "--destination", "ftp://example.com/x"], ["--destination"]),
    (["sink", "create", "webhook", "--destination", "example.com"], ["--destination"]),
    (
        ["sink", "create", "webhook", "--destination", "https://e.com/", "--method", "PUT"],
        ["--method"],
    ),
    (["sink", "create", "webhook"], ["--destination"]),
    (
        ["sink", "create", "webhook", "--destination", "https://e.com/", "--description", " "],
        ["--description"],
    ),
    (["sink", "create", "segment", "--write-key", ""], ["--write-key"]),
    (["sink", "create", "segment", "--write-key", "k", "--arn", ARN], ["--arn", "segment"]),
    (["sink", "create", "email"], ["TYPE"]),
    (["sink", "show", "DG123"], ["not a sink SID"]),
    (["sink", "show", "SW" + "0" * 32], ["not a sink SID"]),
    (["sink", "list", "--status", "broken"], ["--status"]),
    (["sink", "update", SID, "--description", ""], ["--description"]),
    (["sink", "update", "nope", "--description", "x"], ["not a sink SID"]),
    (["sink", "delete", "nope", "--yes"], ["not a sink SID"]),
    (["sink", "delete", SID], ["Refusing", "--yes"]),  # stdin is not a terminal
    (["sink", "test", "DGzz"], ["not a sink SID"]),
    (["sink", "validate", "DGzz"], ["not a sink SID"]),
    (["sink", "validate", SID, "--test-id", " "], ["--test-id"]),
    (["sink", "validate", SID, "--timeout", "0"], ["--timeout"]),
]


@pytest.mark.parametrize(("argv", "words"), BAD_INPUTS, ids=lambda v: " ".join(v)[:60])
def test_bad_input_is_exit_2_before_any_call(
    cli: CliRunner, sink_counting_api: list[str], argv: list[str], words: list[str]
) -> None:
    result: Result = cli(*argv)
    assert result.exit_code == 2, result.stderr
    first = result.stderr.splitlines()[0]
    assert first.startswith("error: ")
    for word in words:  # in the message, or for "what to do" words in the hint line
        assert word in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    assert sink_counting_api == []


@pytest.mark.parametrize(
    "content",
    [
        "{not json",
        json.dumps([1, 2]),
        json.dumps({"arn": ARN, "role_arn": ROLE}),
        json.dumps({"arn": ARN.replace("kinesis", "sqs"), "role_arn": ROLE, "external_id": EXT}),
    ],
)
def test_bad_config_file_is_exit_2_before_any_call(
    cli: CliRunner, sink_counting_api: list[str], tmp_path: Path, content: str
) -> None:
    result: Result = cli("sink", "create", "kinesis", "--config", _file(tmp_path, content))
    assert result.exit_code == 2, result.stderr
    assert "twilio-sink.json" in result.stderr
    assert sink_counting_api == []


def test_bad_input_wins_over_missing_credentials(cli: CliRunner) -> None:
    """Without any TWILIO_* the input is still checked first (2, not 3)."""
    result: Result = cli("sink", "create", "webhook", "--destination", "nope")
    assert result.exit_code == 2
    assert cli("sink", "show", SID).exit_code == 3  # valid input: now credentials matter


def test_config_file_shapes() -> None:
    """stream create's and the quickstart's flat file, the API/Twilio CLI sink shapes, stdin."""
    from twilio_es_cli.models import load_kinesis_config

    flat = {"arn": ARN, "role_arn": ROLE, "external_id": EXT}
    shapes = [
        json.dumps(flat, indent=2),
        # the quickstart's echo lines: same keys, no spaces
        '{\n"arn":"' + ARN + '",\n"role_arn":"' + ROLE + '",\n"external_id":"' + EXT + '"\n}',
        json.dumps({**flat, "stream_name": "twilio-events"}),  # extra keys are ignored
        json.dumps({"sid": SID, "sink_configuration": flat}),
        json.dumps([{"sid": SID, "sinkConfiguration": flat}]),
        json.dumps({"SinkConfiguration": json.dumps(flat)}),
    ]
    for text in shapes:
        config = load_kinesis_config(text, source="f.json")
        assert (config.arn, config.role_arn, config.external_id) == (ARN, ROLE, EXT)
        assert (config.region, config.account_id, config.stream_name) == (
            "us-east-1",
            "123456789012",
            "twilio-events",
        )


def test_role_arns_with_paths_and_other_partitions_are_accepted() -> None:
    from twilio_es_cli.models import KinesisSinkConfig

    config = KinesisSinkConfig(
        arn="arn:aws-cn:kinesis:cn-north-1:123456789012:stream/a.b_c-1",
        role_arn="arn:aws:iam::123456789012:role/service/twilio/writer",
        external_id="ab",
    )
    assert config.region == "cn-north-1"


def test_redaction_keeps_secrets_out_of_views() -> None:
    from twilio_es_cli.models import Sink

    sink = Sink.from_resource(
        {
            "sid": SID,
            "sink_type": "kinesis",
            "status": "initialized",
            "sink_configuration": {"arn": ARN, "role_arn": ROLE, "external_id": EXT},
        }
    )
    assert EXT not in json.dumps(sink.view())
    assert EXT not in json.dumps(sink.fields(), default=str)
    assert sink.view(show_secrets=True)["sink_configuration"]["external_id"] == EXT
    assert sink.target == "twilio-events"
    segment = Sink.from_resource(
        {"sid": SID, "sink_type": "segment", "sink_configuration": json.dumps({"write_key": EXT})}
    )
    assert EXT not in json.dumps(segment.view())


def test_test_event_data_as_string_or_object() -> None:
    from twilio_es_cli.sink_validation import test_id_of

    event = {
        "type": "com.twilio.eventstreams.test-event",
        "id": "1",
        "source": "Sink",
        "specversion": "1.0",
    }
    as_string = {**event, "data": json.dumps({"test_id": "abc"})}
    as_object = {**event, "data": {"test_id": "abc"}}
    assert test_id_of(json.dumps(as_string).encode()) == "abc"
    assert test_id_of(json.dumps(as_object).encode()) == "abc"
    other = {**as_object, "type": "com.twilio.messaging.message.sent"}
    assert test_id_of(json.dumps(other).encode()) is None
    assert test_id_of(b"\xff not json") is None
