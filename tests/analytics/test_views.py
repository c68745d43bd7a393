"""The views: each parses in DuckDB's and Trino's dialects, and shows Twilio's events typed.

The dialect tests are what lets the same views run on Athena: every view and named query is
written once (DuckDB), parsed by sqlglot in both dialects, and its Trino translation parsed
again and checked for functions Trino would not know. The data tests build a real archive
(Parquet files written by the archive's writer) from events shaped like Twilio's examples and
read each view through DuckDB.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import sqlglot
from sqlglot import exp

from tests.analytics.archive_support import (
    ACCOUNT,
    ARRIVAL,
    build,
    call_status,
    call_summary,
    cloudevent,
    error_log,
    inbound,
    message_status,
    record,
    taskrouter,
)
from twilio_es_cli.analytics.engine import open_archive
from twilio_es_cli.analytics.named import NAMED
from twilio_es_cli.analytics.views import FAMILY_COLUMNS, VIEWS, archive_from_events, to_trino

_STATEMENTS = (
    [(f"view {v.name}", v.sql) for v in VIEWS]
    + [("base from CloudEvents", archive_from_events("cloudevents"))]
    + [(f"named {n.name}", n.render(datetime(2026, 1, 30, tzinfo=timezone.utc))) for n in NAMED]
)
_BASES = {"archive", "raw_records", "cloudevents"} | {v.name for v in VIEWS}


def _parse(sql: str, dialect: str) -> exp.Expr:
    parsed = sqlglot.parse_one(sql, read=dialect, error_level=sqlglot.ErrorLevel.RAISE)
    assert not isinstance(parsed, exp.Command), f"{dialect} could not parse it: {sql}"
    return parsed


@pytest.mark.parametrize(("what", "sql"), _STATEMENTS, ids=[w for w, _ in _STATEMENTS])
def test_every_view_and_named_query_parses_in_duckdb_and_trino(what: str, sql: str) -> None:
    duck = _parse(sql, "duckdb")
    trino_sql = to_trino(sql)
    trino = _parse(trino_sql, "trino")
    unknown = sorted({f.name for f in trino.find_all(exp.Anonymous)})
    assert unknown == [], f"{what}: functions sqlglot's Trino does not know: {unknown}"
    # Only the base relations and the views are read: no file, no engine-only table function.
    for tree in (duck, trino):
        named = {cte.alias for cte in tree.find_all(exp.CTE)}
        tables = {t.name for t in tree.find_all(exp.Table)} - named
        assert tables <= _BASES, f"{what} reads {tables - _BASES}"


def test_trino_translation_uses_athena_functions() -> None:
    events = to_trino(VIEWS[0].sql)
    assert "JSON_PARSE(MIN_BY(data, arrival_time))" in events
    assert "MIN_BY(type, arrival_time) AS type" in events
    base = to_trino(archive_from_events("cloudevents"))
    assert "LOWER(JSON_EXTRACT_SCALAR(data, '$.messageStatus'))" in base
    assert "TRY_CAST(JSON_EXTRACT_SCALAR(data, '$.errorCode') AS INTEGER)" in base
    assert "->>" not in base
    parsed = _parse(base, "trino")
    assert not list(parsed.find_all(exp.Anonymous))


def test_family_columns_from_sql_equal_the_stored_ones(archive: Path) -> None:
    """What archive_from_events extracts with SQL (Athena's way) is what the writer stored."""
    con = open_archive(archive)
    columns = [name for name, _ in FAMILY_COLUMNS]
    listed = ", ".join(columns)
    stored = con.execute(f"SELECT id, {listed} FROM archive ORDER BY id, arrival_time").fetchall()
    con.execute("CREATE VIEW cloudevents AS SELECT * EXCLUDE (" + listed + ") FROM archive")
    derived = con.execute(
        f"SELECT id, {listed} FROM ({archive_from_events('cloudevents')}) ORDER BY id, arrival_time"
    ).fetchall()
    assert derived == stored
    assert any(row[columns.index("status") + 1] == "failed" for row in stored)


def _rows(root: Path, sql: str) -> list[dict[str, Any]]:
    con = open_archive(root)
    cursor = con.execute(sql)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


@pytest.fixture
def archive(tmp_path: Path) -> Path:
    """One event of each family, two copies of one message event, one record not JSON."""
    root = tmp_path / "twilio-events"
    docs = [
        message_status("sent", event_id="EZ-sent", time="2026-01-31T10:15:00.000Z"),
        message_status("failed", event_id="EZ-failed", error=30007, sender="+15559990000"),
        inbound("EZ-inbound"),
        call_status("EZ-call"),
        call_summary("EZ-summary"),
        taskrouter("EZ-task"),
        error_log("EZ-error"),
    ]
    records = [record(doc, n) for n, doc in enumerate(docs, start=1)]
    later = ARRIVAL + timedelta(minutes=5)  # Twilio delivered EZ-sent again, later
    records.append(record(docs[0], 100, shard="shardId-000000000001", arrival=later))
    records.append(record(b"\x00not json", 101))
    build(root, records)
    return root


def test_events_view_types_every_attribute_and_keeps_one_copy(archive: Path) -> None:
    rows = _rows(archive, "SELECT * FROM events ORDER BY id")
    assert [r["id"] for r in rows] == sorted(
        ["EZ-sent", "EZ-failed", "EZ-inbound", "EZ-call", "EZ-summary", "EZ-task", "EZ-error"]
    )
    sent = next(r for r in rows if r["id"] == "EZ-sent")
    assert sent["time"] == datetime(2026, 1, 31, 10, 15)
    assert sent["date"] == date(2026, 1, 31)
    assert sent["type"] == "com.twilio.messaging.message.sent"
    assert sent["specversion"] == "1.0"
    assert sent["dataschema"] == "https://events-schemas.twilio.com/Messaging.MessageStatus/7"
    assert sent["shard_id"] == "shardId-000000000000"  # the first copy to arrive
    assert sent["sequence_number"] == f"{1:056d}"
    assert sent["arrival_time"] == ARRIVAL.replace(tzinfo=None)
    assert sent["partition_key"] == "pk"
    types = _rows(archive, "SELECT typeof(data) AS d, typeof(time) AS t FROM events LIMIT 1")
    assert types == [{"d": "JSON", "t": "TIMESTAMP"}]
    # data was a JSON string in the record: the view holds the object, not the string
    status = _rows(archive, "SELECT data ->> '$.messageStatus' AS s FROM events WHERE id='EZ-sent'")
    assert status == [{"s": "SENT"}]


def test_messages_view(archive: Path) -> None:
    rows = _rows(archive, "SELECT * FROM messages ORDER BY status")
    assert [(r["status"], r["error_code"], r["sender"]) for r in rows] == [
        ("failed", 30007, "+15559990000"),
        ("sent", None, "+15550001000"),
    ]
    sent = rows[1]
    assert sent["message_sid"] == "SM" + "1" * 32
    assert sent["recipient"] == "+15557654321"
    assert sent["messaging_service_sid"] == "MG" + "2" * 32
    assert sent["account_sid"] == ACCOUNT
    assert (sent["segments"], sent["mcc"], sent["mnc"]) == (2, "310", "090")
    assert sent["event_id"] == "EZ-sent"


def test_family_views(archive: Path) -> None:
    [received] = _rows(archive, "SELECT * FROM inbound_messages")
    assert (received["sender"], received["body"], received["media"]) == ("+11234567890", "Ahoy!", 1)
    assert received["opt_out_type"] == "STOP"
    [call] = _rows(archive, "SELECT * FROM calls")
    assert (call["call_sid"], call["status"], call["duration"]) == (
        "CA" + "5" * 32,
        "completed",
        42,
    )
    assert (call["sender"], call["recipient"], call["direction"]) == (
        "+15550002000",
        "+15550003000",
        "outbound-api",
    )
    assert call["response_code"] == 200
    [summary] = _rows(archive, "SELECT * FROM call_summaries")
    assert (summary["call_state"], summary["duration"], summary["sender"]) == (
        "completed",
        61,
        "+15550004000",
    )
    [task] = _rows(archive, "SELECT * FROM taskrouter")
    assert (task["event_name"], task["task_priority"], task["task_queue_name"]) == (
        "task.created",
        5,
        "Everyone",
    )
    assert task["task_attributes"] == '{"channel": "voice"}'
    [error] = _rows(archive, "SELECT * FROM error_logs")
    assert (error["error_code"], error["level"], error["product_name"]) == (
        93101,
        "ERROR",
        "Event Streams",
    )
    [raw] = _rows(archive, "SELECT * FROM not_cloudevents")
    assert raw["raw"] == b"\x00not json" and raw["error"] == "not JSON"


def test_family_views_drop_repeats_by_source_and_id(tmp_path: Path) -> None:
    root = tmp_path / "a"
    event = message_status("delivered", event_id="EZ-1")
    other_source = dict(event, source="/elsewhere")  # same id, another source: another event
    build(
        root,
        [
            record(event, 1, arrival=ARRIVAL + timedelta(seconds=2)),
            record(event, 2, arrival=ARRIVAL),
            record(other_source, 3),
        ],
    )
    rows = _rows(root, "SELECT event_id, time FROM messages")
    assert len(rows) == 2
    first = _rows(root, "SELECT sequence_number FROM events WHERE source <> '/elsewhere'")
    assert first == [{"sequence_number": f"{2:056d}"}]  # the earliest arrival wins


def test_views_of_an_empty_archive_have_their_columns_and_no_rows(tmp_path: Path) -> None:
    root = tmp_path / "empty"
    root.mkdir()
    for view in VIEWS:
        assert _rows(root, f"SELECT * FROM {view.name}") == []
    con = open_archive(root)
    names = [d[0] for d in con.execute("SELECT * FROM messages").description]
    assert names[:4] == ["event_id", "time", "type", "date"] and "error_code" in names


def test_extensions_and_odd_types_survive(tmp_path: Path) -> None:
    root = tmp_path / "odd"
    odd = "com.example/odd type:ü?"
    docs = [
        cloudevent(odd, {"k": 1}, event_id="EZ-odd", as_string=False, traceparent="00-ab-cd-01"),
        cloudevent("t" * 400, "plain text", event_id="EZ-long", as_string=False),
        cloudevent("t", {"k": 2}, event_id="EZ-offset", time="2026-01-31T23:30:00-02:00"),
        cloudevent("t", {"k": 3}, event_id="EZ-bad-time", time="yesterday"),
    ]
    build(root, [record(doc, n) for n, doc in enumerate(docs)])
    rows = {r["id"]: r for r in _rows(root, "SELECT * FROM events")}
    assert rows["EZ-odd"]["type"] == odd  # percent-encoded folder, decoded by the reader
    assert rows["EZ-odd"]["extensions"] == '{"traceparent":"00-ab-cd-01"}'
    assert rows["EZ-long"]["type"].startswith("t" * 100) and len(rows["EZ-long"]["type"]) < 200
    assert rows["EZ-long"]["data"] == '"plain text"'
    # -02:00 is the next UTC day: the folder and the time column agree
    assert rows["EZ-offset"]["time"] == datetime(2026, 2, 1, 1, 30)
    assert rows["EZ-offset"]["date"] == date(2026, 2, 1)
    # not a time: NULL, and the day of arrival
    assert rows["EZ-bad-time"]["time"] is None
    assert rows["EZ-bad-time"]["date"] == ARRIVAL.date()


def test_dedupe_is_exact_when_keys_collide_or_are_missing() -> None:
    """The views' fast path trusts event_key only to find candidates: two events sharing a
    key (a hash collision) both stay, copies without a key (NULL) are still merged."""
    from twilio_es_cli.analytics.engine import connect
    from twilio_es_cli.analytics.views import BY_NAME

    con = connect()
    columns = ", ".join(
        f"CAST(NULL AS {kind}) AS {name}" for name, kind in FAMILY_COLUMNS if name != "status"
    )
    con.execute(
        "CREATE TABLE archive AS SELECT * FROM (VALUES "
        "('A', '/s', 7, 'sent', TIMESTAMP '2026-01-31 10:00:01'),"  # key 7: two events
        "('B', '/s', 7, 'failed', TIMESTAMP '2026-01-31 10:00:02'),"
        "('C', '/s', NULL, 'queued', TIMESTAMP '2026-01-31 10:00:03'),"  # copies, no key
        "('C', '/s', NULL, 'queued', TIMESTAMP '2026-01-31 10:00:04'),"
        "('D', '/s', 9, 'delivered', TIMESTAMP '2026-01-31 10:00:05'),"  # copies, same key
        "('D', '/s', 9, 'delivered', TIMESTAMP '2026-01-31 10:00:06'),"
        "('E', '/s', 11, 'read', TIMESTAMP '2026-01-31 10:00:07')"
        ") AS t(id, source, event_key, status, arrival_time) "
        f"CROSS JOIN (SELECT 'com.twilio.messaging.message.x' AS type, DATE '2026-01-31' AS "
        f"date, arrival_time AS time, {columns})"
    )
    con.execute(f"CREATE VIEW messages AS {BY_NAME['messages'].sql}")
    rows = con.execute("SELECT event_id, status FROM messages ORDER BY event_id").fetchall()
    assert rows == [("A", "sent"), ("B", "failed"), ("C", "queued"), ("D", "delivered"),
                    ("E", "read")]  # fmt: skip


def test_each_family_view_reads_its_own_files_and_answers_as_over_the_whole_archive(
    tmp_path: Path,
) -> None:
    """The embedded engine binds a family's view to its family's files only (start-up: the
    footers of the other files are never read). Same rows as the view over ``archive``, and
    the files it reads are exactly its family's, types sharing a prefix included."""
    from twilio_es_cli.analytics import layout
    from twilio_es_cli.analytics.engine import connect, create_views
    from twilio_es_cli.analytics.views import FAMILIES, family_view

    root = tmp_path / "a"
    docs = [
        message_status("sent", event_id="M1"),
        message_status("failed", event_id="M2", error=30007),
        cloudevent("com.twilio.messaging.message-not-a-status", {"a": 1}, event_id="X1"),
        cloudevent("com.twilio.messaging.message.odd type/ü", {"messageSid": "SM9"}, event_id="X2"),
        cloudevent("com.twilio.error-logs.error.logged.more", {"sid": "NO"}, event_id="X3"),
        inbound("I1"),
        call_status("C1"),
        call_summary("S1"),
        taskrouter("T1"),
        error_log("E1"),
    ]
    build(root, [record(doc, n) for n, doc in enumerate(docs, start=1)])
    every = open_archive(root)  # every view, and the whole archive's relation
    type_of = {
        path: every.execute(f"SELECT DISTINCT type FROM '{path}'").fetchall()[0][0]
        for path in root.glob(layout.EVENT_FILES)
    }
    for family in FAMILIES:
        files = set(root.glob(layout.family_files(family.types)))
        expected = {path for path, kind in type_of.items() if family.matches(kind)}
        assert files == expected and files, family.view
        con = connect()
        create_views(con, root, f"SELECT * FROM {family.view}")
        sql = f"SELECT * FROM {family.view} ORDER BY event_id"
        whole = family_view(family).sql  # the same view over the whole archive
        assert (
            con.execute(sql).fetchall()
            == every.execute(f"SELECT * FROM ({whole}) ORDER BY event_id").fetchall()
        )
        tables = {
            row[0]
            for row in con.execute(
                "SELECT view_name FROM duckdb_views() WHERE NOT internal"
            ).fetchall()
        }
        assert tables == {family.view, f"archive_{family.view}"}


def test_an_object_where_a_family_column_expects_a_scalar_is_null(tmp_path: Path) -> None:
    """A producer's odd event: an object or array where the schema has a scalar gives NULL
    in that column, the event's other columns as usual."""
    root = tmp_path / "a"
    data = {
        "messageSid": "SM1",
        "messageStatus": {"not": "a status"},
        "errorCode": [30007],
        "from": "+15550001000",
        "numberOfSegments": True,
    }
    doc = cloudevent("com.twilio.messaging.message.failed", data, event_id="O1")
    build(root, [record(doc, 1)])
    [row] = _rows(root, "SELECT * FROM messages")
    assert (row["message_sid"], row["status"], row["error_code"]) == ("SM1", None, None)
    assert (row["sender"], row["recipient"], row["segments"]) == ("+15550001000", None, None)


def test_only_the_views_a_query_reads_are_bound_and_the_rest_on_demand(archive: Path) -> None:
    """``AS events`` is a column's name, not the events view (binding that view binds the
    whole archive); a view the guess missed is created when the engine asks for it."""
    from twilio_es_cli.analytics.engine import connect, create_views, run

    sql = "SELECT status, count(*) AS events FROM messages GROUP BY status ORDER BY status"
    con = connect()
    create_views(con, archive, sql)
    names = "SELECT view_name FROM duckdb_views() WHERE NOT internal ORDER BY 1"
    assert [r[0] for r in con.execute(names).fetchall()] == ["archive_messages", "messages"]
    assert run(con, sql, archive).cursor.fetchall() == [("failed", 1), ("sent", 1)]
    # The guess missed a view (here: never asked): the engine's catalog error creates them all.
    rows = run(con, "SELECT count(*) AS n FROM events", archive).cursor.fetchall()
    assert rows == [(7,)]
    assert {"events", "archive", "calls"} <= {r[0] for r in con.execute(names).fetchall()}


@pytest.mark.parametrize("named", NAMED, ids=[n.name for n in NAMED])
def test_a_named_query_runs_on_the_views_guessed_from_its_text(archive: Path, named: Any) -> None:
    """quickstart runs a named query on open_archive(sql=...) with no second chance: the
    views guessed from the text must be all it reads."""
    sql = named.render(datetime(1970, 1, 1, tzinfo=timezone.utc))
    open_archive(archive, sql=sql).execute(sql).fetchall()
