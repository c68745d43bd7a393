"""`apply` killed with SIGKILL while it proves a new sink: the re-run proves that sink before
anything moves to it (the zero-gap promise of a replacement survives a hard kill).

A real ``python -m twilio_es_cli apply`` is killed at the proving step against moto's server
and the Events emulator. The new destination is a small loopback server that the proof reads
as a ``webhook listen``; the kill happens when the emulator delivers the test event to it, so
the process is known to be inside the proof (it then polls the log for up to ``--timeout``).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import events_client
from tests.fixture_types import CliRunner, EventsEmulator, FileWriter
from twilio_es_cli.webhook.listen import EVENTS_PATH, LOG_FORMAT


class Gate(ThreadingHTTPServer):
    """The new sink's destination. ``listener``: answers its log as a ``webhook listen`` that
    never saw the test event (so a proof waits, then fails); otherwise a plain endpoint (404 on
    the log: the proof then only sends the test event). ``delivered`` is set by each POST."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _GateHandler)
        self.listener = True
        self.delivered = threading.Event()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _GateHandler(BaseHTTPRequestHandler):
    server: Gate

    def do_GET(self) -> None:
        if self.path.startswith(EVENTS_PATH) and self.server.listener:
            body = json.dumps({"format": LOG_FORMAT, "last_seq": 0, "events": []}).encode()
            self._answer(200, body)
        else:
            self._answer(404, b"not here\n")

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self._answer(200, b"ok\n")
        self.server.delivered.set()

    def _answer(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


@pytest.fixture
def gate() -> Iterator[Gate]:
    server = Gate()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


FILE = """
version: 1
project: p
sinks:
  hook: {{type: webhook, destination: "{destination}"}}
subscriptions:
  s1: {{sink: hook, types: [com.twilio.messaging.message.delivered:1]}}
"""


def _sinks_and_subscriptions() -> tuple[dict[str, str], dict[str, str]]:
    """sid -> destination of every sink; subscription description -> the sink it is on."""
    client: Any = events_client()
    sinks = {
        s.sid: str(s.sink_configuration.get("destination")) for s in client.events.v1.sinks.list()
    }
    subs = {s.description: s.sink_sid for s in client.events.v1.subscriptions.list()}
    return sinks, subs


def _apply_killed_while_proving(path: str, gate: Gate, log: Path) -> str:
    """Run apply in its own interpreter and SIGKILL it once its proof is under way."""
    with log.open("wb") as err:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "twilio_es_cli",
                "apply",
                "-f",
                path,
                "--yes",
                "--timeout",
                "60",
            ],
            stdout=subprocess.DEVNULL,
            stderr=err,
            env=dict(os.environ),
        )
        try:
            assert gate.delivered.wait(60), "the new sink's test event never arrived"
            proc.send_signal(signal.SIGKILL)
        finally:
            code = proc.wait(30)
    assert code == -signal.SIGKILL
    return log.read_text(encoding="utf-8", errors="replace")


def test_rerun_after_kill_proves_the_new_sink_before_moving(
    twilio_env: EventsEmulator,
    cli: CliRunner,
    write_file: FileWriter,
    gate: Gate,
    tmp_path: Path,
) -> None:
    old_path = write_file(FILE.format(destination="http://127.0.0.1:9/old"), "old.yaml")
    assert cli("apply", "-f", old_path, "--yes").exit_code == 0
    (old_sid,) = _sinks_and_subscriptions()[0]

    new_path = write_file(FILE.format(destination=f"{gate.url}/new"), "new.yaml")
    killed = _apply_killed_while_proving(new_path, gate, tmp_path / "killed.err")
    assert "proving delivery" in killed
    assert "create subscription" not in killed  # killed inside the proof, nothing moved yet
    sinks, subs = _sinks_and_subscriptions()
    assert len(sinks) == 2 and subs == {"s1 [twilio-es:p/s1]": old_sid}

    # The new sink's proof never finished: the re-run proves it first. Here the proof fails
    # (its listener never sees the test event), so nothing may move and the old sink stays.
    exported = cli("export")
    assert exported.exit_code == 0, exported.stderr
    assert "never finished proving it" in exported.stderr  # a half-made sink is not exported
    assert f"{gate.url}/new" not in exported.stdout
    replan = cli("plan", "-f", new_path)
    assert replan.exit_code == 0, replan.stderr
    assert "proof of delivery did not finish" in replan.stdout
    failed = cli("apply", "-f", new_path, "--yes", "--timeout", "3")
    assert failed.exit_code == 5, failed.stderr
    assert "could not be proven" in failed.stderr
    sinks, subs = _sinks_and_subscriptions()
    assert old_sid in sinks and subs == {"s1 [twilio-es:p/s1]": old_sid}
    assert list(sinks.values()).count(f"{gate.url}/new") <= 1

    # Once the destination proves (a plain endpoint: the test event is sent), the re-run
    # converges: the subscription on the new sink, the old sink gone, nothing left to do.
    gate.listener = False
    rerun = cli("apply", "-f", new_path, "--yes", "--timeout", "30")
    assert rerun.exit_code == 0, rerun.stderr
    sinks, subs = _sinks_and_subscriptions()
    assert list(sinks.values()) == [f"{gate.url}/new"]
    assert subs == {"s1 [twilio-es:p/s1]": next(iter(sinks))}
    assert cli("plan", "-f", new_path, "--detailed-exitcode").exit_code == 0
