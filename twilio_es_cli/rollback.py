"""Undo what a command created when a later step fails, and say what could not be undone.

``stream create`` records each resource as it makes it; on failure (or Ctrl-C) the steps are
undone newest first. Anything that cannot be removed is named with the exact command that
removes it by hand, so a failed run never leaves something behind silently.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from twilio_es_cli.aws import aws_errors
from twilio_es_cli.errors import NotFoundError, TwilioEsError
from twilio_es_cli.progress import TERMINAL, Reporter


@dataclass
class _Step:
    what: str
    undo: Callable[[], object]
    manual: str  # the command that removes it by hand if undo fails


@dataclass
class Rollback:
    """What this run created, undone newest first when a later step fails; the undoing is
    said on ``report`` (warnings stay visible even where a caller mutes the rest)."""

    report: Reporter = TERMINAL
    steps: list[_Step] = field(default_factory=list)

    def add(self, what: str, undo: Callable[[], object], manual: str) -> None:
        self.steps.append(_Step(what, undo, manual))

    def run(self) -> list[str]:
        """Undo every step; return 'left behind' lines for the ones that could not be undone."""
        if not self.steps:
            return []
        self.report.warn("rolling back what this run created")
        left: list[str] = []
        pending = list(reversed(self.steps))
        self.steps.clear()
        try:
            while pending:
                step = pending[0]
                try:
                    with aws_errors(f"delete {step.what}"):
                        step.undo()
                except NotFoundError:  # gone already (or while we waited): nothing to undo
                    self.report.note(f"rolled back: {step.what} is gone")
                except TwilioEsError as exc:
                    left.append(f"{step.what} ({exc.message}); remove it with: {step.manual}")
                else:
                    self.report.note(f"rolled back: deleted {step.what}")
                pending.pop(0)
        except KeyboardInterrupt:
            # A second Ctrl-C stops the rollback, but the user still learns what is left.
            left.extend(
                f"{s.what} (rollback interrupted); remove it with: {s.manual}" for s in pending
            )
            raise
        finally:
            for line in left:
                self.report.warn(f"left behind: {line}")
        return left
