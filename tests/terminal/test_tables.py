"""Every table and every resource view, on a real terminal 80 and 120 columns wide.

The rule (output.py, the one renderer): a SID, an ARN, a URL or a time is never broken. It
sits whole on one screen line, or its column is not shown at all (and stderr says so), or the
rows become the list layout, where a value too long for its line gets a line of its own.
Prose wraps between words; nothing else is wider than the terminal.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import run_cli, run_on_terminal
from tests.fixture_types import EventsEmulator
from tests.terminal.test_layout import screen

TYPE = "com.twilio.messaging.message.delivered"
HOOK = "https://hooks.example.com/twilio/events/with/a/rather/long/path/for-the-tables-test"
_TOKEN = re.compile(r"^(?:[A-Z]{2}[0-9a-f]{32}|arn:aws:\S+|https?://\S+)$")
_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d")


def _tokens(document: Any) -> Iterator[str]:
    """SIDs, ARNs and URLs anywhere in a --json document."""
    if isinstance(document, dict):
        for value in document.values():
            yield from _tokens(value)
    elif isinstance(document, list):
        for value in document:
            yield from _tokens(value)
    elif isinstance(document, str) and _TOKEN.match(document):
        yield document


def _pieces(token: str, others: set[str]) -> list[str]:
    """Stretches of ``token`` (10 characters) found in no other token: seeing one on the
    screen means the token is there, whole or in parts."""
    pieces = {token[i : i + 10] for i in range(len(token) - 9)}
    return [p for p in pieces if not any(p in other for other in others if other != token)]


def _check_screen(args: list[str], columns: int, tokens: set[str]) -> list[str]:
    shown = run_on_terminal(args, columns=columns)
    assert shown.exit_code == 0, (args, shown.stderr)
    lines = screen(shown.stdout)
    where = f"`twilio-es {' '.join(args)}` at {columns} columns:\n" + "\n".join(lines)
    for line in lines:  # only a lone word (an identifier on a line of its own) may be wider
        assert len(line) <= columns or len(line.split()) == 1, where
    for token in tokens:
        if any(token in line for line in lines):
            continue
        seen = [p for p in _pieces(token, tokens) if any(p in line for line in lines)]
        assert not seen, f"{token} is broken: {seen}\n{where}"
    for line in lines:  # a time in a cell: whole, not folded at the column's edge
        for cell in re.split(r"[│┃]", line):
            text = cell.strip()
            if re.match(r"^\d{4}-\d\d", text):
                assert _TIME.match(text), where
    return lines


def _json(*args: str) -> Any:
    result = run_cli([*args, "--json"])
    assert result.exit_code == 0, (args, result.stderr)
    return result.json()


@pytest.mark.parametrize("columns", [80, 120])
def test_every_table_keeps_identifiers_whole(
    twilio_env: EventsEmulator, columns: int, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    stream = f"tables-{columns}"
    assert run_cli(["stream", "create", stream, "1", "--out", "sink.json"]).exit_code == 0
    kinesis = _json("sink", "create", "kinesis", "--config", "sink.json")["sid"]
    hook = _json(
        "sink",
        "create",
        "webhook",
        "--destination",
        HOOK,
        "--description",
        "order notifications for the support team of the northern region",
    )["sid"]
    subscription = _json("subscribe", "--sink", kinesis, "--type", TYPE)["sid"]
    commands = [
        ["stream", "list"],
        ["stream", "describe", stream],
        ["sink", "list"],
        ["sink", "show", kinesis],
        ["sink", "show", hook],
        ["subscription", "list"],
        ["subscription", "show", subscription],
        ["types", "list", "--search", "message.deliv"],
        ["types", "show", TYPE],
        ["schema", "versions", "Messaging.MessageStatus"],
        ["status"],
    ]
    tokens: set[str] = set()
    for args in commands:
        tokens.update(_tokens(_json(*args)))
    assert {kinesis, hook, subscription, HOOK} <= tokens
    for args in commands:
        _check_screen(args, columns, tokens)

    # Commands that make something show it the same way.
    made = _check_screen(
        ["sink", "create", "webhook", "--destination", HOOK + "/2"], columns, tokens
    )
    new = {sid for line in made for sid in re.findall(r"\bDG[0-9a-f]{32}\b", line)}
    assert len(new - {kinesis, hook}) == 1, made
    subscribed = _check_screen(
        ["subscribe", "--sink", hook, "--type", TYPE], columns, tokens | {HOOK + "/2"}
    )
    assert any(re.search(r"\bDF[0-9a-f]{32}\b", line) for line in subscribed), subscribed
    doctor = run_on_terminal(["doctor", "--sink", kinesis], columns=columns)
    assert all(len(line) <= columns for line in screen(doctor.stdout)), doctor.stdout


def test_status_uses_the_list_layout_when_its_sids_do_not_fit(
    twilio_env: EventsEmulator, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert run_cli(["stream", "create", "status-list", "1", "--out", "sink.json"]).exit_code == 0
    sink = _json("sink", "create", "kinesis", "--config", "sink.json")["sid"]
    subscription = _json("subscribe", "--sink", sink, "--type", TYPE)["sid"]
    lines = _check_screen(["status"], 80, {sink, subscription})
    assert f"SUBSCRIPTION: {subscription}" in lines, lines
    assert f"SINK: {sink}" in lines, lines
    document = json.dumps(_json("status"))
    assert subscription in document
