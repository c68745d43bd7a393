"""`tail --forward-to` ends, says why, and never exits 0 over events it gave up on (issue 20
items 4 and 5): a bounded run against a handler that is down, Retry-After parsed strictly,
headers that cannot be sent refused before anything is read.

Real components only: moto over HTTP for the stream, real HTTP servers on 127.0.0.1 (or a
port nobody listens on) for the handler.
"""

from __future__ import annotations

import io
import json
import socket
import threading
from collections.abc import Iterator
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.fixture_types import CliRunner
from tests.webhook.hook_support import TOKEN, Handler, create_stream, event, put_events
from twilio_es_cli.tail.decode import decode
from twilio_es_cli.tail.records import KinesisRecord
from twilio_es_cli.webhook import forward as forwarding
from twilio_es_cli.webhook.forward import Forwarder, ForwardOptions
from twilio_es_cli.webhook.post import Response, _retry_after, header_problem


def _kinesis(endpoint: str) -> Any:
    import boto3

    return boto3.client("kinesis", endpoint_url=endpoint, region_name="us-east-1")


def _free_port() -> int:
    """A port nobody listens on: every request is refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _record(n: int, key: str = "k") -> tuple[KinesisRecord, Any]:
    data = event(n, key=key)
    return KinesisRecord("shardId-0", str(n), key, datetime.now(timezone.utc), data), decode(data)


@pytest.fixture
def stream(aws_env: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", TOKEN)
    kinesis = _kinesis(aws_env)
    create_stream(kinesis, "bounded", 2)
    put_events(kinesis, "bounded", range(12))
    return "bounded"


def _jsonl(stdout: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stdout.splitlines()]


# --- item 4: a run that ends by itself ends, whatever the handler does ------------------------


def test_no_follow_gives_up_on_a_handler_that_is_down_and_exits_1(
    stream: str, cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(forwarding, "RETRY_BUDGET", 0.5)  # 60 s in real use
    url = f"http://127.0.0.1:{_free_port()}/hook"
    result = cli(
        "tail", stream, "--from", "trim-horizon", "--no-follow", "--forward-to", url, "-o", "jsonl"
    )
    assert result.exit_code == 1, result.stderr
    reason = "connection refused; nothing delivered for 0.5s, gave up"
    assert "0 delivered" in result.stderr and f"12 abandoned ({reason})" in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert errors == [f"error: --forward-to {url}: 12 event(s) not delivered ({reason})"]
    assert "Traceback" not in result.stderr
    lines = _jsonl(result.stdout)
    abandoned = {line["id"] for line in lines if line["outcome"] == "abandoned"}
    assert abandoned == {f"EZ{n:032d}" for n in range(12)}  # each one named, with why
    assert all(reason in line["error"] for line in lines if line["outcome"] == "abandoned")


def test_timeout_ends_the_retries_too_and_that_was_asked_for(stream: str, cli: CliRunner) -> None:
    url = f"http://127.0.0.1:{_free_port()}/hook"
    result = cli("tail", stream, "--from", "trim-horizon", "--timeout", "1", "--forward-to", url)
    assert result.exit_code == 0, result.stderr  # --timeout asked for the stop
    assert "12 abandoned (connection refused; --timeout 1s reached)" in result.stderr


def test_one_event_the_handler_always_fails_is_abandoned_the_others_delivered() -> None:
    poison = f"EZ{3:032d}"

    def script(n: int) -> int:
        return 500 if poison.encode() in handler.received[n].body else 200

    handler = Handler(script=script)
    out = io.StringIO()
    options = ForwardOptions(
        handler.url, TOKEN, output="jsonl", base_backoff=0.05, give_up_after=0.5, concurrency=2
    )
    forwarder = Forwarder(options, out)
    try:
        for n in range(8):
            forwarder.write(*_record(n, key=f"k{n}"))
        assert forwarder.flush() is False
        forwarder.close()
    finally:
        handler.close()
    summary = forwarder.summary
    assert (summary.delivered, summary.abandoned, summary.unasked) == (7, 1, True)
    assert summary.why_abandoned == "HTTP 500; retried for 0.5s, gave up"
    assert "1 abandoned (HTTP 500; retried for 0.5s, gave up)" in summary.line()


# --- item 4: Retry-After ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("3", 3.0),
        (" 120 ", 120.0),
        ("0", None),  # would remove the backoff
        ("-5", None),
        ("NaN", None),
        ("nan", None),
        ("inf", None),
        ("1.5", None),  # delay-seconds is an integer
        ("1e3", None),
        ("", None),
        ("soon", None),
        ("Wed, 21 Oct 2015 07:28:00 GMT", None),  # in the past
        ("9" * 5000, 1e12),  # capped by the caller; never an error
    ],
)
def test_retry_after_is_parsed_strictly(value: str, seconds: float | None) -> None:
    assert _retry_after(value) == seconds


def test_retry_after_as_an_http_date() -> None:
    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=timezone.utc).timestamp()
    assert _retry_after("Thu, 01 Jan 2026 12:00:30 GMT", now=now) == 30.0
    assert _retry_after("Thu, 01 Jan 2026 11:59:30 GMT", now=now) is None


class _Throttler:
    """A handler that answers 503 with the given Retry-After values in turn, then 200."""

    def __init__(self, values: list[str]) -> None:
        self.values = list(values)
        owner = self

        class Impl(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                value = owner.values.pop(0) if owner.values else None
                self.send_response(503 if value is not None else 200)
                if value is not None:
                    self.send_header("Retry-After", value)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Impl)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def throttler(request: pytest.FixtureRequest) -> Iterator[_Throttler]:
    server = _Throttler(request.param)
    yield server
    server.close()


@pytest.mark.parametrize("throttler", [["0", "-1", "NaN", "garbage", "1"]], indirect=True)
def test_retry_after_never_removes_the_backoff_and_is_capped(throttler: _Throttler) -> None:
    out = io.StringIO()
    options = ForwardOptions(throttler.url, TOKEN, output="jsonl", base_backoff=0.05)
    forwarder = Forwarder(options, out)
    forwarder.write(*_record(1))
    assert forwarder.flush() is True
    forwarder.close()
    waits = [line["retry_in_s"] for line in _jsonl(out.getvalue()) if "retry_in_s" in line]
    assert len(waits) == 5
    assert all(wait >= 0.04 for wait in waits[:4]), waits  # the backoff's floor (0.05 - 20%)
    assert waits[4] == 1.0  # a usable Retry-After is honoured


def test_a_long_retry_after_is_capped() -> None:
    forwarder = Forwarder(ForwardOptions("http://127.0.0.1:1/h", TOKEN), io.StringIO())
    try:
        wait = forwarder._backoff(1, Response(503, 0.0, retry_after=1e12))
    finally:
        forwarder.close()
    assert wait == forwarding.MAX_BACKOFF


# --- item 5: headers that cannot be sent ------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "said"),
    [
        ("X-A: a\r\nInjected: 1", "the value holds a carriage return"),
        ("X-A: a\nInjected: 1", "the value holds a line feed"),
        ("X-A: a\x00b", "the value holds a NUL"),
        ("X A: b", "the name may hold only"),
        ("X-A(: b", "the name may hold only"),
        ("X-A: caf\u00e9", "only printable ASCII"),
        ("X-A: \x1b[31mred", "only printable ASCII"),
        ("Content-Length: 5", "Content-Length is set by the request itself"),
        ("no colon", "is not 'Name: value'"),
    ],
)
def test_headers_that_cannot_be_sent_are_refused_before_anything_is_read(
    cli: CliRunner, monkeypatch: pytest.MonkeyPatch, header: str, said: str
) -> None:
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", TOKEN)
    # No AWS configured at all: a usage error must come before any call (exit 2).
    result = cli("tail", "s", "--no-follow", "--forward-to", "http://127.0.0.1:1/h", "-H", header)
    assert result.exit_code == 2, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and said in errors[0], result.stderr
    assert "\r" not in result.stderr and "\x1b" not in result.stderr


def test_a_header_that_can_be_sent_reaches_the_handler(stream: str, cli: CliRunner) -> None:
    assert header_problem("X-Trace", "a b\tc !~") is None
    handler = Handler()
    try:
        result = cli(
            "tail", stream, "--from", "trim-horizon", "--no-follow", "--forward-to", handler.url,
            "-H", "X-Trace:  a b\tc  ",
        )  # fmt: skip
    finally:
        handler.close()
    assert result.exit_code == 0, result.stderr
    assert {r.headers["X-Trace"] for r in handler.received} == {"a b\tc"}
