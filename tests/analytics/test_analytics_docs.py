"""docs/analytics.md shows the SQL the views really run (generated, checked here)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from twilio_es_cli.analytics.named import NAMED
from twilio_es_cli.analytics.views import VIEWS

ROOT = Path(__file__).resolve().parents[2]


def test_views_sql_in_docs_is_current() -> None:
    spec = importlib.util.spec_from_file_location(
        "gen_analytics", ROOT / "docs" / "gen_analytics.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    page = (ROOT / "docs" / "analytics.md").read_text(encoding="utf-8")
    assert page == module.generate(page), "docs/analytics.md is stale: run docs/gen_analytics.py"
    for sql in [view.sql for view in VIEWS] + [named.sql for named in NAMED]:
        assert sql in page
