"""The emulator's seeded catalogue: real Event Streams type names, schema ids and versions.

Type names and schema ids are Twilio's (docs.twilio.com event-type pages and the schema host
``events-schemas.twilio.com``). Version counts and dates are plausible, not authoritative: only
``Messaging.MessageStatus`` version 4 ships with its real JSON Schema document (see
``schemas/``); other versions are served as schemas derived from the emulator's event
generator, so that every ``raw`` URL resolves. One type is ``discontinued`` and one
``deprecated`` (still usable) so the subscription rules can be exercised.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SchemaDef:
    """A schema id and the creation date of each of its versions (version N = index + 1)."""

    id: str
    version_dates: tuple[str, ...]

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
        ),
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
    SchemaDef("EventStreams.TestSink", ("2020-07-30T20:00:00Z",)),
)


def _msg(name: str, text: str, status: str = "available") -> EventTypeDef:
    return EventTypeDef(
        f"com.twilio.messaging.message.{name}",
        "Messaging.MessageStatus",
        f"Messaging- {text}",
        status=status,
        documentation_url=f"{_DOCS}/messaging",
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
    _msg("failed", "failed message", status="deprecated"),
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
    ),
    EventTypeDef(
        "com.twilio.voice.insights.call-summary.partial",
        "VoiceInsights.CallSummary",
        "Voice Insights- call summary, partial",
        documentation_url=f"{_DOCS}/voice-insights",
    ),
    EventTypeDef(
        "com.twilio.voice.insights.call-summary.predicted-complete",
        "VoiceInsights.CallSummary",
        "Voice Insights- call summary, predicted complete",
        status="discontinued",
        documentation_url=f"{_DOCS}/voice-insights",
    ),
    EventTypeDef(
        "com.twilio.voice.insights.call-event.gateway",
        "VoiceInsights.CallEvent",
        "Voice Insights- carrier gateway call event",
        documentation_url=f"{_DOCS}/voice-insights",
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
        TEST_EVENT_TYPE,
        "EventStreams.TestSink",
        "Event Streams- sink test event",
    ),
)

TYPES_BY_NAME: dict[str, EventTypeDef] = {t.type: t for t in EVENT_TYPES}
SCHEMAS_BY_ID: dict[str, SchemaDef] = {s.id: s for s in SCHEMAS}
