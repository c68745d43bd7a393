"""`twilio-es query`: SQL (or a named query) over an archive written by `twilio-es archive`."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from twilio_es_cli.cli._common import JsonOption
from twilio_es_cli.errors import NotFoundError, UsageError

if TYPE_CHECKING:
    from twilio_es_cli.analytics.engine import Result

DEFAULT_DIR = Path("twilio-events")  # analytics.layout.DEFAULT_DIR (not imported for --help)
_NAME = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)+")


def query(
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
    as_csv: Annotated[bool, typer.Option("--csv", help="Write the rows as CSV.")] = False,
    chart: Annotated[
        bool,
        typer.Option(
            "--chart",
            help="Draw the result: bars for (label, number), a time series for (time, "
            "number...) or (time, label, number); says so when the result has neither shape.",
        ),
    ] = False,
) -> None:
    """Ask the archive a question in SQL, or by a named query.

    Views: events (every CloudEvent once, typed, with Kinesis metadata and data as JSON),
    messages, inbound_messages, calls, call_summaries, taskrouter, error_logs and
    not_cloudevents; `--list` shows them and the named queries, docs/analytics.md their
    columns and SQL. Runs on DuckDB, in this process (pip install 'twilio-es[analytics]').

    Exit status: 0 with the answer; 2 when the SQL fails (the engine's message in one line);
    3 when DuckDB is not installed; 4 when there is no archive in --dir.

    \b
    Examples:
      twilio-es query delivery-status --chart
      twilio-es query delivery-status-per-hour --since 2d --chart
      twilio-es query "SELECT type, count(*) AS events FROM events GROUP BY type"
      twilio-es query "SELECT sender, count(*) AS failed FROM messages
        WHERE error_code = 30007 AND date = current_date - 1 GROUP BY sender" --csv
    """
    from twilio_es_cli.analytics import engine

    _check_flags(sql, since, list_queries, as_json, as_csv, chart)
    if list_queries:
        _list(as_json)
        return
    assert sql is not None
    text, label = _resolve(sql, since)
    con = engine.open_archive(directory, sql=text)
    started = time.monotonic()
    result = engine.run(con, text)
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

    if as_json:
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
