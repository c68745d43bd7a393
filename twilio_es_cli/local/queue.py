"""The sandbox's delivery queue: asynchronous delivery with Twilio's retries, on a clock tests
can compress.

Twilio answers ``POST /v1/Sinks/{Sid}/Test`` with ``submitted`` and delivers later; events are
delivered the same way. Its "Problems on delivery" FAQ says what happens when a sink fails:
some errors are retried "with an exponential backoff with jitter ... for four hours", others
drop the event; the Debugger gets "a notification after the first error". This module models
exactly that:

- every sink has its own worker thread and a queue ordered by due time, so one slow webhook
  never holds up another sink and a sink's events leave in the order they were made (until a
  retry reorders them, as Twilio warns it may);
- an attempt that fails with a retried error (:attr:`DeliveryError.retry`) is due again after
  ``min(10 s * 2**(n-1), 30 min)`` scaled by a random 50-100 % (the numbers are the sandbox's:
  Twilio publishes only "exponential backoff with jitter" and the four hours), until four hours
  after the first attempt, when it gives up;
- the :class:`Clock` runs ``time_scale`` times faster than real time (``local up --time-scale
  3600``: an hour a second), so four hours of retries fit in a test;
- :meth:`DeliveryQueue.snapshot` is what ``twilio-es local deliveries`` shows: what is queued,
  how many attempts were made, the last answer and when the next attempt is due.

The queue knows nothing of HTTP or Kinesis: it calls ``attempt(delivery)``, which raises
:class:`~twilio_es_cli.local.delivery.DeliveryError` or returns a short result, and ``report``
when something worth a Debugger entry happens.
"""

from __future__ import annotations

import heapq
import itertools
import random
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from twilio_es_cli.local.delivery import DeliveryError

# "EventStreams will retry delivering an event for at most four hours" (delivery FAQ).
RETRY_WINDOW_SECONDS = 4 * 3600
FIRST_BACKOFF_SECONDS = 10.0
MAX_BACKOFF_SECONDS = 30 * 60.0
FINISHED_KEPT = 200  # finished deliveries the view still shows

QUEUED, RETRYING, IN_FLIGHT = "queued", "retrying", "in-flight"
DELIVERED, DROPPED, EXPIRED = "delivered", "dropped", "expired"
FINISHED = frozenset({DELIVERED, DROPPED, EXPIRED})


class Clock:
    """Virtual wall-clock time that runs ``scale`` times faster than real time."""

    def __init__(self, scale: float = 1.0) -> None:
        if not scale > 0:
            raise ValueError("the time scale must be positive")
        self._scale = scale
        self._real0 = time.monotonic()
        self._virtual0 = time.time()

    @property
    def scale(self) -> float:
        return self._scale

    @scale.setter
    def scale(self, value: float) -> None:
        if not value > 0:
            raise ValueError("the time scale must be positive")
        self._virtual0 = self.now()  # keep the virtual time continuous
        self._real0 = time.monotonic()
        self._scale = value

    def now(self) -> float:
        """Virtual seconds since the epoch."""
        return self._virtual0 + (time.monotonic() - self._real0) * self._scale

    def real_seconds(self, virtual_seconds: float) -> float:
        return max(0.0, virtual_seconds / self._scale)


def backoff(attempts: int, rng: random.Random) -> float:
    """Virtual seconds to wait after ``attempts`` failed attempts (exponential, jittered)."""
    ceiling = min(FIRST_BACKOFF_SECONDS * 2.0 ** (attempts - 1), MAX_BACKOFF_SECONDS)
    return ceiling * rng.uniform(0.5, 1.0)


@dataclass
class Delivery:
    """One request to a sink (one event, or one batch) and what has happened to it."""

    sink_sid: str
    sink_type: str
    config: dict[str, Any]
    payload: Any  # a list of events (Kinesis), one event or a list (webhook)
    event_types: list[str]
    created: float
    target: str = ""  # what the view shows: the stream ARN or the redacted destination
    test_id: str | None = None
    id: str = field(default_factory=lambda: "QD" + uuid.uuid4().hex)
    state: str = QUEUED
    attempts: int = 0
    due: float = 0.0
    last_attempt: float | None = None
    last_result: str | None = None
    last_code: int | None = None
    generation: int = 0  # the queue's generation when submitted (a reset starts a new one)
    first_attempted: threading.Event = field(default_factory=threading.Event, repr=False)

    @property
    def events(self) -> int:
        return len(self.payload) if isinstance(self.payload, list) else 1

    def view(self, clock: Clock) -> dict[str, Any]:
        """The JSON the queue view shows (no secrets: the destination is redacted)."""
        waiting = self.state in (QUEUED, RETRYING)
        return {
            "id": self.id,
            "sink_sid": self.sink_sid,
            "sink_type": self.sink_type,
            "target": self.target,
            "event_types": sorted(set(self.event_types)),
            "events": self.events,
            "state": self.state,
            "attempts": self.attempts,
            "created": _iso(self.created),
            "last_attempt": _iso(self.last_attempt),
            "last_result": self.last_result,
            "last_code": self.last_code,
            "next_attempt": _iso(self.due) if waiting else None,
            "next_attempt_in_seconds": round(clock.real_seconds(self.due - clock.now()), 3)
            if waiting
            else None,
            "gives_up_at": _iso(self.created + RETRY_WINDOW_SECONDS)
            if self.state == RETRYING
            else None,
        }


def _iso(moment: float | None) -> str | None:
    if moment is None:
        return None
    return datetime.fromtimestamp(moment, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


Attempt = Callable[[Delivery], str]
Report = Callable[[Delivery, DeliveryError, str], None]


class _SinkWorker:
    """One sink's deliveries, attempted one at a time in due order by one daemon thread."""

    def __init__(self, queue: DeliveryQueue, sink_sid: str) -> None:
        self.queue = queue
        self.heap: list[tuple[float, int, Delivery]] = []
        self.thread = threading.Thread(target=self.run, name=f"deliveries-{sink_sid}", daemon=True)

    def run(self) -> None:
        queue = self.queue
        while True:
            with queue.condition:
                delivery = self._next_due()
                if delivery is None:
                    return
                delivery.state = IN_FLIGHT
            queue.attempt_once(delivery)

    def _next_due(self) -> Delivery | None:
        """Wait (holding the queue's condition) until the head is due; None when stopping."""
        queue = self.queue
        while not queue.stopping:
            if not self.heap:
                queue.condition.wait()
                continue
            due, _, delivery = self.heap[0]
            wait = queue.clock.real_seconds(due - queue.clock.now())
            if wait <= 0:
                heapq.heappop(self.heap)
                return delivery
            queue.condition.wait(timeout=min(wait, 1.0))  # the scale may change meanwhile
        return None


class DeliveryQueue:
    """Deliveries waiting for their first attempt or a retry, per sink; see the module doc."""

    def __init__(
        self,
        attempt: Attempt,
        report: Report,
        *,
        clock: Clock | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.attempt = attempt
        self.report = report
        self.clock = clock or Clock()
        self.rng = rng or random.Random()
        self.condition = threading.Condition()
        self.stopping = False
        self._workers: dict[str, _SinkWorker] = {}
        self._pending: dict[str, Delivery] = {}
        self._finished: deque[Delivery] = deque(maxlen=FINISHED_KEPT)
        self._order = itertools.count()
        self.generation = 0

    def resume(self) -> None:
        """Accept work again after :meth:`stop` (an emulator started a second time)."""
        with self.condition:
            self.stopping = False

    def submit(self, delivery: Delivery) -> Delivery:
        """Queue ``delivery`` for an attempt now; returns it (wait on ``first_attempted``)."""
        with self.condition:
            delivery.due = self.clock.now()
            delivery.generation = self.generation
            self._pending[delivery.id] = delivery
            self._schedule(delivery)
        return delivery

    def _schedule(self, delivery: Delivery) -> None:
        worker = self._workers.get(delivery.sink_sid)
        if worker is None or not worker.thread.is_alive():
            worker = self._workers[delivery.sink_sid] = _SinkWorker(self, delivery.sink_sid)
            worker.thread.start()
        heapq.heappush(worker.heap, (delivery.due, next(self._order), delivery))
        self.condition.notify_all()

    def attempt_once(self, delivery: Delivery) -> None:
        """Make one attempt (outside the lock) and decide what comes next."""
        started = self.clock.now()
        error: DeliveryError | None = None
        try:
            result = self.attempt(delivery)
        except DeliveryError as exc:
            error, result = exc, exc.message
        except Exception as exc:  # a bug in the sandbox: drop loudly rather than spin
            error = DeliveryError(0, f"sandbox error: {exc!r}", retry=False)
            result = error.message
        with self.condition:
            delivery.attempts += 1
            delivery.last_attempt = started
            delivery.last_result = result
            delivery.last_code = error.code if error else None
            outcome = self._after(delivery, error)
        try:
            if error is not None and outcome:
                self.report(delivery, error, outcome)
        finally:  # after the report: whoever waits for the attempt sees its debugger entry
            delivery.first_attempted.set()

    def _after(self, delivery: Delivery, error: DeliveryError | None) -> str:
        """The new state; returns a Debugger note for a first failure or a final outcome."""
        if delivery.generation != self.generation:
            delivery.state = DROPPED  # submitted before a reset: forget it quietly
            return ""
        if error is None:
            return self._finish(delivery, DELIVERED)
        note = "first failure" if delivery.attempts == 1 else ""
        if not error.retry:
            return self._finish(delivery, DROPPED) or "dropped"
        due = self.clock.now() + backoff(delivery.attempts, self.rng)
        if due > delivery.created + RETRY_WINDOW_SECONDS:
            self._finish(delivery, EXPIRED)
            return "gave up after four hours of retries"
        delivery.state, delivery.due = RETRYING, due
        if not self.stopping:
            self._schedule(delivery)
        return note

    def _finish(self, delivery: Delivery, state: str) -> str:
        delivery.state = state
        self._pending.pop(delivery.id, None)
        self._finished.append(delivery)
        return ""

    def snapshot(self, state: str | None = None) -> list[dict[str, Any]]:
        """Every delivery still pending and the last finished ones, oldest first."""
        with self.condition:
            items = [*self._finished, *self._pending.values()]
            views = [d.view(self.clock) for d in sorted(items, key=lambda d: d.created)]
        return [v for v in views if state is None or v["state"] == state]

    def wait_first_attempts(self, timeout: float) -> bool:
        """Wait until every delivery known now has had its first attempt, reported included
        (tests, after a sink Test). False if ``timeout`` seconds passed first."""
        with self.condition:
            known = [*self._finished, *self._pending.values()]
        deadline = time.monotonic() + timeout
        return all(d.first_attempted.wait(max(0.0, deadline - time.monotonic())) for d in known)

    def clear(self) -> None:
        """Forget everything (``reset``): pending deliveries are dropped without an attempt."""
        with self.condition:
            self.generation += 1
            for worker in self._workers.values():
                worker.heap.clear()
            for delivery in self._pending.values():
                delivery.first_attempted.set()
            self._pending.clear()
            self._finished.clear()

    def stop(self) -> None:
        with self.condition:
            self.stopping = True
            self.condition.notify_all()
        for worker in list(self._workers.values()):
            worker.thread.join(timeout=10)
