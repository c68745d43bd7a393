"""One archiver per directory: an advisory lock on ``DIR/.archive/lock`` naming its holder.

Two archivers on one directory would each move the checkpoint past events only the other one
wrote, and write every event twice. ``flock`` (not the file's existence) is the lock, so a
holder killed with ``kill -9`` frees it at once: the kernel drops the lock with the process,
and no stale file blocks the next run. The file holds the holder's pid and start time, read
back for the one-line error the second archiver gets.
"""

from __future__ import annotations

import contextlib
import os
from datetime import datetime, timezone
from pathlib import Path
from types import TracebackType

from twilio_es_cli.errors import TwilioEsError


class ArchiveLocked(TwilioEsError):
    """Another process is archiving into the same directory."""


class DirectoryLock:
    """``with DirectoryLock(path):`` holds the lock for the block; see the module docstring."""

    def __init__(self, path: Path, *, what: str) -> None:
        self.path = path
        self.what = what  # the directory, for the message
        self.fd: int | None = None

    def __enter__(self) -> DirectoryLock:
        import fcntl

        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder(fd)
            os.close(fd)
            raise ArchiveLocked(
                f"{self.what} is being archived by {holder} (lock {self.path})",
                hint="One archiver per directory: stop that one first, or use another --dir.",
            ) from None
        except BaseException:
            os.close(fd)
            raise
        os.ftruncate(fd, 0)
        started = datetime.now(timezone.utc).isoformat(timespec="seconds")
        os.write(fd, f"pid {os.getpid()} since {started}\n".encode())
        self.fd = fd
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.fd is None:
            return
        with contextlib.suppress(OSError):
            os.ftruncate(self.fd, 0)
        os.close(self.fd)  # closing the descriptor releases the flock
        self.fd = None


def _holder(fd: int) -> str:
    """``process 1234`` from the lock file, or a plain word when it says nothing readable."""
    try:
        text = os.pread(fd, 200, 0).decode("utf-8", "replace").split()
    except OSError:
        text = []
    if len(text) >= 2 and text[0] == "pid" and text[1].isdigit():
        since = f" (since {text[3]})" if len(text) >= 4 and text[2] == "since" else ""
        return f"process {text[1]}{since}"
    return "another process"
