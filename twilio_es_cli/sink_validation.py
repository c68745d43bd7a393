"""One-step sink validation: Test -> read the test event out of the stream -> Validate -> active.

Twilio changed the flow: sinks are now ``active`` when created and Validate always answers
``valid`` (the Sink Validate page). Validation still matters in two cases, and this module
serves both with the same steps:

- accounts or scripts that still meet the old flow (a kinesis sink ``initialized`` until Test +
  Validate; the sandbox's ``local up --legacy-validation``): without Validate, subscribing fails;
- any sink, active or not: the steps prove delivery end to end (Twilio could assume the role
  and write into the stream, and the user's own credentials can read it back), which an
  ``active`` status alone never proved. On an active kinesis sink ``sink validate`` therefore
  still runs them and says so in words (:attr:`ValidationResult.proved`).

The steps, each reporting which one failed and why:

1. read the sink's stream from ``AT_TIMESTAMP t0`` (now minus a clock-skew margin) to its tip
   across all shards, remembering where each shard ends: test events already there belong to
   earlier tests or to another sink on the same stream, and carry dead ids,
2. ask Twilio for a test event (this invalidates every earlier test id),
3. read on from there, pass after pass to the tip, until a
   ``com.twilio.eventstreams.test-event`` shows up; the NEWEST one once a pass is caught up,
4. Validate with its ``test_id`` (the next newest if refused),
5. poll the sink until it is ``active``.

It is written against :class:`SinkService` and a :data:`~twilio_es_cli.tail.reader.ReadFn`
(start, deadline, checkpoint) -> records, so the stream reader and the clock are injected; the
CLI binds it with :func:`twilio_es_cli.tail.reader.stream_reader` (``Clients.stream_reader``) on
a Kinesis client built with the user's AWS credentials.

A webhook sink goes through the same five steps when its test event can be read back: from a
``twilio-es webhook listen`` at the sink's destination when that is on this machine (the
sandbox), or at ``--listener URL`` (a listener behind a tunnel). The listener keeps its recent
events, with the signature verdict it gave each, at a read-only loopback endpoint
(:class:`twilio_es_cli.webhook.listen.ListenerLog`); step 1 notes where its log ends, step 3
reads on from there. The proof then covers the signature too: a test event the listener
refused (wrong auth token, URL rewritten by a proxy) fails step 3 with the reason. A webhook
destination that is not such a listener keeps the manual flow (read ``data.test_id`` at your
endpoint, then ``--test-id``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

from twilio_es_cli.config import is_loopback_url
from twilio_es_cli.errors import (
    CheckFailed,
    ConfigError,
    NotFoundError,
    TwilioEsError,
    UsageError,
)
from twilio_es_cli.models import Sink, StreamRef
from twilio_es_cli.progress import Reporter
from twilio_es_cli.sinks import SinkService

if TYPE_CHECKING:
    from twilio_es_cli.tail.reader import ReadFn
    from twilio_es_cli.tail.records import KinesisRecord

TEST_EVENT_TYPE = "com.twilio.eventstreams.test-event"
CLOCK_SKEW = timedelta(seconds=30)
DEFAULT_TIMEOUT = 120.0
ACTIVE_WAIT = 30.0  # after Validate, how long the sink may take to turn active
MAX_CANDIDATES = 3  # test events tried with Validate, newest first
MAX_TESTS = 3  # Test calls per validation (IAM propagation can fail the first)
RETEST_AFTER = 20.0  # seconds without our test event before sending another
RETEST_PAUSE = 5.0  # pause before re-sending a test the sink failed to receive

T = TypeVar("T")


@dataclass(frozen=True)
class ValidationResult:
    """What ``sink validate`` reports (also its ``--json`` document)."""

    sid: str
    status: str | None
    already_active: bool = False
    test_id: str | None = None
    shard_id: str | None = None
    seconds_to_event: float | None = None
    proved: str | None = None  # in words: what the run showed end to end
    listener: str | None = None  # webhook: the `webhook listen` the test event was read from

    def as_dict(self) -> dict[str, Any]:
        data = {
            "sid": self.sid,
            "status": self.status,
            "already_active": self.already_active,
            "test_id": self.test_id,
            "shard_id": self.shard_id,
            "seconds_to_event": self.seconds_to_event,
            "proved": self.proved,
        }
        if self.listener is not None:
            data["listener"] = self.listener
        return data


def test_id_of(data: bytes) -> str | None:
    """The ``test_id`` of a test-event CloudEvent record, else None.

    Decoding is the tail's (:func:`twilio_es_cli.tail.decode.decode`), so ``data`` given as a
    JSON string (as in Kinesis) or as an object is accepted the same way everywhere.
    """
    from twilio_es_cli.tail.decode import decode

    decoded = decode(data)
    payload = decoded.data
    if decoded.type != TEST_EVENT_TYPE or not isinstance(payload, dict):
        return None
    test_id = payload.get("test_id")
    return str(test_id) if test_id else None


def _likely_causes(sid: str) -> str:
    return (
        "Likely causes: the role's trust policy does not name Twilio's principal or its "
        "sts:ExternalId differs from the sink's external id (Twilio error 93102); the stream "
        "name or region in the sink's ARN is wrong (93104); the role may not put records on "
        f"the stream (93101). Run `twilio-es doctor --sink {sid}`."
    )


def _step_failed(
    number: int, name: str, exc: TwilioEsError, hint: str | None, *, wrap: bool = False
) -> TwilioEsError:
    """Keep credential problems as exit 3 (and our own verdicts); the rest fails the check."""
    if isinstance(exc, ConfigError | UsageError) or (isinstance(exc, CheckFailed) and not wrap):
        return exc
    return CheckFailed(f"step {number} ({name}) failed: {exc.message}", hint=hint or exc.hint)


def explain_unreadable(sink: Sink) -> UsageError:
    """Why a webhook/segment sink cannot be validated in one step."""
    if sink.sink_type == "webhook":
        where = sink.sink_configuration.get("destination") or "its destination"
        return UsageError(
            f"sink {sink.sid} is a webhook sink: its test event is sent to {where}, and the "
            "test_id must be read there (if the destination is unreachable there is nothing "
            "to read)",
            hint="Let twilio-es read it: run `twilio-es webhook listen` at that address (or pass "
            "--listener URL of the listener behind your tunnel). Or by hand: "
            f"`twilio-es sink test {sink.sid}`, read data.test_id from the request your "
            f"endpoint received, then `twilio-es sink validate {sink.sid} --test-id ID`.",
        )
    return UsageError(
        f"sink {sink.sid} is a {sink.sink_type} sink: twilio-es cannot read its test event",
        hint=f"Read the test_id where the event arrived, then "
        f"`twilio-es sink validate {sink.sid} --test-id ID`.",
    )


def listener_base(sink: Sink, explicit: str | None) -> str | None:
    """Where a webhook sink's test event can be read back: ``--listener``, else the sink's
    destination when it is on this machine (the sandbox delivers there); None otherwise.

    Only loopback destinations are asked unprompted: twilio-es never sends requests to a
    user's public endpoint on its own.
    """
    if explicit is not None:
        return explicit
    destination = str(sink.sink_configuration.get("destination") or "")
    if sink.sink_type == "webhook" and is_loopback_url(destination):
        parts = urlsplit(destination)
        return f"{parts.scheme}://{parts.netloc}"
    return None


class Validator:
    """Runs the one-step flow; ``clock``/``now``/``sleep`` are injectable for tests."""

    def __init__(
        self,
        service: SinkService,
        reporter: Reporter,
        *,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
        sleep: Callable[[float], None] = time.sleep,
        poll_interval: float = 1.0,
    ) -> None:
        self.service = service
        self.report = reporter
        self.clock, self.now, self.sleep = clock, now, sleep
        self.poll_interval = poll_interval

    def with_test_id(self, sid: str, test_id: str) -> ValidationResult:
        """Just Validate with a test id the user read themselves, then show the status."""
        result = self.service.validate(sid, test_id)
        self.report.step(f"validated sink {sid} with test id {test_id} ({result})")
        sink = self.service.get(sid)
        return ValidationResult(sid=sid, status=sink.status, test_id=test_id)

    def run(
        self,
        sid: str,
        reader_for: Callable[[StreamRef], ReadFn],
        *,
        test_id: str | None = None,
        force: bool = False,
        timeout: float = DEFAULT_TIMEOUT,
        listener: str | None = None,
    ) -> ValidationResult:
        """``sink validate``: with a test id just Validate; else the one-step flow.

        A kinesis sink goes through every step even when it is already active (today every
        sink is): the point is the proof of delivery, not the status. So does a webhook sink
        whose test event a ``webhook listen`` can hand back (``listener``, or a loopback
        destination). Other sinks cannot be read from here; an active one is left as it is
        (``force`` explains how to check it).
        """
        if test_id is not None:
            return self.with_test_id(sid, test_id)
        sink = self.service.get(sid)
        if listener is not None and sink.sink_type != "webhook":
            raise UsageError(
                f"--listener applies to webhook sinks; {sid} is a {sink.sink_type} sink"
            )
        base = listener_base(sink, listener)
        if base is not None:
            outcome = self.webhook(sink, base, timeout=timeout, explicit=listener is not None)
            if outcome is not None:
                return outcome
        if sink.sink_type != "kinesis":
            if sink.status == "active" and not force:
                self.report.step(
                    f"sink {sink.sid} is already active; as a {sink.sink_type} sink its test "
                    "event cannot be read from here, so delivery was not checked"
                    + (
                        " (to check it, run `twilio-es webhook listen` at its destination or "
                        "pass --listener URL)"
                        if sink.sink_type == "webhook"
                        else ""
                    )
                )
                return ValidationResult(sid=sink.sid, status=sink.status, already_active=True)
            raise explain_unreadable(sink)
        stream = sink.kinesis_stream()
        if stream is None:
            raise CheckFailed(
                f"sink {sink.sid} has no valid Kinesis stream ARN in its configuration",
                hint="Create a new sink with `twilio-es sink create kinesis --config FILE`.",
            )
        return self.kinesis(sink, stream, reader_for(stream), timeout=timeout)

    def kinesis(
        self,
        sink: Sink,
        stream: StreamRef,
        read: ReadFn,
        *,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> ValidationResult:
        """Catch up with the stream -> Test -> find our event -> Validate -> wait for active."""
        found, read_back, deadline = self._read_back(sink, stream, read, timeout)
        role_arn = sink.sink_configuration.get("role_arn", "?")
        return self._validate_and_wait(
            sink,
            found,
            deadline,
            read_back,
            lambda test_id: (
                f"Twilio assumed role {role_arn} and wrote its test event into stream "
                f"{stream.name} (shard {read_back.shard_id}), your AWS credentials read it back, "
                f"and Validate accepted test id {test_id}"
            ),
        )

    def read_back(
        self, sink: Sink, stream: StreamRef, read: ReadFn, *, timeout: float = DEFAULT_TIMEOUT
    ) -> ValidationResult:
        """Steps 1 to 3 only: catch up with the stream, Test, find our test event; no Validate.

        The proof of delivery for a sink that is active already (``apply``): Twilio wrote the
        test event and the user's credentials read it back.
        """
        return self._read_back(sink, stream, read, timeout)[1]

    def _read_back(
        self, sink: Sink, stream: StreamRef, read: ReadFn, timeout: float
    ) -> tuple[list[tuple[str, str]], ValidationResult, float]:
        """Steps 1 to 3: (test ids found with their shards, newest first; what was found;
        the deadline)."""
        sid = sink.sid
        was_active = sink.status == "active"
        started = self.clock()
        deadline = started + timeout
        t0 = self.now() - CLOCK_SKEW
        read_hint = (
            f"twilio-es reads the stream with YOUR AWS credentials: check they can "
            f"ListShards/GetShardIterator/GetRecords on {stream.arn} (region {stream.region})."
        )

        # Everything already in the stream predates our Test: another sink on the same stream,
        # or an earlier test, would otherwise hand us a dead test id.
        seen: dict[str, str] = {}
        try:
            with self.report.waiting(
                f"Reading stream {stream.name} ({stream.region}) from "
                f"{t0.isoformat(timespec='seconds')} to its end",
                timeout,
            ):
                earlier = sum(1 for _ in self._pass(read, t0, deadline, seen))
        except NotFoundError as exc:
            hint = (
                f"Stream {stream.name} is not in region {stream.region} of the AWS account your "
                f"credentials belong to. The sink's ARN names account {stream.account_id}: use "
                f"credentials for it (--profile). If the stream is really gone, Twilio cannot "
                f"write either (Twilio error 93104): recreate it with `twilio-es stream create "
                f"{stream.name} 1` and create a new sink."
            )
            raise _step_failed(1, "read the stream", exc, hint) from exc
        except TwilioEsError as exc:
            raise _step_failed(1, "read the stream", exc, read_hint) from exc
        self.report.step(
            f"read stream {stream.name} up to now ({earlier} earlier record(s) skipped)"
        )

        try:
            answer = self.service.test(sid)
        except TwilioEsError as exc:
            raise _step_failed(2, "send test event", exc, None) from exc
        self.report.step(f"sent test event to sink {sid} ({answer})")

        try:
            with self.report.waiting(
                f"Waiting for the test event in stream {stream.name}", deadline - self.clock()
            ):
                found = self._find_test_event(
                    read, t0, deadline, seen, sid, watch_failed=sink.status != "failed"
                )
        except TwilioEsError as exc:
            hint = f"{read_hint} {_likely_causes(sid)}"
            raise _step_failed(3, "find the test event in the stream", exc, hint) from exc
        if not found:
            raise CheckFailed(
                f"step 3 (find the test event in the stream) failed: no {TEST_EVENT_TYPE} "
                f"arrived in stream {stream.name} within {timeout:g} s",
                hint=_likely_causes(sid),
            )
        shard_id = found[0][1]
        waited = round(self.clock() - started, 1)
        self.report.step(f"found test event in shard {shard_id} after {waited:g} s")
        read_back = ValidationResult(
            sid,
            sink.status,
            was_active,
            test_id=found[0][0],
            shard_id=shard_id,
            seconds_to_event=waited,
        )
        return found, read_back, deadline

    @staticmethod
    def _pass(
        read: ReadFn, t0: datetime, deadline: float, seen: dict[str, str]
    ) -> Iterator[KinesisRecord]:
        """One pass to the tip of every shard, resuming after ``seen`` (which it advances)."""
        for record in read(t0, deadline, dict(seen)):
            seen[record.shard_id] = record.sequence_number
            yield record

    def _find_test_event(
        self,
        read: ReadFn,
        t0: datetime,
        deadline: float,
        seen: dict[str, str],
        sid: str,
        *,
        watch_failed: bool,
    ) -> list[tuple[str, str]]:
        """Pass after pass to the tip of every shard; (test id, shard) pairs, newest first."""

        def look() -> list[tuple[str, str]]:
            found: list[tuple[datetime, int, str, str]] = []
            for record in self._pass(read, t0, deadline, seen):
                test_id = test_id_of(record.data)
                if test_id is not None:
                    found.append((record.arrival, len(found), test_id, record.shard_id))
            # newest arrival first; on equal timestamps the one read last
            return [(tid, shard) for _, _, tid, shard in sorted(found, reverse=True)]

        step = "find the test event in the stream"
        return self._await_test_event(sid, look, deadline, step, watch_failed=watch_failed)

    def _await_test_event(
        self,
        sid: str,
        look: Callable[[], list[T]],
        deadline: float,
        step: str,
        *,
        watch_failed: bool,
    ) -> list[T]:
        """Look for our test event (``look()``: what arrived since the last look) until it
        arrives or ``deadline`` passes; [] then. The one "wait, read back, re-send" loop of
        every flow (stream, listener, ``apply``'s proof).

        Between looks the sink's status is checked (``watch_failed``). ``failed`` means Twilio
        could not deliver our test; right after ``stream create`` that is often IAM propagation
        (a new role is not assumable everywhere for some seconds), so the test is re-sent after
        a pause, as it is when nothing arrived for a while, up to :data:`MAX_TESTS` tests in
        all while the timeout allows. (A sink already ``failed`` before our test says nothing
        new.) Still failed after that: step ``step`` failed.
        """
        tests, last_test = 1, self.clock()
        while True:
            found = look()
            if found:
                return found
            now = self.clock()
            remaining = deadline - now
            failed = watch_failed and self.service.get(sid).status == "failed"
            quiet = now - last_test >= RETEST_AFTER
            if (failed or quiet) and tests < MAX_TESTS and remaining > RETEST_PAUSE + 1:
                why = "the sink failed to receive it" if failed else "nothing arrived yet"
                self.report.note(
                    f"{why}; IAM changes can take seconds to propagate: sending test "
                    f"{tests + 1} of {MAX_TESTS} in {RETEST_PAUSE:g} s"
                )
                self.sleep(RETEST_PAUSE)
                self.service.test(sid)
                tests, last_test = tests + 1, self.clock()
                continue
            if failed:
                raise CheckFailed(
                    f"step 3 ({step}) failed: Twilio could not deliver the test event "
                    f"(sink {sid} is failed after {tests} test(s))",
                    hint=_likely_causes(sid),
                )
            if remaining <= 0:
                return []
            self.sleep(min(self.poll_interval, remaining))

    # --- webhook sinks, read back from `twilio-es webhook listen` ---------------------------

    def webhook(
        self, sink: Sink, base: str, *, timeout: float = DEFAULT_TIMEOUT, explicit: bool = False
    ) -> ValidationResult | None:
        """Note the listener's log end -> Test -> read the test event back -> Validate -> active.

        None when the (implicit) destination answers but is not a ``webhook listen``: the
        caller then keeps the manual flow. Nothing answering at all fails step 1.
        """
        from twilio_es_cli.webhook.listen import ListenerError, ListenerLog

        sid = sink.sid
        log = ListenerLog(base)
        destination = str(sink.sink_configuration.get("destination") or "")
        was_active = sink.status == "active"
        started = self.clock()
        deadline = started + timeout
        try:
            mark = int(log.read(event_type=TEST_EVENT_TYPE)["last_seq"])
        except ListenerError as exc:
            if not exc.unreachable and not explicit:
                self.report.note(
                    f"{destination} is not a `twilio-es webhook listen` ({exc.message})"
                )
                return None
            raise CheckFailed(
                f"step 1 (reach the listener) failed: {exc.message}",
                hint=f"Start it: `twilio-es webhook listen --port {urlsplit(log.base).port}` "
                "(with the auth token of the account that owns the sink in TWILIO_AUTH_TOKEN), "
                "then run this again.",
            ) from exc
        self.report.step(f"listener at {log.base} answers ({mark} earlier event(s) skipped)")
        try:
            result = self.service.test(sid)
        except TwilioEsError as exc:
            raise _step_failed(2, "send test event", exc, None) from exc
        self.report.step(f"sent test event to sink {sid} ({result})")
        path = urlsplit(destination).path or "/"
        try:
            with self.report.waiting(
                f"Waiting for the test event at {log.base}{path}", deadline - self.clock()
            ):
                found = self._find_at_listener(log, mark, path, deadline, sink)
        except ListenerError as exc:
            raise CheckFailed(
                f"step 3 (read the test event from the listener) failed: {exc.message}",
                hint="Keep `twilio-es webhook listen` running until validation ends.",
            ) from exc
        if not found:
            raise CheckFailed(
                f"step 3 (read the test event from the listener) failed: no {TEST_EVENT_TYPE} "
                f"reached {log.base}{path} within {timeout:g} s",
                hint=f"Twilio delivers from the internet: a 127.0.0.1 destination is reached only "
                f"in the sandbox; for a real account use a tunnel and `webhook listen "
                f"--public-url`. See the Debugger or `twilio-es doctor --sink {sid}`.",
            )
        newest = found[0][1]
        _check_verdict(newest, log.base)
        waited = round(self.clock() - started, 1)
        self.report.step(
            f"listener received the test event after {waited:g} s, signature valid "
            f"(answered {newest['status']})"
        )
        return self._validate_and_wait(
            sink,
            found,
            deadline,
            ValidationResult(sid, None, was_active, seconds_to_event=waited, listener=log.base),
            lambda test_id: (
                f"the Events API POSTed its test event to {destination}, `twilio-es webhook "
                f"listen` at {log.base} received it with a valid X-Twilio-Signature (checked "
                f"with its auth token) and answered {newest['status']}, and Validate accepted "
                f"test id {test_id}"
            ),
        )

    def _find_at_listener(
        self, log: Any, after: int, path: str, deadline: float, sink: Sink
    ) -> list[tuple[str, dict[str, Any]]]:
        """Test events the listener recorded after ``after`` at ``path``, newest first."""
        import json

        def look() -> list[tuple[str, dict[str, Any]]]:
            doc = log.read(after, TEST_EVENT_TYPE)
            found = []
            for item in reversed(doc.get("events") or []):
                event = item.get("event")
                if item.get("path") != path or not isinstance(event, dict):
                    continue
                test_id = test_id_of(json.dumps(event).encode())
                if test_id is not None:
                    found.append((test_id, item))
            return found

        step = "read the test event from the listener"
        watch = sink.status != "failed"
        return self._await_test_event(sink.sid, look, deadline, step, watch_failed=watch)

    def _validate_and_wait(
        self,
        sink: Sink,
        found: list[tuple[str, Any]],
        deadline: float,
        read_back: ValidationResult,
        proof: Callable[[str], str],
    ) -> ValidationResult:
        """Validate with the newest test id found, wait for ``active``, say what that proved.

        The ending of both flows: ``read_back`` holds what reading the test event back found
        (shard or listener, seconds), ``proof`` words the proof for the test id Validate took.
        """
        sid = sink.sid
        test_id = self._validate_newest(sid, [tid for tid, _ in found])
        self.report.step(f"validated with test id {test_id}")
        until = max(deadline, self.clock() + ACTIVE_WAIT)
        with self.report.waiting(f"Waiting for sink {sid} to become active", until - self.clock()):
            status = self._wait_active(sid, until)
        self.report.step(
            f"sink {sid} is active" + (" (it already was)" if read_back.already_active else "")
        )
        proved = f"delivery works end to end: {proof(test_id)}"
        self.report.note(f"proved: {proved}")
        return replace(read_back, status=status, test_id=test_id, proved=proved)

    def _validate_newest(self, sid: str, test_ids: list[str]) -> str:
        """Validate with the newest test id; if refused, try the next (equal timestamps)."""
        for attempt, test_id in enumerate(test_ids[:MAX_CANDIDATES]):
            try:
                self.service.validate(sid, test_id)
                return test_id
            except CheckFailed as exc:  # the API refused this id (400)
                if attempt + 1 >= min(len(test_ids), MAX_CANDIDATES):
                    hint = (
                        "Another test may have been sent meanwhile (each one invalidates earlier "
                        f"test ids): run `twilio-es sink validate {sid} --force` again."
                    )
                    if self.service.get(sid).status == "failed":  # ours never arrived
                        hint = "The sink is failed: our test event was not delivered. " + (
                            _likely_causes(sid)
                        )
                    raise _step_failed(4, "validate", exc, hint, wrap=True) from exc
            except TwilioEsError as exc:
                raise _step_failed(4, "validate", exc, None) from exc
        raise AssertionError("unreachable: test_ids is never empty here")

    def _wait_active(self, sid: str, deadline: float) -> str | None:
        while True:
            try:
                sink = self.service.get(sid)
            except TwilioEsError as exc:
                raise _step_failed(5, "wait for active", exc, None) from exc
            if sink.status == "active":
                return sink.status
            if sink.status == "failed":
                raise CheckFailed(
                    f"step 5 (wait for active) failed: sink {sid} is failed after Validate",
                    hint=_likely_causes(sid),
                )
            if self.clock() >= deadline:
                raise CheckFailed(
                    f"step 5 (wait for active) failed: sink {sid} is still {sink.status}",
                    hint=f"Check again later with `twilio-es sink show {sid}`.",
                )
            self.sleep(self.poll_interval)


def _check_verdict(item: dict[str, Any], base: str) -> None:
    """A test event that reached the listener but was refused there proves no delivery."""
    if item.get("signature") != "valid":
        raise CheckFailed(
            f"step 3 (read the test event from the listener) failed: it reached {base} but its "
            f"signature was rejected: {item.get('reason')}",
            hint="Run the listener with the auth token of the account that owns the sink "
            "(TWILIO_AUTH_TOKEN; `twilio-es local up` prints the sandbox's); behind a tunnel "
            "pass --public-url. `webhook listen --save DIR` + `webhook verify` explain more.",
        )
    status = int(item.get("status") or 0)
    if not 200 <= status < 300:
        raise CheckFailed(
            f"step 3 (read the test event from the listener) failed: its signature was valid "
            f"but the listener answered {status} (your app behind --forward-to?), which Twilio "
            "counts as a failed delivery",
            hint="Make the app answer 2xx to Twilio's requests, then run this again.",
        )
