"""files.py: the one private, atomic writer, and the up-front check of a target it can produce."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from twilio_es_cli.errors import UsageError
from twilio_es_cli.files import check_writable, write_private_atomic


@pytest.fixture
def work(tmp_path: Path) -> Path:
    """An empty directory (work also holds the test's HOME)."""
    path = tmp_path / "work"
    path.mkdir()
    return path


def test_write_replaces_atomically_with_mode_0600(work: Path) -> None:
    target = work / "cfg.json"
    target.write_text("old")
    target.chmod(0o644)
    write_private_atomic(target, b"new")
    assert target.read_bytes() == b"new"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert sorted(p.name for p in work.iterdir()) == ["cfg.json"]  # no temp file left


def test_a_special_file_is_never_replaced(work: Path) -> None:
    """As root, renaming over /dev/null would turn the device into a regular file."""
    fifo = work / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(OSError, match="not a regular file"):
        write_private_atomic(fifo, b"x")
    assert stat.S_ISFIFO(fifo.stat().st_mode)
    assert sorted(p.name for p in work.iterdir()) == ["pipe"]


@pytest.mark.parametrize("kind", ["dir", "fifo", "missing-dir"])
def test_check_writable_refuses_what_cannot_be_written(work: Path, kind: str) -> None:
    target = {"dir": work, "fifo": work / "p", "missing-dir": work / "no" / "x"}[kind]
    if kind == "fifo":
        os.mkfifo(target)
    with pytest.raises(UsageError) as caught:
        check_writable(target, "--out", example="twilio-sink.json")
    assert caught.value.message.startswith(f"--out {target}")
    assert caught.value.hint is not None and "--out twilio-sink.json" in caught.value.hint


def test_check_writable_accepts_a_new_or_existing_file_and_leaves_nothing(work: Path) -> None:
    check_writable(work / "new.json", "--out", example="x.json")
    (work / "old.json").write_text("{}")
    check_writable(work / "old.json", "--out", example="x.json")
    assert sorted(p.name for p in work.iterdir()) == ["old.json"]


def test_no_module_writes_a_private_file_by_hand() -> None:
    """Checkpoints, sink configurations, the sandbox's state and snapshots and `local up
    --env-file` all go through write_private_atomic: nothing else creates files by hand."""
    package = Path(__file__).resolve().parent.parent / "twilio_es_cli"
    by_hand = [
        str(path.relative_to(package))
        for path in sorted(package.rglob("*.py"))
        if path.name != "files.py"
        # The archive's lock is a file held open under flock, never written as content.
        and str(path.relative_to(package)) != "analytics/lock.py"
        and any(mark in path.read_text(encoding="utf-8") for mark in ("O_CREAT", "0o600"))
    ]
    assert by_hand == []
