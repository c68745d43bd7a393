"""A command run with stdin, stdout and stderr all on one pseudo-terminal, as in a real shell.

``run_on_terminal`` (tests/conftest.py) gives the command a terminal for stdout only; the
status line (stderr) and the keys of ``tail --stats`` (stdin) need the whole terminal.
"""

from __future__ import annotations

import fcntl
import os
import pty
import struct
import subprocess
import sys
import termios
import threading
from collections.abc import Callable


class PtySession:
    """``python -m twilio_es_cli ARGS`` on a terminal ``columns`` wide; the screen is read
    in a thread so the command never blocks on a full terminal."""

    def __init__(self, args: list[str], *, columns: int = 80, rows: int = 30) -> None:
        self.leader, self.follower = pty.openpty()
        fcntl.ioctl(self.follower, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
        self.mode_before = termios.tcgetattr(self.follower)
        env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
        env["TERM"] = "xterm-256color"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "twilio_es_cli", *args],
            stdin=self.follower,
            stdout=self.follower,
            stderr=self.follower,
            env=env,
            start_new_session=True,  # its own session: the pty can become its terminal
            preexec_fn=self._controlling_terminal,
        )
        self.chunks: list[bytes] = []
        self.changed = threading.Condition()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _controlling_terminal(self) -> None:
        fcntl.ioctl(self.follower, termios.TIOCSCTTY, 0)  # so Ctrl-C (\x03) sends SIGINT

    def _read(self) -> None:
        while True:
            try:
                chunk = os.read(self.leader, 65536)
            except OSError:
                chunk = b""
            with self.changed:
                if chunk:
                    self.chunks.append(chunk)
                self.changed.notify_all()
            if not chunk:
                return

    @property
    def text(self) -> str:
        with self.changed:
            return b"".join(self.chunks).decode("utf-8", "replace")

    def wait_for(self, check: Callable[[str], bool], timeout: float = 60) -> str:
        """The output so far once ``check(output)`` holds (fails the test after ``timeout``)."""
        with self.changed:
            ok = self.changed.wait_for(
                lambda: (
                    check(b"".join(self.chunks).decode("utf-8", "replace"))
                    or self.proc.poll() is not None
                ),
                timeout,
            )
        text = self.text
        assert ok and check(text), text[-3000:]
        return text

    def type(self, keys: bytes) -> None:
        os.write(self.leader, keys)

    def finish(self, timeout: float = 60) -> int:
        """The exit code once the command ended (killed, and the test failed, if it hangs)."""
        try:
            return self.proc.wait(timeout=timeout)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()

    def mode_now(self) -> list[object]:
        return termios.tcgetattr(self.follower)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        os.close(self.follower)
        self.reader.join(timeout=10)
        os.close(self.leader)
