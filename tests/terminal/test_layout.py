"""Tables as a person sees them: a real pseudo-terminal 80 and 120 columns wide.

Identifiers (SIDs, ARNs) must sit whole on one line so they can be copied: a narrow terminal
drops or shortens the less important columns first, and only falls back to a list layout when
even the identifiers do not fit side by side. `doctor` stays one line per check.
"""

from __future__ import annotations

import re

import pytest

from tests.conftest import events_client, run_on_terminal
from tests.fixture_types import EventsEmulator

_ESCAPES = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")


def screen(text: str) -> list[str]:
    """The lines the terminal shows, without escape sequences."""
    return [line.rstrip() for line in _ESCAPES.sub("", text).replace("\r", "").split("\n")]


def _sinks(count: int) -> list[str]:
    sids = []
    for number in range(count):
        sink = events_client().events.v1.sinks.create(
            description=f"order notifications for the support team, number {number}",
            sink_configuration={
                "destination": f"https://hooks.example.com/twilio/events/{number}",
                "method": "POST",
            },
            sink_type="webhook",
        )
        sids.append(str(sink.sid))
    return sids


@pytest.mark.parametrize("columns", [80, 120])
def test_sink_list_never_wraps_a_sid(twilio_env: EventsEmulator, columns: int) -> None:
    sids = _sinks(2)
    shown = run_on_terminal(["sink", "list"], columns=columns)
    assert shown.exit_code == 0, shown.stderr
    lines = screen(shown.stdout)
    assert all(len(line) <= columns for line in lines), "\n".join(lines)
    for sid in sids:
        rows = [line for line in lines if sid in line]
        assert len(rows) == 1, "\n".join(lines)
    target = "https://hooks.example.com/twilio/events/0"
    if columns == 80:  # the long URL gives way (whole, elsewhere), the SID stays
        assert target not in shown.stdout
        assert "TARGET" in shown.stderr and "--json" in shown.stderr
    else:
        assert any(target in line for line in lines), "\n".join(lines)


def test_doctor_is_one_line_per_check_at_80_columns(twilio_env: EventsEmulator) -> None:
    _sinks(1)
    shown = run_on_terminal(["doctor"], columns=80)
    lines = screen(shown.stdout)
    assert all(len(line) <= 80 for line in lines), "\n".join(lines)
    for name in ("Twilio credentials", "AWS credentials"):
        rows = [line for line in lines if name in line]
        assert len(rows) == 1, "\n".join(lines)
        row = lines.index(rows[0])
        assert lines[row + 1].startswith(("│ ok", "│ FAIL", "│ warn", "│ skip", "└")), lines


def test_sink_list_falls_back_to_a_list_at_40_columns(twilio_env: EventsEmulator) -> None:
    sids = _sinks(1)
    shown = run_on_terminal(["sink", "list"], columns=40)
    lines = screen(shown.stdout)
    assert f"SID: {sids[0]}" in lines, lines
    assert "  https://hooks.example.com/twilio/events/0" in lines, lines  # whole, not cut
    assert "  order notifications for the support" in lines, lines  # prose wraps
    rest = [line for line in lines if "hooks.example.com" not in line]
    assert all(len(line) <= 40 for line in rest), "\n".join(lines)


def test_subscription_list_keeps_sids_and_type_names_whole_at_80(
    twilio_env: EventsEmulator,
) -> None:
    from tests.conftest import active_webhook_sink, run_cli

    sink = active_webhook_sink()
    types = ["com.twilio.messaging.message.delivered", "com.twilio.messaging.message.failed"]
    made = run_cli(
        ["subscribe", "--sink", sink, "--json", *(a for t in types for a in ("--type", t))]
    )
    assert made.exit_code == 0, made.stderr
    subscription = made.json()["sid"]
    shown = run_on_terminal(["subscription", "list"], columns=80)
    lines = screen(shown.stdout)
    assert all(len(line) <= 80 for line in lines), "\n".join(lines)
    assert len([line for line in lines if subscription in line]) == 1, "\n".join(lines)
    for name in types:
        assert any(f"{name}:" in line for line in lines), "\n".join(lines)
