"""``query --athena``: one query on Athena, from StartQueryExecution to rows, and its cost.

The calls are Athena's documented ones: StartQueryExecution in the archive's workgroup (whose
settings fix the results location and the engine), GetQueryExecution polled with a growing
pause (0.2 s to 2 s) and shown while it runs, GetQueryResults paged 1,000 rows at a time as
the output asks for them (the first row of a SELECT's first page is its column names).
Ctrl-C (or ``--timeout``) stops the query with StopQueryExecution: Athena bills what a query
scanned, so an abandoned one should not go on scanning.

The answer is an :class:`~twilio_es_cli.analytics.engine.Result` like DuckDB's: column types
in DuckDB's words, values as Python values (Athena sends text), so the table, ``--json``,
``--csv`` and ``--chart`` are the embedded query's own.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from twilio_es_cli.aws import aws_errors, polls
from twilio_es_cli.errors import ApiError, ConfigError, TwilioEsError, UsageError
from twilio_es_cli.progress import TERMINAL, Reporter

if TYPE_CHECKING:
    from mypy_boto3_athena import AthenaClient

    from twilio_es_cli.analytics.engine import Result

PAGE = 1000  # GetQueryResults' largest page
DONE = frozenset({"SUCCEEDED", "FAILED", "CANCELLED"})
PRICE_PER_TB = 5.0  # US dollars per TB scanned (us-east-1; docs/analytics.md links the page)
MIN_BILLED = 10 * 1000 * 1000  # Athena bills at least 10 MB per query
_TYPES = {
    "varchar": "VARCHAR",
    "char": "VARCHAR",
    "string": "VARCHAR",
    "tinyint": "TINYINT",
    "smallint": "SMALLINT",
    "integer": "INTEGER",
    "int": "INTEGER",
    "bigint": "BIGINT",
    "real": "FLOAT",
    "float": "FLOAT",
    "double": "DOUBLE",
    "decimal": "DECIMAL",
    "boolean": "BOOLEAN",
    "date": "DATE",
    "timestamp": "TIMESTAMP",
    "timestamp with time zone": "TIMESTAMP WITH TIME ZONE",
    "json": "JSON",
    "varbinary": "BLOB",
}


@dataclass
class Execution:
    """How a query went: its id, state, why (when it failed), what it scanned, how long."""

    query_id: str
    state: str = "QUEUED"
    reason: str = ""
    category: int | None = None  # Athena's ErrorCategory: 1 system, 2 user, 3 other
    scanned: int = 0  # bytes
    millis: int = 0
    statement_type: str = "DML"

    def cost(self) -> float:
        """What the scan costs at Athena's list price (10 MB minimum per query)."""
        return max(self.scanned, MIN_BILLED) / 1e12 * PRICE_PER_TB

    def line(self) -> str:
        scanned = f"{self.scanned / 1e6:,.1f} MB" if self.scanned else "0 MB"
        return (
            f"Athena query {self.query_id}: {self.state} in {self.millis / 1000:.1f} s, "
            f"{scanned} scanned (about ${self.cost():.4f} at ${PRICE_PER_TB:g} per TB)"
        )


def engine_type(athena_type: str) -> str:
    """An Athena column type in the names the results and charts know (DuckDB's)."""
    base = athena_type.lower().split("(")[0].strip()
    return _TYPES.get(base, base.upper() or "VARCHAR")


def _timestamp(text: str) -> datetime | str:
    """Athena's ``2026-01-31 10:15:00.123`` (or with a zone name after it) as a datetime."""
    head, _, _zone = text.strip().partition(" UTC")
    main, dot, fraction = head.partition(".")
    try:
        moment = datetime.fromisoformat(main)
    except ValueError:
        return text
    if dot and fraction.isdigit():
        moment = moment.replace(microsecond=int(fraction[:6].ljust(6, "0")))
    return moment


def _converter(kind: str) -> Callable[[str], Any]:
    if kind in ("TINYINT", "SMALLINT", "INTEGER", "BIGINT"):
        return int
    if kind in ("FLOAT", "DOUBLE"):
        return float
    if kind == "DECIMAL":
        return Decimal
    if kind == "BOOLEAN":
        return lambda text: text.lower() == "true"
    if kind == "DATE":
        return date.fromisoformat
    if kind.startswith("TIMESTAMP"):
        return _timestamp
    return str


def _value(convert: Callable[[str], Any], datum: dict[str, Any]) -> Any:
    if "VarCharValue" not in datum:
        return None  # Athena's NULL: a datum without a value
    text = str(datum["VarCharValue"])
    try:
        return convert(text)
    except (ValueError, InvalidOperation):
        return text


class Pages:
    """A DB-API-like cursor over GetQueryResults (``fetchmany``), one page fetched at a time."""

    def __init__(self, athena: AthenaClient, execution: Execution, kinds: list[str]) -> None:
        self.athena = athena
        self.execution = execution
        self.converters = [_converter(kind) for kind in kinds]
        self._rows: list[tuple[Any, ...]] = []
        self._token: str | None = None
        self._first = True
        self._done = False

    @classmethod
    def open(
        cls, athena: AthenaClient, execution: Execution
    ) -> tuple[Pages, list[tuple[str, str]]]:
        """The cursor and the columns (name, type), from the first page."""
        pages = cls(athena, execution, [])
        answer = pages._page()
        info = answer["ResultSet"].get("ResultSetMetadata", {}).get("ColumnInfo", [])
        columns = [(str(c.get("Label") or c["Name"]), engine_type(str(c["Type"]))) for c in info]
        pages.converters = [_converter(kind) for _, kind in columns]
        pages._take(answer)
        return pages, columns

    def _page(self) -> Any:
        kwargs: dict[str, Any] = {"QueryExecutionId": self.execution.query_id, "MaxResults": PAGE}
        if self._token:
            kwargs["NextToken"] = self._token
        with aws_errors(f"read the results of Athena query {self.execution.query_id}"):
            return self.athena.get_query_results(**kwargs)

    def _take(self, answer: Any) -> None:
        rows = answer["ResultSet"].get("Rows", [])
        if self._first and self.execution.statement_type == "DML" and rows:
            rows = rows[1:]  # a SELECT's first page begins with its column names
        self._first = False
        for row in rows:
            data = row.get("Data", [])
            self._rows.append(
                tuple(_value(c, d) for c, d in zip(self.converters, data, strict=False))
            )
        self._token = answer.get("NextToken")
        self._done = not self._token

    def fetchmany(self, size: int) -> list[tuple[Any, ...]]:
        while len(self._rows) < size and not self._done:
            self._take(self._page())
        taken, self._rows = self._rows[:size], self._rows[size:]
        return taken


class AthenaRunner:
    """One workgroup and database: start, wait (visibly), stop, results."""

    def __init__(
        self,
        athena: AthenaClient,
        *,
        workgroup: str,
        database: str,
        report: Reporter = TERMINAL,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.athena = athena
        self.workgroup = workgroup
        self.database = database
        self.report = report
        self.sleep = sleep

    def start(self, sql: str) -> str:
        with aws_errors(f"start a query in Athena workgroup {self.workgroup}"):
            answer = self.athena.start_query_execution(
                QueryString=sql,
                WorkGroup=self.workgroup,
                QueryExecutionContext={"Database": self.database},
            )
        return str(answer["QueryExecutionId"])

    def status(self, query_id: str) -> Execution:
        with aws_errors(f"read the state of Athena query {query_id}"):
            found = self.athena.get_query_execution(QueryExecutionId=query_id)["QueryExecution"]
        status: Any = found.get("Status", {})
        stats: Any = found.get("Statistics", {})
        return Execution(
            query_id=query_id,
            state=str(status.get("State", "QUEUED")),
            reason=str(status.get("StateChangeReason") or ""),
            category=(status.get("AthenaError") or {}).get("ErrorCategory"),
            scanned=int(stats.get("DataScannedInBytes") or 0),
            millis=int(stats.get("TotalExecutionTimeInMillis") or 0),
            statement_type=str(found.get("StatementType") or "DML"),
        )

    def stop(self, query_id: str) -> None:
        with aws_errors(f"stop Athena query {query_id}"):
            self.athena.stop_query_execution(QueryExecutionId=query_id)

    def wait(self, query_id: str, timeout: float) -> Execution:
        """Poll until the query is done; the state is said whenever it changes."""
        execution = Execution(query_id)
        seen = ""
        with self.report.waiting(f"Athena query {query_id} in workgroup {self.workgroup}"):
            for left in polls(timeout, self.sleep, growth=1.5, cap=2.0):
                execution = self.status(query_id)
                if execution.state != seen:
                    seen = execution.state
                    if execution.state not in DONE:
                        self.report.note(f"Athena query {query_id}: {seen}")
                if execution.state in DONE or left <= 0:
                    break
        return execution

    def run(self, sql: str, *, timeout: float) -> tuple[Result, Execution]:
        """Start ``sql``, wait, and open its results; Ctrl-C or the timeout stops it."""
        from twilio_es_cli.analytics.engine import Result

        query_id = self.start(sql)
        try:
            execution = self.wait(query_id, timeout)
        except KeyboardInterrupt:
            self._cancel(query_id, "interrupted")
            raise
        if execution.state not in DONE:
            self._cancel(query_id, f"still {execution.state} after {timeout:g} s")
            raise ApiError(
                f"Athena query {query_id} did not finish within {timeout:g} s (stopped)",
                hint="Give it longer with --timeout, or narrow it (a date range reads less).",
            )
        self.report.note(execution.line())
        if execution.state != "SUCCEEDED":
            raise failure(execution)
        pages, columns = Pages.open(self.athena, execution)
        return Result(columns, pages), execution

    def _cancel(self, query_id: str, why: str) -> None:
        try:
            self.stop(query_id)
        except TwilioEsError as exc:
            self.report.warn(f"could not stop Athena query {query_id}: {exc.message}")
            return
        self.report.warn(f"{why}: stopped Athena query {query_id} (StopQueryExecution)")


def failure(execution: Execution) -> TwilioEsError:
    """The error for a query that failed: the SQL's fault (exit 2), permissions (exit 3),
    or Athena's (exit 1); Athena's reason in one line."""
    reason = " ".join(execution.reason.split())[:300] or "no reason given"
    message = f"Athena query {execution.query_id} {execution.state.lower()}: {reason}"
    lowered = reason.lower()
    if "access denied" in lowered or "accessdenied" in lowered or "not authorized" in lowered:
        return ConfigError(message, hint="Check your credentials' Athena, Glue and S3 permissions.")
    if execution.state == "CANCELLED":
        return ApiError(message, hint="Someone stopped it (or the workgroup's scan limit did).")
    if execution.category == 2 or any(
        word in reason
        for word in (
            "SYNTAX_ERROR",
            "COLUMN_NOT_FOUND",
            "TABLE_NOT_FOUND",
            "FUNCTION_NOT_FOUND",
            "TYPE_MISMATCH",
            "line ",
        )
    ):
        return UsageError(message, hint="See docs/analytics.md for the views and their columns.")
    return ApiError(message)
