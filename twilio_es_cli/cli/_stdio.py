"""Standard streams every command can use, whatever the shell handed over.

Why: ``twilio-es ... >&-`` (stdout closed) leaves ``sys.stdout`` as None, ``<&-`` the same
for stdin, and ``PYTHONIOENCODING=ascii`` (or a C locale) makes any non-ASCII character in an
event or a name a ``UnicodeEncodeError``: each ended in "error: unexpected". :func:`prepare`
runs before a command: a closed stdin reads as empty (like ``</dev/null``), a closed stderr
discards, a closed stdout refuses writes with :class:`ClosedStream` (data must not vanish
silently; :func:`output_error` words it), and a stream that cannot encode every character
shows the others as ``\\uXXXX`` escapes instead of failing. :func:`output_error` recognises a
failed write to stdout (``/dev/full``: ENOSPC) so the command ends with one line, exit 1.
"""

from __future__ import annotations

import errno
import io
import os
import sys
from typing import Any

_WRITE_ERRNOS = {errno.EBADF, errno.ENOSPC, errno.EIO, errno.EFBIG, errno.EDQUOT, errno.ENXIO}


class ClosedStream(io.TextIOBase):
    """What stands in for a closed stdout: every write fails with EBADF; flush does nothing
    (so the interpreter's last flush at exit cannot fail too)."""

    @property
    def encoding(self) -> str:  # type: ignore[override]  # a plain attribute on real streams
        return "utf-8"

    @property
    def buffer(self) -> Any:
        return self  # tail writes bytes to stdout.buffer: refused the same way

    def write(self, text: Any) -> int:
        raise OSError(errno.EBADF, "standard output is closed")

    def flush(self) -> None:
        return None

    def isatty(self) -> bool:
        return False


def prepare() -> None:
    """Make stdin, stdout and stderr safe to use (see the module docstring)."""
    if sys.stdin is None:
        sys.stdin = open(os.devnull, encoding="utf-8")  # noqa: SIM115  (lives as long as stdin)
    if sys.stderr is None:
        sys.stderr = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115
    if sys.stdout is None:
        sys.stdout = ClosedStream()
    for stream in (sys.stdout, sys.stderr):
        _escape_what_cannot_be_encoded(stream)


def _escape_what_cannot_be_encoded(stream: Any) -> None:
    reconfigure = getattr(stream, "reconfigure", None)
    encoding = getattr(stream, "encoding", None) or "ascii"
    if reconfigure is None or getattr(stream, "errors", "") == "backslashreplace":
        return
    try:
        "\U0001f642\u00e9\u4e2d".encode(encoding)
    except (UnicodeEncodeError, LookupError):
        reconfigure(errors="backslashreplace")


def output_error(exc: BaseException) -> bool:
    """``exc`` is a failed write to a standard stream (closed, full, gone), not a file's."""
    return (
        isinstance(exc, OSError)
        and exc.errno in _WRITE_ERRNOS
        and exc.filename is None
        and not isinstance(exc, BrokenPipeError)
    )
