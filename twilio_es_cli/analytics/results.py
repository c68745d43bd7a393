"""A query's result on stdout: a table fitted to the terminal, a JSON array, CSV, or a chart.

- table (people): the project's one table renderer (:func:`twilio_es_cli.output.print_table`),
  SIDs and ids never cut; at most MAX_TABLE_ROWS rows, with a line saying how many more;
- ``--json``: one JSON array of objects keyed by column name, written as rows arrive (a large
  result never sits in memory whole); JSON columns (``data``) as JSON values, times in ISO
  8601, BLOBs in base64;
- ``--csv``: a header and one line per row (RFC 4180 quoting);
- ``--chart``: :mod:`.chart`; when the result has no chartable shape, the table and one line
  saying why.

Text from events never drives the terminal: every cell of the table and chart is shown with
control characters escaped (:func:`~twilio_es_cli.render_events.visible`); JSON escapes them
itself; CSV is escaped the same way when stdout is a terminal.
"""

from __future__ import annotations

import base64
import json
import math
import sys
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, TextIO
from uuid import UUID

from twilio_es_cli.analytics.engine import Result
from twilio_es_cli.output import finite

MAX_TABLE_ROWS = 1000
_IDENTIFIERS = ("id", "sid", "type", "event_id", "sender", "recipient", "shard_id")


def table(result: Result) -> None:
    """The rows as a table on stdout (at most MAX_TABLE_ROWS; a line says what was left)."""
    from twilio_es_cli import output

    rows = result.cursor.fetchmany(MAX_TABLE_ROWS + 1)
    more = len(rows) > MAX_TABLE_ROWS
    show_rows(result.columns, rows[:MAX_TABLE_ROWS])
    if more:
        output.info(
            f"Showing the first {MAX_TABLE_ROWS} rows; --json or --csv writes them all "
            "(or add LIMIT / an aggregate to the SQL)."
        )


def show_rows(columns: Sequence[tuple[str, str]], rows: Sequence[Sequence[Any]]) -> None:
    from twilio_es_cli import output

    specs = [
        output.Column(name, identifier=name in _IDENTIFIERS or name.endswith("_sid"))
        for name, _ in columns
    ]
    if not rows:
        output.info("No rows.")
        return
    output.print_table(specs, [[_cell(v) for v in row] for row in rows])


def _cell(value: Any) -> str:
    from twilio_es_cli.safe_text import visible

    if value is None:
        return "NULL"
    if isinstance(value, datetime):
        text = value.isoformat(sep=" ", timespec="microseconds")
        return text.replace(".000000", "")
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return visible(bytes(value).decode("utf-8", "backslashreplace"))
    if isinstance(value, dict | list):
        return visible(json.dumps(value, ensure_ascii=False, default=str))
    return visible(str(value))


def _row_objects(result: Result) -> Iterator[dict[str, Any]]:
    """Each row as an object keyed by column name (a JSON column's text as its JSON value)."""
    names = [name for name, _ in result.columns]
    parsers = [_json_column(kind) for _, kind in result.columns]
    for rows in result.batches():
        for row in rows:
            yield {
                name: parse(value) for name, parse, value in zip(names, parsers, row, strict=True)
            }


def json_rows(result: Result) -> list[dict[str, Any]]:
    """Every row at once, for ``--jq`` (a filter needs the whole document)."""
    return [json.loads(_dumps(doc)) for doc in _row_objects(result)]


def _dumps(value: Any) -> str:
    """``value`` as JSON, infinities and NaN as null (see :func:`~twilio_es_cli.output.finite`;
    the table and CSV show them as ``inf`` and ``nan``)."""
    try:
        return json.dumps(value, default=_json_value, allow_nan=False)
    except ValueError:  # one somewhere, maybe inside a list or struct: rare, so done again
        return json.dumps(finite(value), default=_finite_value)


def write_json(result: Result, out: TextIO) -> int:
    """A JSON array of row objects, streamed; returns the number of rows."""
    out.write("[")
    count = 0
    for doc in _row_objects(result):
        out.write(("\n  " if count == 0 else ",\n  ") + _dumps(doc))
        count += 1
    out.write("\n]\n" if count else "]\n")
    out.flush()
    return count


def _json_column(kind: str) -> Any:
    """How a column's values go into JSON: a JSON column's text as its JSON value."""
    if kind.upper() == "JSON":
        return _parse_json
    return _identity


def _identity(value: Any) -> Any:
    return value


def _parse_json(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def _finite_value(value: Any) -> Any:
    """:func:`_json_value`, with what it returns made finite too (a set of floats)."""
    return finite(_json_value(value))


def _json_value(value: Any) -> Any:
    """Values json.dumps does not know (``default=``)."""
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value) if value.is_finite() else str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, UUID | set | frozenset):
        return str(value) if isinstance(value, UUID) else list(value)
    return str(value)


def write_csv(result: Result, out: TextIO) -> int:
    """A header and the rows as CSV; returns the number of rows."""
    import csv

    from twilio_es_cli.safe_text import visible

    tty = out.isatty() if hasattr(out, "isatty") else False
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([name for name, _ in result.columns])
    count = 0
    for rows in result.batches():
        for row in rows:
            cells = [_csv_value(v) for v in row]
            writer.writerow([visible(c) for c in cells] if tty else cells)
            count += 1
    out.flush()
    return count


def _csv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, dict | list):
        return json.dumps(finite(value), ensure_ascii=False, default=_finite_value)
    return str(value)


def chart(result: Result, width: int | None = None) -> bool:
    """Draw the result as a chart on stdout; False (after showing the table and saying why)
    when its shape does not chart."""
    from twilio_es_cli import output
    from twilio_es_cli.analytics.chart import NoChart, draw

    rows = result.cursor.fetchmany(MAX_TABLE_ROWS * 10 + 1)
    if len(rows) > MAX_TABLE_ROWS * 10:
        output.warn(f"more than {MAX_TABLE_ROWS * 10} rows: charting the first ones only")
        rows = rows[: MAX_TABLE_ROWS * 10]
    try:
        text = draw(result.columns, rows, width or _width())
    except NoChart as exc:
        show_rows(result.columns, rows[:MAX_TABLE_ROWS])
        output.warn(f"no chart: {exc}")
        return False
    sys.stdout.write(text + "\n")
    sys.stdout.flush()
    return True


def _width() -> int:
    import os
    import shutil

    if os.environ.get("COLUMNS", "").isdigit():
        return max(40, int(os.environ["COLUMNS"]))
    return max(40, shutil.get_terminal_size((100, 24)).columns)


def rows_of(batches: Iterable[Sequence[Sequence[Any]]]) -> Iterator[Sequence[Any]]:
    for batch in batches:
        yield from batch
