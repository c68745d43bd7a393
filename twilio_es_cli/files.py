"""Writing files that must survive a crash and stay private.

Why one helper: a checkpoint (and later the sink configuration, which holds an external id) is
only useful if, after ``kill -9`` or a power cut, it is either the old content or the new one,
never empty or torn, and nobody else on the machine can read it. That takes a temporary file in
the same directory (so the rename stays on one file system), created private, fsynced, renamed
over the target with :func:`os.replace` (atomic on POSIX and Windows), and an fsync of the
directory so the rename itself is on disk. Getting any step wrong loses data only in a crash,
which no ordinary test notices, so every writer shares this one.
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from pathlib import Path

PRIVATE_MODE = 0o600
NOT_A_FILE = "not a regular file"


def write_private_atomic(
    path: str | os.PathLike[str], data: bytes, *, mode: int = PRIVATE_MODE
) -> None:
    """Replace ``path`` with ``data`` atomically and durably; the file gets ``mode`` (0600).

    On return the new content is on disk (file and directory entry fsynced). On failure the
    old file is untouched, no temporary file is left behind, and the :class:`OSError` is
    raised for the caller to turn into its own message (it knows what the file is for). A
    symlink at ``path`` is replaced by the file, not followed.
    """
    target = Path(path)
    if target.exists() and not target.is_file():
        # Renaming over /dev/null, a FIFO or a directory would replace it, not write into it
        # (as root, /dev/null itself would become a regular file).
        raise IsADirectoryError(errno.EISDIR if target.is_dir() else errno.EINVAL, NOT_A_FILE, path)
    directory = target.parent if str(target.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
    try:
        try:
            os.fchmod(fd, mode)  # mkstemp makes 0600 already; a caller may want another mode
            view = memoryview(data)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    fsync_directory(directory)


def fsync_directory(directory: str | os.PathLike[str]) -> None:
    """Make a rename or creation in ``directory`` durable (a no-op where unsupported)."""
    flags = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0)
    try:
        fd = os.open(directory, flags)
    except OSError:  # e.g. Windows cannot open directories; the rename is still atomic
        return
    try:
        with contextlib.suppress(OSError):  # some file systems refuse fsync on directories
            os.fsync(fd)
    finally:
        os.close(fd)


def check_writable(path: str | os.PathLike[str], what: str, *, example: str) -> None:
    """Refuse, before any work is done, a target :func:`write_private_atomic` cannot produce.

    Called up front by commands whose output must not be lost after remote work (``stream
    create --out`` holds a fresh external id): a directory, a device or FIFO, a missing
    directory, or one we cannot create files in is a usage error (exit 2) naming ``what``.
    Permission bits do not tell (root passes ``os.access`` on /proc, which then refuses the
    file), so the check creates and removes a temporary file where the write will make one.
    """
    from twilio_es_cli.errors import UsageError

    target = Path(path)
    hint = f"Name a file, e.g. {what} {example}."
    if target.is_dir():
        raise UsageError(f"{what} {target} is a directory", hint=hint)
    if target.exists() and not target.is_file():
        raise UsageError(f"{what} {target} is {NOT_A_FILE}", hint=hint)
    parent = target.parent if str(target.parent) else Path(".")
    if not parent.is_dir():
        raise UsageError(f"{what} {target}: directory {parent} does not exist", hint=hint)
    try:
        fd, probe = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=parent)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise UsageError(
            f"{what} {target} cannot be written: {exc.strerror or exc}",
            hint=f"Choose a file in a directory you can write to, e.g. {what} {example}.",
        ) from None


def open_private(path: str | os.PathLike[str]) -> int:
    """A descriptor on ``path`` for reading and writing, created private (0600) if missing.

    For small files held open while a process runs (``tail --checkpoint``'s lock file), not
    for content that must survive a crash (that is :func:`write_private_atomic`). A symlink at
    ``path`` is refused, not followed (one planted in a shared directory could otherwise point
    it at a file of yours); the caller closes the descriptor.
    """
    flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    return os.open(path, flags, PRIVATE_MODE)
