"""Ideas that live in exactly one module (issue 19): a second copy fails here, with its place."""

from __future__ import annotations

import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "twilio_es_cli"


def _sources(*, skip: tuple[str, ...]) -> dict[str, str]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        name = str(path.relative_to(PACKAGE))
        if not name.startswith(skip):
            found[name] = path.read_text(encoding="utf-8")
    return found


def test_only_subscriptions_writes_subscriptions() -> None:
    """``Subscriptions`` owns every subscription write, as ``SinkService`` owns sinks (the
    sandbox's emulator, which serves the API, is not a caller)."""
    call = re.compile(r"\.subscriptions(\(|\.create)|subscribed_events")
    callers = [
        name
        for name, text in _sources(skip=("subscriptions.py", "local/")).items()
        if call.search(text)
    ]
    assert callers == []


def test_one_send_wait_read_back_resend_loop() -> None:
    """ "Send a test event, wait, read it back, re-send" is sink_validation's, once: the
    limits it uses are named nowhere else."""
    limits = re.compile(r"\b(RETEST_AFTER|RETEST_PAUSE|MAX_TESTS|CLOCK_SKEW)\b")
    users = [
        name for name, text in _sources(skip=("sink_validation.py",)).items() if limits.search(text)
    ]
    assert users == []
    source = (PACKAGE / "sink_validation.py").read_text(encoding="utf-8")
    assert source.count("sending test ") == 1  # the one re-send
