"""The one renderer: data to stdout (JSON for scripts, rich tables for people), all else to stderr.

Commands never call ``print``: they hand data to :func:`emit` / :func:`print_json` /
:func:`print_table` and talk to the user through :func:`info`, :func:`warn`, :func:`success`,
:func:`error` and :func:`progress`. rich is imported lazily so ``--help`` stays fast, and the
streams are looked up at call time so tests (and pipes) see exactly what a user would.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from rich.console import Console

_quiet = False


def set_quiet(quiet: bool) -> None:
    """Silence info/progress/success messages (warnings and errors still show)."""
    global _quiet
    _quiet = quiet


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    dump = getattr(value, "model_dump", None)  # pydantic models without importing pydantic
    if callable(dump):
        return dump(mode="json")
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def to_json(data: Any, *, indent: int | None = 2) -> str:
    """Serialise ``data`` the way every command does (ISO dates, enums by value)."""
    separators = (",", ":") if indent is None else None
    return json.dumps(data, indent=indent, default=_json_default, separators=separators)


def print_json(data: Any, *, file: TextIO | None = None) -> None:
    """Write one JSON document to stdout."""
    stream = file or sys.stdout
    stream.write(to_json(data) + "\n")
    stream.flush()


def is_tty(stream: TextIO | None = None) -> bool:
    """True when ``stream`` (stdout by default) is an interactive terminal."""
    stream = stream or sys.stdout
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def _console(stderr: bool) -> Console:
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    tty = is_tty(stream)
    # Piped tables must not wrap SIDs and ARNs at an imagined 80 columns: give them room.
    width = None if tty or os.environ.get("COLUMNS") else 250
    return Console(file=stream, stderr=stderr, highlight=False, soft_wrap=not tty, width=width)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    if isinstance(value, list | tuple):
        return ", ".join(_cell(v) for v in value) or "-"
    if isinstance(value, Enum):
        return str(value.value)
    return str(value)


def print_table(
    columns: Sequence[str], rows: Iterable[Sequence[Any]], *, title: str | None = None
) -> None:
    """Render rows as a table on stdout; an empty result says so on stderr."""
    from rich.table import Table

    rows = list(rows)
    if not rows:
        info(f"No {title.lower() if title else 'results'}.")
        return
    table = Table(title=title, title_justify="left", header_style="bold")
    for name in columns:
        table.add_column(name, overflow="fold")
    for row in rows:
        table.add_row(*(_cell(v) for v in row))
    _console(stderr=False).print(table)


def print_fields(fields: Mapping[str, Any], *, title: str | None = None) -> None:
    """Render one resource as aligned ``key  value`` lines on stdout."""
    from rich.table import Table

    table = Table(title=title, title_justify="left", show_header=False, box=None)
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    for key, value in fields.items():
        table.add_row(key, _cell(value))
    _console(stderr=False).print(table)


def emit(
    data: Any,
    *,
    as_json: bool,
    columns: Sequence[str] | None = None,
    rows: Iterable[Sequence[Any]] | None = None,
    fields: Mapping[str, Any] | None = None,
    title: str | None = None,
) -> None:
    """Show a result: ``data`` as JSON when asked, else the table/fields made for people."""
    if as_json:
        print_json(data)
    elif columns is not None and rows is not None:
        print_table(columns, rows, title=title)
    elif fields is not None:
        print_fields(fields, title=title)
    else:
        print_json(data)


def _message(prefix: str, style: str, text: str) -> None:
    if is_tty(sys.stderr):
        from rich.markup import escape

        _console(stderr=True).print(f"[{style}]{prefix}[/{style}]{escape(text)}")
    else:
        sys.stderr.write(f"{prefix}{text}\n")
        sys.stderr.flush()


def info(text: str) -> None:
    """A progress or context line for people (stderr)."""
    if not _quiet:
        _message("", "dim", text)


def success(text: str) -> None:
    """A finished step (stderr)."""
    if not _quiet:
        _message("✓ ", "green", text)


def warn(text: str) -> None:
    """Something the user should know but that did not stop the command (stderr)."""
    _message("warning: ", "yellow", text)


def error(text: str, hint: str | None = None) -> None:
    """The single error line, plus an optional hint line (stderr)."""
    _message("error: ", "bold red", bounded(text))
    if hint:
        _message("hint: ", "cyan", bounded(hint))


_LONG_WORD = re.compile(r"\S{200,}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
MAX_MESSAGE = 1000


def bounded(text: str) -> str:
    """One short, inert line: what users typed is quoted in errors, and may be anything.

    The last guard behind :func:`twilio_es_cli.errors.shown`: control characters are shown
    as escapes (a pasted ESC must not drive the terminal, a newline must not make two
    lines), a word of 200+ characters is cut to its start, the whole to 1000 characters.
    """
    text = _CONTROL.sub(lambda m: repr(m.group())[1:-1], text)
    text = _LONG_WORD.sub(lambda m: f"{m.group()[:60]}… ({len(m.group())} characters)", text)
    if len(text) > MAX_MESSAGE:
        text = f"{text[:MAX_MESSAGE]}… ({len(text)} characters)"
    return text


@contextmanager
def progress(text: str) -> Iterator[None]:
    """Show ``text`` while a slow step runs: a spinner on a terminal, one line otherwise."""
    if _quiet:
        yield
        return
    if is_tty(sys.stderr):
        with _console(stderr=True).status(text):
            yield
    else:
        info(f"{text} ...")
        yield


def redact(secret: str | None, *, keep: int = 4) -> str:
    """Show enough of a secret to recognise it, never the whole value."""
    if not secret:
        return "-"
    if len(secret) <= keep * 2:
        return "****"
    return f"{secret[:keep]}…({len(secret)} chars)"


@contextmanager
def quieted(enabled: bool = True) -> Iterator[None]:
    """Silence info/progress/success inside the block when ``enabled``; restore afterwards.

    For commands that call other cores whose step-by-step chatter would drown their own
    summary (``quickstart --local``); warnings and errors still show.
    """
    global _quiet
    previous = _quiet
    _quiet = previous or enabled
    try:
        yield
    finally:
        _quiet = previous
