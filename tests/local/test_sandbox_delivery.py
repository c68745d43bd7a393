"""`twilio-es local up --time-scale`, `local emit` and `local deliveries` from other shells: a
webhook that fails is retried as Twilio retries it, and the queue view says why it waits."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.sandbox_support import DELIVERED, start_sandbox


@pytest.fixture
def recovering() -> Iterator[tuple[str, threading.Event, list[int]]]:
    """A handler answering 503 until ``up`` is set, then 200; ``answers`` lists each status."""
    up = threading.Event()
    answers: list[int] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            status = 200 if up.is_set() else 503
            answers.append(status)
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/events", up, answers
    server.shutdown()
    server.server_close()


def test_a_failing_webhook_is_retried_and_the_queue_says_why(
    tmp_path: Path, recovering: tuple[str, threading.Event, list[int]]
) -> None:
    url, up, answers = recovering
    sandbox = start_sandbox(tmp_path, "--time-scale", "60")
    try:
        made = sandbox.run(
            "sink", "create", "webhook", "--destination", url, "--json", cwd=tmp_path
        )
        assert made.exit_code == 0, made.stderr
        sid = made.json()["sid"]
        subscribed = sandbox.run("subscribe", "--sink", sid, "--type", DELIVERED, cwd=tmp_path)
        assert subscribed.exit_code == 0, subscribed.stderr

        emitted = sandbox.run("local", "emit", DELIVERED, cwd=tmp_path)
        assert emitted.exit_code == 0, emitted.stderr
        assert "1 waiting for a retry" in emitted.stderr

        # At 60x the retries come fast: between them the delivery is "in-flight", so ask again
        # until it is seen waiting.
        deadline = time.monotonic() + 60
        while True:
            waiting = sandbox.run("local", "deliveries", "--state", "retrying", cwd=tmp_path)
            assert waiting.exit_code == 0, waiting.stderr
            if waiting.stdout or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert "retrying" in waiting.stdout and "HTTP 503" in waiting.stdout
        assert sid in waiting.stdout

        up.set()
        deadline = time.monotonic() + 120
        rows: list[dict[str, Any]] = []
        while time.monotonic() < deadline:
            shown = sandbox.run("local", "deliveries", "--json", cwd=tmp_path)
            rows = json.loads(shown.stdout)
            if rows and rows[0]["state"] == "delivered":
                break
            time.sleep(0.2)
        (row,) = rows
        assert row["state"] == "delivered" and row["attempts"] >= 2
        assert answers[0] == 503 and answers[-1] == 200
        code, stderr = sandbox.stop()
        assert code == 0 and "60 times faster" in stderr
    finally:
        sandbox.kill()


def test_local_up_refuses_a_bad_time_scale_or_public_url(tmp_path: Path) -> None:
    from tests.conftest import run_subprocess

    for args in (["--time-scale", "0"], ["--time-scale", "nan"], ["--public-url", "ftp://x"]):
        done = run_subprocess(["local", "up", "--aws-port", "0", "--events-port", "0", *args])
        assert done.exit_code == 2, (args, done.stderr)
        assert "Traceback" not in done.stderr
