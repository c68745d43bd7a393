"""Ctrl-C during `quickstart`'s validation, and the re-run after it (issue 23 item 1).

The role trusts another AWS account (TWILIO_ES_TWILIO_PRINCIPAL), so the Events emulator,
which enforces the trust principal as Twilio's AssumeRole does, never delivers the test event:
validation waits, and a person presses Ctrl-C. The screen must say what is done and what is
not; the re-run must not claim the sink is validated: it says "not proven yet" and tries.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import run_subprocess
from tests.fixture_types import EventsEmulator
from tests.terminal.pty_session import PtySession

SENT = "com.twilio.messaging.message.sent"


@pytest.mark.parametrize("columns", [80, 120])
def test_ctrl_c_in_validation_says_what_is_done_and_the_rerun_proves(
    twilio_env: EventsEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, columns: int
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TWILIO_ES_TWILIO_PRINCIPAL", "arn:aws:iam::111111111111:root")
    stream = f"qs-ctrl-c-{columns}"
    session = PtySession(["quickstart", stream, "--type", SENT], columns=columns)
    try:
        session.wait_for(lambda t: "Waiting for the test event in stream" in t)
        session.type(b"\x03")
        assert session.finish() == 130
    finally:
        session.close()
    text = " ".join(session.text.replace("\r", "").split())  # the terminal's wrapping undone
    assert "Interrupted: quickstart stopped during step 3/5." in text, text
    assert "done: 1/5 stream + role: created" in text, text
    assert "done: 2/5 sink: created (kinesis sink DG" in text, text
    assert "not done: 3/5 validated: delivery not proven" in text, text
    assert "not done: 4/5 subscribed: nothing subscribed yet" in text, text
    assert f"Continue with `twilio-es quickstart {stream} --type {SENT}`" in text, text
    assert "Traceback" not in text

    again = run_subprocess(["quickstart", stream, "--type", SENT, "--timeout", "3"])
    assert again.exit_code == 5, again.stderr
    assert "2/5 sink: already there" in again.stderr
    assert "its delivery is not proven by this run yet: proving it now" in again.stderr
    assert "3/5 validated" not in again.stderr  # never claimed
    assert "step 3 (find the test event in the stream) failed" in again.stderr
