"""`twilio-es local up` as a user runs it, for the tests that drive the sandbox from outside:
its own process on free ports, the environment its export lines describe, and the usual flow
(stream -> sink -> validate -> subscribe) built through the CLI. The ``sandbox`` fixture
(tests/conftest.py) starts one per test."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Mapping
from pathlib import Path

from tests.conftest import Result, run_subprocess

DELIVERED = "com.twilio.messaging.message.delivered"


class RunningSandbox:
    """A `twilio-es local up` process and the environment its export lines describe.

    Its stderr (the window a user watches: one line per request) is read as it comes, into
    :attr:`stderr_lines`, so a busy sandbox never blocks on a full pipe.
    """

    def __init__(self, proc: subprocess.Popen[str], env: dict[str, str]) -> None:
        self.proc = proc
        self.env = env
        self.stderr_lines: list[str] = []
        self._reader = threading.Thread(target=self._drain, daemon=True)
        self._reader.start()

    def _drain(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.stderr_lines.append(line)

    def window(self) -> str:
        """What `local up` has shown on its stderr so far."""
        return "".join(self.stderr_lines)

    def run(self, *args: str, cwd: Path) -> Result:
        old = os.getcwd()
        os.chdir(cwd)
        try:
            return run_subprocess(list(args), env=self.env)
        finally:
            os.chdir(old)

    def kill(self) -> None:
        """End the process if the test did not stop it (a failed test, a hang)."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def stop(self) -> tuple[int, str]:
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout=60)
        self._reader.join(timeout=10)
        return code, self.window()


def start_sandbox(
    tmp_path: Path, *extra: str, env: Mapping[str, str] | None = None
) -> RunningSandbox:
    """Start `local up` on free ports and wait for its export lines (like a user would).

    ``env`` adds variables to its environment (``TWILIO_ES_SANDBOX_*_SECONDS`` timings).
    """
    env_file = tmp_path / "sandbox.env"
    base = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "TWILIO_"))}
    up_env = {**base, **(env or {})}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "twilio_es_cli",
            "local",
            "up",
            "--aws-port",
            "0",
            "--events-port",
            "0",
            "--env-file",
            str(env_file),
            *extra,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=up_env,
        cwd=tmp_path,
    )
    try:
        return _started(proc, env_file, base)
    except BaseException:  # a failed check must not leave `local up` running after the test
        proc.kill()
        proc.wait()
        raise


def _started(proc: subprocess.Popen[str], env_file: Path, base: dict[str, str]) -> RunningSandbox:
    exports: dict[str, str] = {}
    assert proc.stdout is not None
    timer = threading.Timer(60, proc.kill)
    timer.start()
    try:
        for line in proc.stdout:
            assert line.startswith("export "), line
            key, _, value = line[len("export ") :].strip().partition("=")
            exports[key] = value
            if len(exports) == 8:
                break
    finally:
        timer.cancel()
    assert set(exports) == {
        "AWS_ENDPOINT_URL",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "TWILIO_ES_API_URL",
        "TWILIO_ACCOUNT_SID",
        "TWILIO_AUTH_TOKEN",
    }, proc.stderr.read() if proc.poll() is not None else exports  # type: ignore[union-attr]
    assert env_file.read_text().count("export ") == 8
    assert env_file.stat().st_mode & 0o777 == 0o600
    return RunningSandbox(proc, {**base, **exports})


def build_flow(sb: RunningSandbox, cwd: Path, stream: str) -> str:
    """stream create -> sink create -> validate -> subscribe, each through the CLI."""
    assert sb.run("stream", "create", stream, "1", "--out", "sink.json", cwd=cwd).exit_code == 0
    created = sb.run("sink", "create", "kinesis", "--config", "sink.json", "--json", cwd=cwd)
    assert created.exit_code == 0, created.stderr
    sid = str(created.json()["sid"])
    validated = sb.run("sink", "validate", sid, "--timeout", "60", cwd=cwd)
    assert validated.exit_code == 0, validated.stderr
    subscribed = sb.run("subscribe", "--sink", sid, "--type", f"{DELIVERED}:4", cwd=cwd)
    assert subscribed.exit_code == 0, subscribed.stderr
    return sid
