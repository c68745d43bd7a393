"""Ctrl-C as a person presses it: `local up` and `quickstart --local` in real processes.

Ctrl-C exits 130 everywhere (docs/output.md), after a clean stop that says what was stopped;
SIGTERM is a requested stop and exits 0. A `local up` stopped a moment ago can start again
on the same ports at once, even though its last connections are still in TIME_WAIT.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from pathlib import Path

import pytest

_SCRUBBED = ("AWS_", "TWILIO_")
_CLI = (sys.executable, "-m", "twilio_es_cli")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(_SCRUBBED)}


def _local_up(aws: int, events: int, cwd: Path) -> tuple[subprocess.Popen[str], dict[str, str]]:
    """Start `local up` and read its export lines."""
    proc = subprocess.Popen(
        [*_CLI, "local", "up", "--aws-port", str(aws), "--events-port", str(events)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(),
        cwd=cwd,
    )
    exports: dict[str, str] = {}
    timer = threading.Timer(60, proc.kill)
    timer.start()
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            key, _, value = line.removeprefix("export ").strip().partition("=")
            exports[key] = value
            if len(exports) == 8:
                break
    finally:
        timer.cancel()
    assert len(exports) == 8, (
        proc.stderr.read() if proc.stderr and proc.poll() is not None else exports
    )
    return proc, exports


def _touch(url: str) -> None:
    """One request; the server closes the connection first (leaving TIME_WAIT on its port)."""
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            response.read()
    except urllib.error.HTTPError as exc:
        exc.read()


def _stop(proc: subprocess.Popen[str], signum: int) -> tuple[int, str]:
    proc.send_signal(signum)
    code = proc.wait(timeout=60)
    assert proc.stderr is not None
    return code, proc.stderr.read()


@pytest.mark.slow
def test_ctrl_c_on_local_up_exits_130_and_it_restarts_at_once(tmp_path: Path) -> None:
    aws, events = _free_port(), _free_port()
    proc, exports = _local_up(aws, events, tmp_path)
    try:
        for url in (exports["AWS_ENDPOINT_URL"], exports["TWILIO_ES_API_URL"] + "/v1/Sinks"):
            for _ in range(3):
                _touch(url)
        code, stderr = _stop(proc, signal.SIGINT)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert code == 130, stderr
    assert "Sandbox stopped" in stderr and "Traceback" not in stderr
    again, _ = _local_up(aws, events, tmp_path)  # same ports, right away
    try:
        code, stderr = _stop(again, signal.SIGTERM)
    finally:
        if again.poll() is None:
            again.kill()
    assert code == 0, stderr
    assert "Sandbox stopped" in stderr


def test_ctrl_c_during_quickstart_local_says_what_was_stopped(tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    proc = subprocess.Popen(
        [sys.executable, "-m", "twilio_es_cli", "quickstart", "--local"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(),
        cwd=work,
    )
    seen: list[str] = []
    timer = threading.Timer(120, proc.kill)
    timer.start()
    try:
        assert proc.stderr is not None
        for line in proc.stderr:
            seen.append(line)
            if "1/5 " in line:  # the sandbox is up and the first step is done
                proc.send_signal(signal.SIGINT)
                break
        rest = proc.stderr.read()
        code = proc.wait(timeout=60)
    finally:
        timer.cancel()
        if proc.poll() is None:
            proc.kill()
    stderr = "".join(seen) + rest
    assert code == 130, stderr
    assert "Traceback" not in stderr
    assert "quickstart --local stopped after step 1/5" in rest, stderr
    assert "sandbox" in rest and "thrown away" in rest, stderr
    assert list(work.iterdir()) == [], "nothing is left in the working directory"
