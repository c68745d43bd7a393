"""Every webhook handler the docs show, run as the real server it is, fed by the sandbox.

The handlers are taken from the docs' ```python blocks (those that check signatures with the
twilio SDK), written to a file and started with Flask on 127.0.0.1, unchanged. Then the
sandbox delivers to them the ways a user's setup does:

- a webhook sink with ``batch_events`` false (Twilio's default: one CloudEvent object per
  request) and true (a JSON array), its destination carrying a query string with escapes
  (``?t=%7E&flag``), which Twilio sends and signs exactly as configured;
- ``tail --forward-to`` (one object per request) and ``tail --forward-to --batch 5`` (arrays);
- a sandbox webhook sink pointed at ``webhook listen --forward-to`` the handler, validated with
  ``sink validate`` (the listener answers what the handler answers).

A handler that crashes on one of the shapes answers 500 and the delivery is retried, so each
scenario checks both the handler's own output and that nothing waits for a retry.
"""

from __future__ import annotations

import io
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT
from tests.fixture_types import CliRunner, EventsEmulator
from tests.local.conftest import KinesisTarget
from tests.local.conftest import kinesis_target as kinesis_target  # the fixture

DELIVERED = "com.twilio.messaging.message.delivered"
SENT = "com.twilio.messaging.message.sent"


def doc_handlers() -> list[tuple[str, str]]:
    """(where, code) of every ```python block in docs/ that validates Twilio signatures."""
    found = []
    for path in sorted((ROOT / "docs").glob("*.md")):
        text = path.read_text("utf-8")
        for match in re.finditer(r"```python\n(.*?)```", text, re.S):
            code = match.group(1)
            if "RequestValidator" in code and "@app." in code:
                line = text.count("\n", 0, match.start()) + 1
                found.append((f"{path.name}:{line}", code))
    return found


HANDLERS = doc_handlers()


def test_the_docs_show_a_handler_to_test() -> None:
    assert HANDLERS, "docs/webhooks.md lost its example handler"


@dataclass
class RunningHandler:
    """A docs handler served by Flask on 127.0.0.1; ``lines`` is what it printed."""

    url: str
    proc: subprocess.Popen[str]
    lines: list[str] = field(default_factory=list)

    def wait_lines(self, count: int, timeout: float = 30) -> list[str]:
        deadline = time.monotonic() + timeout
        while len(self.lines) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return list(self.lines)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_listening(port: int, proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"the handler exited: {proc.stderr.read() if proc.stderr else ''}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise AssertionError("the handler never listened")


@pytest.fixture(params=HANDLERS, ids=[where for where, _ in HANDLERS])
def handler(
    request: pytest.FixtureRequest, tmp_path: Path, twilio_env: EventsEmulator
) -> Iterator[RunningHandler]:
    where, code = request.param
    route = re.search(r"@app\.post\(\"([^\"]+)\"\)", code)
    assert route, f"{where}: no @app.post route"
    (tmp_path / "app.py").write_text(code, "utf-8")
    port = _free_port()
    env = {**os.environ, "TWILIO_AUTH_TOKEN": twilio_env.auth_token, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "app", "run", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    running = RunningHandler(f"http://127.0.0.1:{port}{route.group(1)}", proc)

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith("com.twilio."):  # what the handler prints (not Flask's banner)
                running.lines.append(line.strip())

    threading.Thread(target=read, daemon=True).start()
    try:
        _wait_listening(port, proc)
        yield running
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _settled(emulator: EventsEmulator) -> list[dict[str, Any]]:
    emulator.wait_deliveries()
    return emulator.deliveries()


@pytest.mark.parametrize("batch", [False, True])
def test_docs_handler_takes_sandbox_webhook_deliveries(
    handler: RunningHandler, twilio_env: EventsEmulator, batch: bool
) -> None:
    service = twilio_env.service
    destination = handler.url + "?t=%7E&flag"  # sent and signed exactly as configured
    config = {"destination": destination, "batch_events": batch}
    sink = service.create_sink("docs handler", "webhook", json.dumps(config))
    service.create_subscription(
        "docs", sink.sid, [json.dumps({"type": DELIVERED}), json.dumps({"type": SENT})]
    )
    service.test_sink(sink.sid)
    assert twilio_env.emit(DELIVERED, count=2) == 2
    assert twilio_env.emit(SENT) == 1
    queue = _settled(twilio_env)
    assert {d["state"] for d in queue} == {"delivered"}, queue
    assert all(d["last_result"] == "HTTP 204" for d in queue), queue
    lines = handler.wait_lines(4)
    assert sorted(lines) == sorted(
        [
            "com.twilio.eventstreams.test-event None",
            f"{DELIVERED} DELIVERED",
            f"{DELIVERED} DELIVERED",
            f"{SENT} SENT",
        ]
    )


def _kinesis_events(twilio_env: EventsEmulator, target: KinesisTarget, count: int) -> None:
    service = twilio_env.service
    sink = service.create_sink("stream", "kinesis", json.dumps(target.config()))
    service.create_subscription("s", sink.sid, [json.dumps({"type": DELIVERED})])
    assert twilio_env.emit(DELIVERED, count=count) == count


@pytest.mark.parametrize("batch", ["1", "5"])
def test_docs_handler_behind_tail_forward_to(
    handler: RunningHandler,
    twilio_env: EventsEmulator,
    kinesis_target: Any,
    cli: CliRunner,
    batch: str,
) -> None:
    target = kinesis_target()
    _kinesis_events(twilio_env, target, 6)
    result = cli(
        "tail",
        target.stream,
        "--from",
        "trim-horizon",
        "--no-follow",
        "--forward-to",
        handler.url,
        "--batch",
        batch,
        "-o",
        "jsonl",
    )
    assert result.exit_code == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert {line["outcome"] for line in lines} == {"delivered"}, lines
    assert {line["status"] for line in lines} == {204}
    assert sum(line["events"] for line in lines) == 6
    if batch == "1":
        assert len(lines) == 6  # one object per request
    assert handler.wait_lines(6) == [f"{DELIVERED} DELIVERED"] * 6


def test_docs_handler_behind_webhook_listen_and_sink_validate(
    handler: RunningHandler, twilio_env: EventsEmulator, cli: CliRunner
) -> None:
    from twilio_es_cli.webhook.listen import Listener, ListenOptions

    out = io.StringIO()
    options = ListenOptions(twilio_env.auth_token, port=0, output="jsonl", forward_to=handler.url)
    listener = Listener(options, out)
    listener.start()
    host, port = listener.address
    try:
        created = cli(
            "sink", "create", "webhook", "--destination", f"http://{host}:{port}/events", "--json"
        )
        assert created.exit_code == 0, created.stderr
        sid = created.json()["sid"]
        validated = cli("sink", "validate", sid)
        assert validated.exit_code == 0, validated.stderr
        subscribed = cli("subscribe", "--sink", sid, "--type", DELIVERED)
        assert subscribed.exit_code == 0, subscribed.stderr
        assert twilio_env.emit(DELIVERED, count=2) == 2
    finally:
        listener.close()
    assert listener.counts == {"accepted": 3, "rejected": 0}
    assert handler.wait_lines(3)[1:] == [f"{DELIVERED} DELIVERED"] * 2
