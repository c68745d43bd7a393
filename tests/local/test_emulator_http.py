"""What real HTTP clients need from the emulator: proxy-aware URLs, connection semantics, and
webhook deliveries signed the way Twilio signs them (checked with the twilio SDK's validator).
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.fixture_types import EventsEmulator
from tests.local.conftest import Api

DELIVERED = "com.twilio.messaging.message.delivered"


def test_page_urls_use_the_scheme_and_host_the_client_used(
    api: Api, twilio_env: EventsEmulator
) -> None:
    for n in range(3):
        twilio_env.service.create_sink(f"s{n}", "segment", json.dumps({"write_key": "k"}))
    plain = api.get("/v1/Sinks", PageSize=1).json()["meta"]
    assert plain["next_page_url"].startswith(f"{api.base}/v1/Sinks?")

    proxied = api.session.get(
        f"{api.base}/v1/Sinks",
        params={"PageSize": 1},
        headers={"X-Forwarded-Proto": "https", "X-Forwarded-Host": "events.example.test"},
        timeout=30,
    ).json()
    assert proxied["meta"]["next_page_url"].startswith("https://events.example.test/v1/Sinks?")
    assert proxied["sinks"][0]["url"].startswith("https://events.example.test/v1/Sinks/DG")

    rfc7239 = api.session.get(
        f"{api.base}/v1/Sinks",
        params={"PageSize": 1},
        headers={"Forwarded": 'for=1.2.3.4;proto=https;host="proxy.example.test:8443"'},
        timeout=30,
    ).json()
    assert rfc7239["meta"]["url"].startswith("https://proxy.example.test:8443/v1/Sinks?")


def _raw_exchange(url: str, request: bytes) -> tuple[bytes, bytes]:
    """Send raw bytes; return (the answer's head, whatever else arrives until the close)."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(request)
        data = b""
        while chunk := sock.recv(65536):  # returns b"" only when the server closed
            data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    return head, rest


def test_connection_close_is_answered_with_connection_close(twilio_env: EventsEmulator) -> None:
    request = (
        b"GET /emulator/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        b"GET /emulator/health HTTP/1.1\r\nHost: x\r\n\r\n"  # must never be answered
    )
    head, rest = _raw_exchange(twilio_env.url, request)
    assert head.startswith(b"HTTP/1.1 200")
    assert b"\r\nConnection: close" in head
    assert rest == b'{"status": "ok"}'  # one answer, then the server closed the socket


def test_keep_alive_serves_several_requests_on_one_socket(twilio_env: EventsEmulator) -> None:
    one = b"GET /emulator/health HTTP/1.1\r\nHost: x\r\n\r\n"
    last = b"GET /emulator/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    _, rest = _raw_exchange(twilio_env.url, one + one + last)
    assert rest.count(b"HTTP/1.1 200") == 2  # the two answers after the first head


def test_http_1_0_gets_keep_alive_only_when_it_asks(twilio_env: EventsEmulator) -> None:
    head, _ = _raw_exchange(twilio_env.url, b"GET /emulator/health HTTP/1.0\r\n\r\n")
    assert b"\r\nConnection: close" in head


class _Signed:
    """A webhook receiver that keeps the URL, headers and raw body of each request."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, str], bytes]] = []
        received = self.requests

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                received.append((self.path, dict(self.headers), body))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook?tenant=a%20b"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)


@pytest.fixture
def signed_receiver() -> Iterator[_Signed]:
    receiver = _Signed()
    receiver.thread.start()
    yield receiver
    receiver.server.shutdown()
    receiver.server.server_close()


def test_webhook_deliveries_pass_the_sdk_request_validator(
    twilio_env: EventsEmulator, signed_receiver: _Signed
) -> None:
    from twilio.request_validator import RequestValidator

    service = twilio_env.service
    sink = service.create_sink(
        "hook", "webhook", json.dumps({"destination": signed_receiver.url, "batch_events": True})
    )
    service.create_subscription("s", sink.sid, [json.dumps({"type": DELIVERED})])
    service.test_sink(sink.sid)
    assert twilio_env.emit(DELIVERED, count=2) == 2
    assert len(signed_receiver.requests) == 2

    validator = RequestValidator(twilio_env.auth_token)
    host = signed_receiver.url.split("/hook")[0]
    for path, headers, body in signed_receiver.requests:
        assert path.startswith("/hook?tenant=a%20b&bodySHA256=")  # as configured
        url = host + path
        signature = headers["X-Twilio-Signature"]
        assert validator.validate(url, body.decode(), signature)
        tampered = body.replace(b"}", b" }", 1)
        assert not validator.validate(url, tampered.decode(), signature)
        assert not RequestValidator("another-token").validate(url, body.decode(), signature)
    test_event, batch = (json.loads(b) for _, _, b in signed_receiver.requests)
    assert test_event[0]["type"] == "com.twilio.eventstreams.test-event"
    assert [e["type"] for e in batch] == [DELIVERED, DELIVERED]
