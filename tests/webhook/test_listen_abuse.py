"""`webhook listen` under abuse: every request it cannot read gets its 4xx and one log line, a
client that leaves early gets one log line, and nothing ever prints a traceback.

Run as a user runs it (its own interpreter, `--port 0`), with requests written byte by byte on
raw sockets: these are requests no HTTP library would send.
"""

from __future__ import annotations

import socket
import struct
import time
from pathlib import Path

import pytest

from tests.webhook.hook_support import TOKEN, Handler, ListenProcess
from tests.webhook.test_listen import BODY
from twilio_es_cli.signing import sign_json_request


def exchange(base: str, data: bytes, *, timeout: float = 30) -> bytes:
    """Send ``data`` on a fresh connection; the answer's status line (b"" when none came)."""
    host, port = base.removeprefix("http://").rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=timeout) as sock:
        sock.sendall(data)
        answer = b""
        while b"\r\n" not in answer:
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
    return answer.split(b"\r\n", 1)[0]


def request(head: str, body: bytes = b"") -> bytes:
    return f"POST /events HTTP/1.1\r\nHost: x\r\n{head}\r\n".encode() + body


DEEP = b"[" * 50_000 + b"]" * 50_000
NESTED = b'{"a":' * 200 + b"1" + b"}" * 200  # parses, but deeper than any event

ABUSE = [
    (request("Content-Length: abc\r\n"), b"400", "Content-Length 'abc' is not a number"),
    (request("Content-Length: -5\r\n"), b"400", "Content-Length '-5' is not a number"),
    (request("Content-Length: 1e3\r\n"), b"400", "Content-Length '1e3' is not a number"),
    (request("Content-Length: 3\r\nContent-Length: 4\r\n", b"abcd"), b"400", "conflicting"),
    (request("Content-Length: 99999999999999999999999\r\n"), b"413", "body over"),
    (request("Transfer-Encoding: chunked\r\n", b"0\r\n\r\n"), b"411", "Transfer-Encoding"),
    (
        request(f"Content-Length: {len(DEEP)}\r\n", DEEP),
        b"400",
        "JSON body nested more than 64 levels deep",
    ),
    (
        request(f"Content-Length: {len(NESTED)}\r\n", NESTED),
        b"400",
        "JSON body nested more than 64 levels deep",
    ),
]


def test_unreadable_requests_get_their_4xx_and_one_line_each(tmp_path: Path) -> None:
    listen = ListenProcess(tmp_path, "-o", "jsonl")
    try:
        for data, status, _reason in ABUSE:
            line = exchange(listen.base, data)
            assert line.startswith(b"HTTP/1.1 " + status), (data[:80], line)
    finally:
        code, out, err = listen.stop()
    assert code == 0, err
    assert "Traceback" not in err and "Exception" not in err
    for _data, status, reason in ABUSE:
        lines = [line for line in err.splitlines() if reason in line]
        assert lines and all(f"warning: {status.decode()} to " in line for line in lines), err
    logged = [line for line in err.splitlines() if line.startswith("warning: 4")]
    assert len(logged) == len(ABUSE), err
    assert f"0 accepted, {len(ABUSE)} rejected" in err
    assert out == ""  # nothing on the events output: none was an event


def test_a_deeply_nested_body_is_refused_even_when_signed(tmp_path: Path) -> None:
    listen = ListenProcess(tmp_path, "-o", "pretty")
    try:
        url, signature = sign_json_request(TOKEN, listen.base + "/events", DEEP)
        path = url.removeprefix(listen.base)
        data = (
            f"POST {path} HTTP/1.1\r\nHost: {listen.base.removeprefix('http://')}\r\n"
            f"X-Twilio-Signature: {signature}\r\nContent-Length: {len(DEEP)}\r\n\r\n"
        ).encode() + DEEP
        assert exchange(listen.base, data).startswith(b"HTTP/1.1 400")
    finally:
        code, _out, err = listen.stop()
    assert code == 0 and "Traceback" not in err


def _leave_with_reset(base: str, data: bytes) -> None:
    """Send ``data`` and close at once with a TCP reset (SO_LINGER 0): gone, no goodbye."""
    host, port = base.removeprefix("http://").rsplit(":", 1)
    sock = socket.create_connection((host, int(port)), timeout=10)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.sendall(data)
    sock.close()


@pytest.mark.parametrize("clients", [5])
def test_clients_that_leave_before_the_answer_are_one_line_each(
    tmp_path: Path, clients: int
) -> None:
    """The answer waits on a slow app (--forward-to); each client resets before it comes."""
    app = Handler(delay=1.0)
    listen = ListenProcess(tmp_path, "-o", "jsonl", "--forward-to", app.url)
    try:
        for _ in range(clients):
            url, signature = sign_json_request(TOKEN, listen.base + "/events", BODY)
            path = url.removeprefix(listen.base)
            head = (
                f"POST {path} HTTP/1.1\r\nHost: {listen.base.removeprefix('http://')}\r\n"
                f"X-Twilio-Signature: {signature}\r\nContent-Length: {len(BODY)}\r\n\r\n"
            )
            _leave_with_reset(listen.base, head.encode() + BODY)
        app.wait_for(clients)
        deadline = time.monotonic() + 60
        while (
            time.monotonic() < deadline
            and len([line for line in listen.stderr if "before its answer" in line]) < clients
        ):
            time.sleep(0.1)
        # a client that never sent all of its body is one line too
        _leave_with_reset(listen.base, request("Content-Length: 100\r\n", b"short"))
        while time.monotonic() < deadline and not any(
            "before its body arrived" in line for line in listen.stderr
        ):
            time.sleep(0.1)
    finally:
        code, _out, err = listen.stop()
        app.close()
    assert code == 0, err
    assert "Traceback" not in err and "Exception" not in err, err
    gone = [line for line in err.splitlines() if "closed the connection before its answer" in line]
    assert len(gone) == clients, err
    assert len([line for line in err.splitlines() if "before its body arrived" in line]) == 1
