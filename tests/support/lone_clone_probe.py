"""Run by tests/test_lone_clone.py in a pytest of its own (not collected by the suite).

One test reads beside the clone and swallows the error, one passes; the run writes its JUnit
report beside the clone. The guard must fail the first, pass the second, and allow the write.
"""

from __future__ import annotations

import contextlib

from tests.beside_clone import ROOT


def test_swallowed_read_beside_the_clone() -> None:
    # as code that treats a missing file as "not configured" would
    with contextlib.suppress(FileNotFoundError):
        (ROOT.parent / "beside-the-clone-probe.json").read_text()


def test_nothing_beside() -> None:
    assert ROOT.is_dir()
