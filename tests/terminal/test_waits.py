"""Waits that speak: what for, how long so far, how long at most (issue 23 item 3).

A sink whose role trusts another AWS account never gets its test event (the Events emulator
enforces the trust principal, as Twilio's AssumeRole would), so `sink validate` waits its
whole --timeout: on a terminal a spinner counts the seconds against the limit; piped, a line
says what it waits for and for how long at most, and another follows while it lasts.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from tests.conftest import run_cli, run_subprocess
from tests.fixture_types import EventsEmulator
from tests.terminal.pty_session import PtySession
from twilio_es_cli import output

OTHER_ACCOUNT = "arn:aws:iam::111111111111:root"


def _unreachable_sink(name: str) -> str:
    """A kinesis sink Twilio (the emulator) cannot deliver to: its role trusts another account."""
    made = run_cli(
        ["stream", "create", name, "1", "--twilio-principal", OTHER_ACCOUNT, "--out", "s.json"]
    )
    assert made.exit_code == 0, made.stderr
    sink = run_cli(["sink", "create", "kinesis", "--config", "s.json", "--json"])
    assert sink.exit_code == 0, sink.stderr
    return str(sink.json()["sid"])


@pytest.mark.parametrize("columns", [80, 120])
def test_sink_validate_counts_the_wait_on_a_terminal(
    twilio_env: EventsEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, columns: int
) -> None:
    monkeypatch.chdir(tmp_path)
    sid = _unreachable_sink(f"waits-{columns}")
    session = PtySession(["sink", "validate", sid, "--timeout", "4"], columns=columns)
    try:
        text = session.wait_for(
            lambda t: (
                re.search(
                    r"Waiting for the test event in stream waits-\d+: [1-9] s of up to 4 s", t
                )
                is not None
            )
        )
        assert session.finish() == 5
    finally:
        session.close()
    assert "step 3 (find the test event in the stream) failed" in session.text, text


def test_sink_validate_piped_says_what_it_waits_for_and_how_long(
    twilio_env: EventsEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    sid = _unreachable_sink("waits-piped")
    result = run_subprocess(["sink", "validate", sid, "--timeout", "3"])
    assert result.exit_code == 5, result.stderr
    lines = result.stderr.splitlines()
    assert "Waiting for the test event in stream waits-piped (up to 3 s) ..." in lines, lines
    assert any(line.startswith("Reading stream waits-piped (us-east-1) from ") for line in lines)


def test_a_long_wait_piped_adds_a_line_while_it_lasts(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(output, "STILL_WAITING_EVERY", 0.05)
    seen = ""
    with output.progress("Waiting for the slow thing", limit=9):
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and "of up to 9 s" not in seen:
            seen += capsys.readouterr().err
            time.sleep(0.05)
    assert seen.startswith("Waiting for the slow thing (up to 9 s) ...\n"), seen
    assert re.search(r"^  Waiting for the slow thing: \d+ s of up to 9 s$", seen, re.M), seen


def test_waits_without_a_limit_count_the_seconds(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(output, "STILL_WAITING_EVERY", 0.05)
    seen = ""
    with output.progress("Starting the sandbox"):
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and "  Starting the sandbox: " not in seen:
            seen += capsys.readouterr().err
            time.sleep(0.05)
    assert seen.startswith("Starting the sandbox ...\n"), seen
    assert re.search(r"^  Starting the sandbox: \d+ s$", seen, re.M), seen


def test_apply_says_what_its_proof_waits_for(
    twilio_env: EventsEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "twilio-es.yaml").write_text(
        "version: 1\nproject: waits\nstreams:\n  waits-apply:\n    shards: 1\n"
        "sinks:\n  events:\n    type: kinesis\n    stream: waits-apply\n"
    )
    applied = run_subprocess(["apply", "--yes", "--timeout", "30"])
    assert applied.exit_code == 0, applied.stderr
    assert "Waiting for the test event in stream waits-apply (up to 30 s) ..." in (
        applied.stderr.splitlines()
    ), applied.stderr


def test_a_wait_inside_a_wait_takes_the_spinner_over_on_a_terminal() -> None:
    """rich shows one live display at a time: the inner wait borrows the line, then gives it
    back (no LiveError, both counted)."""
    import fcntl
    import os
    import pty
    import struct
    import subprocess
    import sys
    import termios

    code = (
        "import time\n"
        "from twilio_es_cli import output\n"
        "with output.progress('outer', limit=5):\n"
        "    time.sleep(1.2)\n"
        "    with output.progress('inner', limit=3):\n"
        "        time.sleep(1.2)\n"
        "    time.sleep(0.3)\n"
        "print('done')\n"
    )
    leader, follower = pty.openpty()
    # A terminal has a size; a bare pty says 0x0, and rich before 15 then crops its live line.
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=follower, stderr=follower)
    os.close(follower)
    seen = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
    os.close(leader)
    assert proc.wait(timeout=60) == 0
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", seen.decode("utf-8", "replace"))
    assert re.search(r"outer: 1 s of up to 5 s", text), text
    assert re.search(r"inner: 1 s of up to 3 s", text), text
    assert text.rstrip().endswith("done"), text
