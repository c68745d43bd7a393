"""`twilio-es query`: SQL (or a named query) over an archive written by `twilio-es archive`."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from twilio_es_cli.cli._common import JqOption, JsonOption
from twilio_es_cli.errors import NotFoundError, UsageError

if TYPE_CHECKING:
    from twilio_es_cli.analytics.engine import Result

DEFAULT_DIR = Path("twilio-events")  # analytics.layout.DEFAULT_DIR (not imported for --help)
_NAME = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)+")


def query(
    ctx: typer.Context,
    sql: Annotated[
        str | None,
        typer.Argument(
            metavar="QUERY",
            help="SQL over the views, or the name of a named query (see --list).",
            show_default=False,
        ),
    ] = None,
    directory: Annotated[
        Path,
        typer.Option("--dir", metavar="DIR", help="The archive to query."),
    ] = DEFAULT_DIR,
    since: Annotated[
        str | None,
        typer.Option(
            "--since",
            metavar="DURATION",
            help="With a named query: its window, e.g. 1h, 1d, 7d (each has a default).",
            show_default=False,
        ),
    ] = None,
    list_queries: Annotated[
        bool, typer.Option("--list", help="List the named queries and the views.")
    ] = False,
    as_json: JsonOption = False,
    jq: JqOption = None,
    as_csv: Annotated[bool, typer.Option("--csv", help="Write the rows as CSV.")] = False,
    chart: Annotated[
        bool,
        typer.Option(
            "--chart",
            help="Draw the result: bars for (label, number), a time series for (time, "
            "number...) or (time, label, number); says so when the result has neither shape.",
        ),
    ] = False,
    athena: Annotated[
        bool,
        typer.Option(
            "--athena",
            help="Run on Athena over the archive of twilio-es.yaml's archive: block "
            "(Firehose's Parquet files in S3) instead of --dir.",
        ),
    ] = False,
    file: Annotated[
        str | None,
        typer.Option(
            "--file",
            "-f",
            metavar="FILE",
            help="With --athena: the file whose archive: block names the workgroup, "
            "database and table (default: twilio-es.yaml if it exists).",
            show_default=False,
        ),
    ] = None,
    workgroup: Annotated[
        str | None,
        typer.Option(
            "--workgroup", metavar="NAME", help="With --athena: the workgroup.", show_default=False
        ),
    ] = None,
    database: Annotated[
        str | None,
        typer.Option(
            "--database",
            metavar="NAME",
            help="With --athena: the Glue database.",
            show_default=False,
        ),
    ] = None,
    table: Annotated[
        str | None,
        typer.Option(
            "--table", metavar="NAME", help="With --athena: the Glue table.", show_default=False
        ),
    ] = None,
    athena_dialect: Annotated[
        str,
        typer.Option(
            "--athena-dialect",
            metavar="trino|duckdb",
            help="With --athena: the SQL the endpoint runs: trino (AWS Athena, engine 3), or "
            "duckdb (ministack, an emulator that answers Athena's API with DuckDB).",
        ),
    ] = "trino",
    timeout: Annotated[
        float,
        typer.Option(
            "--timeout", metavar="SECONDS", help="With --athena: stop the query after this long."
        ),
    ] = 300.0,
    show_sql: Annotated[
        bool,
        typer.Option(
            "--show-sql", help="With --athena: print the SQL it would send, and send nothing."
        ),
    ] = False,
) -> None:
    """Ask the archive a question in SQL, or by a named query.

    Views: events (every CloudEvent once, typed, with Kinesis metadata and data as JSON),
    messages, inbound_messages, calls, call_summaries, taskrouter, error_logs and
    not_cloudevents; `--list` shows them and the named queries, docs/analytics.md their
    columns and SQL. Runs on DuckDB, in this process (pip install 'twilio-es[analytics]').

    With --athena the same views and named queries run on Athena, over the Glue table
    `apply` made for the archive: block (its workgroup, database and table), translated to
    Athena's SQL (Trino) with sqlglot; your own SQL is then Athena's SQL. It waits for the
    answer (Ctrl-C or --timeout stops the query) and says what the query scanned and cost.

    Exit status: 0 with the answer; 2 when the SQL fails (the engine's message in one line);
    3 when DuckDB is not installed (or Athena refused the credentials); 4 when there is no
    archive in --dir; 130 after Ctrl-C.

    \b
    Examples:
      twilio-es query delivery-status --chart
      twilio-es query delivery-status-per-hour --since 2d --chart
      twilio-es query "SELECT type, count(*) AS events FROM events GROUP BY type"
      twilio-es query "SELECT sender, count(*) AS failed FROM messages
        WHERE error_code = 30007 AND date = current_date - 1 GROUP BY sender" --csv
      twilio-es query --athena delivery-status --since 7d --chart
    """
    from twilio_es_cli.analytics import engine

    _check_flags(sql, since, list_queries, as_json, as_csv, chart)
    if list_queries:
        _list(as_json)
        return
    assert sql is not None
    _check_athena(
        athena, directory, athena_dialect, timeout, workgroup, database, table, file, show_sql
    )
    text, label = _resolve(sql, since)
    if athena:
        window = _window(text, label)
        options = _AthenaOptions(file, workgroup, database, table, athena_dialect, timeout, window)
        _run_athena(
            ctx, text, label, options, show_sql, as_json=as_json, as_csv=as_csv, chart=chart
        )
        return
    con = engine.open_archive(directory, sql=text)
    started = time.monotonic()
    result = engine.run(con, text, directory)
    _show(result, label, started, as_json=as_json, as_csv=as_csv, chart=chart)


def _check_flags(sql: str | None, since: str | None, list_queries: bool, *formats: bool) -> None:
    if sum(formats) > 1:
        raise UsageError("choose one of --json, --csv and --chart")
    if list_queries:
        if sql is not None or since is not None:
            raise UsageError("--list takes no SQL, NAME or --since")
        if formats[1] or formats[2]:
            raise UsageError("--list shows a table or, with --json, JSON")
        return
    if sql is None:
        raise UsageError(
            "give SQL or the name of a named query",
            hint='Examples: twilio-es query delivery-status, twilio-es query "SELECT count(*) '
            'FROM events"; twilio-es query --list shows the named queries and views.',
        )


@dataclass(frozen=True)
class _AthenaOptions:
    file: str | None
    workgroup: str | None
    database: str | None
    table: str | None
    dialect: str
    timeout: float
    since_day: date | None = None  # a named query's first day: what Athena needs to read


def _window(text: str, label: str) -> date | None:
    """The first UTC day of a named query's window, as its rendered SQL says it (None for
    the user's own SQL)."""
    found = re.search(r"\"date\" >= DATE '(\d{4}-\d{2}-\d{2})'", text) if label != "query" else None
    return date.fromisoformat(found.group(1)) if found else None


def _check_athena(
    athena: bool, directory: Path, dialect: str, timeout: float, *rest: object
) -> None:
    """Athena's options go with --athena, and --dir does not."""
    given = [value for value in rest if value not in (None, False)]
    if not athena:
        if given or dialect != "trino":
            raise UsageError(
                "--file, --workgroup, --database, --table, --athena-dialect and --show-sql "
                "go with --athena"
            )
        return
    if directory != DEFAULT_DIR:
        raise UsageError(
            "--dir is the embedded archive's; --athena reads the Glue table",
            hint="Drop --dir, or drop --athena to query the files in --dir.",
        )
    if dialect not in ("trino", "duckdb"):
        raise UsageError(f"--athena-dialect must be trino or duckdb, not {dialect!r}")
    if not (0 < timeout < float("inf")):
        raise UsageError("--timeout must be a positive number of seconds")


def _run_athena(
    ctx: typer.Context,
    text: str,
    label: str,
    options: _AthenaOptions,
    show_sql: bool,
    **formats: bool,
) -> None:
    """The query on Athena: the views as a WITH clause, run in the archive's workgroup."""
    from twilio_es_cli import output
    from twilio_es_cli.analytics.athena import AthenaRunner
    from twilio_es_cli.analytics.athena_sql import athena_query
    from twilio_es_cli.cli._common import clients
    from twilio_es_cli.infra.archive.target import resolve

    target = resolve(
        options.file, workgroup=options.workgroup, database=options.database, table=options.table
    )
    sql = athena_query(
        text,
        database=target.database,
        table=target.table,
        dialect=options.dialect,
        named=label != "query",
        since_day=options.since_day,
    )
    if show_sql:
        typer.echo(sql)
        return
    output.info(
        f"Athena: workgroup {target.workgroup}, table {target.database}.{target.table} "
        f"(from {target.source})"
    )
    runner = AthenaRunner(
        clients(ctx).aws().athena(), workgroup=target.workgroup, database=target.database
    )
    started = time.monotonic()
    result, _ = runner.run(sql, timeout=options.timeout)
    _show(result, label, started, **formats)


def _resolve(sql: str, since: str | None) -> tuple[str, str]:
    """(the SQL to run, what to call it in messages): a named query's SQL with its window,
    or the user's SQL as it is."""
    from twilio_es_cli.analytics.named import BY_NAME

    word = sql.strip()
    named = BY_NAME.get(word)
    if named is None:
        if _NAME.fullmatch(word):
            raise _unknown_name(word, list(BY_NAME))
        if since is not None:
            raise UsageError(
                "--since applies to named queries",
                hint="In your own SQL, filter on time: WHERE time >= now() - INTERVAL 1 DAY.",
            )
        return sql, "query"
    from datetime import datetime, timezone

    from twilio_es_cli.tail.positions import parse_duration

    window = parse_duration(since or named.since)
    try:
        moment = datetime.now(timezone.utc) - window
    except OverflowError:
        raise UsageError(f"--since {since} reaches back before year 1") from None
    return named.render(moment), named.name


def _unknown_name(word: str, names: list[str]) -> NotFoundError:
    import difflib

    close = difflib.get_close_matches(word, names, n=2)
    maybe = f"Did you mean {' or '.join(close)}? " if close else ""
    return NotFoundError(
        f"no named query {word!r}",
        hint=f"{maybe}`twilio-es query --list` shows them; SQL works too.",
    )


def _show(
    result: Result, label: str, started: float, *, as_json: bool, as_csv: bool, chart: bool
) -> None:
    import sys

    from twilio_es_cli import output
    from twilio_es_cli.analytics import results

    if as_json and output.filtering():  # --jq: the rows as one document through the filter
        rows = results.json_rows(result)
        output.print_json(rows)
        count = len(rows)
    elif as_json:
        count = results.write_json(result, sys.stdout)
    elif as_csv:
        count = results.write_csv(result, sys.stdout)
    elif chart:
        results.chart(result)
        count = -1
    else:
        results.table(result)
        count = -1
    if count >= 0:
        noun = "row" if count == 1 else "rows"
        output.info(f"{label}: {count} {noun} in {time.monotonic() - started:.2f}s")


def _list(as_json: bool) -> None:
    from twilio_es_cli import output
    from twilio_es_cli.analytics.named import NAMED
    from twilio_es_cli.analytics.views import VIEWS

    if as_json:
        output.print_json(
            {
                "queries": [
                    {
                        "name": n.name,
                        "description": n.description,
                        "since": n.since,
                        "chart": n.chart or None,
                        "sql": n.sql,
                    }
                    for n in NAMED
                ],
                "views": [
                    {
                        "name": v.name,
                        "description": v.description,
                        "columns": [name for name, _ in v.columns],
                        "source": v.source or None,
                        "sql": v.sql,
                    }
                    for v in VIEWS
                ],
            }
        )
        return
    output.print_table(
        [output.Column("named query", identifier=True), "--since", "--chart", "answers"],
        [[n.name, n.since, n.chart or "-", n.description] for n in NAMED],
    )
    output.print_table(
        [output.Column("view", identifier=True), "holds"],
        [[v.name, v.description] for v in VIEWS],
    )


def register(root: typer.Typer) -> None:
    """Attach this module's commands to the root app."""
    root.command("query")(query)
