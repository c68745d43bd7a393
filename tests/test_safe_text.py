"""One definition of terminal-unsafe text, used for events, messages, errors and tables."""

from __future__ import annotations

import json

import pytest

from tests.fixture_types import CliRunner
from twilio_es_cli import output
from twilio_es_cli.safe_text import json_safe, visible
from twilio_es_cli.webhook.render import Delivery, received_line

# ESC (C0), DEL, CSI (C1), a bidi override, an isolate and a line separator
UNSAFE = "a\x1b[2Jb\x7fc\x9b31md\u202ee\u2066f\u2028g"
RAW = ("\x1b", "\x7f", "\x9b", "\u202e", "\u2066", "\u2028")


def _inert(text: str) -> bool:
    return not any(char in text for char in RAW)


def test_visible_escapes_c0_del_c1_and_bidi() -> None:
    shown = visible(UNSAFE + "\t\n\r")
    assert _inert(shown)
    assert shown == "a\\x1b[2Jb\\x7fc\\x9b31md\\u202ee\\u2066f\\u2028g\\t\\n\\r"
    assert visible("plain text, ünïcode ✓") == "plain text, ünïcode ✓"


def test_visible_keeping_lines_keeps_only_tab_and_newline() -> None:
    shown = visible(UNSAFE + "\t\n\r", keep_lines=True)
    assert _inert(shown) and shown.endswith("\t\n\\r")


def test_json_safe_is_the_same_json_value_and_inert() -> None:
    text = json.dumps({"body": UNSAFE}, ensure_ascii=False)
    safe = json_safe(text)
    assert _inert(safe)
    assert json.loads(safe) == json.loads(text)


def test_messages_and_errors_show_outside_text_inert(capsys: pytest.CaptureFixture[str]) -> None:
    output.error(f"no stream named {UNSAFE}", hint=f"did you mean {UNSAFE}?")
    output.warn(f"server said {UNSAFE}")
    output.info(f"reading {UNSAFE}")
    err = capsys.readouterr().err
    assert _inert(err), err
    assert err.count("\\u202e") == 4
    assert len(err.splitlines()) == 4  # the line separator made no extra line


def test_table_cells_and_json_on_stdout_are_inert(capsys: pytest.CaptureFixture[str]) -> None:
    output.print_table(["SID", "DESCRIPTION"], [["DG1", UNSAFE]])
    output.print_json({"description": UNSAFE})
    out = capsys.readouterr().out
    assert _inert(out), out
    assert "\\u202e" in out


def test_webhook_lines_are_inert() -> None:
    delivery = Delivery([UNSAFE], [UNSAFE], 500, 0.1, 1, "dropped", error=UNSAFE)
    assert _inert(delivery.pretty())
    event = {"type": UNSAFE, "source": UNSAFE, "time": UNSAFE, "data": {"body": UNSAFE}}
    assert _inert(received_line(event, "valid", UNSAFE))
    assert _inert(received_line(None, "invalid", UNSAFE, raw=UNSAFE))


def test_a_usage_error_quoting_user_input_is_inert(cli: CliRunner) -> None:
    result = cli("tail", f"bad{UNSAFE}name", "--no-follow")
    assert result.exit_code == 2
    assert _inert(result.stderr), result.stderr
    assert result.stderr.startswith("error: ")
