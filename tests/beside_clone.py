"""The lone-clone guard: no test may read a file beside the clone (issues 9 and 19).

A user's clone has nothing beside it, so a test that reads there passes only on the machine it
was written on. :func:`install` adds an audit hook that refuses such reads; writes are allowed
(``pytest --junitxml=../junit.xml``). A module of its own, imported once, because pytest
imports conftest.py twice (as ``conftest`` and as ``tests.conftest``): one hook, one record.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


class ReadBesideClone(FileNotFoundError):
    """A test read a file beside the clone (the shared folder), which a lone clone lacks.

    A FileNotFoundError, because that is what the read meets in a lone clone: code that handles
    a missing file handles this one the same way (and the test still fails, see below).
    """


def outside_repository(path: str | bytes | os.PathLike[str] | int) -> bool:
    """True for a path beside the repository (under its parent, not under the repository).

    A user's clone has nothing beside it, so a test that reads there passes only on the machine
    it was written on. Interpreter, virtualenv and temporary directories are never "beside", and
    neither are dot-directories (a developer's ~/.config when the clone lives in $HOME).
    """
    if isinstance(path, int):
        return False
    try:
        resolved = Path(os.fsdecode(path)).resolve()
    except (OSError, ValueError):
        return False
    if not resolved.is_relative_to(ROOT.parent) or resolved.is_relative_to(ROOT):
        return False
    # A prefix that contains the clone itself (a clone under /tmp) exempts nothing beside it,
    # except pytest's own temporary directories (tmp_path), which are never the clone's.
    allowed = {sys.prefix, sys.base_prefix, sys.exec_prefix, tempfile.gettempdir()}
    for prefix in (Path(p).resolve() for p in allowed):
        if not ROOT.is_relative_to(prefix) and resolved.is_relative_to(prefix):
            return False
    if resolved.is_relative_to(_PYTEST_TEMP):
        return False
    first = resolved.relative_to(ROOT.parent).parts[:1]
    return not (first and first[0].startswith("."))


def _pytest_temp() -> Path:
    """Where pytest makes tmp_path (``$TMP/pytest-of-USER``), by pytest's own rule."""
    import getpass

    try:
        user = getpass.getuser()
    except (ImportError, KeyError, OSError):
        user = "unknown"
    return (Path(tempfile.gettempdir()) / f"pytest-of-{user}").resolve()


_PYTEST_TEMP = _pytest_temp()


_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_TRUNC


def is_read(mode: object, flags: object) -> bool:
    """An ``open`` audit event's mode (``io.open``: ``"rb"``, ``"w"``...; ``os.open``: None)
    and flags: True unless it writes, appends or creates."""
    if isinstance(mode, str) and set(mode) & set("wax+"):
        return False
    return not (isinstance(flags, int) and flags & _WRITE_FLAGS)


#: Reads refused beside the clone since the session began (the test that made one fails at
#: teardown, even when the code that read caught the FileNotFoundError).
READS_BESIDE_CLONE: list[str] = []


def _refuse_reads_beside_clone(event: str, args: tuple[object, ...]) -> None:
    """The audit hook: refuse reads beside the clone; allow writes (``--junitxml=../x.xml``).

    It runs inside every ``open`` of every library, at any stack depth: apart from refusing
    such a read it must never raise (a RecursionError of its own in a deep parse would become
    the library's), so anything going wrong while it decides lets the open through.
    """
    if event != "open" or not args:
        return
    path = args[0]
    if not isinstance(path, str | bytes | os.PathLike):
        return  # a file descriptor
    try:
        mode, flags = (args[1], args[2]) if len(args) >= 3 else (None, None)
        refuse = is_read(mode, flags) and outside_repository(path)
        if refuse:
            READS_BESIDE_CLONE.append(os.fsdecode(path))
    except Exception:  # RecursionError, MemoryError...: not ours to report; the open goes on
        return
    if refuse:
        raise ReadBesideClone(f"test read {path!r}, outside the repository {ROOT}")


sys.addaudithook(_refuse_reads_beside_clone)  # once: this module is imported once
