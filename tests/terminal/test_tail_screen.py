"""``tail -o pretty`` as a person sees it in an 80- and a 120-column terminal.

The data summary is what tells events apart, so it must be whole at 80 columns for the common
event types (messaging status, call summary, TaskRouter), with the events the sandbox emits.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from tests.conftest import boto_client, run_on_terminal
from tests.tail.tail_support import create_stream, put

_ESCAPES = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")
ACCOUNT = "AC" + "1" * 32


def screen(text: str) -> list[str]:
    """The lines the terminal shows, without escape sequences."""
    return [line.rstrip() for line in _ESCAPES.sub("", text).replace("\r", "").split("\n")]


def sandbox_events() -> list[dict[str, object]]:
    """One event of each common kind, made by the sandbox's own generator."""
    from twilio_es_cli.local.events import make_event

    return [
        make_event("com.twilio.messaging.message.delivered", ACCOUNT),
        make_event("com.twilio.messaging.message.undelivered", ACCOUNT),
        make_event("com.twilio.voice.insights.call-summary.complete", ACCOUNT),
        make_event("com.twilio.taskrouter.task.created", ACCOUNT),
    ]


def tail_screen(
    aws_env: str, unique_name: str, columns: int
) -> tuple[list[str], list[dict[str, Any]]]:
    kinesis = boto_client("kinesis", aws_env)
    create_stream(kinesis, unique_name, 1)
    events = sandbox_events()
    # Twilio writes data as a JSON string inside the CloudEvent.
    put(
        kinesis,
        unique_name,
        ((json.dumps({**e, "data": json.dumps(e["data"])}).encode(), "k") for e in events),
    )
    shown = run_on_terminal(
        ["tail", unique_name, "--from", "trim-horizon", "--no-follow", "-o", "pretty"],
        columns=columns,
    )
    assert shown.exit_code == 0, shown.stderr
    lines = [line for line in screen(shown.stdout) if line]
    assert all(len(line) <= columns for line in lines), "\n".join(lines)
    assert len(lines) == len(events), "\n".join(lines)
    print("\n".join(lines))
    return lines, events


@pytest.mark.parametrize("columns", [80, 120])
def test_summary_is_whole_at_80_and_120_columns(
    aws_env: str, unique_name: str, columns: int
) -> None:
    lines, events = tail_screen(aws_env, unique_name, columns)
    delivered, undelivered, call, task = lines
    data = [e["data"] for e in events]
    for line, message in ((delivered, data[0]), (undelivered, data[1])):
        assert f"{message['messageStatus']} " in line, line
        assert f"{message['from']}→{message['to']}" in line, line
        assert "…" not in line.split(message["to"])[0], line
    assert f"err={data[1]['errorCode']}" in undelivered
    assert "message.delivered" in delivered
    call_data = data[2]
    assert f"completed {call_data['from']['caller']}→{call_data['to']['callee']}" in call
    assert f" {call_data['duration']}s" in call
    assert "call-summary.complete" in call
    assert data[3]["payload"]["task_sid"] in task, task
    assert "task.created" in task
    if columns == 120:
        assert "messaging.message.delivered" in delivered
        assert "shard-0" in delivered
        assert data[0]["messageSid"][:12] in delivered  # the SID gets what is left
