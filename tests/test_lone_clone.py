"""A lone clone tests itself: nothing in the repository reads beside it (issue 9).

Two guards: ``tests/conftest.py`` installs an audit hook that makes any ``open`` of a path
beside the clone fail the test that did it, and the scan below catches paths built by string
in files the hook never sees (CI script, bench, docs tooling).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import ROOT, outside_repository

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


def test_opening_a_file_beside_the_clone_fails_the_test() -> None:
    beside = ROOT.parent / "beside-the-clone" / "spec.json"  # refused before it is looked up
    assert outside_repository(beside)
    # pytest may import conftest under two names, so match the message, not the class.
    with pytest.raises(OSError, match="outside the repository"):
        beside.open()


def test_files_inside_the_repository_and_temp_are_allowed(tmp_path: Path) -> None:
    assert not outside_repository(ROOT / "tests" / "data" / "twilio-oai" / "LICENSE")
    assert not outside_repository(tmp_path / "x")
    (tmp_path / "x").write_text("ok")
    assert (tmp_path / "x").read_text() == "ok"
