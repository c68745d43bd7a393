"""The Twilio adapter retries idempotent calls on 429/5xx, and never re-sends a POST.

A tiny HTTP server on 127.0.0.1 answers the first request for each method with an error
status and every later one with 200; the CLI is pointed at it with ``--twilio-api-url``.
A GET (``sink show``) and a DELETE (``sink delete``) must succeed after one retry; a POST
(``sink update``) must fail with the error and reach the server exactly once, because
re-sending a create or an update that may have landed is worse than reporting the failure.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.fixture_types import CliRunner

SID = "DG" + "a" * 32
SINK: dict[str, object] = {
    "sid": SID,
    "account_sid": "AC" + "1" * 32,
    "description": "flaky",
    "sink_type": "webhook",
    "status": "active",
    "sink_configuration": {"destination": "http://127.0.0.1:9/x", "method": "POST"},
    "date_created": "2026-01-01T00:00:00Z",
    "date_updated": "2026-01-01T00:00:00Z",
    "url": f"https://events.twilio.com/v1/Sinks/{SID}",
    "links": {},
}


class FlakyServer:
    """Fails the first request of each HTTP method with ``status``, then answers normally."""

    def __init__(self, status: int, retry_after: str = "0") -> None:
        self.status = status
        self.retry_after = retry_after
        self.seen: list[str] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                first = self.command not in outer.seen
                outer.seen.append(self.command)
                body: dict[str, object] | None = SINK
                code = 200
                if first:
                    code = outer.status
                    body = {"code": 20500, "message": "flaky", "status": code}
                elif self.command == "DELETE":
                    code, body = 204, None
                data = b"" if body is None else json.dumps(body).encode()
                self.send_response(code)
                if code == 429:
                    self.send_header("Retry-After", outer.retry_after)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_DELETE = _answer

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"


def _serve(server: FlakyServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[FlakyServer]:
    thread = threading.Thread(target=server.server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", "AC" + "1" * 32)
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "token")
    monkeypatch.setenv("TWILIO_ES_API_URL", server.url)
    yield server
    server.server.shutdown()
    server.server.server_close()
    thread.join(timeout=5)


@pytest.fixture(params=[503, 429])
def flaky(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[FlakyServer]:
    yield from _serve(FlakyServer(request.param), monkeypatch)


@pytest.fixture
def slow_down(monkeypatch: pytest.MonkeyPatch) -> Iterator[FlakyServer]:
    """A 429 that asks the client to come back in an hour."""
    yield from _serve(FlakyServer(429, retry_after="3600"), monkeypatch)


def test_get_is_retried_after_a_transient_error(cli: CliRunner, flaky: FlakyServer) -> None:
    result = cli("sink", "show", SID, "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["sid"] == SID
    assert flaky.seen == ["GET", "GET"]


def test_delete_is_retried_after_a_transient_error(cli: CliRunner, flaky: FlakyServer) -> None:
    result = cli("sink", "delete", SID, "--yes")
    assert result.exit_code == 0, result.stderr
    assert flaky.seen == ["DELETE", "DELETE"]


def test_post_is_not_retried(cli: CliRunner, flaky: FlakyServer) -> None:
    result = cli("sink", "update", SID, "--description", "new")
    assert result.exit_code == 1, result.stderr
    assert "flaky" in result.stderr
    assert "Traceback" not in result.stderr
    assert flaky.seen.count("POST") == 1


def test_a_long_retry_after_is_capped_not_slept(
    cli: CliRunner, slow_down: FlakyServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """urllib3 would honour ``Retry-After: 3600`` (it allows six hours): the CLI must not hang.

    The cap is lowered so the test stays quick; without any cap this test would sleep an hour
    and be ended by pytest-timeout.
    """
    monkeypatch.setattr("twilio_es_cli.twilio_api.RETRY_AFTER_CAP_SECONDS", 0.1)
    result = cli("sink", "show", SID, "--json")
    assert result.exit_code == 0, result.stderr
    assert slow_down.seen == ["GET", "GET"]
