"""The engine's module: DuckDB's compiled extension when it offers what the engine uses, the
``duckdb`` package otherwise (engine.require_duckdb). The extension is a private name, so
these tests say clearly when a DuckDB release moves it, and prove the fallback answers the
same."""

from __future__ import annotations

import importlib
import subprocess
import sys
import types
from pathlib import Path

import pytest

from twilio_es_cli.analytics import engine


def test_the_locked_duckdb_offers_its_extension_with_every_name_the_engine_uses() -> None:
    try:
        extension = importlib.import_module("_duckdb")
    except ImportError:  # pragma: no cover - fails the test with its reason
        pytest.fail(
            "DuckDB no longer ships its extension as `_duckdb`: query falls back to the "
            "`duckdb` package (40-70 ms slower); update engine.require_duckdb"
        )
    missing = [name for name in engine.ENGINE_NAMES if not hasattr(extension, name)]
    assert not missing, f"DuckDB's `_duckdb` lacks {missing}: update engine.ENGINE_NAMES"
    package = importlib.import_module("duckdb")
    for name in engine.ENGINE_NAMES:  # the package re-exports these very objects
        assert getattr(package, name) is getattr(extension, name), name
    assert engine.require_duckdb() is extension


def test_an_extension_without_a_name_falls_back_to_the_package(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    package = importlib.import_module("duckdb")  # imported before the extension is replaced
    monkeypatch.setitem(sys.modules, "_duckdb", types.ModuleType("_duckdb"))
    assert engine.require_duckdb() is package
    con = engine.connect()
    assert con.execute("SELECT current_setting('TimeZone')").fetchall() == [("UTC",)]


def test_a_query_does_not_import_the_package(tmp_path: Path) -> None:
    """What the extension saves: ``duckdb``'s Python layer is never imported by a query."""
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from twilio_es_cli.analytics.engine import open_archive, run\n"
        f"con = open_archive(Path({str(tmp_path)!r}))\n"
        "print(run(con, 'SELECT count(*) FROM events').cursor.fetchall())\n"
        "print('duckdb' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.splitlines() == ["[(0,)]", "False"]
