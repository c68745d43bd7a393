"""The SQL ``query --athena`` sends: the views of :mod:`.views` as a WITH clause over the Glue
table, in Athena's dialect (Trino, engine version 3) translated by sqlglot.

Why a WITH clause rather than views stored in Glue: the query carries the views of the
twilio-es that runs it, so a newer twilio-es never meets older stored views, nothing in the
catalogue needs keeping in step, and the SQL can be read whole in ``--show-sql``. Only the
views a query names are included (Athena plans what it is sent).

The base relation ``archive`` is the Glue table (``database.table``, always qualified, so no
CTE can shadow it) with two differences from the table's own columns, both for the files
Firehose writes (which hold the CloudEvent alone):

- each family column is the stored one, else the same field extracted from ``data`` by SQL
  (files of ``archive --dir s3://`` store them; Firehose's do not);
- ``arrival_time`` is the stored one, else the event's ``time``: Firehose's conversion cannot
  see Kinesis's arrival time, and the views keep the first copy of an event by it, so the
  copies of one event Firehose delivered compare equal and either stands.

- ``event_key`` is the stored one, else computed as the writer computes it (the first 60
  bits of SHA-256 of ``source``, NUL, ``id``): the views find repeats by it, and a copy of an
  event in a Firehose file must have the key of its copy in an ``archive --dir s3://`` file,
  or each would be kept once.

A user's own SQL with ``--athena`` is Athena's (Trino's) SQL; the named queries are written
in DuckDB's like the views and are translated with them. ``duckdb`` as the dialect sends the
views untranslated: for ministack, which answers Athena's API with DuckDB.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date

from twilio_es_cli.analytics.views import ARCHIVE, FAMILIES, FAMILY_COLUMNS, VIEWS, to_trino
from twilio_es_cli.errors import UsageError

TRINO, DUCKDB = "trino", "duckdb"
DIALECTS = (TRINO, DUCKDB)
BASE = "archive"
#: Views that read what Athena's table does not hold (records that were not CloudEvents go to
#: Firehose's error prefix, or to ``_not-cloudevents/`` from ``archive --dir s3://``).
NOT_ON_ATHENA = frozenset({"not_cloudevents"})


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


#: The writer's event key (views.ARCHIVE's ``event_key``) of a row, in each dialect: the same
#: bits (DuckDB's sha256 is lower-case hex text, Trino's varbinary made upper-case hex).
EVENT_KEY = {
    DUCKDB: "CAST(('0x' || left(sha256(source || chr(0) || id), 15)) AS BIGINT)",
    TRINO: "from_base(substr(to_hex(sha256(to_utf8(concat(source, chr(0), id)))), 1, 15), 16)",
}
_KEY_MARK = "twilio_es_event_key"  # stands for EVENT_KEY through the translation


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _extracted(column: str, kind: str) -> str:
    """``column`` from ``data`` by SQL: the writer's rule (views.Field) for every family."""
    whens = [
        f"WHEN type {family.where} THEN {field.sql(f'data ->> {_quote(field.json_path)}')}"
        for family in FAMILIES
        for field in family.fields
        if field.column == column
    ]
    return f"CAST(CASE {' '.join(whens)} END AS {kind})"


def base_relation(database: str, table: str, since_day: date | None = None) -> str:
    """The relation ``archive`` over the Glue table (DuckDB's dialect; see the docstring);
    with ``since_day``, only the days from then on (see :func:`athena_query`)."""
    items = []
    for name, _, _ in ARCHIVE:
        if name == "arrival_time":
            items.append('coalesce(arrival_time, "time") AS arrival_time')
        elif name == "event_key":
            items.append(f"coalesce(event_key, {_KEY_MARK}(source, id)) AS event_key")
        else:
            items.append(_ident(name) if name in ("date", "time", "type") else name)
    items += [f"coalesce({c}, {_extracted(c, kind)}) AS {c}" for c, kind in FAMILY_COLUMNS]
    source = f"{_ident(database)}.{_ident(table)}"
    where = f"\nWHERE \"date\" >= DATE '{since_day.isoformat()}'" if since_day else ""
    return "SELECT\n  " + ",\n  ".join(items) + f"\nFROM {source}{where}"


def mentions(sql: str, name: str) -> bool:
    return re.search(rf"(?<![\w$]){re.escape(name)}(?![\w$])", sql, re.IGNORECASE) is not None


def views_named(sql: str) -> list[str]:
    """The views ``sql`` names, in the order they are defined."""
    named = [view.name for view in VIEWS if mentions(sql, view.name)]
    refused = [name for name in named if name in NOT_ON_ATHENA]
    if refused:
        raise UsageError(
            f"the view {refused[0]} is not available on Athena",
            hint="Records that are not CloudEvents are in the archive's error prefix (Firehose) "
            "or under _not-cloudevents/ (archive --dir s3://), not in the table.",
        )
    return named


def _translate(sql: str, dialect: str) -> str:
    return to_trino(sql) if dialect == TRINO else sql


def base_for(database: str, table: str, dialect: str, since_day: date | None = None) -> str:
    """:func:`base_relation` in ``dialect``, the event key written in that dialect's words."""
    text = _translate(base_relation(database, table, since_day), dialect)
    found = re.findall(rf"{_KEY_MARK}\(source, id\)", text, re.IGNORECASE)
    assert len(found) == 1, "the event key's place in the base relation"
    return text.replace(found[0], EVENT_KEY[dialect])


def _splice(ctes: Sequence[tuple[str, str]], sql: str, dialect: str) -> str:
    """``sql`` with ``ctes`` in front: its own WITH clause (if any) goes on after ours."""
    import sqlglot

    clause = ",\n".join(f"{name} AS (\n{body}\n)" for name, body in ctes)
    try:
        tokens = sqlglot.tokenize(sql, read=dialect)
    except sqlglot.errors.TokenError as exc:
        raise UsageError(f"the SQL cannot be read: {exc}") from None
    if not tokens:
        raise UsageError("the SQL is empty", hint='Example: twilio-es query --athena "SELECT 1"')
    first = tokens[0]
    if first.token_type.name == "WITH":
        rest = sql[first.end + 1 :]
        if re.match(r"\s*recursive\b", rest, re.IGNORECASE):
            raise UsageError("WITH RECURSIVE cannot be combined with the views on Athena")
        return f"WITH {clause},\n{rest.lstrip()}"
    return f"WITH {clause}\n{sql.strip()}"


def athena_query(
    sql: str,
    *,
    database: str,
    table: str,
    dialect: str = TRINO,
    named: bool = False,
    since_day: date | None = None,
) -> str:
    """The text to send: the views ``sql`` names (and the base relation) before it.

    ``named``: ``sql`` is a named query, written in DuckDB's dialect like the views, and is
    translated with them; otherwise it is the user's, in ``dialect`` already. ``since_day``
    (a named query's window) bounds the base relation itself: the views look for repeats
    before the query's own filter applies, and on Athena, which bills what it reads, that
    would read every day's keys. An event and its repeats share a day (the day of their
    ``time``), so no repeat is missed.
    """
    from twilio_es_cli.analytics.views import BY_NAME

    if dialect not in DIALECTS:
        raise UsageError(f"unknown dialect {dialect!r}", hint="Use trino or duckdb.")
    ctes = [(BASE, base_for(database, table, dialect, since_day))]
    ctes += [(name, _translate(BY_NAME[name].sql, dialect)) for name in views_named(sql)]
    text = _translate(sql, dialect) if named else sql
    return _splice(ctes, text, dialect)
