"""The webhook quickstart offline, through real processes: `local up` + `webhook listen` +
`sink create webhook` + `sink validate` (one step: the test event is read back from the
listener) + `subscribe` + `local emit`. The sandbox signs its deliveries as Twilio does and our
listener verifies them with the sandbox's auth token."""

from __future__ import annotations

import io
import json
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.conftest import Result
from tests.fixture_types import CliRunner, EventsEmulator
from tests.sandbox_support import RunningSandbox
from twilio_es_cli.webhook.listen import Listener, ListenOptions

DELIVERED = "com.twilio.messaging.message.delivered"
TEST_EVENT = "com.twilio.eventstreams.test-event"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _listen(env: dict[str, str], port: int) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "twilio_es_cli", "webhook", "listen", "--port", str(port)],
        env=env,  # TWILIO_AUTH_TOKEN: the sandbox's, from its export lines
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    first = proc.stderr.readline()
    assert f"Listening on http://127.0.0.1:{port}/" in first, first + proc.stderr.read()
    return proc


def test_sandbox_webhook_sink_to_webhook_listen_end_to_end(
    sandbox: RunningSandbox, tmp_path: Path
) -> None:
    port = _free_port()
    listener = _listen(sandbox.env, port)
    try:
        destination = f"http://127.0.0.1:{port}/events"
        created = sandbox.run(
            "sink", "create", "webhook", "--destination", destination, "--json", cwd=tmp_path
        )
        assert created.exit_code == 0, created.stderr
        sid = str(created.json()["sid"])

        validated = sandbox.run("sink", "validate", sid, "--json", cwd=tmp_path)
        assert validated.exit_code == 0, validated.stderr
        outcome: Any = validated.json()
        assert outcome["status"] == "active" and outcome["listener"] == f"http://127.0.0.1:{port}"
        assert "received it with a valid X-Twilio-Signature" in outcome["proved"]
        assert outcome["test_id"] in outcome["proved"]
        assert "listener received the test event" in validated.stderr

        subscribed = sandbox.run("subscribe", "--sink", sid, "--type", DELIVERED, cwd=tmp_path)
        assert subscribed.exit_code == 0, subscribed.stderr
        emitted = sandbox.run("local", "emit", DELIVERED, "--count", "3", "--json", cwd=tmp_path)
        assert emitted.exit_code == 0, emitted.stderr
        assert emitted.json() == {
            "type": DELIVERED,
            "count": 3,
            "deliveries": 3,
            "delivered": 3,
            "retrying": 0,
            "dropped": 0,
            "pending": 0,
        }
    finally:
        listener.send_signal(signal.SIGTERM)
        out, err = listener.communicate(timeout=30)
    assert listener.returncode == 0, err
    lines = [json.loads(line) for line in out.splitlines()]  # piped: jsonl
    assert [line["type"] for line in lines] == [TEST_EVENT] + [DELIVERED] * 3
    assert json.loads(lines[0]["data"])["test_id"] == outcome["test_id"]
    assert {line["webhook"]["signature"] for line in lines} == {"valid"}
    assert {line["webhook"]["path"] for line in lines} == {"/events"}
    assert all(line["data"]["messageSid"].startswith("SM") for line in lines[1:])
    assert "4 accepted, 0 rejected" in err
    assert "Traceback" not in err
    code, stderr = sandbox.stop()
    assert code == 0 and "Traceback" not in stderr


def test_validate_says_why_a_webhook_sink_is_not_proved(
    twilio_env: EventsEmulator, cli: CliRunner
) -> None:
    """Listener with another token: step 3 names the rejected signature; nothing listening:
    step 1; a listener elsewhere: --listener; a destination that is not a listener: manual."""
    wrong = Listener(ListenOptions("f" * 32, port=0, output="jsonl"), io.StringIO())
    wrong.start()
    host, port = wrong.address
    try:
        created: Result = cli(
            "sink", "create", "webhook", "--destination", f"http://{host}:{port}/hooks", "--json"
        )
        sid = created.json()["sid"]
        refused: Result = cli("sink", "validate", sid)
        assert refused.exit_code == 5, refused.stderr
        assert "step 3 (read the test event from the listener) failed" in refused.stderr
        assert "signature was rejected" in refused.stderr
        assert "auth token of the account that owns the sink" in refused.stderr
        assert wrong.counts == {"accepted": 0, "rejected": 1}
    finally:
        wrong.close()

    dead: Result = cli("sink", "validate", sid)  # the listener is gone
    assert dead.exit_code == 5
    assert "step 1 (reach the listener) failed: nothing answers" in dead.stderr
    assert f"twilio-es webhook listen --port {port}" in dead.stderr

    # the sink points at a tunnel; the listener behind it runs here with the right token
    remote: Result = cli(
        "sink", "create", "webhook", "--destination", "https://example.com/hooks", "--json"
    )
    remote_sid = remote.json()["sid"]
    not_checked: Result = cli("sink", "validate", remote_sid)
    assert not_checked.exit_code == 0
    assert "delivery was not checked" in not_checked.stderr and "--listener" in not_checked.stderr
    bad: Result = cli("sink", "validate", remote_sid, "--listener", "https://example.com")
    assert bad.exit_code == 2 and "listener on this machine" in bad.stderr


def test_validate_reads_the_listener_it_is_told_to(
    twilio_env: EventsEmulator, cli: CliRunner
) -> None:
    """--listener names where to read; a listener the test event never reaches proves nothing."""
    token = twilio_env.auth_token
    target = Listener(ListenOptions(token, port=0, output="jsonl"), io.StringIO())
    other = Listener(ListenOptions(token, port=0, output="jsonl"), io.StringIO())
    target.start()
    other.start()
    try:
        host, port = target.address
        created: Result = cli(
            "sink", "create", "webhook", "--destination", f"http://{host}:{port}/in", "--json"
        )
        sid = created.json()["sid"]
        ohost, oport = other.address
        elsewhere: Result = cli(
            "sink", "validate", sid, "--listener", f"http://{ohost}:{oport}", "--timeout", "2"
        )
        assert elsewhere.exit_code == 5, elsewhere.stderr
        assert f"no com.twilio.eventstreams.test-event reached http://{ohost}:{oport}/in" in (
            elsewhere.stderr
        )
        assert other.counts == {"accepted": 0, "rejected": 0}
        assert target.counts == {"accepted": 1, "rejected": 0}  # it went to the destination

        proved: Result = cli("sink", "validate", sid, "--json")
        assert proved.exit_code == 0, proved.stderr
        assert proved.json()["listener"] == f"http://{host}:{port}"
        assert target.counts == {"accepted": 2, "rejected": 0}
    finally:
        target.close()
        other.close()


def test_a_loopback_app_that_is_not_a_listener_keeps_the_manual_flow(
    twilio_env: EventsEmulator, cli: CliRunner
) -> None:
    """Your own app on this machine: nothing is sent unasked beyond one GET, and the message
    says how to check delivery (webhook listen, or sink test + --test-id)."""
    from tests.webhook.hook_support import Handler

    app = Handler(token=twilio_env.auth_token)
    try:
        created: Result = cli("sink", "create", "webhook", "--destination", app.url, "--json")
        sid = created.json()["sid"]
        result: Result = cli("sink", "validate", sid)
        assert result.exit_code == 0, result.stderr
        assert f"{app.url} is not a `twilio-es webhook listen`" in result.stderr
        assert "delivery was not checked" in result.stderr
        assert "--listener" in result.stderr
        assert app.received == []  # no test event was sent: there is nothing to read it back
        forced: Result = cli("sink", "validate", sid, "--force")
        assert forced.exit_code == 2 and "--test-id" in forced.stderr
    finally:
        app.close()
