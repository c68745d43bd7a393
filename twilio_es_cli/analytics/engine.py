"""DuckDB, the embedded engine: imported only here, with the views over one archive directory.

Why DuckDB: it reads Parquet in a Hive layout natively (folders become columns, a filter on
them skips files), runs SQL on all cores in-process with no server, and its Python wheel has
no dependencies of its own; the same wheel writes the archive's Parquet files (see
:mod:`.writer` and bench/README.md for the measurement behind that choice).

A missing engine is a configuration problem of this installation (exit 3), said in one line
with the install command. A failing query is the user's SQL (exit 2): the engine's own message,
first line only, never a traceback.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from twilio_es_cli.analytics import layout
from twilio_es_cli.analytics.views import (
    ARCHIVE,
    FAMILY_BY_VIEW,
    FAMILY_COLUMNS,
    RAW,
    VIEWS,
    family_view,
)
from twilio_es_cli.errors import ConfigError, NotFoundError, UsageError

if TYPE_CHECKING:
    import duckdb

INSTALL_HINT = "pip install 'twilio-es[analytics]'  (DuckDB and sqlglot)"
MAX_MESSAGE = 300


# What this module asks of the engine's module: all of it in DuckDB's C++ extension.
ENGINE_NAMES = ("connect", "DuckDBPyConnection", "Error", "CatalogException")


def require_duckdb() -> Any:
    """The engine's module, or exit 3 with the one line that installs it.

    That is DuckDB's compiled extension ``_duckdb`` when it has every name this module uses
    (:data:`ENGINE_NAMES`), else the ``duckdb`` package. The package is a pure-Python layer
    over that extension (it says so: "re-exports the DuckDB C++ extension"): the same
    connection and exception classes, plus a relation and expression API this tool does not
    use, whose import is 40-70 ms of a one-line query's ~0.35 s (bench/README.md). The
    extension is a private name, hence the fallback, and tests/analytics/test_engine.py
    fails, naming the missing name, when the locked DuckDB no longer offers it.
    """
    with contextlib.suppress(ImportError):
        import _duckdb

        if all(hasattr(_duckdb, name) for name in ENGINE_NAMES):
            return _duckdb
    try:
        import duckdb
    except ImportError:
        raise ConfigError(
            "archive and query need DuckDB, which is not installed",
            hint=f"Install the analytics extra: {INSTALL_HINT}",
        ) from None
    return duckdb


def connect(*, threads: int | None = None) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection that works in UTC (the archive's days are UTC days)."""
    module = require_duckdb()
    con: duckdb.DuckDBPyConnection = module.connect(":memory:")
    con.execute("SET TimeZone = 'UTC'")
    # Its bar is drawn on stdout after 2 s of work: it would land in --json and --csv output.
    con.execute("SET enable_progress_bar = false")
    if threads is not None:
        con.execute(f"SET threads = {int(threads)}")
    return con


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


Columns = tuple[tuple[str, str], ...]


def _empty(columns: Columns) -> str:
    """A relation with these columns and no rows (an archive with no files yet)."""
    cols = ", ".join(f"CAST(NULL AS {kind}) AS {_name(name)}" for name, kind in columns)
    return f"SELECT {cols} WHERE false"


def _name(column: str) -> str:
    return f'"{column}"' if column in ("date", "time", "type") else column


def _files(root: Path, pattern: str, columns: Columns) -> str:
    """The base relation over the files matching ``pattern``: every column of ``columns``,
    typed, NULL where a file lacks it (files of one family hold only its family's columns;
    files of older versions fewer), the folders as typed columns."""
    empty = _empty(columns)
    if not layout.has_files(root, pattern):
        return empty
    glob = _literal(str(root / pattern))
    hive = ", ".join(f"'{name}': {kind}" for name, kind in columns if name in ("type", "date"))
    names = ", ".join(_name(name) for name, _ in columns)
    return (
        f"SELECT {names} FROM (SELECT * FROM read_parquet({glob}, hive_partitioning = true, "
        f"hive_types = {{{hive}}}, union_by_name = true) UNION ALL BY NAME {empty})"
    )


def open_archive(
    root: Path, *, must_exist: bool = True, sql: str | None = None
) -> duckdb.DuckDBPyConnection:
    """A connection with the views over the archive in ``root``: every view, or with ``sql``
    only those whose names it mentions, and the base relations they read (see
    :func:`create_views`)."""
    if must_exist and not root.is_dir():
        raise NotFoundError(
            f"no archive at {root}",
            hint="Fill one with `twilio-es archive STREAM --dir "
            f"{root}` (or point --dir at an existing one).",
        )
    con = connect()
    # Each binding of a relation reads its files' footers, and a view binds its relation
    # once per mention (three in each view) and again for the query: cached, they are read
    # once (files are never changed once renamed into place). Half the views' start-up over
    # 1M events (bench/README.md).
    con.execute("SET parquet_metadata_cache = true")
    create_views(con, root, sql)
    return con


def create_views(con: duckdb.DuckDBPyConnection, root: Path, sql: str | None = None) -> None:
    """Every view (``sql`` None) or those ``sql`` mentions, each with what it reads.

    Start-up is most of a small query's time, so only what is needed is bound: binding a
    relation reads the footer of each of its files (``union_by_name``) and each view costs
    ~10 ms. A family's view reads a relation of its family's files only (their folders are
    named by type): over 1M events, ``messages`` then binds without the whole archive's
    ~110 files and ~60 columns (bench/README.md). ``archive`` and ``raw_records`` are made
    when ``sql`` names them or a view reads them.
    """

    def wanted(name: str) -> bool:
        return sql is None or _mentions(sql, name)

    views = [view for view in VIEWS if wanted(view.name)]
    base = tuple((name, kind) for name, kind, _ in ARCHIVE)
    if wanted("archive") or any(view.name not in FAMILY_BY_VIEW for view in views):
        relation = _files(root, layout.EVENT_FILES, base + FAMILY_COLUMNS)
        con.execute(f"CREATE VIEW IF NOT EXISTS archive AS {relation}")
    if wanted("raw_records") or any(view.name == "not_cloudevents" for view in views):
        raw = tuple((name, kind) for name, kind, _ in RAW)
        relation = _files(root, layout.RAW_FILES, raw)
        con.execute(f"CREATE VIEW IF NOT EXISTS raw_records AS {relation}")
    for view in views:
        family = FAMILY_BY_VIEW.get(view.name)
        if family is not None:
            source = f"archive_{family.view}"
            columns = base + tuple((f.column, f.kind) for f in family.fields)
            relation = _files(root, layout.family_files(family.types), columns)
            con.execute(f"CREATE VIEW IF NOT EXISTS {source} AS {relation}")
            view = family_view(family, source)
        con.execute(f"CREATE VIEW IF NOT EXISTS {view.name} AS {view.sql}")


def _mentions(sql: str, name: str) -> bool:
    """Whether ``sql`` may read the view ``name``: that word, except as an alias (``count(*)
    AS events`` names a column, and binding ``events`` and the whole archive for it cost
    ~45 ms over 1M events). A wrong guess is safe: a view it missed is created when the
    engine asks for it (see :func:`run`)."""
    import re

    for found in re.finditer(rf"(?<![\w$]){re.escape(name)}(?![\w$])", sql, re.IGNORECASE):
        if not re.search(r"(?<![\w$])AS\s*[\"`]?\Z", sql[: found.start()], re.IGNORECASE):
            return True
    return False


@dataclass
class Result:
    """A query's columns (name, engine type) and a cursor to fetch its rows from."""

    columns: list[tuple[str, str]]
    cursor: Any

    def batches(self, size: int = 2048) -> Iterator[list[tuple[Any, ...]]]:
        while True:
            rows = self.cursor.fetchmany(size)
            if not rows:
                return
            yield rows


def run(con: duckdb.DuckDBPyConnection, sql: str, root: Path | None = None) -> Result:
    """Run ``sql``; an error of the query is a one-line :class:`UsageError` (exit 2).
    ``root``: the archive ``con`` was opened on with only the views ``sql`` names."""
    duckdb = require_duckdb()
    if not sql.strip():
        raise UsageError("the SQL is empty", hint='Example: twilio-es query "SELECT 1"')
    try:
        cursor = con.execute(sql)
    except duckdb.CatalogException as exc:
        # A name the views were not created for (open_archive(sql=...) guessed from the
        # text): create them all and ask again, so the engine's "Did you mean" knows them.
        if root is None:
            raise UsageError(f"query failed: {first_line(exc)}", hint=_hint(exc)) from None
        create_views(con, root)
        try:
            cursor = con.execute(sql)
        except duckdb.Error as exc:
            raise UsageError(f"query failed: {first_line(exc)}", hint=_hint(exc)) from None
    except duckdb.Error as exc:
        raise UsageError(f"query failed: {first_line(exc)}", hint=_hint(exc)) from None
    description = cursor.description or []
    columns = [(str(d[0]), str(d[1])) for d in description]
    return Result(columns, cursor)


def first_line(exc: BaseException) -> str:
    """The engine's message, its first line, bounded (DuckDB adds the query and a caret)."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    text = lines[0] if lines else type(exc).__name__
    return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 1] + "…"


def _hint(exc: BaseException) -> str:
    text = str(exc)
    for line in text.splitlines():
        if line.strip().startswith("Did you mean"):
            return line.strip()
    if "does not exist" in text and ("Table" in text or "table" in text):
        names = ", ".join(view.name for view in VIEWS if view.name != "not_cloudevents")
        return f"The views are {names} (see `twilio-es query --list`)."
    return "See docs/analytics.md for the views and their columns."
