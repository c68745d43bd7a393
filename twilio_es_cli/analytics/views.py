"""The SQL views over an archive, written once (DuckDB's dialect) and translated for Trino.

Every view reads one base relation, ``archive``: the Parquet files' columns (:data:`ARCHIVE`)
plus the two folder columns ``type`` and ``date``. DuckDB gets it from the files in a
directory (:mod:`.engine`); Athena would get it from a Glue table over the same layout. So a
view's text never names a file or a function only one engine has: :func:`to_trino` turns each
into Athena's dialect with sqlglot, and tests/analytics/test_views_dialects.py parses every
view in both dialects.

Repeats are removed in every view: Twilio delivers at least once, and an archiver killed with
``kill -9`` writes again what its checkpoint had not passed. A CloudEvent is identified by
``source`` and ``id`` (CloudEvents 1.0), and the first copy to arrive wins (then shard,
sequence number and sub-record, so the choice is the same on every run).

The family views (``messages``, ``calls`` ...) take their typed columns from Twilio's event
schemas (the page each comes from is in :attr:`View.source`). Each filters by type first, takes
what it needs out of ``data``, and only then removes repeats: a query that uses two columns
carries two columns through the dedupe, not every event's whole ``data``.
"""

from __future__ import annotations

from dataclasses import dataclass

#: The base relation's columns: (name, DuckDB type, what it holds). The Parquet files hold all
#: but ``type`` and ``date``, which are the folder names (see :mod:`.layout`).
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
RAW_FILE_COLUMNS = tuple(name for name, _, _ in RAW if name != "date")

#: The first copy of each event wins (see the module docstring).
FIRST_COPY = (
    "row_number() OVER (PARTITION BY source, id "
    "ORDER BY arrival_time, shard_id, sequence_number, subsequence)"
)

_DOCS = "https://www.twilio.com/docs/events/event-types"


@dataclass(frozen=True)
class View:
    """One view: its name, what it shows, its SQL (DuckDB dialect) and where its columns
    come from."""

    name: str
    description: str
    sql: str
    source: str = ""
    columns: tuple[tuple[str, str], ...] = ()  # (column, meaning) beyond the common ones


def _text(path: str) -> str:
    return f"data ->> '{path}'"


def _integer(path: str) -> str:
    return f"TRY_CAST(data ->> '{path}' AS INTEGER)"


def _family(where: str, fields: tuple[tuple[str, str, str], ...]) -> str:
    """A family view: events of ``where``, fields taken out of ``data``, repeats removed.

    ``fields`` are (column, SQL expression over ``data``, meaning). The innermost select
    extracts, the middle one numbers copies, the outer one keeps the first: DuckDB drops the
    columns a query does not use at every level, so they never reach the dedupe.
    """
    names = ", ".join(name for name, _, _ in fields)
    extract = ",\n    ".join(f"{expr} AS {name}" for name, expr, _ in fields)
    common = 'event_id, time, type, "date"'
    return (
        f"SELECT {common}, {names}\n"
        f"FROM (\n"
        f"  SELECT {common}, {names},\n"
        f"    row_number() OVER (PARTITION BY source, event_id\n"
        f"      ORDER BY arrival_time, shard_id, sequence_number, subsequence) AS copy_number\n"
        f"  FROM (\n"
        f'    SELECT id AS event_id, source, time, type, "date", arrival_time, shard_id,\n'
        f"      sequence_number, subsequence,\n"
        f"    {extract}\n"
        f"    FROM archive\n"
        f"    WHERE {where}\n"
        f"  ) AS extracted\n"
        f") AS numbered\n"
        f"WHERE copy_number = 1"
    )


EVENTS = View(
    "events",
    "every CloudEvent once: its attributes typed, Kinesis metadata, data as JSON",
    "SELECT id, source, type, specversion, time, datacontenttype, dataschema, subject,\n"
    "  json(data) AS data, json(extensions) AS extensions,\n"
    '  shard_id, sequence_number, subsequence, partition_key, arrival_time, "date"\n'
    "FROM (\n"
    f"  SELECT *, {FIRST_COPY} AS copy_number\n"
    "  FROM archive\n"
    ") AS numbered\n"
    "WHERE copy_number = 1",
    source="https://github.com/cloudevents/spec/blob/v1.0.2/cloudevents/spec.md",
)

_MESSAGE_FIELDS = (
    ("message_sid", _text("$.messageSid"), "messageSid"),
    ("status", f"lower({_text('$.messageStatus')})", "messageStatus, lower case"),
    ("error_code", _integer("$.errorCode"), "errorCode (NULL unless it failed)"),
    ("sender", _text("$.from"), "from"),
    ("recipient", _text("$.to"), "to"),
    ("messaging_service_sid", _text("$.messagingServiceSid"), "messagingServiceSid"),
    ("account_sid", _text("$.accountSid"), "accountSid"),
    ("segments", _integer("$.numberOfSegments"), "numberOfSegments (schema v5 and later)"),
    ("mcc", _text("$.mcc"), "mcc, mobile country code (v5+)"),
    ("mnc", _text("$.mnc"), "mnc, mobile network code (v5+)"),
)

MESSAGES = View(
    "messages",
    "outbound message status events: sid, status, error code, from, to, messaging service",
    _family("type LIKE 'com.twilio.messaging.message.%'", _MESSAGE_FIELDS),
    source=f"{_DOCS}/messaging/outbound-message (Messaging.MessageStatus)",
    columns=tuple((name, meaning) for name, _, meaning in _MESSAGE_FIELDS),
)

_INBOUND_FIELDS = (
    ("message_sid", _text("$.messageSid"), "messageSid"),
    ("sender", _text("$.from"), "from"),
    ("recipient", _text("$.to"), "to"),
    ("messaging_service_sid", _text("$.messagingServiceSid"), "messagingServiceSid"),
    ("account_sid", _text("$.accountSid"), "accountSid"),
    ("body", _text("$.body"), "body"),
    ("media", _integer("$.numMedia"), "numMedia"),
    ("segments", _integer("$.numSegments"), "numSegments"),
    ("from_country", _text("$.fromCountry"), "fromCountry"),
    ("opt_out_type", _text("$.optOutType"), "optOutType (STOP, START, HELP)"),
)

INBOUND = View(
    "inbound_messages",
    "messages received by your numbers",
    _family("type = 'com.twilio.messaging.inbound-message.received'", _INBOUND_FIELDS),
    source=f"{_DOCS}/messaging/inbound-message (Messaging.InboundMessageV1)",
    columns=tuple((name, meaning) for name, _, meaning in _INBOUND_FIELDS),
)

_PARAMS = "$.request.parameters"
_CALL_FIELDS = (
    ("call_sid", _text("$.sid"), "sid"),
    ("status", f"lower({_text(_PARAMS + '.CallStatus')})", "request.parameters.CallStatus"),
    ("sender", _text(_PARAMS + ".From"), "request.parameters.From"),
    ("recipient", _text(_PARAMS + ".To"), "request.parameters.To"),
    ("direction", _text(_PARAMS + ".Direction"), "request.parameters.Direction"),
    ("duration", f"TRY_CAST({_text(_PARAMS + '.CallDuration')} AS INTEGER)", "CallDuration, s"),
    ("account_sid", _text(_PARAMS + ".AccountSid"), "request.parameters.AccountSid"),
    ("response_code", _integer("$.response.responseCode"), "your endpoint's HTTP answer"),
)

CALLS = View(
    "calls",
    "voice call status callbacks: sid, status, from, to, direction, duration",
    _family("type LIKE 'com.twilio.voice.status-callback.call.%'", _CALL_FIELDS),
    source=f"{_DOCS}/voice/status-callback (Voice.WebhookEvent)",
    columns=tuple((name, meaning) for name, _, meaning in _CALL_FIELDS),
)

_SUMMARY_FIELDS = (
    ("call_sid", _text("$.call_sid"), "call_sid"),
    ("call_type", _text("$.call_type"), "call_type: carrier, sip, trunking, client"),
    ("call_state", _text("$.call_state"), "call_state: completed, busy, fail, noanswer ..."),
    ("processing_state", _text("$.processing_state"), "processing_state: partial, complete"),
    ("direction", _text("$.direction"), "direction"),
    ("duration", _integer("$.duration"), "duration, s"),
    ("connect_duration", _integer("$.connect_duration"), "connect_duration, s"),
    ("sender", _text("$.from.caller"), "from.caller"),
    ("recipient", _text("$.to.callee"), "to.callee"),
    ("account_sid", _text("$.account_sid"), "account_sid"),
)

CALL_SUMMARIES = View(
    "call_summaries",
    "Voice Insights call summaries: type, state, direction, duration, caller, callee",
    _family("type LIKE 'com.twilio.voice.insights.call-summary.%'", _SUMMARY_FIELDS),
    source="https://www.twilio.com/docs/voice/voice-insights/event-streams/call-insights-events "
    "(VoiceInsights.CallSummary)",
    columns=tuple((name, meaning) for name, _, meaning in _SUMMARY_FIELDS),
)

_PAYLOAD = "$.payload"
_TASKROUTER_FIELDS = (
    ("event_sid", _text("$.sid"), "sid"),
    ("event_name", _text(_PAYLOAD + ".eventtype"), "payload.eventtype, e.g. task.created"),
    ("workspace_sid", _text(_PAYLOAD + ".workspace_sid"), "payload.workspace_sid"),
    ("task_sid", _text(_PAYLOAD + ".task_sid"), "payload.task_sid"),
    ("task_queue_sid", _text(_PAYLOAD + ".task_queue_sid"), "payload.task_queue_sid"),
    ("task_queue_name", _text(_PAYLOAD + ".task_queue_name"), "payload.task_queue_name"),
    ("worker_sid", _text(_PAYLOAD + ".worker_sid"), "payload.worker_sid"),
    ("worker_name", _text(_PAYLOAD + ".worker_name"), "payload.worker_name"),
    ("reservation_sid", _text(_PAYLOAD + ".reservation_sid"), "payload.reservation_sid"),
    ("workflow_sid", _text(_PAYLOAD + ".workflow_sid"), "payload.workflow_sid"),
    ("task_channel", _text(_PAYLOAD + ".task_channel_unique_name"), "task_channel_unique_name"),
    ("task_priority", _integer(_PAYLOAD + ".task_priority"), "payload.task_priority"),
    ("task_age", _integer(_PAYLOAD + ".task_age"), "payload.task_age, s"),
    (
        "task_assignment_status",
        _text(_PAYLOAD + ".task_assignment_status"),
        "payload.task_assignment_status",
    ),
    ("task_canceled_reason", _text(_PAYLOAD + ".task_canceled_reason"), "task_canceled_reason"),
    ("task_attributes", _text(_PAYLOAD + ".task_attributes"), "task_attributes (JSON text)"),
    ("account_sid", _text("$.account_sid"), "account_sid"),
)

TASKROUTER = View(
    "taskrouter",
    "TaskRouter events: tasks, reservations, workers, queues, workflows",
    _family("type LIKE 'com.twilio.taskrouter.%'", _TASKROUTER_FIELDS),
    source=f"{_DOCS}/taskrouter (TaskRouter.WDSEvent)",
    columns=tuple((name, meaning) for name, _, meaning in _TASKROUTER_FIELDS),
)

_ERROR_FIELDS = (
    ("sid", _text("$.sid"), "sid"),
    ("error_code", _integer("$.error_code"), "error_code"),
    ("level", _text("$.level"), "level: ERROR, WARNING, INFO"),
    ("product_name", _text("$.product_name"), "product_name"),
    ("account_sid", _text("$.account_sid"), "account_sid"),
    ("parent_account_sid", _text("$.master_account_sid"), "master_account_sid"),
    ("service_sid", _text("$.service_sid"), "service_sid"),
    ("request_sid", _text("$.request_sid"), "request_sid"),
    ("correlation_sid", _text("$.correlation_sid"), "correlation_sid"),
    ("payload", _text("$.payload"), "payload (JSON text)"),
)

ERROR_LOGS = View(
    "error_logs",
    "the Debugger's errors and warnings: code, level, product, payload",
    _family("type = 'com.twilio.error-logs.error.logged'", _ERROR_FIELDS),
    source=f"{_DOCS}/errors/error-logs (ErrorLogs.Error)",
    columns=tuple((name, meaning) for name, _, meaning in _ERROR_FIELDS),
)

NOT_CLOUDEVENTS = View(
    "not_cloudevents",
    "records that were not CloudEvents, kept as read",
    "SELECT raw, error, shard_id, sequence_number, subsequence, partition_key, arrival_time,"
    ' "date"\nFROM raw_records',
)

#: Every view, in the order they are created (a view may read the ones before it).
VIEWS: tuple[View, ...] = (
    EVENTS,
    MESSAGES,
    INBOUND,
    CALLS,
    CALL_SUMMARIES,
    TASKROUTER,
    ERROR_LOGS,
    NOT_CLOUDEVENTS,
)
BY_NAME = {view.name: view for view in VIEWS}


def to_trino(sql: str) -> str:
    """``sql`` (DuckDB's dialect, as the views are written) in Athena's dialect (Trino).

    sqlglot does the translation (``->>`` becomes ``JSON_EXTRACT_SCALAR``, ``json()``
    becomes ``JSON_PARSE``, ``QUALIFY`` a subquery ...); it is imported only here.
    """
    import sqlglot

    return str(sqlglot.transpile(sql, read="duckdb", write="trino", pretty=True)[0])
