"""The one progress channel: what each Reporter does with steps, notes, warnings and waits."""

from __future__ import annotations

import pytest

from twilio_es_cli import output, progress
from twilio_es_cli.errors import NotFoundError
from twilio_es_cli.rollback import Rollback


def _report_all(report: progress.Reporter) -> None:
    report.step("made it")
    report.note("context")
    report.warn("careful")
    with report.waiting("slow part"):
        pass


def test_terminal_writes_stderr_only_and_respects_quiet(
    capsys: pytest.CaptureFixture[str],
) -> None:
    _report_all(progress.Terminal(note_indent="    "))
    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines() == ["✓ made it", "    context", "warning: careful", "slow part ..."]

    output.set_quiet(True)
    try:
        _report_all(progress.TERMINAL)
    finally:
        output.set_quiet(False)
    assert capsys.readouterr().err.splitlines() == ["warning: careful"]


def test_nested_indented_and_muted_pass_on_what_their_caller_shows() -> None:
    nested, indented, muted = progress.Collect(), progress.Collect(), progress.Collect()
    _report_all(progress.Nested(nested))
    _report_all(progress.Indented(indented))
    _report_all(progress.Muted(muted))
    assert nested.lines == [
        "note: made it",
        "note: context",
        "warning: careful",
        "waiting: slow part",
    ]
    assert indented.notes == ["  ✓ made it", "    context"]
    assert indented.warnings == ["careful"]
    assert muted.lines == ["warning: careful"]  # a muted core still warns


def test_rollback_says_what_it_undoes_on_its_reporter(capsys: pytest.CaptureFixture[str]) -> None:
    report = progress.Collect()
    rollback = Rollback(report)
    undone: list[str] = []

    def gone() -> None:
        raise NotFoundError("no such stream")

    rollback.add("stream s", gone, "aws kinesis delete-stream --stream-name s")
    rollback.add("IAM role r", lambda: undone.append("r"), "aws iam delete-role --role-name r")
    assert rollback.run() == []
    assert undone == ["r"]
    assert report.lines == [
        "warning: rolling back what this run created",
        "note: rolled back: deleted IAM role r",
        "note: rolled back: stream s is gone",
    ]
    assert capsys.readouterr().err == ""  # nothing bypassed the reporter
