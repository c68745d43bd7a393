"""The SQL views over an archive, written once (DuckDB's dialect) and translated for Trino.

Every view reads one base relation, ``archive``: the CloudEvent attributes and Kinesis
metadata (:data:`ARCHIVE`), the two folder columns ``type`` and ``date``, and the *family
columns* (:data:`FAMILIES`: ``status``, ``error_code``, ``sender`` ... typed fields of
Twilio's event schemas). The embedded archive stores the family columns in its Parquet files,
taken out of ``data`` when the events are written, so a query never parses JSON to group by
status (bench/README.md: that parse cost more than the whole rest of a group-by). An engine
whose files hold only the CloudEvent (Athena over Firehose's output) gets the same relation
from :func:`archive_from_events`, the same fields extracted by SQL; a test checks the two
agree. So a view's text never names a file or a function only one engine has: :func:`to_trino`
turns it into Athena's dialect with sqlglot, and tests/analytics/test_views.py parses every
view in both dialects.

Repeats are removed in every view: Twilio delivers at least once, and an archiver killed with
``kill -9`` writes again what its checkpoint had not passed. A CloudEvent is identified by
``source`` and ``id`` (CloudEvents 1.0); each view groups by them and keeps the first copy to
arrive (``arg_min(column, arrival_time)``; copies that arrived in the same instant are the
same event, either may stand). A hash aggregation, not a window: measured ten times cheaper
over 100,000 events, and DuckDB computes only the columns a query uses.
"""

from __future__ import annotations

from dataclasses import dataclass

#: The base relation's CloudEvent and Kinesis columns: (name, DuckDB type, what it holds).
#: The Parquet files hold all but ``type`` and ``date``, the folder names (see :mod:`.layout`).
ARCHIVE: tuple[tuple[str, str, str], ...] = (
    ("id", "VARCHAR", "CloudEvent id"),
    ("source", "VARCHAR", "CloudEvent source"),
    ("specversion", "VARCHAR", "CloudEvents version (1.0)"),
    ("time", "TIMESTAMP", "event time, UTC (NULL when absent or not a time)"),
    ("datacontenttype", "VARCHAR", "CloudEvent datacontenttype"),
    ("dataschema", "VARCHAR", "schema URL, e.g. .../Messaging.MessageStatus/5"),
    ("subject", "VARCHAR", "CloudEvent subject"),
    ("data", "VARCHAR", "the event's data as JSON text (parsed when Twilio sent a string)"),
    ("extensions", "VARCHAR", "other attributes as a JSON object (NULL when none)"),
    ("shard_id", "VARCHAR", "Kinesis shard the record was read from"),
    ("sequence_number", "VARCHAR", "Kinesis sequence number"),
    ("subsequence", "INTEGER", "index inside a KPL-aggregated record (NULL otherwise)"),
    ("partition_key", "VARCHAR", "Kinesis partition key"),
    ("arrival_time", "TIMESTAMP", "Kinesis ApproximateArrivalTimestamp, UTC"),
    ("event_key", "BIGINT", "first 60 bits of SHA-256(source, NUL, id): finds repeats fast"),
    ("type", "VARCHAR", "CloudEvent type (folder type=...)"),
    ("date", "DATE", "UTC day of time, else of arrival_time (folder date=...)"),
)
FILE_COLUMNS = tuple(name for name, _, _ in ARCHIVE if name not in ("type", "date"))

#: Records that were not CloudEvents, kept whole (folder not-cloudevents/date=...).
RAW: tuple[tuple[str, str, str], ...] = (
    ("raw", "BLOB", "the record's bytes as read"),
    ("error", "VARCHAR", "why it is not a CloudEvent"),
    ("shard_id", "VARCHAR", "Kinesis shard"),
    ("sequence_number", "VARCHAR", "Kinesis sequence number"),
    ("subsequence", "INTEGER", "index inside a KPL-aggregated record (NULL otherwise)"),
    ("partition_key", "VARCHAR", "Kinesis partition key"),
    ("arrival_time", "TIMESTAMP", "Kinesis ApproximateArrivalTimestamp, UTC"),
    ("date", "DATE", "UTC day of arrival_time (folder date=...)"),
)

_DOCS = "https://www.twilio.com/docs/events/event-types"


@dataclass(frozen=True)
class Field:
    """One typed column of a family, taken from ``data`` at ``path`` (``a.b.c``: nested keys).

    ``kind`` is VARCHAR or INTEGER (a value that is not a whole number is NULL, as TRY_CAST
    makes it); ``lower`` lower-cases text (Twilio sends ``DELIVERED``, people type
    ``delivered``). An object or array at ``path`` is NULL (a scalar was expected).
    """

    column: str
    path: str
    meaning: str
    kind: str = "VARCHAR"
    lower: bool = False

    def sql(self, value: str) -> str:
        """The column's value as SQL, from ``value`` (the raw text at the path)."""
        if self.kind != "VARCHAR":
            return f"TRY_CAST({value} AS {self.kind})"
        return f"lower({value})" if self.lower else value

    @property
    def json_path(self) -> str:
        return "$." + self.path


@dataclass(frozen=True)
class Family:
    """A view over the events of some types and its fields. ``types`` is one event type, or
    a prefix ending in ``.`` for every type under it."""

    view: str
    description: str
    types: str
    fields: tuple[Field, ...]
    source: str

    @property
    def where(self) -> str:
        """The condition on ``type`` (SQL, after ``type``)."""
        if self.types.endswith("."):
            return f"LIKE '{self.types}%'"
        return f"= '{self.types}'"

    def matches(self, event_type: str) -> bool:
        """Whether events of ``event_type`` belong here (the same rule as :attr:`where`)."""
        if self.types.endswith("."):
            return event_type.startswith(self.types)
        return event_type == self.types


def _messages() -> Family:
    return Family(
        "messages",
        "outbound message status events: sid, status, error code, from, to, messaging service",
        "com.twilio.messaging.message.",
        (
            Field("message_sid", "messageSid", "messageSid"),
            Field("status", "messageStatus", "messageStatus, lower case", lower=True),
            Field("error_code", "errorCode", "errorCode (NULL unless it failed)", "INTEGER"),
            Field("sender", "from", "from"),
            Field("recipient", "to", "to"),
            Field("messaging_service_sid", "messagingServiceSid", "messagingServiceSid"),
            Field("account_sid", "accountSid", "accountSid"),
            Field("segments", "numberOfSegments", "numberOfSegments (v5 and later)", "INTEGER"),
            Field("mcc", "mcc", "mcc, mobile country code (v5 and later)"),
            Field("mnc", "mnc", "mnc, mobile network code (v5 and later)"),
        ),
        f"{_DOCS}/messaging/outbound-message (Messaging.MessageStatus)",
    )


def _inbound() -> Family:
    return Family(
        "inbound_messages",
        "messages received by your numbers",
        "com.twilio.messaging.inbound-message.received",
        (
            Field("message_sid", "messageSid", "messageSid"),
            Field("sender", "from", "from"),
            Field("recipient", "to", "to"),
            Field("messaging_service_sid", "messagingServiceSid", "messagingServiceSid"),
            Field("account_sid", "accountSid", "accountSid"),
            Field("body", "body", "body"),
            Field("media", "numMedia", "numMedia", "INTEGER"),
            Field("segments", "numSegments", "numSegments", "INTEGER"),
            Field("from_country", "fromCountry", "fromCountry"),
            Field("opt_out_type", "optOutType", "optOutType (STOP, START, HELP)"),
        ),
        f"{_DOCS}/messaging/inbound-message (Messaging.InboundMessageV1)",
    )


def _calls() -> Family:
    params = "request.parameters."
    return Family(
        "calls",
        "voice call status callbacks: sid, status, from, to, direction, duration",
        "com.twilio.voice.status-callback.call.",
        (
            Field("call_sid", "sid", "sid"),
            Field("status", params + "CallStatus", "request.parameters.CallStatus", lower=True),
            Field("sender", params + "From", "request.parameters.From"),
            Field("recipient", params + "To", "request.parameters.To"),
            Field("direction", params + "Direction", "request.parameters.Direction"),
            Field("duration", params + "CallDuration", "CallDuration, seconds", "INTEGER"),
            Field("account_sid", params + "AccountSid", "request.parameters.AccountSid"),
            Field("response_code", "response.responseCode", "your endpoint's answer", "INTEGER"),
        ),
        f"{_DOCS}/voice/status-callback (Voice.WebhookEvent)",
    )


def _call_summaries() -> Family:
    return Family(
        "call_summaries",
        "Voice Insights call summaries: type, state, direction, duration, caller, callee",
        "com.twilio.voice.insights.call-summary.",
        (
            Field("call_sid", "call_sid", "call_sid"),
            Field("call_type", "call_type", "call_type: carrier, sip, trunking, client"),
            Field("call_state", "call_state", "call_state: completed, busy, fail, noanswer"),
            Field("processing_state", "processing_state", "processing_state"),
            Field("direction", "direction", "direction"),
            Field("duration", "duration", "duration, seconds", "INTEGER"),
            Field("connect_duration", "connect_duration", "connect_duration, s", "INTEGER"),
            Field("sender", "from.caller", "from.caller"),
            Field("recipient", "to.callee", "to.callee"),
            Field("account_sid", "account_sid", "account_sid"),
        ),
        "https://www.twilio.com/docs/voice/voice-insights/event-streams/call-insights-events "
        "(VoiceInsights.CallSummary)",
    )


def _taskrouter() -> Family:
    payload = "payload."
    return Family(
        "taskrouter",
        "TaskRouter events: tasks, reservations, workers, queues, workflows",
        "com.twilio.taskrouter.",
        (
            Field("event_sid", "sid", "sid"),
            Field("event_name", payload + "eventtype", "payload.eventtype, e.g. task.created"),
            Field("workspace_sid", payload + "workspace_sid", "payload.workspace_sid"),
            Field("task_sid", payload + "task_sid", "payload.task_sid"),
            Field("task_queue_sid", payload + "task_queue_sid", "payload.task_queue_sid"),
            Field("task_queue_name", payload + "task_queue_name", "payload.task_queue_name"),
            Field("worker_sid", payload + "worker_sid", "payload.worker_sid"),
            Field("worker_name", payload + "worker_name", "payload.worker_name"),
            Field("reservation_sid", payload + "reservation_sid", "payload.reservation_sid"),
            Field("workflow_sid", payload + "workflow_sid", "payload.workflow_sid"),
            Field("task_channel", payload + "task_channel_unique_name", "task channel"),
            Field("task_priority", payload + "task_priority", "task_priority", "INTEGER"),
            Field("task_age", payload + "task_age", "task_age, seconds", "INTEGER"),
            Field(
                "task_assignment_status",
                payload + "task_assignment_status",
                "payload.task_assignment_status",
            ),
            Field("task_canceled_reason", payload + "task_canceled_reason", "why canceled"),
            Field("task_attributes", payload + "task_attributes", "task_attributes (JSON text)"),
            Field("account_sid", "account_sid", "account_sid"),
        ),
        f"{_DOCS}/taskrouter (TaskRouter.WDSEvent)",
    )


def _error_logs() -> Family:
    return Family(
        "error_logs",
        "the Debugger's errors and warnings: code, level, product, payload",
        "com.twilio.error-logs.error.logged",
        (
            Field("error_sid", "sid", "sid"),
            Field("error_code", "error_code", "error_code", "INTEGER"),
            Field("level", "level", "level: ERROR, WARNING, INFO"),
            Field("product_name", "product_name", "product_name"),
            Field("account_sid", "account_sid", "account_sid"),
            Field("parent_account_sid", "master_account_sid", "master_account_sid"),
            Field("service_sid", "service_sid", "service_sid"),
            Field("request_sid", "request_sid", "request_sid"),
            Field("correlation_sid", "correlation_sid", "correlation_sid"),
            Field("payload", "payload", "payload (JSON text)"),
        ),
        f"{_DOCS}/errors/error-logs (ErrorLogs.Error)",
    )


FAMILIES: tuple[Family, ...] = (
    _messages(),
    _inbound(),
    _calls(),
    _call_summaries(),
    _taskrouter(),
    _error_logs(),
)


def _family_columns() -> tuple[tuple[str, str], ...]:
    """Every family column once (name, type); the same name has one type in every family."""
    seen: dict[str, str] = {}
    for family in FAMILIES:
        for field in family.fields:
            if seen.setdefault(field.column, field.kind) != field.kind:
                raise ValueError(f"{field.column} is both {seen[field.column]} and {field.kind}")
    return tuple(seen.items())


FAMILY_COLUMNS = _family_columns()


def family_of(event_type: str) -> Family | None:
    """The family whose view shows events of ``event_type`` (None: only ``events`` does)."""
    return next((f for f in FAMILIES if f.matches(event_type)), None)


def _first(column: str) -> str:
    return f"arg_min({column}, arrival_time) AS {column}"


def first_copies(
    where: str, plain: list[str], firsts: list[str], *, source: str = "archive"
) -> str:
    """Every event of ``source`` matching ``where`` once: the first copy to arrive.

    Two branches, because repeats are rare: the events whose ``event_key`` occurs once are
    taken as they are (``plain``: SELECT items), the few whose key repeats are grouped by
    ``source`` and ``id`` and keep the first copy's values (``firsts``: the same items as
    aggregates). Keys are 64-bit integers, so finding the repeats is a cheap aggregation;
    a key shared by two different events only sends both through the exact branch, and a
    NULL key (files without one) counts as repeated, so the result is exact either way.
    """
    only = f"\nWHERE {where}" if where else ""
    also = f"\nWHERE {where}\n  AND " if where else "\nWHERE "
    return (
        "WITH repeated AS (\n"
        f"  SELECT coalesce(event_key, 0) AS event_key\n  FROM {source}"
        + only.replace("\n", "\n  ")
        + "\n  GROUP BY 1\n  HAVING count(*) > 1\n)\n"
        f"SELECT\n  {_items(plain)}\nFROM {source}{also}"
        "coalesce(event_key, 0) NOT IN (SELECT event_key FROM repeated)\n"
        "UNION ALL\n"
        f"SELECT\n  {_items(firsts)}\nFROM {source}{also}"
        "coalesce(event_key, 0) IN (SELECT event_key FROM repeated)\n"
        "GROUP BY source, id"
    )


def _items(items: list[str]) -> str:
    return ",\n  ".join(items)


@dataclass(frozen=True)
class View:
    """One view: its name, what it shows, its SQL (DuckDB dialect) and where its columns
    come from."""

    name: str
    description: str
    sql: str
    source: str = ""
    columns: tuple[tuple[str, str], ...] = ()  # (column, meaning) beyond the common ones


def family_view(family: Family, source: str = "archive") -> View:
    """``family``'s view over ``source`` (the base relation, or one holding only the
    family's files: the embedded engine's, see engine.open_archive)."""
    names = [f.column for f in family.fields]
    plain = ["id AS event_id", "time", "type", '"date"', *names]
    firsts = ["id AS event_id", *(_first(c) for c in ("time", "type", '"date"', *names))]
    return View(
        family.view,
        family.description,
        first_copies(f"type {family.where}", plain, firsts, source=source),
        family.source,
        tuple((f.column, f.meaning) for f in family.fields),
    )


_EVENT_COLUMNS = (
    "type", "specversion", "time", "datacontenttype", "dataschema", "subject", "data",
    "extensions", "shard_id", "sequence_number", "subsequence", "partition_key",
    "arrival_time", '"date"',
)  # fmt: skip
_JSON = ("data", "extensions")


def _events_sql() -> str:
    plain = ["id", "source"] + [f"json({c}) AS {c}" if c in _JSON else c for c in _EVENT_COLUMNS]
    firsts = ["id", "source"]
    for column in _EVENT_COLUMNS:
        if column in _JSON:
            firsts.append(f"json(arg_min({column}, arrival_time)) AS {column}")
        elif column == "arrival_time":
            firsts.append("min(arrival_time) AS arrival_time")
        else:
            firsts.append(_first(column))
    return first_copies("", plain, firsts)


EVENTS = View(
    "events",
    "every CloudEvent once: its attributes typed, Kinesis metadata, data as JSON",
    _events_sql(),
    source="https://github.com/cloudevents/spec/blob/v1.0.2/cloudevents/spec.md",
)

NOT_CLOUDEVENTS = View(
    "not_cloudevents",
    "records that were not CloudEvents, kept as read",
    "SELECT raw, error, shard_id, sequence_number, subsequence, partition_key, arrival_time,"
    ' "date"\nFROM raw_records',
)

#: Every view, in the order they are created.
VIEWS: tuple[View, ...] = (EVENTS, *(family_view(f) for f in FAMILIES), NOT_CLOUDEVENTS)
BY_NAME = {view.name: view for view in VIEWS}
FAMILY_BY_VIEW = {family.view: family for family in FAMILIES}


def archive_from_events(relation: str) -> str:
    """The base relation from a table that holds only the CloudEvents (``data`` as JSON text)
    and the Kinesis columns: the family columns extracted by SQL, as the embedded archive's
    writer stores them. For Athena over Firehose's files (translate with :func:`to_trino`).

    ``event_key`` is NULL here (every event then takes the views' exact branch: correct,
    slower). An engine may compute the writer's key for speed; in Trino:
    ``from_base(substr(to_hex(sha256(to_utf8(concat(source, chr(0), id)))), 1, 15), 16)``.
    """
    cases = []
    for column, kind in FAMILY_COLUMNS:
        whens = [
            f"WHEN type {family.where} THEN {field.sql(f'data ->> {_quote(field.json_path)}')}"
            for family in FAMILIES
            for field in family.fields
            if field.column == column
        ]
        cases.append(f"CAST(CASE {' '.join(whens)} END AS {kind}) AS {column}")
    base = ", ".join(
        "CAST(NULL AS BIGINT) AS event_key" if name == "event_key" else _quoted(name)
        for name, _, _ in ARCHIVE
    )
    return f"SELECT {base},\n  " + ",\n  ".join(cases) + f"\nFROM {relation}"


def _quoted(name: str) -> str:
    return f'"{name}"' if name in ("date", "time", "type") else name


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def to_trino(sql: str) -> str:
    """``sql`` (DuckDB's dialect, as the views are written) in Athena's dialect (Trino).

    sqlglot does the translation (``->>`` becomes ``JSON_EXTRACT_SCALAR``, ``json()``
    becomes ``JSON_PARSE``, ``arg_min`` becomes ``MIN_BY`` ...); it is imported only here.
    """
    import sqlglot

    return str(sqlglot.transpile(sql, read="duckdb", write="trino", pretty=True)[0])
