"""A lone clone tests itself: nothing in the repository reads beside it (issue 9).

Two guards: ``tests/beside_clone.py`` installs an audit hook that makes any read of a path
beside the clone fail the test that did it (writes, such as ``--junitxml=../junit.xml``, are
allowed), and the scan below catches paths built by string in files the hook never sees (CI
script, bench, docs tooling).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tests.beside_clone import READS_BESIDE_CLONE, ROOT, outside_repository

SCANNED = ("tests", "bench", "docs", ".ci", "twilio_es_cli")
# A relative path up into the folder beside the clone, or one built from the clone's parent.
BESIDE = re.compile(r"\.\./shared|parent\s*/\s*[\"']shared[\"']|[\"']shared/twilio-")


def _sources() -> list[Path]:
    found: list[Path] = []
    for top in SCANNED:
        for path in (ROOT / top).rglob("*"):
            wanted = path.suffix in {".py", ".md", ".sh", ".js", ".toml", ""}
            mine = path == Path(__file__).resolve()
            if (
                path.is_file()
                and wanted
                and not mine
                and "data" not in path.relative_to(ROOT).parts
            ):
                found.append(path)
    return found


def test_no_source_names_a_path_beside_the_clone() -> None:
    offenders = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in _sources()
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1)
        if BESIDE.search(line)
    ]
    assert offenders == []


def test_test_files_resolve_paths_inside_the_repository() -> None:
    """parents[N] in a test module must not climb above the repository root."""
    climb = re.compile(r"Path\(__file__\)\.resolve\(\)\.parents\[(\d)\]")
    offenders = []
    for path in (ROOT / "tests").rglob("*.py"):
        depth = len(path.relative_to(ROOT).parts) - 1  # parents[depth] is ROOT
        for match in climb.finditer(path.read_text()):
            if int(match.group(1)) > depth:
                offenders.append(f"{path.relative_to(ROOT)}: parents[{match.group(1)}]")
    assert offenders == []


def _forget(path: Path) -> None:
    """This test refused a read on purpose: take it off the record the guard fails tests by."""
    READS_BESIDE_CLONE.remove(str(path))


def test_opening_a_file_beside_the_clone_fails_the_test() -> None:
    beside = ROOT.parent / "beside-the-clone" / "spec.json"  # refused before it is looked up
    assert outside_repository(beside)
    with pytest.raises(FileNotFoundError, match="outside the repository"):
        beside.open()
    _forget(beside)
    with pytest.raises(FileNotFoundError, match="outside the repository"):
        os.open(beside, os.O_RDONLY)
    _forget(beside)


def test_only_reads_are_refused(tmp_path: Path) -> None:
    """Writes beside the clone are the user's business (a report, a copy), not a read."""
    from tests.beside_clone import is_read

    assert is_read("r", None) and is_read("rb", os.O_RDONLY) and is_read(None, os.O_RDONLY)
    for mode, flags in (("w", None), ("ab", None), ("x", None), ("r+", None)):
        assert not is_read(mode, flags), mode
    for flags in (os.O_WRONLY, os.O_RDWR, os.O_WRONLY | os.O_CREAT, os.O_RDONLY | os.O_APPEND):
        assert not is_read(None, flags), flags


@pytest.mark.parametrize("error", [RecursionError, MemoryError, ValueError])
def test_the_hook_never_raises_an_error_of_its_own(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
    error: type[Exception],
) -> None:
    """The hook runs inside every open of every library, at any depth: when deciding fails
    (a RecursionError at the bottom of a deep parse), the open goes on and nothing is printed;
    only a read beside the clone is refused."""
    from tests import beside_clone

    def broken(path: object) -> bool:
        raise error("deciding failed")

    target = tmp_path / "ok.txt"
    target.write_text("ok")
    monkeypatch.setattr(beside_clone, "outside_repository", broken)
    with open(target) as file:  # the builtin: the audit event comes from C, as in libraries
        assert file.read() == "ok"
    descriptor = os.open(target, os.O_RDONLY)
    try:
        assert os.read(descriptor, 2) == b"ok"
    finally:
        os.close(descriptor)
    assert capfd.readouterr() == ("", "")


def test_junit_report_beside_the_clone_and_a_swallowed_read() -> None:
    """`pytest --junitxml=../junit.xml` writes its report beside the clone; a read there fails
    its test even when the code that read caught the FileNotFoundError."""
    report = ROOT.parent / f"junit-{uuid.uuid4().hex[:8]}.xml"
    try:
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "-q",
                "-p",
                "no:cacheprovider",
                "-n",
                "0",
                "tests/support/lone_clone_probe.py",
                f"--junitxml={report}",
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
        written = report.exists() and report.stat().st_size > 0
    finally:
        report.unlink(missing_ok=True)
    assert written, proc.stdout[-2000:]
    assert "2 passed, 1 error" in proc.stdout, proc.stdout[-2000:]  # the error: in teardown
    assert "read beside the clone (a lone clone has nothing there)" in proc.stdout
    assert "beside-the-clone-probe.json" in proc.stdout
    assert "Traceback" not in proc.stderr, proc.stderr[-2000:]


def test_files_inside_the_repository_and_temp_are_allowed(tmp_path: Path) -> None:
    assert not outside_repository(ROOT / "tests" / "data" / "twilio-oai" / "LICENSE")
    assert not outside_repository(tmp_path / "x")
    (tmp_path / "x").write_text("ok")
    assert (tmp_path / "x").read_text() == "ok"
