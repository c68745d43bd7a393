"""The one progress channel: how core code tells a person what it is doing, passed in.

Core modules (``streams``, ``rollback``, ``roles``, ``validation``, ``quickstart``, the infra
executor) used to write to the terminal themselves, with two ``Reporter`` protocols of
different shapes, and a caller that wanted them quiet had to flip a global
(``output.quieted()``). Now every core that reports takes a :class:`Reporter`:

- :class:`Terminal` writes through :mod:`twilio_es_cli.output` to stderr, so ``--quiet``,
  ``--json`` (data on stdout, progress on stderr) and non-TTY streams behave as they always did;
- :class:`Nested` puts a core run inside a caller's step: its finished steps become the
  caller's notes (``sink validate`` inside ``quickstart`` step 3); :class:`Indented` does the
  same with the ``✓``/indentation ``apply`` shows under its numbered steps;
- :class:`Muted` keeps only warnings (and lets the caller's spinner cover the waits): for a
  core whose step-by-step chatter would repeat the caller's own step line;
- :class:`Collect` keeps every line in lists, for tests and for callers that render later.

Light at import (stdlib only): ``cli/`` modules may import it for ``--help``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from typing import Protocol


class Reporter(Protocol):
    """Where a core run says what it did, what it noticed and what it waits for."""

    def step(self, text: str) -> None: ...  # a finished step ("✓ ...")
    def note(self, text: str) -> None: ...  # context while working
    def warn(self, text: str) -> None: ...  # did not stop the run, but the user should know
    # a slow step runs: say what for, how long so far, and ``limit`` (the most it may take)
    def waiting(self, text: str, limit: float | None = None) -> AbstractContextManager[None]: ...


@dataclass(frozen=True)
class Terminal:
    """Progress on stderr through :mod:`~twilio_es_cli.output` (respects ``--quiet``):
    steps as ``✓`` lines, notes prefixed by ``note_indent``, waits as a spinner with the
    seconds waited and the limit on a TTY (piped: a line when it starts, and every
    :data:`~twilio_es_cli.output.STILL_WAITING_EVERY` seconds while it lasts)."""

    note_indent: str = ""

    def step(self, text: str) -> None:
        from twilio_es_cli import output

        output.success(text)

    def note(self, text: str) -> None:
        from twilio_es_cli import output

        output.info(f"{self.note_indent}{text}")

    def warn(self, text: str) -> None:
        from twilio_es_cli import output

        output.warn(text)

    def waiting(self, text: str, limit: float | None = None) -> AbstractContextManager[None]:
        from twilio_es_cli import output

        return output.progress(text, limit=limit)


@dataclass(frozen=True)
class Nested:
    """A core run inside a caller's step: its steps and notes become the caller's notes."""

    parent: Reporter

    def step(self, text: str) -> None:
        self.parent.note(text)

    def note(self, text: str) -> None:
        self.parent.note(text)

    def warn(self, text: str) -> None:
        self.parent.warn(text)

    def waiting(self, text: str, limit: float | None = None) -> AbstractContextManager[None]:
        return self.parent.waiting(text, limit)


@dataclass(frozen=True)
class Indented(Nested):
    """A core run under one of the caller's own step lines (``apply``'s ``[2/5] ...``): its
    steps become ``  ✓ text`` notes, its notes ``    text``; warnings and spinners as Nested."""

    def step(self, text: str) -> None:
        self.parent.note(f"  ✓ {text}")

    def note(self, text: str) -> None:
        self.parent.note(f"    {text}")


@dataclass(frozen=True)
class Muted:
    """Only warnings reach ``parent``; steps and notes are dropped, and so are waits unless
    ``keep_waits`` (a core run whose lines would repeat the caller's, but whose waits are
    the only sign of life while they last: ``apply``'s proof of delivery)."""

    parent: Reporter
    keep_waits: bool = False

    def step(self, text: str) -> None:
        pass

    def note(self, text: str) -> None:
        pass

    def warn(self, text: str) -> None:
        self.parent.warn(text)

    def waiting(self, text: str, limit: float | None = None) -> AbstractContextManager[None]:
        return self.parent.waiting(text, limit) if self.keep_waits else nullcontext()


@dataclass
class Collect:
    """Every line kept, in order and by kind (tests; callers that render afterwards)."""

    steps: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)  # all of them, prefixed by their kind

    def step(self, text: str) -> None:
        self.steps.append(text)
        self.lines.append(f"step: {text}")

    def note(self, text: str) -> None:
        self.notes.append(text)
        self.lines.append(f"note: {text}")

    def warn(self, text: str) -> None:
        self.warnings.append(text)
        self.lines.append(f"warning: {text}")

    @contextmanager
    def waiting(self, text: str, limit: float | None = None) -> Iterator[None]:
        self.lines.append(f"waiting: {text}" + (f" (up to {round(limit)} s)" if limit else ""))
        yield


TERMINAL = Terminal()  # the default for callers that pass none (behaviour as before)
