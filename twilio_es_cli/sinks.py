"""Sinks: create, list, show, update, delete, test and validate through the Events v1 API.

Written against the twilio SDK client's ``events.v1.sinks`` list (a twilio ``Client`` from
:func:`twilio_es_cli.twilio_api.make_client`, or anything shaped like it), so the same code
talks to events.twilio.com and to the project's emulator. Every SDK call runs inside
``twilio_errors(...)`` so failures become one-line errors with the right exit code. Arguments
are checked before any call: a malformed SID or status is exit 2, not a 404 from the API.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Protocol

from twilio_es_cli.errors import (
    ApiError,
    CheckFailed,
    NotFoundError,
    TwilioEsError,
    UsageError,
    shown,
)
from twilio_es_cli.models import SINK_STATUSES, SINK_TYPE_OF, Sink, SinkConfig
from twilio_es_cli.twilio_api import twilio_errors

SINK_SID = re.compile(r"^DG[0-9a-fA-F]{32}$")


class _TwilioClient(Protocol):
    """The part of ``twilio.rest.Client`` we use: ``client.events.v1.sinks``."""

    @property
    def events(self) -> Any: ...


def check_sid(sid: str) -> str:
    """Reject anything that is not a sink SID (``DG`` + 32 hex) before calling the API."""
    sid = sid.strip()
    if not SINK_SID.fullmatch(sid):
        raise UsageError(
            f"{shown(sid)} is not a sink SID (DG followed by 32 hex characters)",
            hint="List your sinks with `twilio-es sink list`.",
        )
    return sid


def check_status(status: str | None) -> str | None:
    if status is None:
        return None
    value = status.strip().lower()
    if value not in SINK_STATUSES:
        raise UsageError(
            f"--status must be one of {', '.join(SINK_STATUSES)} (got {status!r})",
        )
    return value


def check_description(description: str | None) -> str | None:
    if description is None:
        return None
    value = description.strip()
    if not value:
        raise UsageError("--description must not be empty")
    return value


def check_test_id(test_id: str) -> str:
    value = test_id.strip()
    if not value or any(ch.isspace() for ch in value):
        raise UsageError(
            "--test-id must be a non-empty id without spaces",
            hint="Copy the test_id from the data of the com.twilio.eventstreams.test-event.",
        )
    return value


@contextmanager
def _sink_call(action: str, sid: str) -> Iterator[None]:
    """``twilio_errors`` for a call on one sink; a 404 says the sink is missing and what to do."""
    try:
        with twilio_errors(action):
            yield
    except NotFoundError as exc:
        raise NotFoundError(
            f"Sink {sid} does not exist", hint="See your sinks with `twilio-es sink list`."
        ) from exc


class SinkService:
    """Sink operations over one twilio client; each method is a single API round trip."""

    def __init__(self, client: _TwilioClient) -> None:
        self._v1 = client.events.v1
        self._sinks = self._v1.sinks

    def create(self, config: SinkConfig, description: str | None = None) -> Sink:
        sink_type = SINK_TYPE_OF[type(config)]
        text = check_description(description) or config.default_description()
        with twilio_errors(f"create a {sink_type} sink"):
            resource = self._sinks.create(
                description=text,
                sink_configuration=config.model_dump(mode="json"),
                sink_type=sink_type,
            )
        return Sink.from_resource(resource)

    def list(
        self, *, status: str | None = None, in_use: bool | None = None, limit: int | None = None
    ) -> list[Sink]:
        """The sinks (all pages); ``limit`` stops early (``doctor``'s cheap credentials probe)."""
        filters: dict[str, Any] = {}  # omitted, not None: the SDK sends only what is given
        if (status := check_status(status)) is not None:
            filters["status"] = status
        if in_use is not None:
            filters["in_use"] = in_use
        if limit is not None:
            filters["limit"] = limit
        with twilio_errors("list sinks"):
            return [Sink.from_resource(r) for r in self._sinks.list(**filters)]

    def get(self, sid: str) -> Sink:
        sid = check_sid(sid)
        with _sink_call(f"fetch sink {sid}", sid):
            return Sink.from_resource(self._sinks(sid).fetch())

    def update(self, sid: str, description: str) -> Sink:
        sid = check_sid(sid)
        text = check_description(description)
        if text is None:
            raise UsageError("--description is required")
        with _sink_call(f"update sink {sid}", sid):
            return Sink.from_resource(self._sinks(sid).update(description=text))

    def delete(self, sid: str) -> None:
        sid = check_sid(sid)
        try:
            with _sink_call(f"delete sink {sid}", sid):
                self._sinks(sid).delete()
        except ApiError as exc:
            users = self._subscriptions_of(sid)
            if not users:
                raise
            raise ApiError(
                f"Sink {sid} is in use by subscription {', '.join(users)}",
                hint="A subscription cannot be moved to another sink: delete it first ("
                + "; ".join(f"`twilio-es subscription delete {u}`" for u in users)
                + f"), then delete the sink; or both at once: `twilio-es sink delete {sid} "
                "--cascade`.",
            ) from exc

    def _subscriptions_of(self, sid: str) -> tuple[str, ...]:
        """SIDs of the subscriptions that deliver to the sink (empty if we cannot tell)."""
        try:
            with twilio_errors(f"list subscriptions of sink {sid}"):
                return tuple(str(s.sid) for s in self._v1.subscriptions.stream(sink_sid=sid))
        except TwilioEsError:
            return ()

    def test(self, sid: str) -> str:
        """Ask Twilio to send a test event to the sink; returns the API's ``result``."""
        sid = check_sid(sid)
        with _sink_call(f"send a test event to sink {sid}", sid):
            result = self._sinks(sid).sink_test.create()
        return str(getattr(result, "result", None) or "submitted")

    def validate(self, sid: str, test_id: str) -> str:
        """Validate the sink with the ``test_id`` of its latest test event.

        A refusal (the API answers 400 for an unknown or superseded test id) is a failed check
        (exit 5), not an API failure: the user's next step is a new test, not a retry.
        """
        sid = check_sid(sid)
        test_id = check_test_id(test_id)
        try:
            with _sink_call(f"validate sink {sid}", sid):
                result = self._sinks(sid).sink_validate.create(test_id=test_id)
        except TwilioEsError as exc:
            if getattr(exc.__cause__, "status", None) == 400:
                raise CheckFailed(
                    exc.message,
                    hint="Use the test_id of the NEWEST test event (each `twilio-es sink test` "
                    "invalidates earlier ids), or let `twilio-es sink validate SID` do it all.",
                ) from exc
            raise
        return str(getattr(result, "result", None) or "valid")
