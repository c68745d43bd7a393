"""The SQL ``query --athena`` sends, in both dialects it speaks.

Trino (Athena engine 3) cannot run here, and ministack's Athena runs DuckDB: so the Trino text
is checked with sqlglot (every view and named query, as sent, parses as Trino, round-trips,
and calls no function sqlglot's Trino does not know but the few Trino documents), and the
DuckDB text is *run* in DuckDB over a table shaped like the Glue table, holding rows as
Firehose writes them (the CloudEvent alone) beside rows as ``archive --dir s3://`` writes them
(Kinesis metadata, family columns, event key): the views must see each event once, with its
family columns, whichever file it came from.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone
from typing import Any

import duckdb
import pytest
import sqlglot
from sqlglot import exp

from twilio_es_cli.analytics import athena_sql
from twilio_es_cli.analytics.athena_sql import DUCKDB, EVENT_KEY, TRINO, athena_query
from twilio_es_cli.analytics.named import NAMED
from twilio_es_cli.analytics.views import VIEWS
from twilio_es_cli.errors import UsageError
from twilio_es_cli.infra.archive.spec import table_columns

SINCE = datetime(2026, 1, 30, tzinfo=timezone.utc)
DB, TABLE = "twilio_events", "archive"
#: Trino functions sqlglot passes through unnamed, each in Trino's function reference.
TRINO_ONLY = {"FROM_BASE", "TO_HEX", "TO_UTF8", "CHR", "SHA256"}

_SQL = [
    (f"view {v.name}", f"SELECT * FROM {v.name}", False)
    for v in VIEWS
    if v.name != "not_cloudevents"
]
_SQL += [(f"named {n.name}", n.render(SINCE), True) for n in NAMED]


@pytest.mark.parametrize(("what", "sql", "named"), _SQL, ids=[w for w, _, _ in _SQL])
def test_every_view_and_named_query_as_sent_parses_and_round_trips_in_trino(
    what: str, sql: str, named: bool
) -> None:
    text = athena_query(sql, database=DB, table=TABLE, dialect=TRINO, named=named)
    tree = sqlglot.parse_one(text, read="trino", error_level=sqlglot.ErrorLevel.RAISE)
    assert not isinstance(tree, exp.Command), what
    unknown = {f.name.upper() for f in tree.find_all(exp.Anonymous)} - TRINO_ONLY
    assert unknown == set(), f"{what}: {unknown}"
    again = sqlglot.parse_one(tree.sql(dialect="trino"), read="trino")
    assert again == tree, f"{what} does not round-trip"
    # DuckDB's own spellings never reach Athena.
    for duck in ("->>", "ARG_MIN(", "JSON(", "'0x' ||"):
        assert duck not in text.upper(), f"{what} sends {duck}"
    # The Glue table is read qualified (no CTE can stand for it), nothing else is read.
    ctes = {cte.alias for cte in tree.find_all(exp.CTE)}
    tables = {(t.db, t.name) for t in tree.find_all(exp.Table) if t.db or t.name not in ctes}
    assert tables == {(DB, TABLE)}, what


def test_event_key_is_the_writers_in_both_dialects() -> None:
    """The key of a row without one is the writer's: first 60 bits of SHA-256(source NUL id)."""
    source, event_id = "/2010-04-01/Accounts/AC1/Messages/SM1.json", "EZ1"
    model = int(hashlib.sha256(f"{source}\0{event_id}".encode()).hexdigest()[:15], 16)
    con = duckdb.connect()
    from_duckdb = con.execute(
        f"SELECT {EVENT_KEY[DUCKDB]} FROM (SELECT ? AS source, ? AS id)", [source, event_id]
    ).fetchone()
    assert from_duckdb == (model,)
    # The writer's own expression (what its Parquet files hold) is the same text.
    from twilio_es_cli.analytics import writer

    assert EVENT_KEY[DUCKDB].replace(" ", "") in writer._EVENT_SELECT.replace(" ", "")
    # Trino: to_hex upper-cases, substr is 1-based, from_base reads either case.
    assert EVENT_KEY[TRINO] == (
        "from_base(substr(to_hex(sha256(to_utf8(concat(source, chr(0), id)))), 1, 15), 16)"
    )
    upper = hashlib.sha256(f"{source}\0{event_id}".encode()).hexdigest().upper()
    assert int(upper[0:15], 16) == model


def _glue_table(con: Any) -> None:
    kinds = {"string": "VARCHAR", "timestamp": "TIMESTAMP", "int": "INTEGER", "bigint": "BIGINT"}
    columns = [f'"{c["Name"]}" {kinds[c["Type"]]}' for c in table_columns()]
    columns += ['"type" VARCHAR', '"date" DATE']
    con.execute(f"CREATE SCHEMA {DB}")
    con.execute(f"CREATE TABLE {DB}.{TABLE} ({', '.join(columns)})")


def _insert(con: Any, **values: Any) -> None:
    names = ", ".join(f'"{k}"' for k in values)
    marks = ", ".join("?" for _ in values)
    con.execute(f"INSERT INTO {DB}.{TABLE} ({names}) VALUES ({marks})", list(values.values()))


def _message(event_id: str, status: str, error: int | None, sender: str) -> dict[str, Any]:
    return {
        "id": event_id,
        "source": f"/2010-04-01/Accounts/AC1/Messages/{event_id}.json",
        "specversion": "1.0",
        "type": f"com.twilio.messaging.message.{status}",
        "time": datetime(2026, 2, 1, 10, 15),
        "date": "2026-02-01",
        "data": json.dumps(
            {
                "messageSid": "SM" + event_id,
                "messageStatus": status.upper(),
                "errorCode": error,
                "from": sender,
                "to": "+15550000000",
            }
        ),
    }


@pytest.fixture
def mixed() -> Any:
    """Rows as Firehose writes them and as ``archive --dir s3://`` writes them."""
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    _glue_table(con)
    # Firehose: the CloudEvent alone (no Kinesis metadata, no family columns, no key).
    _insert(con, **_message("EZ1", "failed", 30007, "+15551110000"))
    _insert(con, **_message("EZ2", "delivered", None, "+15552220000"))
    _insert(con, **_message("EZ2", "delivered", None, "+15552220000"))  # Twilio's repeat
    # archive --dir s3://: the same EZ1 again, everything stored (as the writer stores it).
    stored = _message("EZ1", "failed", 30007, "+15551110000")
    key = con.execute(
        f"SELECT {EVENT_KEY[DUCKDB]} FROM (SELECT ? AS source, ? AS id)",
        [stored["source"], stored["id"]],
    ).fetchone()
    assert key is not None
    _insert(
        con,
        **stored,
        shard_id="shardId-000000000000",
        sequence_number="49600000000000000000000000000000000000000000000000000001",
        arrival_time=datetime(2026, 2, 1, 10, 15, 2),
        event_key=key[0],
        message_sid="SMEZ1",
        status="failed",
        error_code=30007,
        sender="+15551110000",
    )
    return con


def _run(con: Any, sql: str, *, named: bool = False) -> list[tuple[Any, ...]]:
    text = athena_query(sql, database=DB, table=TABLE, dialect=DUCKDB, named=named)
    rows: list[tuple[Any, ...]] = con.execute(text).fetchall()
    return rows


def test_views_see_each_event_once_whichever_file_holds_it(mixed: Any) -> None:
    assert _run(mixed, "SELECT count(*) FROM archive") == [(4,)]
    assert _run(mixed, "SELECT id, count(*) FROM events GROUP BY id ORDER BY id") == [
        ("EZ1", 1),
        ("EZ2", 1),
    ]
    rows = _run(
        mixed, "SELECT event_id, status, error_code, sender FROM messages ORDER BY event_id"
    )
    assert rows == [
        ("EZ1", "failed", 30007, "+15551110000"),
        ("EZ2", "delivered", None, "+15552220000"),
    ]


def test_named_queries_run_over_firehose_rows(mixed: Any) -> None:
    named = {n.name: n for n in NAMED}
    failures = _run(mixed, named["failures-by-sender"].render(SINCE), named=True)
    assert failures == [("+15551110000", 30007, 1)]
    status = _run(mixed, named["delivery-status"].render(SINCE), named=True)
    assert sorted(status) == [("delivered", 1), ("failed", 1)]


def test_a_users_own_with_clause_goes_on_after_the_views(mixed: Any) -> None:
    sql = (
        "-- failures per sender\n"
        "WITH failed AS (SELECT sender FROM messages WHERE status = 'failed')\n"
        "SELECT sender, count(*) AS n FROM failed GROUP BY sender"
    )
    assert _run(mixed, sql) == [("+15551110000", 1)]
    text = athena_query(sql, database=DB, table=TABLE, dialect=TRINO)
    assert text.startswith("WITH archive AS (")
    assert "failed AS (SELECT sender FROM messages" in text


def test_only_the_views_a_query_names_are_sent() -> None:
    text = athena_query("SELECT count(*) FROM calls", database=DB, table=TABLE)
    tree = sqlglot.parse_one(text, read="trino")
    top = tree.args.get("with_") or tree.args.get("with")
    assert top is not None
    assert [cte.alias for cte in top.expressions] == ["archive", "calls"]


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("SELECT * FROM not_cloudevents", "not available on Athena"),
        ("WITH RECURSIVE t(n) AS (SELECT 1) SELECT * FROM t", "WITH RECURSIVE"),
        ("   ", "the SQL is empty"),
    ],
)
def test_what_cannot_be_sent_is_a_usage_error(sql: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        athena_query(sql, database=DB, table=TABLE)


def test_unknown_dialect_is_refused() -> None:
    with pytest.raises(UsageError, match="unknown dialect"):
        athena_sql.athena_query("SELECT 1", database=DB, table=TABLE, dialect="mysql")


def test_a_named_querys_window_bounds_what_athena_reads(mixed: Any) -> None:
    """The views look for repeats before the outer filter applies: the window bounds the base
    relation itself, so Athena reads (and bills) only those days."""
    from datetime import date

    named = {n.name: n for n in NAMED}["failures-by-sender"].render(SINCE)
    text = athena_query(
        named, database=DB, table=TABLE, dialect=TRINO, named=True, since_day=date(2026, 1, 30)
    )
    base = text[: text.index("\n)")]  # the archive CTE
    assert "WHERE\n  \"date\" >= CAST('2026-01-30' AS DATE)" in base
    same = mixed.execute(
        athena_query(
            named, database=DB, table=TABLE, dialect=DUCKDB, named=True, since_day=date(2026, 2, 1)
        )
    ).fetchall()
    assert same == [("+15551110000", 30007, 1)]
    later = mixed.execute(
        athena_query(
            named, database=DB, table=TABLE, dialect=DUCKDB, named=True, since_day=date(2026, 2, 2)
        )
    ).fetchall()
    assert later == []
    own = athena_query("SELECT count(*) FROM events", database=DB, table=TABLE)
    assert "WHERE" not in own[: own.index("\n)")]
