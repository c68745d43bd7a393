"""`apply` asks before it changes anything, as `terraform apply` does (issue 23 item 10):
on a terminal a person answers; without one --yes is required (exit 2, nothing changed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.fixture_types import CliRunner, EventsEmulator
from tests.terminal.pty_session import PtySession

FILE = """
version: 1
project: confirm
sinks:
  hook: {type: webhook, destination: "http://127.0.0.1:9/confirm"}
"""


def _sinks() -> list[str]:
    listed = run_cli(["sink", "list", "--jq", ".[].description"])
    assert listed.exit_code == 0, listed.stderr
    return listed.stdout.splitlines()


def test_without_a_terminal_apply_needs_yes_even_to_create(
    twilio_env: EventsEmulator, cli: CliRunner, tmp_path: Path
) -> None:
    path = tmp_path / "twilio-es.yaml"
    path.write_text(FILE)
    refused = cli("apply", "-f", str(path))
    assert refused.exit_code == 2, refused.stderr
    assert "Apply these 1 change(s) (1 to create)? Refusing without confirmation" in (
        refused.stderr
    )
    assert "hint: Pass --yes to confirm." in refused.stderr
    assert _sinks() == []
    assert cli("apply", "-f", str(path), "--yes").exit_code == 0
    assert _sinks() == ["hook [twilio-es:confirm/hook]"]


@pytest.mark.parametrize(("answer", "code"), [(b"n\r", 1), (b"y\r", 0)])
def test_on_a_terminal_apply_shows_the_plan_and_asks(
    twilio_env: EventsEmulator,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    answer: bytes,
    code: int,
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "twilio-es.yaml").write_text(FILE)
    session = PtySession(["apply"], columns=80)
    try:
        text = session.wait_for(lambda t: "[y/N]" in t)
        assert "+ sink hook: create" in text
        session.type(answer)
        assert session.finish() == code
    finally:
        session.close()
    if code:
        assert "Cancelled; nothing was changed." in session.text
        assert _sinks() == []
    else:
        assert "Applied 1 step(s)" in session.text
        assert _sinks() == ["hook [twilio-es:confirm/hook]"]
