"""`tail --efo` against servers that do not serve enhanced fan-out: one line, never a hang.

moto's plain server answers SubscribeToShard with an HTML 500 page, kinesis-local with an
event stream that lacks ``initial-response``, and any server may answer 404 or 501. Before,
`tail --efo` printed the page as a multi-line warning and retried forever, even with
``--no-follow``. Now it is one error line naming what failed, a hint that polling works
without ``--efo``, exit 1 (an API failure), and the consumer it registered is removed.
"""

from __future__ import annotations

import http.client
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING

import pytest

from tests.conftest import Result, boto_client, point_aws_at
from tests.fixture_types import CliRunner
from tests.tail.tail_support import create_stream, put_events

if TYPE_CHECKING:
    from mypy_boto3_kinesis import KinesisClient

HINT = (
    "hint: Tail without --efo: it reads the same events by polling (GetRecords), which works there."
)


def _consumers(kinesis: KinesisClient, name: str) -> list[str]:
    arn = kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["StreamARN"]
    return [c["ConsumerName"] for c in kinesis.list_stream_consumers(StreamARN=arn)["Consumers"]]


def _one_clear_line(result: Result, answered: str) -> None:
    assert result.exit_code == 1, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.stderr
    assert errors[0].startswith("error: could not subscribe to shard shardId-00000000000")
    assert f"the server answered {answered}; it does not serve enhanced fan-out" in errors[0]
    assert HINT in result.stderr
    assert "<" not in result.stderr and "Traceback" not in result.stderr
    assert "retrying" not in result.stderr


@pytest.mark.parametrize("stop", [["--no-follow"], ["--timeout", "600"], []])
def test_plain_moto_answers_an_html_500(
    aws_env: str, unique_name: str, cli: CliRunner, stop: list[str]
) -> None:
    """moto without the sandbox's front: NotImplementedError -> werkzeug's HTML 500 page.

    Even following without a stop rule, the tail ends: retrying cannot help."""
    kinesis = boto_client("kinesis", aws_env)
    create_stream(kinesis, unique_name, 2)
    put_events(kinesis, unique_name, range(10))
    result = cli("tail", unique_name, "--efo", "--from", "trim-horizon", *stop)
    _one_clear_line(result, "HTTP 500 without an AWS error code")
    assert _consumers(kinesis, unique_name) == []


class _NoEfo(BaseHTTPRequestHandler):
    """Forwards every request to moto, but answers SubscribeToShard with ``server.answer``."""

    server: _NoEfoServer

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if str(self.headers.get("X-Amz-Target", "")).endswith(".SubscribeToShard"):
            status, kind, payload = self.server.answer
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
            return
        upstream = http.client.HTTPConnection(*self.server.upstream, timeout=30)
        upstream.request("POST", self.path, body, dict(self.headers))
        reply = upstream.getresponse()
        data = reply.read()
        self.send_response(reply.status)
        for name, value in reply.getheaders():
            if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        upstream.close()


class _NoEfoServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, upstream: str, answer: tuple[int, str, bytes]) -> None:
        super().__init__(("127.0.0.1", 0), _NoEfo)
        host, port = upstream.removeprefix("http://").split(":")
        self.upstream = (host, int(port))
        self.answer = answer


@pytest.fixture
def no_efo(aws_env: str, request: pytest.FixtureRequest) -> Iterator[str]:
    server = _NoEfoServer(aws_env, request.param)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize(
    ("no_efo", "answered"),
    [
        (
            (404, "text/html", b"<html><body>Not Found</body></html>"),
            "HTTP 404 without an AWS error code",
        ),
        ((503, "text/plain", b"Service Unavailable\n"), "HTTP 503 without an AWS error code"),
        (
            (
                501,
                "application/x-amz-json-1.1",
                b'{"__type": "NotImplemented", "message": "no SubscribeToShard here"}',
            ),
            "HTTP 501 (NotImplemented)",
        ),
    ],
    indirect=["no_efo"],
)
def test_a_server_answering_subscribe_with_an_http_error(
    no_efo: str,
    answered: str,
    unique_name: str,
    cli: CliRunner,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    point_aws_at(no_efo, monkeypatch)
    kinesis = boto_client("kinesis", no_efo)
    create_stream(kinesis, unique_name, 1)
    result = cli("tail", unique_name, "--efo", "--no-follow")
    _one_clear_line(result, answered)
    assert _consumers(kinesis, unique_name) == []


def test_kinesis_local_has_no_initial_response(
    kinesis_local_env: str, unique_name: str, cli: CliRunner
) -> None:
    kinesis = boto_client("kinesis", kinesis_local_env)
    create_stream(kinesis, unique_name, 1)
    result = cli("tail", unique_name, "--efo", "--timeout", "600")
    _one_clear_line(
        result,
        "with a body botocore cannot read (First event was not of type initial-response)",
    )
