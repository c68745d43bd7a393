"""While ``tail`` waits on a terminal: one status line on stderr, erased before each event."""

from __future__ import annotations

import re

import pytest

from tests.conftest import boto_client, run_on_terminal
from tests.tail.tail_support import create_stream, put_events
from tests.terminal.pty_session import PtySession

STATUS = re.compile(r"waiting \d+s · 2 shards · (\d+) events? so far · behind latest: ")


def test_status_line_while_waiting_is_erased_before_each_event(
    aws_env: str, unique_name: str
) -> None:
    kinesis = boto_client("kinesis", aws_env)
    create_stream(kinesis, unique_name, 2)
    put_events(kinesis, unique_name, [0], keys=1)
    session = PtySession(["tail", unique_name, "--from", "trim-horizon", "-o", "jsonl"])
    try:
        session.wait_for(lambda t: "1 event so far · behind latest: shard-0 0s, shard-1 0s" in t)
        put_events(kinesis, unique_name, [1], keys=1)
        text = session.wait_for(lambda t: '"n": 1' in t or '"n":1' in t)
        # The event's line starts where the status line was, after erasing it.
        event_line = text.index('{"specversion"', text.index("1 event so far"))
        assert text[:event_line].endswith("\r\x1b[K"), repr(text[event_line - 200 : event_line])
        session.wait_for(lambda t: "2 events so far" in t)
        session.type(b"\x03")  # Ctrl-C, as a person types it
        assert session.finish() == 130
        final = session.text
        assert "2 events from 2 shards" in final
        summary_at = final.rindex("2 events from 2 shards")
        # erased before the summary: nothing drawn after the last erase
        assert "waiting" not in final[final.rindex("\r\x1b[K") : summary_at], repr(final[-400:])
        assert all(STATUS.search(line) is None for line in final[summary_at:].splitlines())
    finally:
        session.close()


@pytest.mark.slow
def test_no_status_line_when_stderr_is_not_a_terminal(aws_env: str, unique_name: str) -> None:
    kinesis = boto_client("kinesis", aws_env)
    create_stream(kinesis, unique_name, 2)
    put_events(kinesis, unique_name, [0], keys=1)
    shown = run_on_terminal(
        ["tail", unique_name, "--from", "trim-horizon", "--timeout", "3"], columns=80
    )
    assert shown.exit_code == 0, shown.stderr
    assert "1 event from 2 shards" in shown.stderr
    assert "waiting" not in shown.stderr and "\x1b[K" not in shown.stderr
    assert "waiting" not in shown.stdout
