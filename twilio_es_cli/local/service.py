"""The rules of Twilio's Events v1 service, independent of HTTP.

Sinks follow today's service by default: every sink is ``active`` when created, Test still
sends the test event, and Validate answers ``valid`` (Twilio's Sink Validate page: "There is no
longer a need for validating a Sink. The status of Sinks is active by default"; Validate "always
returns ... valid (to avoid disrupting existing customer workflows)"). With ``legacy_validation``
the service models the old flow some accounts and scripts still meet: a kinesis or segment sink
starts ``initialized``; Test makes it ``validating`` and sends the test event; Validate with the
*last* test id makes it ``active``; a webhook sink is active at once.

Test and the events themselves are delivered asynchronously through a
:class:`~twilio_es_cli.local.queue.DeliveryQueue` (Test answers "submitted" at once, as Twilio
does); failures go to the debugger with Twilio's 931xx codes and are retried or dropped as the
delivery FAQ says.

Errors follow the sources in this order: Twilio's own error pages for Event Streams
(twilio.com/docs/api/errors/NNNNN: 91000 a sink could not be created, 91001 a sink could not be
found, 91003 "Cannot have more than 100 sinks", 91006 a sink SID in an invalid format, 91101 a
subscription could not be created, e.g. duplicated types or an empty description), then
live-tested evidence (third-party test notes, 2026-03-29: a second subscription on a sink is
refused "Sink with SID ... is in use"; ``Types`` sent as one JSON array gets "Missing required
input parameter event_types[0].type"; "Type is discontinued"), then Twilio's generic 20001/20404.
Where a message is known but its code is not, the code is 20001 and the comment says so.
Statuses follow Twilio's Event Types Lifecycle page: deprecated types work as usual; restricted
types keep delivering to existing subscriptions but cannot be subscribed to or added;
discontinued types deliver nothing and cannot be subscribed to.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlsplit

from twilio_es_cli import arns
from twilio_es_cli.local.catalog_data import SCHEMAS_BY_ID, TYPES_BY_NAME
from twilio_es_cli.local.delivery import Deliverer, DeliveryError, redact
from twilio_es_cli.local.events import make_event, now_iso, test_event
from twilio_es_cli.local.queue import DROPPED, Clock, Delivery, DeliveryQueue
from twilio_es_cli.local.state import Sink, Store, Subscription, new_sid

INVALID_PARAMETER = 20001
NOT_FOUND = 20404
SINK_NOT_CREATED = 91000
SINK_NOT_FOUND = 91001
MAX_SINKS_REACHED = 91003
SINK_SID_INVALID = 91006
SUBSCRIPTION_NOT_CREATED = 91101
SINK_TYPES = ("kinesis", "webhook", "segment", "email")
SINK_STATUSES = ("initialized", "validating", "active", "failed")
# "Up to 100 Sinks and 100 Subscriptions per account" (Twilio's Event Streams overview page).
MAX_SINKS = 100
MAX_SUBSCRIPTIONS = 100
# "batch_events ... Batch limit is 64kB" (Twilio's A2P 10DLC Event Streams setup page).
BATCH_LIMIT_BYTES = 64 * 1024
EMIT_WAIT_SECONDS = 60.0
_SINK_SID = re.compile(r"DG[0-9a-fA-F]{32}")


class ApiFailure(Exception):
    """An error answer: HTTP status, Twilio error code and message."""

    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def invalid(message: str) -> ApiFailure:
    return ApiFailure(400, INVALID_PARAMETER, message)


def sink_not_created(message: str) -> ApiFailure:
    """91000: wrong sink type, empty configuration or missing keys (Twilio's error page)."""
    return ApiFailure(400, SINK_NOT_CREATED, f"Sink could not be created: {message}")


def subscription_not_created(message: str) -> ApiFailure:
    """91101: duplicated types, empty description (Twilio's error page), sink in use."""
    return ApiFailure(400, SUBSCRIPTION_NOT_CREATED, message)


def limit_reached(resource: str, limit: int) -> ApiFailure:
    """The 101st sink (91003, Twilio's error page words) or subscription (code not stated)."""
    if resource == "Sinks":
        return ApiFailure(400, MAX_SINKS_REACHED, f"Cannot have more than {limit} sinks")
    return ApiFailure(
        400,
        INVALID_PARAMETER,
        f"Maximum number of {resource} ({limit}) per account reached; "
        f"delete one before creating another",
    )


def not_found(path: str) -> ApiFailure:
    return ApiFailure(404, NOT_FOUND, f"The requested resource {path} was not found")


def check_sink_sid(sid: str) -> str:
    """A sink SID of the right form, or 91006 (Twilio's "sink sid in an invalid format")."""
    if not _SINK_SID.fullmatch(sid):
        raise ApiFailure(400, SINK_SID_INVALID, f"Sink SID {sid!r} is in an invalid format")
    return sid


def sink_not_found(sid: str) -> ApiFailure:
    return ApiFailure(404, SINK_NOT_FOUND, f"Sink with SID {sid} could not be found")


def _need(value: str | None, name: str) -> str:
    if value is None or value == "":
        raise invalid(f"Missing required parameter {name} in the post body")
    return value


_REQUIRED_KEYS = {
    "kinesis": ("arn", "role_arn", "external_id"),
    "webhook": ("destination",),
    "segment": ("write_key",),
}


def _check_sink_configuration(sink_type: str, raw: str) -> dict[str, Any]:
    try:
        config = json.loads(raw)
    except ValueError as exc:
        raise sink_not_created(f"SinkConfiguration is not valid JSON: {exc}") from exc
    if not isinstance(config, dict) or not config:
        raise sink_not_created("SinkConfiguration must be a non-empty JSON object")
    missing = [key for key in _REQUIRED_KEYS.get(sink_type, ()) if not config.get(key)]
    if missing:
        raise sink_not_created(
            f"SinkConfiguration for a {sink_type} sink is missing: {', '.join(missing)}"
        )
    if sink_type == "kinesis":
        arn = str(config["arn"])
        if arns.parse_stream(arn) is None:
            raise sink_not_created(f"SinkConfiguration arn {arn!r} is not a Kinesis stream ARN")
        if arns.parse_role(str(config["role_arn"])) is None:
            raise sink_not_created(
                f"SinkConfiguration role_arn {config['role_arn']!r} is not a role ARN"
            )
    if sink_type == "webhook":
        _check_webhook(config)
    if sink_type == "email":
        raise invalid("Email sinks are not supported by this emulator")
    return config


def _check_webhook(config: dict[str, Any]) -> None:
    """Destination http(s); method POST or GET (Twilio's sink resource page lists both); an
    omitted method reads back as ``"post"``, lowercase, as the live service returns it."""
    parts = urlsplit(str(config["destination"]))
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise sink_not_created("SinkConfiguration destination must be an http(s) URL")
    method = config.setdefault("method", "post")
    if not isinstance(method, str) or method.upper() not in ("POST", "GET"):
        raise sink_not_created("SinkConfiguration method must be POST or GET")
    batch = config.setdefault("batch_events", False)
    if isinstance(batch, str):
        config["batch_events"] = batch.lower() == "true"


@dataclass
class EmitResult:
    """What ``emit`` did: events delivered at the first attempt, waiting for a retry, dropped,
    and not attempted yet when the wait ended."""

    delivered: int = 0
    retrying: int = 0
    dropped: int = 0
    pending: int = 0

    def to_dict(self) -> dict[str, int]:
        return {
            "delivered": self.delivered,
            "retrying": self.retrying,
            "dropped": self.dropped,
            "pending": self.pending,
        }


def _as_events(payload: Any) -> list[dict[str, Any]]:
    return payload if isinstance(payload, list) else [payload]


def _batches(events: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Events grouped into JSON arrays of at most :data:`BATCH_LIMIT_BYTES` (one at least)."""
    batches: list[list[dict[str, Any]]] = []
    size = 0
    for event in events:
        length = len(json.dumps(event)) + 2
        if batches and size + length <= BATCH_LIMIT_BYTES:
            batches[-1].append(event)
            size += length
        else:
            batches.append([event])
            size = length + 1
    return batches


class EventsService:
    """Stateful Events v1 rules over a :class:`Store`; delivery through a :class:`DeliveryQueue`."""

    def __init__(
        self,
        store: Store,
        deliverer: Deliverer,
        account_sid: str,
        *,
        legacy_validation: bool = False,
        clock: Clock | None = None,
    ) -> None:
        self.store = store
        self.deliverer = deliverer
        self.account_sid = account_sid
        self.legacy_validation = legacy_validation
        self.queue = DeliveryQueue(self._attempt, self._report, clock=clock)

    # -- sinks ---------------------------------------------------------------------------
    def sink(self, sid: str) -> Sink:
        check_sink_sid(sid)
        with self.store.lock:
            found = self.store.state.sinks.get(sid)
        if found is None:
            raise sink_not_found(sid)
        return found

    def create_sink(
        self, description: str | None, sink_type: str | None, configuration: str | None
    ) -> Sink:
        description = _need(description, "Description")
        sink_type = _need(sink_type, "SinkType")
        configuration = _need(configuration, "SinkConfiguration")
        if sink_type not in SINK_TYPES:
            raise sink_not_created(
                f"SinkType must be one of {', '.join(SINK_TYPES)}, not {sink_type!r}"
            )
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
        """Refused while a subscription uses the sink (no public page gives Twilio's answer;
        the message names the subscription so the user knows what to delete first)."""
        with self.store.lock:
            self.sink(sid)
            users = [s.sid for s in self.store.state.subscriptions.values() if s.sink_sid == sid]
            if users:
                raise invalid(
                    f"Sink with SID {sid} is in use by subscription {', '.join(users)}; "
                    "delete the subscription first"
                )
            del self.store.state.sinks[sid]
        self.store.save()

    def test_sink(self, sid: str) -> str:
        """Queue a new test event (replacing the previous test id); answers at once, as Twilio
        does; the delivery happens in the background. Returns the test id."""
        test_id = str(uuid.uuid4())
        with self.store.lock:
            sink = self.sink(sid)
            sink.last_test_id = test_id
            if sink.status != "active":
                sink.status = "validating"
            sink.date_updated = now_iso()
            snapshot = replace(sink, sink_configuration=dict(sink.sink_configuration))
        self.store.save()
        event = test_event(test_id, self.account_sid)
        if snapshot.sink_type == "segment":
            with self.store.lock:
                sink.segment_events.append(event)
            self.store.save()
            return test_id
        for delivery in self._deliveries(snapshot, [event]):
            delivery.test_id = test_id
            self.queue.submit(delivery)
        return test_id

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

    # -- delivery ------------------------------------------------------------------------
    def _deliveries(self, sink: Sink, events: list[dict[str, Any]]) -> list[Delivery]:
        """The requests Twilio would make: Kinesis one PutRecords batch; a webhook one request
        per event, or JSON arrays of at most 64 kB with ``batch_events``."""
        config = sink.sink_configuration
        payloads: list[Any]
        if sink.sink_type == "kinesis":
            payloads, target = [events], str(config.get("arn", ""))
        elif config.get("batch_events"):
            payloads, target = list(_batches(events)), redact(str(config.get("destination")))
        else:
            payloads, target = list(events), redact(str(config.get("destination")))
        created = self.queue.clock.now()
        return [
            Delivery(
                sink_sid=sink.sid,
                sink_type=sink.sink_type,
                config=dict(config),
                payload=payload,
                event_types=[e["type"] for e in _as_events(payload)],
                created=created,
                target=target,
            )
            for payload in payloads
        ]

    def _attempt(self, delivery: Delivery) -> str:
        return self.deliverer.deliver(delivery.sink_type, delivery.config, delivery.payload)

    def _report(self, delivery: Delivery, exc: DeliveryError, note: str) -> None:
        """A Debugger entry for a first failure or a final outcome (Twilio: "a notification
        after the first error"); a failed test event leaves a not-yet-active sink ``failed``."""
        types = ", ".join(sorted(set(delivery.event_types)))
        self.record_error(delivery.sink_sid, exc, types, note)
        if delivery.test_id is None:
            return
        with self.store.lock:
            current = self.store.state.sinks.get(delivery.sink_sid)
            if current and current.last_test_id == delivery.test_id and current.status != "active":
                current.status = "failed"
        self.store.save()

    # -- debugger ------------------------------------------------------------------------
    def record_error(
        self, sink_sid: str, exc: DeliveryError, event_type: str, note: str = ""
    ) -> None:
        entry = {
            "sid": new_sid("NO"),
            "code": exc.code,
            "message": exc.message + (f" ({note})" if note else ""),
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

    def _free_active_sink(self, sink_sid: str) -> Sink:
        """The sink a new subscription goes to: it must exist, be active and have no other
        subscription ("Sink with SID ... is in use", live-tested; one sink, one subscription)."""
        sink = self.sink(sink_sid)
        if sink.status != "active":
            raise invalid(
                f"Sink {sink_sid} is not active (status: {sink.status}); "
                "a subscription needs an active sink: test and validate it first"
            )
        if self.in_use(sink_sid):
            raise subscription_not_created(f"Sink with SID {sink_sid} is in use")
        return sink

    @staticmethod
    def resolve_type(event_type: str, version: Any = None, *, subscribing: bool = True) -> int:
        """Check one type against the catalogue and return the schema version to use.

        Messages: "Type not found in the system" and "Type is discontinued" are the live
        service's words (third-party live test); the restricted one follows the same pattern
        with the Lifecycle page's rule. Their code is not stated anywhere: 20001. A type already
        in a subscription (``subscribing=False``) may change version whatever its status.
        """
        spec = TYPES_BY_NAME.get(event_type)
        if spec is None:
            raise invalid(f"Type not found in the system: {event_type}")
        if subscribing and spec.status == "discontinued":
            raise invalid(f"Type is discontinued: {event_type}")
        if subscribing and spec.status == "restricted":
            raise invalid(
                f"Type is restricted: {event_type}; new subscriptions cannot use a restricted "
                "event type"
            )
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

    @classmethod
    def parse_types(cls, types: list[str]) -> dict[str, int]:
        """``Types`` form fields -> {type: version}; each field one JSON object."""
        if not types:
            raise invalid("Missing required parameter Types in the post body")
        resolved: dict[str, int] = {}
        for raw in types:
            try:
                item = json.loads(raw)
            except ValueError as exc:
                raise invalid(f"Types entry {raw!r} is not a JSON object") from exc
            if isinstance(item, list):
                # The live service's answer to Types=[{...}] (third-party live test; code not
                # stated): the SDKs send one form field per type.
                raise invalid("Missing required input parameter event_types[0].type")
            if not isinstance(item, dict) or not item.get("type"):
                raise invalid(f'Types entry {raw!r} needs a "type"')
            name = str(item["type"])
            if name in resolved:
                raise subscription_not_created(
                    f"Subscription could not be created: type {name} is given more than once"
                )
            resolved[name] = cls.resolve_type(name, item.get("schema_version"))
        return resolved

    def create_subscription(
        self, description: str | None, sink_sid: str | None, types: list[str]
    ) -> Subscription:
        if description == "":
            raise subscription_not_created(
                "Subscription could not be created: Description is empty"
            )
        description = _need(description, "Description")
        sink_sid = _need(sink_sid, "SinkSid")
        resolved = self.parse_types(types)
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
            self._free_active_sink(sink_sid)
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
        """Add (or re-version) a type; returns (created, schema_version). A restricted or
        discontinued type cannot be added (Lifecycle page)."""
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
        number = self.resolve_type(event_type, version, subscribing=False)
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
    def emit(
        self,
        event_type: str,
        count: int = 1,
        data: dict[str, Any] | None = None,
        wait: float = EMIT_WAIT_SECONDS,
    ) -> EmitResult:
        """Generate ``count`` events and queue them for each active sink subscribed to the type;
        wait up to ``wait`` seconds for the first attempts (a sandbox convenience: ``local emit``
        can then say what happened). Discontinued types are never delivered (Lifecycle page)."""
        spec = TYPES_BY_NAME.get(event_type)
        if spec is None:
            raise invalid(f"Type not found in the system: {event_type}")
        if spec.status == "discontinued":
            raise invalid(
                f"Type is discontinued: {event_type}; Twilio no longer sends these events"
            )
        if count < 1:
            raise invalid("Count must be at least 1")
        targets: dict[str, tuple[Sink, int]] = {}
        with self.store.lock:
            for sub in self.store.state.subscriptions.values():
                sink = self.store.state.sinks.get(sub.sink_sid)
                version = sub.types.get(event_type)
                if sink and version and sink.status == "active" and sink.sid not in targets:
                    targets[sink.sid] = (
                        replace(sink, sink_configuration=dict(sink.sink_configuration)),
                        version,
                    )
        result = EmitResult()
        queued: list[Delivery] = []
        for sink, version in targets.values():
            events = [make_event(event_type, self.account_sid, version, data) for _ in range(count)]
            if sink.sink_type == "segment":
                result.delivered += len(events)  # nothing to reach offline
                continue
            queued += [self.queue.submit(d) for d in self._deliveries(sink, events)]
        _wait_first_attempts(queued, wait)
        for delivery in queued:
            _count(result, delivery)
        return result


def _wait_first_attempts(deliveries: list[Delivery], wait: float) -> None:
    deadline = time.monotonic() + wait
    for delivery in deliveries:
        if not delivery.first_attempted.wait(max(0.0, deadline - time.monotonic())):
            return


def _count(result: EmitResult, delivery: Delivery) -> None:
    events = delivery.events
    if not delivery.first_attempted.is_set():
        result.pending += events
    elif delivery.state == "delivered":
        result.delivered += events
    elif delivery.state == DROPPED or delivery.state == "expired":
        result.dropped += events
    else:
        result.retrying += events
