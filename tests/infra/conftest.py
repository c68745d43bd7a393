"""Fixtures for the as-code commands: a file writer on top of the sandbox (moto + emulator)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from tests.fixture_types import FileWriter


@pytest.fixture
def write_file(tmp_path: Path) -> FileWriter:
    """Write ``twilio-es.yaml`` (dedented) in a temp dir; returns its path."""

    def write(text: str, name: str = "twilio-es.yaml") -> str:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
        return str(path)

    return write
