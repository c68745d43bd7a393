"""The rules of Twilio's Events v1 service, independent of HTTP.

Sinks follow today's service by default: every sink is ``active`` when created, Test still
writes the test event into the sink, and Validate answers ``valid`` (Twilio's Sink Validate page:
"There is no longer a need for validating a Sink. The status of Sinks is active by default";
Validate "always returns ... valid (to avoid disrupting existing customer workflows)").
With ``legacy_validation`` the service models the old flow that some accounts and scripts still
meet: a kinesis or segment sink starts ``initialized``; Test makes it ``validating`` and sends
the test event; Validate with the *last* test id makes it ``active``; a webhook sink is active at
once. Either way a test event that cannot be delivered is logged in the debugger with Twilio's
931xx code (and, in the legacy flow, leaves a not-yet-active sink ``failed``), while Test itself
still answers "submitted", as the real service does asynchronously. At most
:data:`MAX_SINKS` sinks and :data:`MAX_SUBSCRIPTIONS` subscriptions per account (Twilio's Event
Streams overview); the next one is refused. Subscriptions (need an active sink; each type must
exist in the catalogue and not be discontinued; no schema version means the latest) and their
subscribed events, and ``emit``, which delivers generated events to every active sink
subscribed to a type. Failures are :class:`ApiFailure` with the HTTP status and Twilio error
code the real service would answer.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import replace
from typing import Any
from urllib.parse import urlsplit

from twilio_es_cli import arns
from twilio_es_cli.local.catalog_data import SCHEMAS_BY_ID, TYPES_BY_NAME
from twilio_es_cli.local.delivery import Deliverer, DeliveryError
from twilio_es_cli.local.events import make_event, now_iso, test_event
from twilio_es_cli.local.state import Sink, Store, Subscription, new_sid

INVALID_PARAMETER = 20001
NOT_FOUND = 20404
SINK_TYPES = ("kinesis", "webhook", "segment", "email")
SINK_STATUSES = ("initialized", "validating", "active", "failed")
# "Up to 100 Sinks and 100 Subscriptions per account" (Twilio's Event Streams overview page).
MAX_SINKS = 100
MAX_SUBSCRIPTIONS = 100


class ApiFailure(Exception):
    """An error answer: HTTP status, Twilio error code and message."""

    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def invalid(message: str) -> ApiFailure:
    return ApiFailure(400, INVALID_PARAMETER, message)


def limit_reached(resource: str, limit: int) -> ApiFailure:
    """The 101st sink or subscription: Twilio's 400 with its invalid-parameter code."""
    return ApiFailure(
        400,
        INVALID_PARAMETER,
        f"Maximum number of {resource} ({limit}) per account reached; "
        f"delete one before creating another",
    )


def not_found(path: str) -> ApiFailure:
    return ApiFailure(404, NOT_FOUND, f"The requested resource {path} was not found")


def _need(value: str | None, name: str) -> str:
    if value is None or value == "":
        raise invalid(f"Missing required parameter {name} in the post body")
    return value


def _check_sink_configuration(sink_type: str, raw: str) -> dict[str, Any]:
    try:
        config = json.loads(raw)
    except ValueError as exc:
        raise invalid(f"SinkConfiguration is not valid JSON: {exc}") from exc
    if not isinstance(config, dict):
        raise invalid("SinkConfiguration must be a JSON object")
    required = {
        "kinesis": ("arn", "role_arn", "external_id"),
        "webhook": ("destination",),
        "segment": ("write_key",),
    }.get(sink_type, ())
    missing = [key for key in required if not config.get(key)]
    if missing:
        raise invalid(f"SinkConfiguration for a {sink_type} sink is missing: {', '.join(missing)}")
    if sink_type == "kinesis":
        arn = str(config["arn"])
        if arns.parse_stream(arn) is None:
            raise invalid(f"SinkConfiguration arn {arn!r} is not a Kinesis stream ARN")
        if arns.parse_role(str(config["role_arn"])) is None:
            raise invalid(f"SinkConfiguration role_arn {config['role_arn']!r} is not a role ARN")
    if sink_type == "webhook":
        if urlsplit(str(config["destination"])).scheme not in ("http", "https"):
            raise invalid("SinkConfiguration destination must be an http(s) URL")
        method = str(config.setdefault("method", "POST")).upper()
        if method == "GET":
            # Twilio lists GET but documents no way for a GET to carry an event; rather than
            # deliver bare GETs (every event lost), the emulator refuses the sink up front.
            raise invalid(
                "SinkConfiguration method GET is not supported by this emulator: Twilio does "
                "not document how a GET request carries an event, so events would be lost; "
                "use POST"
            )
        if method != "POST":
            raise invalid("SinkConfiguration method must be POST or GET")
        config["method"] = method
        batch = config.setdefault("batch_events", False)
        if isinstance(batch, str):
            config["batch_events"] = batch.lower() == "true"
    if sink_type == "email":
        raise invalid("Email sinks are not supported by this emulator")
    return config


class EventsService:
    """Stateful Events v1 rules over a :class:`Store`; delivery through a :class:`Deliverer`."""

    def __init__(
        self,
        store: Store,
        deliverer: Deliverer,
        account_sid: str,
        *,
        legacy_validation: bool = False,
    ) -> None:
        self.store = store
        self.deliverer = deliverer
        self.account_sid = account_sid
        self.legacy_validation = legacy_validation

    # -- sinks ---------------------------------------------------------------------------
    def sink(self, sid: str) -> Sink:
        with self.store.lock:
            found = self.store.state.sinks.get(sid)
        if found is None:
            raise not_found(f"/v1/Sinks/{sid}")
        return found

    def create_sink(
        self, description: str | None, sink_type: str | None, configuration: str | None
    ) -> Sink:
        description = _need(description, "Description")
        sink_type = _need(sink_type, "SinkType")
        configuration = _need(configuration, "SinkConfiguration")
        if sink_type not in SINK_TYPES:
            raise invalid(f"SinkType must be one of {', '.join(SINK_TYPES)}, not {sink_type!r}")
        config = _check_sink_configuration(sink_type, configuration)
        stamp = now_iso()
        legacy = self.legacy_validation and sink_type != "webhook"
        sink = Sink(
            sid=new_sid("DG"),
            description=description,
            sink_type=sink_type,
            sink_configuration=config,
            status="initialized" if legacy else "active",
            date_created=stamp,
            date_updated=stamp,
        )
        with self.store.lock:
            if len(self.store.state.sinks) >= MAX_SINKS:
                raise limit_reached("Sinks", MAX_SINKS)
            self.store.state.sinks[sink.sid] = sink
        self.store.save()
        return sink

    def in_use(self, sid: str) -> bool:
        with self.store.lock:
            return any(s.sink_sid == sid for s in self.store.state.subscriptions.values())

    def list_sinks(self, status: str | None = None, in_use: str | None = None) -> list[Sink]:
        if status and status not in SINK_STATUSES:
            raise invalid(f"Status must be one of {', '.join(SINK_STATUSES)}")
        if in_use not in (None, "", "true", "false", "True", "False"):
            raise invalid("InUse must be true or false")
        with self.store.lock:
            sinks = list(self.store.state.sinks.values())
        if status:
            sinks = [s for s in sinks if s.status == status]
        if in_use:
            wanted = in_use.lower() == "true"
            sinks = [s for s in sinks if self.in_use(s.sid) == wanted]
        return sinks

    def update_sink(self, sid: str, description: str | None) -> Sink:
        description = _need(description, "Description")
        with self.store.lock:
            sink = self.sink(sid)
            sink.description = description
            sink.date_updated = now_iso()
        self.store.save()
        return sink

    def delete_sink(self, sid: str) -> None:
        with self.store.lock:
            self.sink(sid)
            users = [s.sid for s in self.store.state.subscriptions.values() if s.sink_sid == sid]
            if users:
                raise invalid(
                    f"Sink {sid} is in use by subscription {', '.join(users)}; "
                    "delete or move the subscription first"
                )
            del self.store.state.sinks[sid]
        self.store.save()

    def test_sink(self, sid: str) -> None:
        """Send a new test event (replacing the previous test id); failures go to the debugger."""
        test_id = str(uuid.uuid4())
        with self.store.lock:
            sink = self.sink(sid)
            sink.last_test_id = test_id
            if sink.status != "active":
                sink.status = "validating"
            sink.date_updated = now_iso()
            sink_type, config = sink.sink_type, dict(sink.sink_configuration)
        self.store.save()
        event = test_event(test_id, self.account_sid)
        try:
            self.deliverer.deliver(sink_type, config, [event])
        except DeliveryError as exc:
            self.record_error(sid, exc, event["type"])
            with self.store.lock:
                current = self.store.state.sinks.get(sid)
                if current and current.last_test_id == test_id and current.status != "active":
                    current.status = "failed"
            self.store.save()
            return
        if sink_type == "segment":
            with self.store.lock:
                current = self.store.state.sinks.get(sid)
                if current:
                    current.segment_events.append(event)
            self.store.save()

    def validate_sink(self, sid: str, test_id: str | None) -> None:
        """Legacy flow: the last test id makes the sink active. Today: always ``valid``."""
        test_id = _need(test_id, "TestId")
        with self.store.lock:
            sink = self.sink(sid)
            if not self.legacy_validation:
                return
            if sink.last_test_id is None or test_id != sink.last_test_id:
                raise invalid(
                    f"TestId {test_id} does not match the last test event sent to sink {sid}; "
                    "send a new test and use the test_id it delivers"
                )
            sink.status = "active"
            sink.date_updated = now_iso()
        self.store.save()

    # -- debugger ------------------------------------------------------------------------
    def record_error(self, sink_sid: str, exc: DeliveryError, event_type: str) -> None:
        entry = {
            "sid": new_sid("NO"),
            "code": exc.code,
            "message": exc.message,
            "sink_sid": sink_sid,
            "event_type": event_type,
            "date_created": now_iso(),
        }
        with self.store.lock:
            self.store.state.debugger.append(entry)
        self.store.save()

    def debugger_log(self) -> list[dict[str, Any]]:
        with self.store.lock:
            return [dict(entry) for entry in self.store.state.debugger]

    # -- subscriptions -------------------------------------------------------------------
    def subscription(self, sid: str) -> Subscription:
        with self.store.lock:
            found = self.store.state.subscriptions.get(sid)
        if found is None:
            raise not_found(f"/v1/Subscriptions/{sid}")
        return found

    def _active_sink(self, sink_sid: str) -> Sink:
        with self.store.lock:
            sink = self.store.state.sinks.get(sink_sid)
        if sink is None:
            raise invalid(f"Sink {sink_sid} not found")
        if sink.status != "active":
            raise invalid(
                f"Sink {sink_sid} is not active (status: {sink.status}); "
                "a subscription needs an active sink: test and validate it first"
            )
        return sink

    @staticmethod
    def resolve_type(event_type: str, version: Any = None) -> int:
        """Check one type against the catalogue and return the schema version to use."""
        spec = TYPES_BY_NAME.get(event_type)
        if spec is None:
            raise invalid(f"Type not found in the system: {event_type}")
        if spec.status == "discontinued":
            raise invalid(f"Type is discontinued: {event_type}")
        latest = SCHEMAS_BY_ID[spec.schema_id].latest_version
        if version is None or version == "":
            return latest
        try:
            number = int(version)
        except (TypeError, ValueError) as exc:
            raise invalid(f"Schema version {version!r} of {event_type} is not a number") from exc
        if not 1 <= number <= latest:
            raise invalid(
                f"Schema version {number} not found for type {event_type} "
                f"(schema {spec.schema_id} has versions 1-{latest})"
            )
        return number

    def create_subscription(
        self, description: str | None, sink_sid: str | None, types: list[str]
    ) -> Subscription:
        description = _need(description, "Description")
        sink_sid = _need(sink_sid, "SinkSid")
        if not types:
            raise invalid("Missing required parameter Types in the post body")
        resolved: dict[str, int] = {}
        for raw in types:
            try:
                item = json.loads(raw)
            except ValueError as exc:
                raise invalid(f"Types entry {raw!r} is not a JSON object") from exc
            if not isinstance(item, dict) or not item.get("type"):
                raise invalid(f'Types entry {raw!r} needs a "type"')
            resolved[str(item["type"])] = self.resolve_type(
                str(item["type"]), item.get("schema_version")
            )
        self._active_sink(sink_sid)
        stamp = now_iso()
        sub = Subscription(
            sid=new_sid("DF"),
            description=description,
            sink_sid=sink_sid,
            date_created=stamp,
            date_updated=stamp,
            types=resolved,
        )
        with self.store.lock:
            if len(self.store.state.subscriptions) >= MAX_SUBSCRIPTIONS:
                raise limit_reached("Subscriptions", MAX_SUBSCRIPTIONS)
            self.store.state.subscriptions[sub.sid] = sub
        self.store.save()
        return sub

    def list_subscriptions(self, sink_sid: str | None = None) -> list[Subscription]:
        with self.store.lock:
            subs = list(self.store.state.subscriptions.values())
        return [s for s in subs if not sink_sid or s.sink_sid == sink_sid]

    def update_subscription(self, sid: str, description: str | None) -> Subscription:
        """Only the description changes: the current spec (2025 on) has no ``SinkSid`` here.

        Older specs let ``SinkSid`` move a subscription; today's API does not list it, and like
        any parameter the spec does not name it is ignored (the subscription stays put).
        """
        with self.store.lock:
            sub = self.subscription(sid)
            if description is not None:
                sub.description = description
            sub.date_updated = now_iso()
        self.store.save()
        return sub

    def delete_subscription(self, sid: str) -> None:
        with self.store.lock:
            self.subscription(sid)
            del self.store.state.subscriptions[sid]
        self.store.save()

    # -- subscribed events ---------------------------------------------------------------
    def subscribed_event(self, sid: str, event_type: str) -> tuple[Subscription, int]:
        sub = self.subscription(sid)
        with self.store.lock:
            version = sub.types.get(event_type)
        if version is None:
            raise not_found(f"/v1/Subscriptions/{sid}/SubscribedEvents/{event_type}")
        return sub, version

    def add_subscribed_event(
        self, sid: str, event_type: str | None, version: str | None
    ) -> tuple[bool, int]:
        """Add (or re-version) a type; returns (created, schema_version)."""
        event_type = _need(event_type, "Type")
        number = self.resolve_type(event_type, version)
        with self.store.lock:
            sub = self.subscription(sid)
            created = event_type not in sub.types
            sub.types[event_type] = number
            sub.date_updated = now_iso()
        self.store.save()
        return created, number

    def update_subscribed_event(self, sid: str, event_type: str, version: str | None) -> int:
        self.subscribed_event(sid, event_type)
        number = self.resolve_type(event_type, version)
        with self.store.lock:
            sub = self.subscription(sid)
            sub.types[event_type] = number
            sub.date_updated = now_iso()
        self.store.save()
        return number

    def delete_subscribed_event(self, sid: str, event_type: str) -> None:
        sub, _ = self.subscribed_event(sid, event_type)
        with self.store.lock:
            if len(sub.types) == 1:
                raise invalid(
                    f"{event_type} is the last type of subscription {sid}; "
                    "a subscription needs at least one type (delete the subscription instead)"
                )
            del sub.types[event_type]
            sub.date_updated = now_iso()
        self.store.save()

    # -- events --------------------------------------------------------------------------
    def emit(self, event_type: str, count: int = 1, data: dict[str, Any] | None = None) -> int:
        """Deliver ``count`` generated events to each active sink subscribed to the type."""
        if event_type not in TYPES_BY_NAME:
            raise invalid(f"Type not found in the system: {event_type}")
        if count < 1:
            raise invalid("Count must be at least 1")
        targets: dict[str, tuple[Sink, int]] = {}
        with self.store.lock:
            for sub in self.store.state.subscriptions.values():
                sink = self.store.state.sinks.get(sub.sink_sid)
                version = sub.types.get(event_type)
                if sink and version and sink.status == "active" and sink.sid not in targets:
                    targets[sink.sid] = (replace(sink), version)
        deliveries = 0
        for sink, version in targets.values():
            events = [make_event(event_type, self.account_sid, version, data) for _ in range(count)]
            try:
                self.deliverer.deliver(sink.sink_type, dict(sink.sink_configuration), events)
            except DeliveryError as exc:
                self.record_error(sink.sid, exc, event_type)
                continue
            deliveries += len(events)
        return deliveries
