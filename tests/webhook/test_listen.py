"""`webhook listen`: a real receiver on 127.0.0.1 checked with signed and tampered requests."""

from __future__ import annotations

import io
import json
import os
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.fixture_types import CliRunner
from tests.webhook.hook_support import TOKEN, Handler, event
from twilio_es_cli.signing import sign_json_request
from twilio_es_cli.webhook.listen import DEFAULT_PORT, MAX_BODY, Listener, ListenOptions

BODY = b"[" + event(7, data_as_string=False) + b"]"


def post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def send_signed(
    base: str, body: bytes = BODY, token: str = TOKEN, path: str = "/events"
) -> tuple[int, str]:
    url, signature = sign_json_request(token, base + path, body)
    return post(url, body, {"X-Twilio-Signature": signature, "Content-Type": "application/json"})


@pytest.fixture
def listener(tmp_path: Path) -> Iterator[tuple[Listener, io.StringIO, str]]:
    out = io.StringIO()
    instance = Listener(ListenOptions(TOKEN, port=0, output="jsonl", save=tmp_path), out)
    instance.start()
    host, port = instance.address
    yield instance, out, f"http://{host}:{port}"
    instance.close()


def test_signed_request_is_accepted_and_shown(listener: Any) -> None:
    _instance, out, base = listener
    assert send_signed(base) == (200, "ok\n")
    doc = json.loads(out.getvalue())
    assert doc["id"] == f"EZ{7:032d}" and doc["webhook"]["signature"] == "valid"
    assert doc["data"]["n"] == 7


def test_tampered_wrong_token_and_rewritten_url_get_403_with_the_reason(
    listener: Any, tmp_path: Path, cli: CliRunner
) -> None:
    instance, _out, base = listener
    url, signature = sign_json_request(TOKEN, base + "/events", BODY)
    tampered = post(
        url, BODY.replace(b"delivered", b"undelivrd"), {"X-Twilio-Signature": signature}
    )
    assert tampered[0] == 403 and "does not match bodySHA256" in tampered[1]
    wrong = send_signed(base, token="f" * 32)
    assert wrong[0] == 403 and "no URL variant matched" in wrong[1]
    https_signed, https_sig = sign_json_request(TOKEN, base.replace("http:", "https:") + "/e", BODY)
    rewritten = post(
        https_signed.replace("https:", "http:"), BODY, {"X-Twilio-Signature": https_sig}
    )
    assert rewritten[0] == 403 and "other scheme" in rewritten[1] and "--public-url" in rewritten[1]
    assert instance.counts == {"accepted": 0, "rejected": 3}
    # the saved capture replays through `webhook verify` with the same verdict
    saved = sorted(tmp_path.glob("*-403.json"))
    assert len(saved) == 3
    replay = cli("webhook", "verify", str(saved[0]), "--token", TOKEN)
    assert replay.exit_code == 5 and "bodySHA256" in replay.stdout


def test_public_url_is_what_the_sender_signed(tmp_path: Path) -> None:
    out = io.StringIO()
    public = "https://abc123.tunnel.example"
    instance = Listener(ListenOptions(TOKEN, port=0, output="pretty", public_url=public), out)
    instance.start()
    host, port = instance.address
    try:
        url, signature = sign_json_request(TOKEN, public + "/hooks", BODY)
        local = url.replace(public, f"http://{host}:{port}")
        assert post(local, BODY, {"X-Twilio-Signature": signature})[0] == 200
    finally:
        instance.close()
    assert "200 valid" in out.getvalue() and "messaging.message.delivered" in out.getvalue()


def test_forward_to_an_app_that_validates_with_the_sdk() -> None:
    app = Handler(script=lambda n: 202)
    out = io.StringIO()
    instance = Listener(ListenOptions(TOKEN, port=0, output="jsonl", forward_to=app.url), out)
    instance.start()
    host, port = instance.address
    try:
        assert send_signed(f"http://{host}:{port}")[0] == 202  # the app's answer, passed back
        app.close()
        down = send_signed(f"http://{host}:{port}")
        assert down[0] == 502 and "failed" in down[1]  # app down: the sender retries
    finally:
        instance.close()
    assert len(app.received) == 1 and app.received[0].valid
    assert app.received[0].events()[0]["id"] == f"EZ{7:032d}"


def test_oversized_body_gets_413(listener: Any) -> None:
    _, _, base = listener
    status, text = send_signed(base, body=b"[" + b" " * (MAX_BODY + 1) + b"]")
    assert status == 413 and "body over" in text


def test_cli_listen_port_in_use_and_missing_token(
    cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = cli("webhook", "listen", "--port", "0")
    assert missing.exit_code == 3 and "TWILIO_AUTH_TOKEN" in missing.stderr
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", TOKEN)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = cli("webhook", "listen", "--port", str(port))
    assert result.exit_code == 1
    assert f"port {port} on 127.0.0.1 is already in use" in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.splitlines()) == 2


def test_max_is_reached_only_after_the_last_answer_is_written(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``webhook listen --max N`` exits on ``done``: set any earlier and the last sender gets
    its status line but a body cut short (IncompleteRead), as CI once saw."""
    out = io.StringIO()
    instance = Listener(ListenOptions(TOKEN, port=0, output="jsonl", max_requests=2), out)
    seen_while_answering: list[bool] = []
    handle = Listener.handle

    def observed(self: Listener, *args: Any) -> Any:
        answer = handle(self, *args)
        seen_while_answering.append(self.done.is_set())
        return answer

    monkeypatch.setattr(Listener, "handle", observed)
    instance.start()
    try:
        base = "http://{}:{}".format(*instance.address)
        assert send_signed(base)[0] == 200
        status, text = send_signed(base, token="f" * 32)
        assert status == 403 and "invalid signature" in text
        assert instance.done.wait(5)
    finally:
        instance.close()
    assert seen_while_answering == [False, False]


def test_cli_listen_in_a_fresh_process(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "TWILIO_AUTH_TOKEN": TOKEN}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "twilio_es_cli",
            "webhook",
            "listen",
            "--port",
            str(port),
            "--max",
            "2",
            "-o",
            "jsonl",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stderr is not None
        assert "Listening on" in proc.stderr.readline()
        base = f"http://127.0.0.1:{port}"
        assert send_signed(base)[0] == 200
        assert send_signed(base, token="f" * 32)[0] == 403
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    lines = [json.loads(line) for line in out.splitlines()]
    assert [line["webhook"]["signature"] for line in lines] == ["valid", "invalid"]
    assert "1 accepted, 1 rejected" in err
    assert DEFAULT_PORT == 7410


def _get(url: str, headers: dict[str, str] | None = None) -> tuple[int, str]:
    request = urllib.request.Request(url, headers=headers or {})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=10) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def test_event_log_keeps_recent_events_with_verdicts_for_local_readers_only(
    listener: Any,
) -> None:
    from twilio_es_cli.webhook.listen import EVENTS_PATH, ListenerError, ListenerLog

    instance, _out, base = listener
    assert send_signed(base)[0] == 200
    assert send_signed(base, token="f" * 32, path="/other")[0] == 403
    log = ListenerLog(base + "/events")  # any URL on the listener: the log is at its root
    doc = log.read()
    assert doc["last_seq"] == 2
    first, second = doc["events"]
    assert (first["seq"], first["path"], first["status"], first["signature"]) == (
        1,
        "/events",
        200,
        "valid",
    )
    assert first["event"]["id"] == f"EZ{7:032d}" and first["reason"] is None
    assert second["signature"] == "invalid" and "no URL variant matched" in second["reason"]
    assert [e["seq"] for e in log.read(after=1)["events"]] == [2]
    assert log.read(event_type="com.twilio.eventstreams.test-event")["events"] == []
    # reading the log is not a request the listener counts or shows
    assert instance.counts == {"accepted": 1, "rejected": 1}

    # relayed by a tunnel or proxy, or addressed by a public name: refused
    for headers in ({"X-Forwarded-For": "203.0.113.9"}, {"Host": "abc123.ngrok.app"}):
        status, text = _get(base + EVENTS_PATH, headers)
        assert status == 403 and "only readable from this machine" in text
    # something that is not a listener, and nothing at all
    app = Handler()
    try:
        with pytest.raises(ListenerError) as not_ours:
            ListenerLog(app.url).read()
        assert not not_ours.value.unreachable
    finally:
        app.close()
    with pytest.raises(ListenerError) as nothing:
        ListenerLog(f"http://127.0.0.1:{app.port}").read()
    assert nothing.value.unreachable and "nothing answers" in nothing.value.message


def test_sign_curl_prints_a_command_that_a_listener_accepts(
    listener: Any, cli: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`webhook sign --curl`: run the printed line with the real curl when the machine has it,
    else replay what the shell would pass it (shlex) with urllib; either way the listener
    must find the signature valid and the body byte for byte the one signed."""
    import shlex
    import shutil

    instance, out, base = listener
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", TOKEN)
    body = b'{"quote": "it\'s", "dollar": "$HOME `id`", "at": "@file", "line": "a\\nb"}\n'
    body_file = tmp_path / "body.json"
    body_file.write_bytes(body)
    printed = cli(
        "webhook", "sign", "--url", base + "/events", "--body-file", str(body_file), "--curl"
    )
    assert printed.exit_code == 0, printed.stderr
    command = printed.stdout
    assert command.startswith("curl ") and command.endswith("\n")
    words = shlex.split(command)
    if shutil.which("curl"):
        ran = subprocess.run(["sh", "-c", command], capture_output=True, timeout=60)
        assert ran.returncode == 0 and ran.stdout == b"ok\n", ran
    else:  # what sh would hand curl: headers, --data-raw BODY, URL
        headers = dict(w.split(": ", 1) for w in words[words.index("--header") + 1 :: 2][:2])
        sent = words[words.index("--data-raw") + 1].encode()
        assert post(words[-1], sent, headers) == (200, "ok\n")
    assert words[words.index("--data-raw") + 1].encode() == body
    assert instance.counts == {"accepted": 1, "rejected": 0}
    assert json.loads(out.getvalue())["webhook"]["signature"] == "valid"
