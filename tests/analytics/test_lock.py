"""One archiver per directory: the second gets a one-line error naming the first; a holder
killed with kill -9 leaves nothing behind that blocks the next one."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

from twilio_es_cli.analytics.lock import ArchiveLocked, DirectoryLock

HOLD = """
import sys, time
from pathlib import Path
from twilio_es_cli.analytics.lock import DirectoryLock
with DirectoryLock(Path(sys.argv[1]), what="d"):
    print("held", flush=True)
    time.sleep(120)
"""


def _holder(path: Path) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(path)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    return proc


def test_second_holder_is_refused_with_the_first_ones_pid(tmp_path: Path) -> None:
    path = tmp_path / "lock"
    proc = _holder(path)
    try:
        with pytest.raises(ArchiveLocked) as caught, DirectoryLock(path, what="twilio-events"):
            pass
        message = caught.value.message
        assert message.startswith(f"twilio-events is being archived by process {proc.pid} (since ")
        assert "\n" not in message and caught.value.exit_code == 1
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    with DirectoryLock(path, what="twilio-events"):  # the kernel dropped the dead one's lock
        assert path.read_text().startswith("pid ")
    assert path.read_text() == ""  # released: no pid of a process that is gone


def test_lock_in_the_same_process_is_exclusive_too(tmp_path: Path) -> None:
    path = tmp_path / "lock"
    with DirectoryLock(path, what="d"), pytest.raises(ArchiveLocked):
        DirectoryLock(path, what="d").__enter__()
