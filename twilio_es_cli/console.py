"""A rich Console for any terminal, whatever ``COLUMNS`` says (the renderers' one constructor).

Why: rich takes any digits in ``COLUMNS`` as the width, and ``COLUMNS=0`` (or 1, 2) then
failed every table with ``ValueError: invalid width``. Both the command output
(:mod:`twilio_es_cli.output`) and tail's renderers build their consoles here, so an unusable
value is ignored like an unset one everywhere. Light at import (rich is imported inside).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from rich.console import Console

MIN_COLUMNS = 10  # narrower, rich's tables fail ("invalid width -2"): no terminal is that narrow


def usable_columns() -> int | None:
    """``COLUMNS`` when it is a width a table fits in, else None (``COLUMNS=0``, ``abc``)."""
    value = os.environ.get("COLUMNS", "").strip()
    if value.isascii() and value.isdigit() and int(value) >= MIN_COLUMNS:
        return int(value)
    return None


def new_console(file: TextIO, **options: Any) -> Console:
    """A rich Console on ``file`` that reads ``COLUMNS``/``LINES`` only when they are usable.

    rich takes any digits in ``COLUMNS`` as the width, and ``COLUMNS=0`` then failed every
    table with ``ValueError``; an unusable value is ignored like an unset one (the terminal's
    own size, or the caller's ``width``).
    """
    from rich.console import Console

    environ = dict(os.environ)
    if usable_columns() is None:
        environ.pop("COLUMNS", None)
    lines = environ.get("LINES", "").strip()
    if lines and not (lines.isascii() and lines.isdigit() and int(lines) > 0):
        environ.pop("LINES", None)
    return Console(file=file, _environ=environ, **options)
