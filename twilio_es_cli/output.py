"""The one renderer: data to stdout (JSON for scripts, rich tables for people), all else to stderr.

Commands never call ``print``: they hand data to :func:`emit` / :func:`print_json` /
:func:`print_table` and talk to the user through :func:`info`, :func:`warn`, :func:`success`,
:func:`error` and :func:`progress`. rich is imported lazily so ``--help`` stays fast, and the
streams are looked up at call time so tests (and pipes) see exactly what a user would.
"""

from __future__ import annotations

import json
import math
import re
import sys
import textwrap
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import date, datetime
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from twilio_es_cli.console import new_console, usable_columns
from twilio_es_cli.safe_text import json_safe, redact_urls, visible

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
    """Serialise ``data`` the way every command does (ISO dates, enums by value, infinities
    and NaN as null: see :func:`finite`)."""
    separators = (",", ":") if indent is None else None
    try:
        return json.dumps(
            data, indent=indent, default=_json_default, separators=separators, allow_nan=False
        )
    except ValueError:  # an infinity or NaN somewhere: rare, so encoded again
        return json.dumps(
            finite(data), indent=indent, default=_finite_default, separators=separators
        )


def _finite_default(value: Any) -> Any:
    """:func:`_json_default`, with what it returns made finite too (a model's fields, a set)."""
    return finite(_json_default(value))


def finite(value: Any) -> Any:
    """``value`` with each infinity and NaN in it (in lists and objects too) made None.

    JSON has no word for them: Python's json writes ``Infinity`` and ``NaN``, which other
    parsers (jq, JavaScript, Go) refuse; null is what JavaScript's JSON.stringify writes."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [finite(item) for item in value]
    return value


def print_json(data: Any, *, file: TextIO | None = None) -> None:
    """Write one JSON document to stdout (through the command's ``--jq`` filter, if any)."""
    stream = file or sys.stdout
    program = _current_jq() if file is None else None
    if program is not None:
        _print_jq(program, data, stream)
        return
    stream.write(json_safe(to_json(data)) + "\n")
    stream.flush()


def compile_jq(expression: str) -> Any:
    """A jq program for ``--jq`` (the jq package, imported only here); exit 2 when the
    expression does not compile, in one line."""
    from twilio_es_cli.errors import ConfigError, UsageError

    try:
        import jq  # type: ignore[import-not-found]  # jq ships no type information
    except ImportError as exc:  # a trimmed install without the dependency
        raise ConfigError(
            "--jq needs the jq package", hint="pip install jq (or pipe --json into jq)."
        ) from exc
    try:
        return jq.compile(expression)
    except ValueError as exc:
        raise UsageError(f"--jq {expression!r}: {_jq_error(exc)}") from exc


def _jq_error(exc: ValueError) -> str:
    """jq's message in one line ("syntax error, unexpected ..."), without its caret art."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    first = lines[0] if lines else "invalid expression"
    return first.removeprefix("jq: error: ")


_jq: Any = None  # the running command's compiled --jq program (see use_jq)


def use_jq(program: Any) -> None:
    """Filter :func:`print_json` through ``program`` (None: print as is). The --jq option
    sets it for its command and clears it when the command ends."""
    global _jq
    _jq = program


def _current_jq() -> Any:
    return _jq


def filtering() -> bool:
    """True while a ``--jq`` filter is set (a streaming JSON writer must hand over instead)."""
    return _jq is not None


def _print_jq(program: Any, data: Any, stream: TextIO) -> None:
    """Each result on its own line, strings raw (as gh and `jq -r` print them), other
    values as JSON (indented on a terminal); a runtime error is exit 2 in one line."""
    from twilio_es_cli.errors import UsageError

    try:
        results = program.input_value(json.loads(to_json(data))).all()
    except ValueError as exc:
        raise UsageError(f"--jq: {_jq_error(exc)}", hint="Look at the data with --json.") from exc
    indent = 2 if is_tty(stream) else None
    for value in results:
        text = (
            visible(value, keep_lines=True)
            if isinstance(value, str)
            else json_safe(to_json(value, indent=indent))
        )
        stream.write(text + "\n")
    stream.flush()


def is_tty(stream: TextIO | None = None) -> bool:
    """True when ``stream`` (stdout by default) is an interactive terminal."""
    stream = stream or sys.stdout
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def _console(stderr: bool) -> Console:
    stream = sys.stderr if stderr else sys.stdout
    tty = is_tty(stream)
    # Piped tables must not wrap SIDs and ARNs at an imagined 80 columns: give them room.
    width = None if tty or usable_columns() else 250
    return new_console(stream, stderr=stderr, highlight=False, soft_wrap=not tty, width=width)


def _cell(value: Any) -> str:
    """A table cell's text; text is made visible (descriptions and names come from outside)."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    if isinstance(value, list | tuple):
        return ", ".join(_cell(v) for v in value) or "-"
    if isinstance(value, Enum):
        return visible(str(value.value), keep_lines=True)
    return visible(str(value), keep_lines=True)


@dataclass(frozen=True)
class Column:
    """A table column and how it may give way when the terminal is narrow.

    ``identifier`` columns (SIDs, ARNs, names, event types) are never wrapped or cut: a SID
    folded over four rows cannot be copied. Other columns wrap between words only, never
    inside one, so an ARN, URL, SID or time that sits in any cell stays whole there too.
    Columns give way in order of ``priority`` (0 = always shown; higher numbers are dropped
    first), and ``shorten`` ones are cut to one line with an ellipsis instead of wrapping (so
    a report stays one line per row). When what is left still does not fit, every row
    becomes a block of ``NAME: value`` lines (the list layout).
    """

    name: str
    identifier: bool = False
    priority: int = 0
    shorten: bool = False


# Narrowest a wrapping/shortened column may become before we drop columns instead.
MIN_COLUMN_WIDTH = 8


def _as_column(column: str | Column) -> Column:
    return column if isinstance(column, Column) else Column(column)


def _table_width(widths: Sequence[int], edge: bool = True) -> int:
    """Width of a rich box table: each column has one space either side and a rule between
    columns; the outer edge adds two rules."""
    return sum(widths) + 3 * len(widths) + (1 if edge else -1)


def _natural(column: Column, cells: Sequence[str]) -> int:
    from rich.cells import cell_len

    lines = [cell_len(line) for cell in cells for line in (cell.splitlines() or [""])]
    return max([cell_len(column.name), *lines])


def _longest_word(cells: Sequence[str]) -> int:
    """The widest run of non-blank characters: the narrowest a column may wrap to."""
    from rich.cells import cell_len

    return max((cell_len(word) for cell in cells for word in cell.split()), default=0)


def _minimum(column: Column, natural: int, word: int = 0) -> int:
    """How narrow a column may become: identifiers not at all, shortened columns to
    :data:`MIN_COLUMN_WIDTH`, the others to their longest word (a word is never broken)."""
    if column.identifier:
        return natural
    floor = min(natural, max(MIN_COLUMN_WIDTH, len(column.name)))
    return floor if column.shorten else max(floor, word)


def plan_columns(
    columns: Sequence[Column], cells: Sequence[Sequence[str]], width: int, *, edge: bool = True
) -> list[tuple[int, int]] | None:
    """Choose ``(column index, width)`` to show in ``width`` cells, or None for a list layout.

    Identifier columns keep their full width; droppable columns go (highest priority number
    first) until the rest fit at their minimum; the room left is shared out, the widest
    columns giving way first.
    """
    naturals = [_natural(c, [row[i] for row in cells]) for i, c in enumerate(columns)]
    minimums = [
        _minimum(c, naturals[i], _longest_word([row[i] for row in cells]))
        for i, c in enumerate(columns)
    ]
    shown = list(range(len(columns)))
    while _table_width([minimums[i] for i in shown], edge) > width:
        droppable = [i for i in shown if columns[i].priority > 0]
        if not droppable:
            return None
        shown.remove(max(droppable, key=lambda i: (columns[i].priority, i)))
    widths = {i: naturals[i] for i in shown}
    while _table_width(list(widths.values()), edge) > width:
        flexible = [i for i in shown if widths[i] > minimums[i]]
        widest = max(flexible, key=lambda i: widths[i])
        widths[widest] -= 1
    return [(i, widths[i]) for i in shown]


def _best_plan(
    columns: Sequence[Column], cells: Sequence[Sequence[str]], width: int
) -> tuple[list[tuple[int, int]] | None, bool]:
    """The plan with the outer edge, unless leaving the edge off (two cells) shows more."""
    framed = plan_columns(columns, cells, width)
    if framed is not None and len(framed) == len(columns):
        return framed, True
    open_ = plan_columns(columns, cells, width, edge=False)
    if open_ is not None and len(open_) > len(framed or []):
        return open_, False
    return framed, True


def print_table(
    columns: Sequence[str | Column],
    rows: Iterable[Sequence[Any]],
    *,
    title: str | None = None,
) -> set[str]:
    """Render rows as a table on stdout; an empty result says so on stderr.

    The table fits the terminal (see :class:`Column`); when even the identifiers alone do
    not fit, each row becomes a block of ``name  value`` lines. Returns the names of the
    columns not shown whole (dropped or shortened), so a caller can add what matters.
    """
    from rich.table import Table

    specs = [_as_column(c) for c in columns]
    if not is_tty(sys.stdout):  # a file or a pipe keeps every word: nothing is cut
        specs = [replace(c, shorten=False) for c in specs]
    cells = [[_cell(v) for v in row] for row in rows]
    if not cells:
        info(f"No {title.lower() if title else 'results'}.")
        return set()
    console = _console(stderr=False)
    plan, edge = _best_plan(specs, cells, console.width)
    if plan is None:
        _print_blocks(specs, cells, title=title)
        return set()
    table = Table(title=title, title_justify="left", header_style="bold", show_edge=edge)
    for index, width in plan:
        spec = specs[index]
        one_line = spec.identifier or spec.shorten
        table.add_column(
            spec.name,
            width=width,
            no_wrap=one_line,
            overflow="ellipsis" if spec.shorten else "fold",
        )
    for row in cells:
        table.add_row(*(row[index] for index, _ in plan))
    console.print(table)
    shown = dict(plan)
    hidden = [spec.name for i, spec in enumerate(specs) if i not in shown]
    if hidden:
        info(f"Not shown at {console.width} columns: {', '.join(hidden)} (--json has all).")
    return {
        spec.name
        for i, spec in enumerate(specs)
        if i not in shown or (spec.shorten and shown[i] < _natural(spec, [r[i] for r in cells]))
    }


def _print_blocks(
    columns: Sequence[Column], cells: Sequence[Sequence[str]], *, title: str | None
) -> None:
    """The narrow-terminal layout: one block per row, ``NAME: value`` per line (the value on
    its own indented line when both do not fit, so an identifier still sits whole)."""
    from rich.cells import cell_len

    console = _console(stderr=False)
    lines = [title, ""] if title else []
    for number, row in enumerate(cells):
        if number:
            lines.append("")
        for column, value in zip(columns, row, strict=True):
            if "\n" not in value and cell_len(column.name) + 2 + cell_len(value) <= console.width:
                lines.append(f"{column.name}: {value}")
            elif column.identifier:  # whole, even if the terminal must wrap it
                lines.append(f"{column.name}:")
                lines.extend(f"  {part}" for part in value.splitlines())
            else:
                lines.append(f"{column.name}:")
                lines.extend(_wrap_words(value, console.width - 2, "  ") or ["  -"])
    console.file.write("\n".join(lines) + "\n")
    console.file.flush()


def _wrap_words(text: str, width: int, indent: str = "") -> list[str]:
    """``text`` wrapped to ``width`` between words only, each line prefixed by ``indent``.

    A word wider than ``width`` (an ARN, a URL) gets a line of its own, whole: the terminal
    may fold it, but we never cut it, so copying it from the screen gives it back intact.
    """
    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        lines.extend(
            textwrap.wrap(
                paragraph,
                max(width, 1),
                initial_indent=indent,
                subsequent_indent=indent,
                break_long_words=False,
                break_on_hyphens=False,
            )
            or [indent.rstrip()]
        )
    return lines


def print_prose(text: str, *, first: str = "", indent: str = "") -> None:
    """A sentence for people on stdout (``status``'s problems): on a terminal wrapped between
    words (after ``first``, continuation lines start with ``indent``), piped one line."""
    text = visible(text)
    if not is_tty(sys.stdout):
        sys.stdout.write(f"{first}{text}\n")
        sys.stdout.flush()
        return
    width = _console(stderr=False).width
    lines = textwrap.wrap(
        text,
        max(width, 1),
        initial_indent=first,
        subsequent_indent=indent,
        break_long_words=False,
        break_on_hyphens=False,
    )
    sys.stdout.write("\n".join(lines or [first]) + "\n")
    sys.stdout.flush()


def field_lines(fields: Mapping[str, Any], width: int) -> list[tuple[str, str]]:
    """``(key, value)`` screen lines of one resource, ``key`` padded (blank on continuations).

    Values wrap between words in the room beside the keys; a value with a word that does not
    fit there (an ARN, a URL) starts on the next line, indented by two, and stays whole.
    """
    from rich.cells import cell_len

    cells = {key: _cell(value) for key, value in fields.items()}
    key_width = max((cell_len(key) for key in cells), default=0)
    room = width - key_width - 3  # " key  value"
    lines: list[tuple[str, str]] = []
    for key, value in cells.items():
        label, blank = key.ljust(key_width), " " * key_width
        if _longest_word([value]) <= room:
            wrapped = _wrap_words(value, room)
            lines.append((label, wrapped[0]))
            lines.extend((blank, part) for part in wrapped[1:])
        else:
            lines.append((label, ""))
            lines.extend(("", part) for part in _wrap_words(value, width - 3, "  "))
    return lines


def print_fields(fields: Mapping[str, Any], *, title: str | None = None) -> None:
    """Render one resource as aligned ``key  value`` lines on stdout (see :func:`field_lines`:
    words, ARNs and URLs are never broken)."""
    from rich.markup import escape

    console = _console(stderr=False)
    if title:
        console.print(f"[italic]{escape(title)}[/italic]", soft_wrap=True)
    for key, value in field_lines(fields, console.width):
        # soft_wrap: rich must not fold a long word itself; the terminal may
        console.print(f" [bold]{escape(key)}[/bold]  {escape(value)}".rstrip(), soft_wrap=True)


def emit(
    data: Any,
    *,
    as_json: bool,
    columns: Sequence[str | Column] | None = None,
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
    text = redact_urls(visible(text, keep_lines=True))  # quoted text; no URL password
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
MAX_MESSAGE = 1000


def bounded(text: str) -> str:
    """One short, inert line: what users typed is quoted in errors, and may be anything.

    The last guard behind :func:`twilio_es_cli.errors.shown`: control characters and bidi
    overrides are shown as escapes (:func:`~twilio_es_cli.safe_text.visible`: a pasted ESC
    must not drive the terminal, a newline must not make two lines), a word of 200+
    characters is cut to its start, the whole to 1000 characters.
    """
    text = redact_urls(visible(text))  # and a URL's password never reaches a message
    text = _LONG_WORD.sub(lambda m: f"{m.group()[:60]}… ({len(m.group())} characters)", text)
    if len(text) > MAX_MESSAGE:
        text = f"{text[:MAX_MESSAGE]}… ({len(text)} characters)"
    return text


STILL_WAITING_EVERY = 30.0  # seconds between "still waiting" lines when stderr is not a TTY


def waited_text(text: str, seconds: float, limit: float | None) -> str:
    """``Waiting for X: 12 s of up to 120 s``: what, how long so far, how long at most."""
    so_far = f"{seconds:.0f} s"
    return f"{text}: {so_far} of up to {_whole(limit)}" if limit else f"{text}: {so_far}"


def _whole(seconds: float) -> str:
    """A limit in whole seconds (a deadline's remainder is 19.93 s; people read 20 s)."""
    return f"{max(1, round(seconds))} s"


@dataclass
class _Elapsed:
    """A spinner's text that counts the seconds each time rich redraws it (12 times a
    second): rich renders ``__rich__`` afresh on every refresh of the status line."""

    text: str
    limit: float | None
    started: float

    def __rich__(self) -> str:
        import time

        from rich.markup import escape

        return escape(waited_text(self.text, time.monotonic() - self.started, self.limit))


@contextmanager
def _still_waiting(text: str, limit: float | None, started: float) -> Iterator[None]:
    """Piped: a line every :data:`STILL_WAITING_EVERY` seconds while the wait lasts, so a log
    (CI, ``2> file``) shows it is alive and how much is left."""
    import threading
    import time

    done = threading.Event()

    def tick() -> None:
        while not done.wait(STILL_WAITING_EVERY):
            info(f"  {waited_text(text, time.monotonic() - started, limit)}")

    ticker = threading.Thread(target=tick, name="still-waiting", daemon=True)
    ticker.start()
    try:
        yield
    finally:
        done.set()
        ticker.join()


_spinners: list[Any] = []  # the one status line on stderr, while a wait shows it


@contextmanager
def _spinner(text: _Elapsed) -> Iterator[None]:
    """The spinner line; a wait inside another wait takes the line over until it ends
    (rich shows one live display at a time)."""
    if _spinners:
        outer = _spinners[-1]
        previous = outer.status
        outer.update(text)
        try:
            yield
        finally:
            outer.update(previous)
        return
    with _console(stderr=True).status(text) as status:
        _spinners.append(status)
        try:
            yield
        finally:
            _spinners.pop()


@contextmanager
def progress(text: str, *, limit: float | None = None) -> Iterator[None]:
    """Show ``text`` while a slow step runs, with the seconds waited and ``limit`` (the most
    it may take): a spinner on a terminal; piped, a line when it starts and one every
    :data:`STILL_WAITING_EVERY` seconds."""
    import time

    if _quiet:
        yield
        return
    started = time.monotonic()
    text = visible(text)
    if is_tty(sys.stderr):
        with _spinner(_Elapsed(text, limit, started)):
            yield
    else:
        info(f"{text} (up to {_whole(limit)}) ..." if limit else f"{text} ...")
        with _still_waiting(text, limit, started):
            yield
