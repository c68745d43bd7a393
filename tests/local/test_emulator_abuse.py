"""The Events emulator under abuse: requests it cannot read get Twilio's error shape with the
right 4xx and one line in the sandbox's request log, never a dropped connection or a traceback.

Against `twilio-es local up` in its own process (the ``sandbox`` fixture), as a user meets it;
requests are written on raw sockets (no HTTP library sends these).
"""

from __future__ import annotations

import base64
import json
import socket
from urllib.parse import quote

from tests.sandbox_support import RunningSandbox


def _exchange(
    base: str, data: bytes, *, half_close: bool = False
) -> tuple[bytes, dict[str, object]]:
    """The status line and JSON body of the answer to ``data`` (b"" when none came);
    ``half_close``: say "no more to send" after ``data``, as a client that gave up does."""
    host, port = base.removeprefix("http://").rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(data)
        if half_close:
            sock.shutdown(socket.SHUT_WR)
        answer = b""
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
            head, sep, body = answer.partition(b"\r\n\r\n")
            length = [
                int(line.split(b":", 1)[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            ]
            if sep and length and len(body) >= length[0]:
                break
    head, _, body = answer.partition(b"\r\n\r\n")
    doc = json.loads(body) if body.strip() else {}
    assert isinstance(doc, dict)
    return head.split(b"\r\n", 1)[0], doc


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def test_unreadable_requests_and_odd_credentials_get_4xx(sandbox: RunningSandbox) -> None:
    base = sandbox.env["TWILIO_ES_API_URL"]
    auth = _basic(sandbox.env["TWILIO_ACCOUNT_SID"], sandbox.env["TWILIO_AUTH_TOKEN"])
    deep = quote('{"a":' * 990 + "1" + "}" * 990)
    form = f"SinkType=webhook&Description=d&SinkConfiguration={deep}".encode()

    def post(head: str, body: bytes = b"") -> bytes:
        return (
            (
                f"POST /v1/Sinks HTTP/1.1\r\nHost: x\r\nAuthorization: {auth}\r\n"
                "Content-Type: application/x-www-form-urlencoded\r\n"
            ).encode()
            + head.encode()
            + b"\r\n"
            + body
        )

    cases = [
        (post("Content-Length: abc\r\n"), b"400", "Content-Length 'abc' is not a number"),
        (post("Content-Length: -5\r\n"), b"400", "Content-Length '-5' is not a number"),
        (post("Content-Length: 3\r\nContent-Length: 4\r\n", b"abcd"), b"400", "conflicting"),
        (post("Content-Length: 99999999999999999999\r\n"), b"413", "body over"),
        (post("Transfer-Encoding: chunked\r\n", b"0\r\n\r\n"), b"411", "Transfer-Encoding"),
        (post(f"Content-Length: {len(form)}\r\n", form), b"400", "nested too deeply"),
    ]
    for data, status, reason in cases:
        line, doc = _exchange(base, data)
        assert line.startswith(b"HTTP/1.1 " + status), (data[:60], line)
        assert doc["status"] == int(status) and reason in str(doc["message"]), doc

    for password in ("p\u00e4ss", "\u00ff" * 3):  # UTF-8 and Latin-1 bytes after the colon
        get = (
            f"GET /v1/Sinks HTTP/1.1\r\nHost: x\r\n"
            f"Authorization: {_basic(sandbox.env['TWILIO_ACCOUNT_SID'], password)}\r\n\r\n"
        ).encode()
        line, doc = _exchange(base, get)
        assert line.startswith(b"HTTP/1.1 401"), line
        assert doc["code"] == 20003
    latin1 = b"GET /v1/Sinks HTTP/1.1\r\nHost: x\r\nAuthorization: Basic \xe4\xe4\xe4\r\n\r\n"
    assert _exchange(base, latin1)[0].startswith(b"HTTP/1.1 401")
    # a client that stops sending and leaves: nobody to answer, one log line all the same
    assert _exchange(base, post("Content-Length: 100\r\n", b"short"), half_close=True)[0] == b""

    code, stderr = sandbox.stop()
    assert code == 0, stderr
    assert "Traceback" not in stderr and "Exception occurred" not in stderr, stderr
    for _data, status, reason in cases:  # `local up`'s request log: one line each
        lines = [line for line in stderr.splitlines() if reason in line]
        assert len(lines) == 1 and f" {status.decode()} " in lines[0], (reason, stderr)
        assert "Events /v1/Sinks" in lines[0]
    gone = [line for line in stderr.splitlines() if "before its body arrived" in line]
    assert len(gone) == 1 and " 499 " in gone[0], stderr
