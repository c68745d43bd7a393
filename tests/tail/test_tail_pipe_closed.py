"""``twilio-es tail | head -n 2`` ends as soon as head does, even when no event follows."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.conftest import boto_client
from tests.tail.tail_support import create_stream, put_events


def test_a_closed_pipe_ends_a_quiet_tail_at_once_with_exit_0(
    aws_env: str, unique_name: str
) -> None:
    kinesis = boto_client("kinesis", aws_env)
    create_stream(kinesis, unique_name, 2)
    put_events(kinesis, unique_name, range(2))
    proc = subprocess.Popen(
        [sys.executable, "-m", "twilio_es_cli", "tail", unique_name, "--from", "trim-horizon"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=dict(os.environ),
    )
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline(), proc.stdout.readline()]  # what `head -n 2` reads
        assert sorted(json.loads(line)["data"]["n"] for line in lines) == [0, 1]
        proc.stdout.close()  # ... and then head exits; no event will ever come again
        # Without the check of stdout while idle, this waits forever (the test times out).
        code = proc.wait(timeout=60)
        stderr = proc.stderr.read().decode() if proc.stderr is not None else ""
        assert code == 0, stderr
        assert "Traceback" not in stderr and "Broken pipe" not in stderr, stderr
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
