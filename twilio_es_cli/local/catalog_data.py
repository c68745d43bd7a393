"""The emulator's seeded catalogue, rebuilt from Twilio's public pages; each fact has a source.

Every :class:`SchemaDef` and :class:`EventTypeDef` carries ``source``: the public page the
name, status or latest version comes from (pages read in 2026; see :data:`SOURCES`). Where no
public page gives a fact (most version *dates*, the version count of some schemas) the value is
the emulator's own and ``source`` says so. Corrections against the earlier hand-made list:

- ``Messaging.MessageStatus`` goes to version 7 ("v7 (latest)" on the Outbound Message page);
  no version in a subscription means the latest;
- ``com.twilio.voice.insights.call-summary.predicted-complete`` is available (listed among the
  seven Call Insights events), not discontinued: the Kinesis quickstart subscribes to it;
- ``com.twilio.conversations.delivery.updated`` exists and IS discontinued;
- ``com.twilio.messaging.message.failed`` is available (no page marks it deprecated).

Only ``Messaging.MessageStatus`` version 4 ships with its real JSON Schema document (see
``schemas/``); other versions are served as schemas derived from the emulator's event
generator, so that every ``raw`` URL resolves.
"""

from __future__ import annotations

from dataclasses import dataclass

_OUTBOUND = "https://www.twilio.com/docs/events/event-types/messaging/outbound-message"
_CALL_INSIGHTS = (
    "https://www.twilio.com/docs/voice/voice-insights/event-streams/call-insights-events"
)
_CONVERSATIONS = "https://www.twilio.com/docs/events/event-types/conversations"
_LIFECYCLE = "https://www.twilio.com/docs/events/event-types-lifecycle"
_QUICKSTART = "https://www.twilio.com/docs/events/eventstreams-quickstart"
EMULATOR_ONLY = "not on a public page: the emulator's own value"

# Where the facts come from (what each page says that the catalogue relies on).
SOURCES: dict[str, str] = {
    _OUTBOUND: "com.twilio.messaging.message.* types; dataschema Messaging.MessageStatus/7; "
    "'v7 (latest)': no new fields between v6 and v7",
    _CALL_INSIGHTS: "seven Call Insights events, call-summary.complete/partial/"
    "predicted-complete and call-event.gateway among them, none discontinued",
    _CONVERSATIONS + "/delivery": "com.twilio.conversations.delivery.updated: 'Discontinued "
    "event type'; dataschema Conversations.DeliveryUpdated/2, v2 latest",
    _CONVERSATIONS + "/message": "com.twilio.conversations.message.added; dataschema "
    "Conversations.MessageAdded/2, v2 latest",
    _LIFECYCLE: "statuses available, deprecated, restricted, discontinued and what each allows",
    _QUICKSTART: "the test event (type com.twilio.eventstreams.test-event, source Sink) and "
    "the call-summary subscription example (schema_version 1)",
}


@dataclass(frozen=True)
class SchemaDef:
    """A schema id and the creation date of each of its versions (version N = index + 1)."""

    id: str
    version_dates: tuple[str, ...]
    source: str = EMULATOR_ONLY  # where the version count comes from (dates: emulator's)

    @property
    def latest_version(self) -> int:
        return len(self.version_dates)


@dataclass(frozen=True)
class EventTypeDef:
    """One event type of the catalogue (``GET /v1/Types``)."""

    type: str
    schema_id: str
    description: str
    status: str = "available"  # available | deprecated | restricted | discontinued
    documentation_url: str | None = None
    date_created: str = "2020-08-13T13:28:20Z"
    source: str = EMULATOR_ONLY  # the page that lists the type (and its status)


TEST_EVENT_TYPE = "com.twilio.eventstreams.test-event"

_DOCS = "https://www.twilio.com/docs/events/event-types"

SCHEMAS: tuple[SchemaDef, ...] = (
    SchemaDef(
        "Messaging.MessageStatus",
        (
            "2020-07-30T20:00:00Z",
            "2021-03-02T10:00:00Z",
            "2022-05-17T09:30:00Z",
            "2023-01-24T12:00:00Z",
            "2024-02-06T12:00:00Z",
            "2024-09-10T12:00:00Z",
            "2025-03-04T12:00:00Z",
        ),
        source=_OUTBOUND,
    ),
    SchemaDef(
        "Messaging.InboundMessageV1",
        tuple(f"202{n}-02-01T00:00:00Z" for n in range(6)),
    ),
    SchemaDef("VoiceInsights.CallSummary", ("2021-04-20T00:00:00Z", "2023-06-01T00:00:00Z")),
    SchemaDef(
        "VoiceInsights.CallEvent",
        ("2021-04-20T00:00:00Z", "2022-08-01T00:00:00Z", "2024-01-10T00:00:00Z"),
    ),
    SchemaDef(
        "TaskRouter.WDSEvent",
        (
            "2021-01-12T00:00:00Z",
            "2021-05-21T00:00:00Z",
            "2022-03-01T00:00:00Z",
            "2023-09-01T00:00:00Z",
        ),
    ),
    SchemaDef("Studio.FlowExecutionEvent", ("2021-10-05T00:00:00Z",)),
    SchemaDef("Studio.FlowStepEvent", ("2021-10-05T00:00:00Z",)),
    SchemaDef("EventStreams.TestSink", ("2020-07-30T20:00:00Z",), source=_QUICKSTART),
    SchemaDef(
        "Conversations.DeliveryUpdated",
        ("2022-01-11T00:00:00Z", "2024-05-14T00:00:00Z"),
        source=_CONVERSATIONS + "/delivery",
    ),
    SchemaDef(
        "Conversations.MessageAdded",
        ("2022-01-11T00:00:00Z", "2024-05-14T00:00:00Z"),
        source=_CONVERSATIONS + "/message",
    ),
)


def _msg(name: str, text: str, status: str = "available") -> EventTypeDef:
    return EventTypeDef(
        f"com.twilio.messaging.message.{name}",
        "Messaging.MessageStatus",
        f"Messaging- {text}",
        status=status,
        documentation_url=f"{_DOCS}/messaging/outbound-message",
        source=_OUTBOUND,
    )


def _tr(name: str, text: str) -> EventTypeDef:
    return EventTypeDef(
        f"com.twilio.taskrouter.{name}",
        "TaskRouter.WDSEvent",
        f"TaskRouter- {text}",
        documentation_url=f"{_DOCS}/taskrouter",
    )


EVENT_TYPES: tuple[EventTypeDef, ...] = (
    _msg("queued", "queued message"),
    _msg("sent", "sent message"),
    _msg("delivered", "delivered message"),
    _msg("undelivered", "undelivered message"),
    _msg("failed", "failed message"),
    _msg("read", "read message"),
    EventTypeDef(
        "com.twilio.messaging.inbound-message.received",
        "Messaging.InboundMessageV1",
        "Messaging- inbound message received",
        documentation_url=f"{_DOCS}/messaging",
    ),
    EventTypeDef(
        "com.twilio.voice.insights.call-summary.complete",
        "VoiceInsights.CallSummary",
        "Voice Insights- call summary, complete",
        documentation_url=f"{_DOCS}/voice-insights",
        source=_CALL_INSIGHTS,
    ),
    EventTypeDef(
        "com.twilio.voice.insights.call-summary.partial",
        "VoiceInsights.CallSummary",
        "Voice Insights- call summary, partial",
        documentation_url=f"{_DOCS}/voice-insights",
        source=_CALL_INSIGHTS,
    ),
    EventTypeDef(
        "com.twilio.voice.insights.call-summary.predicted-complete",
        "VoiceInsights.CallSummary",
        "Voice Insights- call summary, predicted complete",
        documentation_url=f"{_DOCS}/voice-insights",
        source=_CALL_INSIGHTS,
    ),
    EventTypeDef(
        "com.twilio.voice.insights.call-event.gateway",
        "VoiceInsights.CallEvent",
        "Voice Insights- carrier gateway call event",
        documentation_url=f"{_DOCS}/voice-insights",
        source=_CALL_INSIGHTS,
    ),
    _tr("task.created", "task created"),
    _tr("task.canceled", "task canceled"),
    _tr("task.completed", "task completed"),
    _tr("reservation.created", "reservation created"),
    _tr("reservation.accepted", "reservation accepted"),
    _tr("workflow.entered", "workflow entered"),
    EventTypeDef(
        "com.twilio.studio.flow.execution.started",
        "Studio.FlowExecutionEvent",
        "Studio- flow execution started",
        documentation_url=f"{_DOCS}/studio",
    ),
    EventTypeDef(
        "com.twilio.studio.flow.execution.ended",
        "Studio.FlowExecutionEvent",
        "Studio- flow execution ended",
        documentation_url=f"{_DOCS}/studio",
    ),
    EventTypeDef(
        "com.twilio.studio.flow.step.ended",
        "Studio.FlowStepEvent",
        "Studio- flow step ended",
        documentation_url=f"{_DOCS}/studio",
    ),
    EventTypeDef(
        "com.twilio.conversations.message.added",
        "Conversations.MessageAdded",
        "Conversations- message added",
        documentation_url=f"{_DOCS}/conversations/message",
        source=_CONVERSATIONS + "/message",
    ),
    EventTypeDef(
        "com.twilio.conversations.delivery.updated",
        "Conversations.DeliveryUpdated",
        "Conversations- delivery updated",
        status="discontinued",
        documentation_url=f"{_DOCS}/conversations/delivery",
        source=_CONVERSATIONS + "/delivery",
    ),
    EventTypeDef(
        TEST_EVENT_TYPE,
        "EventStreams.TestSink",
        "Event Streams- sink test event",
        source=_QUICKSTART,
    ),
)

TYPES_BY_NAME: dict[str, EventTypeDef] = {t.type: t for t in EVENT_TYPES}
SCHEMAS_BY_ID: dict[str, SchemaDef] = {s.id: s for s in SCHEMAS}
