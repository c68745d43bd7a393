"""`twilio-es query` as a user runs it: answers as table, JSON, CSV or chart; errors in one line."""

from __future__ import annotations

import csv
import io
import json
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from tests.analytics.archive_support import build, cloudevent, message_status, record
from tests.fixture_types import CliRunner, SubprocessRunner


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


@pytest.fixture
def archive(tmp_path: Path) -> Path:
    """Messages of the last three hours: 3 delivered, 2 failed (30007 twice from one
    sender), 1 undelivered (30003); one event five days old."""
    now = datetime.now(timezone.utc).replace(minute=10, second=0, microsecond=0)
    hours = [now - timedelta(hours=h) for h in (2, 1, 0)]
    docs = []
    for n, (status, error, sender, when) in enumerate(
        [
            ("delivered", None, "+15550000001", hours[0]),
            ("delivered", None, "+15550000001", hours[1]),
            ("delivered", None, "+15550000002", hours[2]),
            ("failed", 30007, "+15550000009", hours[0]),
            ("failed", 30007, "+15550000009", hours[2]),
            ("undelivered", 30003, "+15550000002", hours[2]),
            ("delivered", None, "+15550000003", now - timedelta(days=5)),
        ]
    ):
        docs.append(
            message_status(
                status,
                event_id=f"EZ{n}",
                sid=f"SM{n:032d}",
                sender=sender,
                error=error,
                time=_iso(when),
            )
        )
    root = tmp_path / "twilio-events"
    build(root, [record(doc, n) for n, doc in enumerate(docs)])
    return root


def test_named_query_as_table(cli: CliRunner, archive: Path) -> None:
    result = cli("query", "delivery-status", "--dir", str(archive))
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert any("delivered" in line and "3" in line for line in lines)
    assert any("failed" in line and "2" in line for line in lines)
    assert "+15550000003" not in result.stdout  # five days old: outside --since 1d


def test_named_query_since_widens_the_window(cli: CliRunner, archive: Path) -> None:
    result = cli("query", "delivery-status", "--since", "7d", "--dir", str(archive), "--json")
    assert result.exit_code == 0, result.stderr
    assert result.json() == [
        {"status": "delivered", "messages": 4},
        {"status": "failed", "messages": 2},
        {"status": "undelivered", "messages": 1},
    ]


def test_failures_by_sender_answers_the_30007_question(cli: CliRunner, archive: Path) -> None:
    result = cli("query", "failures-by-sender", "--dir", str(archive), "--json")
    assert result.json() == [
        {"sender": "+15550000009", "error_code": 30007, "messages": 2},
        {"sender": "+15550000002", "error_code": 30003, "messages": 1},
    ]
    sql = (
        "SELECT sender, count(DISTINCT message_sid) AS messages FROM messages "
        "WHERE error_code = 30007 AND date >= current_date - 1 GROUP BY sender"
    )
    assert cli("query", sql, "--dir", str(archive), "--json").json() == [
        {"sender": "+15550000009", "messages": 2}
    ]


def test_json_is_a_list_of_row_objects_with_typed_values(cli: CliRunner, archive: Path) -> None:
    result = cli(
        "query",
        "SELECT id, time, data, date FROM events WHERE id = 'EZ0'",
        "--dir",
        str(archive),
        "--json",
    )
    [row] = result.json()
    assert set(row) == {"id", "time", "data", "date"}
    assert row["data"]["messageStatus"] == "DELIVERED"  # a JSON column as a JSON value
    assert datetime.fromisoformat(row["time"]) and len(row["date"]) == 10
    empty = cli("query", "SELECT 1 AS x WHERE false", "--dir", str(archive), "--json")
    assert empty.json() == []


def _strict_json(text: str) -> object:
    """json.loads that refuses Infinity and NaN, as JSON parsers outside Python do."""

    def refuse(word: str) -> object:
        raise AssertionError(f"not JSON: {word}")

    return json.loads(text, parse_constant=refuse)


def test_infinity_and_nan_are_null_in_json_and_jq(cli: CliRunner, archive: Path) -> None:
    sql = (
        "SELECT 'inf'::DOUBLE AS a, 'nan'::DOUBLE AS b, ['-inf'::DOUBLE, 1.5] AS c, "
        "{'x': 'nan'::DOUBLE} AS d, 2.5::DOUBLE AS e"
    )
    want = [{"a": None, "b": None, "c": [None, 1.5], "d": {"x": None}, "e": 2.5}]
    result = cli("query", sql, "--dir", str(archive), "--json")
    assert result.exit_code == 0, result.stderr
    assert _strict_json(result.stdout) == want
    jq = cli("query", sql, "--dir", str(archive), "--jq", ".")
    assert jq.exit_code == 0, jq.stderr
    assert _strict_json(jq.stdout) == want
    csv_out = cli("query", sql, "--dir", str(archive), "--csv")
    assert csv_out.exit_code == 0, csv_out.stderr  # CSV has words for them; nested JSON not
    assert csv_out.stdout.splitlines()[1] == 'inf,nan,"[null, 1.5]","{""x"": null}",2.5'


def test_jq_filters_the_rows_as_gh_does(cli: CliRunner, archive: Path) -> None:
    """--jq sees the same list of row objects as --json; strings print raw, one per line."""
    result = cli(
        "query",
        "SELECT id, data FROM events WHERE type LIKE '%.failed' ORDER BY id",
        "--dir",
        str(archive),
        "--jq",
        '.[] | .data.messageStatus + " " + .id',
    )
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines() == ["FAILED EZ3", "FAILED EZ4"]
    bad = cli("query", "delivery-status", "--dir", str(archive), "--jq", ".[")
    assert bad.exit_code == 2 and "--jq" in bad.stderr


def test_csv(cli: CliRunner, archive: Path) -> None:
    result = cli(
        "query",
        "SELECT status, error_code FROM messages ORDER BY status, error_code",
        "--dir",
        str(archive),
        "--csv",
    )
    rows = list(csv.reader(io.StringIO(result.stdout)))
    assert rows[0] == ["status", "error_code"]
    assert rows[1] == ["delivered", ""] and ["failed", "30007"] in rows


def test_chart_of_bars_and_of_a_time_series(cli: CliRunner, archive: Path) -> None:
    bars = cli("query", "delivery-status", "--dir", str(archive), "--chart")
    assert bars.exit_code == 0
    assert bars.stdout.splitlines()[0] == "messages by status"
    assert "█" in bars.stdout
    series = cli("query", "delivery-status-per-hour", "--dir", str(archive), "--chart")
    assert series.exit_code == 0, series.stderr
    head, *rows = series.stdout.splitlines()
    assert head.startswith("events by status per hour, ")
    delivered = next(r for r in rows if r.startswith("delivered"))
    assert delivered.split()[-1] == "3" and "total" in delivered


def test_chart_says_why_not(cli: CliRunner, archive: Path) -> None:
    result = cli("query", "failures-by-sender", "--dir", str(archive), "--chart")
    assert result.exit_code == 0
    assert "+15550000009" in result.stdout  # the table is still shown
    assert "warning: no chart: a chart needs (label, number)" in result.stderr
    assert "(sender VARCHAR, error_code INTEGER, messages BIGINT)" in result.stderr


def test_list_names_the_queries_and_views(cli: CliRunner) -> None:
    result = cli("query", "--list", "--json")
    doc = result.json()
    assert "delivery-rate" in {q["name"] for q in doc["queries"]}
    views = {v["name"]: v for v in doc["views"]}
    assert "error_code" in views["messages"]["columns"]
    assert {"events", "calls", "taskrouter", "error_logs"} <= set(views)
    table = cli("query", "--list")
    assert "failures-by-error" in table.stdout and "inbound_messages" in table.stdout


def test_sql_error_is_one_line_and_exit_2(cli: CliRunner, archive: Path) -> None:
    result = cli("query", "SELECT nope FROM messages", "--dir", str(archive))
    assert result.exit_code == 2
    assert result.stderr.startswith("error: query failed: Binder Error: ")
    assert len(result.stderr.splitlines()) == 2 and "Traceback" not in result.stderr
    typo = cli("query", "SELECT * FROM mesages", "--dir", str(archive))
    assert typo.exit_code == 2 and 'hint: Did you mean "messages"' in typo.stderr


@pytest.mark.parametrize(
    ("args", "code", "says"),
    [
        (("delivery-stats",), 4, "Did you mean delivery-status"),
        (("SELECT 1", "--since", "1d"), 2, "--since applies to named queries"),
        (("SELECT 1", "--json", "--csv"), 2, "choose one of --json, --csv and --chart"),
        (("--list", "SELECT 1"), 2, "--list takes no SQL"),
        ((), 2, "give SQL or the name of a named query"),
        (("delivery-status", "--since", "soon"), 2, "'soon' is not a duration"),
        (("   ",), 2, "the SQL is empty"),
    ],
)
def test_usage_errors(
    cli: CliRunner, archive: Path, args: tuple[str, ...], code: int, says: str
) -> None:
    result = cli("query", *args, "--dir", str(archive))
    assert result.exit_code == code, result.stderr
    assert says in result.stderr and "Traceback" not in result.stderr


def test_no_archive_is_exit_4(cli: CliRunner, tmp_path: Path) -> None:
    result = cli("query", "SELECT 1", "--dir", str(tmp_path / "none"))
    assert result.exit_code == 4
    assert result.stderr.startswith(f"error: no archive at {tmp_path / 'none'}")
    assert "twilio-es archive STREAM --dir" in result.stderr


def test_without_duckdb_one_line_says_how_to_install_it(
    cli: CliRunner, archive: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "duckdb", None)  # what `import duckdb` sees uninstalled
    monkeypatch.setitem(sys.modules, "_duckdb", None)  # and its compiled engine
    result = cli("query", "SELECT 1", "--dir", str(archive))
    assert result.exit_code == 3
    assert result.stderr.splitlines() == [
        "error: archive and query need DuckDB, which is not installed",
        "hint: Install the analytics extra: pip install 'twilio-es[analytics]'  (DuckDB and "
        "sqlglot)",
    ]


def test_text_from_events_cannot_drive_the_terminal(cli: CliRunner, tmp_path: Path) -> None:
    root = tmp_path / "a"
    evil = cloudevent("t", {"note": "\x1b]0;owned\x07\x1b[2J"}, event_id="EZ-evil")
    build(root, [record(evil, 1)])
    table = cli("query", "SELECT data ->> '$.note' AS note FROM events", "--dir", str(root))
    assert "\x1b" not in table.stdout and "\\x1b]0;owned" in table.stdout
    as_json = cli("query", "SELECT data FROM events", "--dir", str(root), "--json")
    assert "\x1b" not in as_json.stdout
    assert as_json.json()[0]["data"]["note"] == "\x1b]0;owned\x07\x1b[2J"  # lossless in JSON


def test_query_runs_as_an_installed_command(
    cli_subprocess: SubprocessRunner, archive: Path
) -> None:
    result = cli_subprocess(
        "query", "delivery-rate", "--since", "7d", "--dir", str(archive), "--json"
    )
    assert result.exit_code == 0, result.stderr
    rows = json.loads(result.stdout)
    assert sum(r["finished"] for r in rows) == 7 and sum(r["delivered"] for r in rows) == 4
