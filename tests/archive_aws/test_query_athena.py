"""``query --athena``: the calls (start, poll, page, stop) on ministack's Athena, the options,
and what is said when a query fails, is interrupted or takes too long.

ministack finishes every query at once and runs it with DuckDB (``--athena-dialect duckdb``);
a query still RUNNING, and Athena's error categories, are AWS's answers given by botocore
``before-send`` hooks.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import sqlglot

from tests.archive_aws.conftest import write
from tests.conftest import aws_response, boto_client
from tests.fixture_types import CliRunner
from twilio_es_cli.analytics.athena import Execution, engine_type, failure
from twilio_es_cli.errors import ApiError, ConfigError, UsageError


def test_show_sql_needs_no_aws_and_speaks_trino(
    cli: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = cli("query", "--athena", "--show-sql", "delivery-status", "--since", "2d")
    assert result.exit_code == 0, result.stderr
    tree = sqlglot.parse_one(result.stdout, read="trino")
    assert '"twilio_events"."archive"' in result.stdout  # the block's defaults
    assert "MIN_BY(" in result.stdout and tree is not None
    write(
        tmp_path / "twilio-es.yaml",
        """
        version: 1
        archive: {stream: s, bucket: some-lake, database: lake, table: events_raw}
        sinks: {x: {type: segment, write_key: "${env:NOT_EXPORTED}"}}
        """,
    )
    named = cli("query", "--athena", "--show-sql", "SELECT count(*) FROM events")
    assert named.exit_code == 0, named.stderr  # an unrelated unset secret does not matter
    assert '"lake"."events_raw"' in named.stdout
    overridden = cli("query", "--athena", "--show-sql", "--table", "t2", "SELECT 1")
    assert '"lake"."t2"' in overridden.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--workgroup", "w", "SELECT 1"], "go with --athena"),
        (["--athena-dialect", "duckdb", "SELECT 1"], "go with --athena"),
        (["--athena", "--dir", "elsewhere", "SELECT 1"], "--dir is the embedded archive's"),
        (["--athena", "--athena-dialect", "mysql", "SELECT 1"], "trino or duckdb"),
        (["--athena", "--timeout", "0", "SELECT 1"], "--timeout must be a positive"),
        (["--athena", "--show-sql", "SELECT * FROM not_cloudevents"], "not available on Athena"),
    ],
)
def test_bad_options_are_usage_errors(
    cli: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], message: str
) -> None:
    monkeypatch.chdir(tmp_path)
    result = cli("query", *args)
    assert result.exit_code == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def _workgroup(url: str) -> None:
    s3, athena = boto_client("s3", url), boto_client("athena", url)
    s3.create_bucket(Bucket="results")
    athena.create_work_group(
        Name="twilio-es",
        Configuration={"ResultConfiguration": {"OutputLocation": "s3://results/q/"}},
    )


def test_a_query_pages_through_more_rows_than_one_page(
    ministack_analytics_env: str, cli: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    _workgroup(ministack_analytics_env)
    sql = "SELECT range AS n, CAST(range AS VARCHAR) AS label FROM range(2500)"
    result = cli("query", "--athena", "--athena-dialect", "duckdb", sql, "--json")
    assert result.exit_code == 0, result.stderr
    rows = result.json()
    assert len(rows) == 2500  # three pages of GetQueryResults (1,000 rows at most each)
    assert rows[0] == {"n": 0, "label": "0"} and rows[-1] == {"n": 2499, "label": "2499"}
    assert "SUCCEEDED" in result.stderr and "scanned" in result.stderr


def test_a_failing_query_says_athenas_reason(
    ministack_analytics_env: str, cli: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    _workgroup(ministack_analytics_env)
    result = cli("query", "--athena", "--athena-dialect", "duckdb", "SELECT nope")
    # ministack sets no ErrorCategory (AWS says 2, the user's SQL: exit 2, see below).
    assert result.exit_code == 1
    assert "failed:" in result.stderr and "nope" in result.stderr
    assert "Traceback" not in result.stderr


def test_failures_are_classified_as_athena_classifies_them() -> None:
    user = failure(Execution("q", "FAILED", "line 1:8: Column 'nope' cannot be resolved", 2))
    assert isinstance(user, UsageError) and "line 1:8" in user.message
    denied = failure(Execution("q", "FAILED", "Access Denied (Service: Amazon S3)", 1))
    assert isinstance(denied, ConfigError)
    system = failure(Execution("q", "FAILED", "Internal error", 1))
    assert isinstance(system, ApiError) and not isinstance(system, UsageError)
    cancelled = failure(Execution("q", "CANCELLED", "Query cancelled: scan limit", None))
    assert isinstance(cancelled, ApiError) and "scan limit" in (cancelled.hint or "")


def test_athena_types_become_the_engine_types_results_know() -> None:
    assert engine_type("varchar") == "VARCHAR"
    assert engine_type("decimal(38,1)") == "DECIMAL"
    assert engine_type("timestamp(3)") == "TIMESTAMP"
    assert engine_type("json") == "JSON"
    assert engine_type("bigint") == "BIGINT"


class _Body:
    def __init__(self, payload: bytes) -> None:
        self.payload = payload

    def stream(self, **_: Any) -> Any:
        yield self.payload


def _still_running(request: Any, **_: Any) -> Any:
    """GetQueryExecution answered as AWS answers a query that is still running."""
    query_id = json.loads(request.body)["QueryExecutionId"]
    body = {"QueryExecution": {"QueryExecutionId": query_id, "Status": {"State": "RUNNING"}}}
    headers = {"Content-Type": "application/x-amz-json-1.1"}
    return aws_response(request.url, 200, headers, _Body(json.dumps(body).encode()))


def _runner(stops: list[str], sleep: Any) -> Any:
    from twilio_es_cli.analytics.athena import AthenaRunner
    from twilio_es_cli.aws import AwsClients
    from twilio_es_cli.config import resolve_settings
    from twilio_es_cli.progress import Collect

    athena = AwsClients(resolve_settings()).athena()
    athena.meta.events.register("before-send.athena.GetQueryExecution", _still_running)
    athena.meta.events.register(
        "before-send.athena.StopQueryExecution",
        lambda request, **_: stops.append(json.loads(request.body)["QueryExecutionId"]),
    )
    return AthenaRunner(
        athena, workgroup="twilio-es", database="default", report=Collect(), sleep=sleep
    )


def test_ctrl_c_stops_the_query(ministack_analytics_env: str) -> None:
    _workgroup(ministack_analytics_env)
    stops: list[str] = []

    def interrupt(_: float) -> None:
        raise KeyboardInterrupt

    runner = _runner(stops, interrupt)
    with pytest.raises(KeyboardInterrupt):
        runner.run("SELECT 1", timeout=60)
    assert len(stops) == 1  # StopQueryExecution sent (and answered) for that query
    assert any("interrupted: stopped Athena query" in w for w in runner.report.warnings)


def test_a_query_past_its_timeout_is_stopped(ministack_analytics_env: str) -> None:
    _workgroup(ministack_analytics_env)
    stops: list[str] = []
    runner = _runner(stops, lambda _: None)
    with pytest.raises(ApiError, match=r"did not finish within 0\.5 s"):
        runner.run("SELECT 1", timeout=0.5)
    assert len(stops) == 1
    assert any(line == f"note: Athena query {stops[0]}: RUNNING" for line in runner.report.lines)


def test_show_sql_of_a_named_query_reads_only_its_window(
    cli: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import re

    monkeypatch.chdir(tmp_path)
    result = cli("query", "--athena", "--show-sql", "failures-by-error", "--since", "3d")
    assert result.exit_code == 0, result.stderr
    days = re.findall(r"\"date\" >= CAST\('(\d{4}-\d{2}-\d{2})' AS DATE\)", result.stdout)
    assert len(days) == 2 and days[0] == days[1]  # the archive CTE's bound is the query's own
    assert result.stdout.index(days[0]) < result.stdout.index("messages AS (")
