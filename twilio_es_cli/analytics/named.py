"""The named queries of ``twilio-es query NAME``: the questions people ask of their events.

Each is SQL over the views (DuckDB's dialect, like the views, so sqlglot translates it for
Athena too) with one placeholder, ``{since}``: the condition "since this moment", on the event
time and on the ``date`` folder, so only the files of those days are opened. ``--since``
decides the moment (each query has a default); the query's text is shown by ``--list
--json``, and can be copied into ``query "SQL"`` to change it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

_LATEST_STATUS = (
    "SELECT message_sid, status, error_code, sender, time,\n"
    "    row_number() OVER (PARTITION BY message_sid ORDER BY time DESC) AS newest\n"
    "  FROM messages WHERE {since}"
)
_FINISHED = "('delivered', 'read', 'undelivered', 'failed')"
_DELIVERED = "status IN ('delivered', 'read')"


@dataclass(frozen=True)
class Named:
    """A named query: its SQL (with ``{since}``), what it answers, its default window."""

    name: str
    description: str
    sql: str
    since: str = "1d"
    chart: str = ""  # the chart it makes with --chart: "bar", "time series", or ""

    def render(self, since: datetime) -> str:
        """The SQL with the window filled in (a UTC moment; literals both dialects read)."""
        moment = since.astimezone(timezone.utc).replace(tzinfo=None)
        condition = (
            f"time >= TIMESTAMP '{moment.isoformat(sep=' ', timespec='seconds')}' "
            f"AND \"date\" >= DATE '{moment.date().isoformat()}'"
        )
        return self.sql.replace("{since}", condition)


NAMED: tuple[Named, ...] = (
    Named(
        "delivery-status",
        "messages by their latest status (queued, sent, delivered, read, undelivered, failed)",
        f"SELECT status, count(*) AS messages\nFROM ({_LATEST_STATUS}) AS latest\n"
        "WHERE newest = 1\nGROUP BY status\nORDER BY messages DESC",
        chart="bar",
    ),
    Named(
        "delivery-status-per-hour",
        "message status events per hour and status",
        "SELECT date_trunc('hour', time) AS hour, status, count(*) AS events\n"
        "FROM messages\nWHERE {since}\nGROUP BY 1, 2\nORDER BY 1, 2",
        chart="time series",
    ),
    Named(
        "delivery-rate",
        "per hour: messages that finished, how many were delivered (or read), and the rate",
        "SELECT date_trunc('hour', time) AS hour, count(*) AS finished,\n"
        f"  sum(CASE WHEN {_DELIVERED} THEN 1 ELSE 0 END) AS delivered,\n"
        f"  round(100.0 * sum(CASE WHEN {_DELIVERED} THEN 1 ELSE 0 END) / count(*), 1)"
        " AS delivered_pct\n"
        f"FROM ({_LATEST_STATUS}) AS latest\n"
        f"WHERE newest = 1 AND status IN {_FINISHED}\nGROUP BY 1\nORDER BY 1",
        chart="time series",
    ),
    Named(
        "failures-by-error",
        "failed and undelivered messages by error code",
        "SELECT error_code, count(DISTINCT message_sid) AS messages\nFROM messages\n"
        "WHERE status IN ('failed', 'undelivered') AND {since}\n"
        "GROUP BY error_code\nORDER BY messages DESC",
        chart="bar",
    ),
    Named(
        "failures-by-sender",
        "failed and undelivered messages by sender and error code",
        "SELECT sender, error_code, count(DISTINCT message_sid) AS messages\nFROM messages\n"
        "WHERE status IN ('failed', 'undelivered') AND {since}\n"
        "GROUP BY sender, error_code\nORDER BY messages DESC, sender, error_code",
    ),
    Named(
        "volume-per-type",
        "events per hour and type",
        "SELECT date_trunc('hour', time) AS hour, type, count(*) AS events\n"
        "FROM events\nWHERE {since}\nGROUP BY 1, 2\nORDER BY 1, 2",
        chart="time series",
    ),
    Named(
        "errors-by-code",
        "Debugger errors and warnings by error code",
        "SELECT error_code, count(*) AS events\nFROM error_logs\nWHERE {since}\n"
        "GROUP BY error_code\nORDER BY events DESC",
        chart="bar",
    ),
    Named(
        "call-states",
        "calls by the state of their latest Voice Insights summary",
        "SELECT call_state, count(*) AS calls\nFROM (\n"
        "  SELECT call_sid, call_state,\n"
        "    row_number() OVER (PARTITION BY call_sid ORDER BY time DESC) AS newest\n"
        "  FROM call_summaries WHERE {since}\n) AS latest\n"
        "WHERE newest = 1\nGROUP BY call_state\nORDER BY calls DESC",
        chart="bar",
    ),
)
BY_NAME = {named.name: named for named in NAMED}
