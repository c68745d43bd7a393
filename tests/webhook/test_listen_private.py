"""`webhook listen --save` files are private and hide credentials unless asked; what a sender
puts in the request path cannot drive the terminal."""

from __future__ import annotations

import base64
import io
import json
import os
import socket
import stat
from pathlib import Path

from tests.fixture_types import CliRunner
from tests.webhook.hook_support import TOKEN, event
from tests.webhook.test_listen import post
from twilio_es_cli.signing import sign_json_request
from twilio_es_cli.webhook.listen import Listener, ListenOptions

BODY = b"[" + event(3, data_as_string=False) + b"]"
BASIC = "Basic " + base64.b64encode(b"alice:s3cret-pw").decode()


def _save_one(tmp_path: Path, *, credentials: bool) -> dict[str, object]:
    instance = Listener(
        ListenOptions(TOKEN, port=0, output="jsonl", save=tmp_path, save_credentials=credentials),
        io.StringIO(),
    )
    instance.start()
    host, port = instance.address
    try:
        url, signature = sign_json_request(TOKEN, f"http://{host}:{port}/events", BODY)
        headers = {"X-Twilio-Signature": signature, "Authorization": BASIC, "Cookie": "sid=abc"}
        assert post(url, BODY, headers)[0] == 200
    finally:
        instance.close()
    (saved,) = tmp_path.glob("*.json")
    assert stat.S_IMODE(os.stat(saved).st_mode) == 0o600
    doc = json.loads(saved.read_text(encoding="utf-8"))
    assert isinstance(doc, dict)
    return doc


def test_saved_capture_is_private_and_hides_credentials(tmp_path: Path, cli: CliRunner) -> None:
    doc = _save_one(tmp_path, credentials=False)
    headers = doc["headers"]
    assert isinstance(headers, dict)
    assert headers["Authorization"] == "Basic ****"
    assert headers["Cookie"] == "****"
    assert "s3cret" not in json.dumps(doc) and "YWxpY2" not in json.dumps(doc)
    # what the capture is for still works: replaying the signature check
    (saved,) = tmp_path.glob("*.json")
    replay = cli("webhook", "verify", str(saved), "--token", TOKEN)
    assert replay.exit_code == 0, replay.stdout + replay.stderr


def test_save_credentials_keeps_them_when_asked(tmp_path: Path) -> None:
    headers = _save_one(tmp_path, credentials=True)["headers"]
    assert isinstance(headers, dict)
    assert headers["Authorization"] == BASIC and headers["Cookie"] == "sid=abc"


def test_save_credentials_without_save_is_a_usage_error(cli: CliRunner) -> None:
    result = cli("webhook", "listen", "--port", "0", "--token", TOKEN, "--save-credentials")
    assert result.exit_code == 2
    assert "--save-credentials only applies with --save DIR" in result.stderr


def test_request_path_cannot_drive_the_terminal() -> None:
    out = io.StringIO()
    instance = Listener(ListenOptions(TOKEN, port=0, output="pretty"), out)
    instance.start()
    host, port = instance.address
    try:
        with socket.create_connection((host, port), timeout=10) as sock:
            body = b"not json"
            sock.sendall(
                b"POST /ev\x1b[2J\x1b]0;owned\x07il\xe2\x80\xae HTTP/1.1\r\nHost: x\r\n"
                b"Content-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(body), body)
            )
            answer = sock.recv(65536)
        assert answer.startswith(b"HTTP/1.1 403"), answer
    finally:
        instance.close()
    shown = out.getvalue()
    assert "\x1b" not in shown and "\x07" not in shown
    assert "/ev\\x1b[2J\\x1b]0;owned\\x07il" in shown
