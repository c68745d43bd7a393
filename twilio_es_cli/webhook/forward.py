"""``tail --forward-to``: deliver each decoded event to a URL the way Twilio's webhook sink does.

An :class:`~twilio_es_cli.tail.sink.EventSink` for ``tail`` (instead of a renderer):
``write(record, decoded)`` takes each event tail decoded, ``settle()`` waits until every event
written so far is finished and says whether all were, so the checkpoint never moves past an
event that was neither delivered nor dropped.

Twilio's delivery semantics, reproduced so a handler meets here what it meets in production:

- the body has the shape the sink's ``batch_events`` gives it: ONE CloudEvent object per
  request (``data`` as an object) by default, as Twilio posts with ``batch_events`` false; a
  JSON array of up to ``batch`` events when ``--batch N`` (N > 1) asks for batching, as with
  ``batch_events`` true. ``bodySHA256`` is appended to the URL and ``X-Twilio-Signature`` signed
  with the auth token (:mod:`twilio_es_cli.signing`);
- 2xx: delivered. 429 and 5xx, a refused/reset connection, no answer within 5 s: retried with
  exponential backoff (``Retry-After`` honoured), never skipped. Other 4xx: logged and dropped
  (Twilio discards them). 3xx: not followed, logged and dropped;
- ``concurrency`` workers, each owning the partition keys that hash to it, so events of one
  key are delivered in order; ``rate`` caps requests per second across them.

Stopping (Ctrl-C, SIGTERM) lets queued events go out once; an event that then fails is
*abandoned*: ``flush()`` returns False and the tail keeps its previous checkpoint, so the next
run delivers it again (at least once, never lost).

A run that ends by itself (``--no-follow``, ``--max``, ``--timeout``) must end even when the
handler never answers: ``give_up_after`` bounds its retries. An event retried that long is
abandoned, and once nothing at all was delivered for that long the handler counts as down and
every event still queued is abandoned without a request. ``run_timeout`` (``--timeout``) ends
retries when the run's time is up, as a stop does. The summary says why events were
abandoned, and whether the run asked for it (a stop, ``--timeout``) or not (the handler, a
failure of ours): the CLI exits 1 then.
"""

from __future__ import annotations

import queue
import random
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TextIO
from urllib.parse import urlsplit

from twilio_es_cli.signing import (
    SIGNATURE_HEADER,
    body_sha256,
    compute_signature,
    url_with_body_hash,
)
from twilio_es_cli.tail.decode import DecodedEvent
from twilio_es_cli.tail.records import KinesisRecord
from twilio_es_cli.webhook.post import TWILIO_TIMEOUT, Poster, Response, Target
from twilio_es_cli.webhook.render import Delivery, DeliveryLog

USER_AGENT = "Twilio-EventStreams"
IDEMPOTENCY_HEADER = "I-Twilio-Idempotency-Token"
BASE_BACKOFF = 0.5
MAX_BACKOFF = 30.0  # also the cap on a Retry-After wait
#: How long a run that ends by itself keeps retrying (an event, or a handler that delivers
#: nothing at all) before abandoning: long enough for a handler restart, short enough that
#: `tail --no-follow` against a handler that is down ends.
RETRY_BUDGET = 60.0
LINGER = 0.2  # seconds a partial batch waits for more events
QUEUE_PER_WORKER = 512


@dataclass(frozen=True)
class ForwardOptions:
    """What ``--forward-to`` and its companions asked for (validated by the CLI)."""

    url: str
    token: str
    headers: tuple[tuple[str, str], ...] = ()
    rate: float | None = None
    concurrency: int = 1
    batch: int = 1
    output: str = "pretty"
    timeout: float = TWILIO_TIMEOUT
    base_backoff: float = BASE_BACKOFF
    give_up_after: float | None = None  # None: retry as long as the run goes (following)
    run_timeout: float | None = None  # --timeout: retries end this long after the start


@dataclass
class ForwardSummary:
    """Counts for the closing line."""

    requests: int = 0
    delivered: int = 0
    dropped: int = 0
    skipped: int = 0
    retries: int = 0
    abandoned: int = 0
    why_abandoned: str = ""  # the first reason, for the summary
    unasked: bool = False  # abandoned without a stop or --timeout asking for it (exit 1)

    def line(self) -> str:
        parts = [f"{self.delivered} delivered"]
        for name in ("dropped", "skipped", "retries", "abandoned"):
            value = getattr(self, name)
            if value:
                parts.append(f"{value} {name}")
        if self.abandoned and self.why_abandoned:
            parts[-1] += f" ({self.why_abandoned})"
        return f"forwarded in {self.requests} request(s): " + ", ".join(parts)


@dataclass(frozen=True)
class _Item:
    body: bytes  # one CloudEvent as Twilio's webhook sends it
    type: str
    id: str


_CLOSE = object()


def classify(response: Response) -> str:
    """Twilio's rule for one answer: ``delivered``, ``retry`` or ``dropped``."""
    status = response.status
    if status is None or status == 429 or status >= 500:
        return "retry"
    if 200 <= status < 300:
        return "delivered"
    return "dropped"  # 3xx (not followed) and other 4xx


def webhook_body(decoded: DecodedEvent) -> bytes | None:
    """One event as Twilio's webhook sink sends it: the CloudEvent with ``data`` an object."""
    event = decoded.event
    if event is None:
        return None
    if not decoded.data_was_string:
        return decoded.raw.strip()
    import pydantic_core

    doc = {k: v for k, v in event.__dict__.items() if v is not None}
    if event.__pydantic_extra__:
        doc.update(event.__pydantic_extra__)
    return pydantic_core.to_json(doc)


class RateLimiter:
    """At most ``rate`` acquisitions per second across threads (requests are spaced evenly)."""

    def __init__(self, rate: float | None) -> None:
        self.interval = 1.0 / rate if rate else 0.0
        self._next = time.monotonic()
        self._lock = threading.Lock()

    def acquire(self, stop: threading.Event) -> None:
        if not self.interval:
            return
        with self._lock:
            now = time.monotonic()
            at = max(now, self._next)
            self._next = at + self.interval
        if at > now:
            stop.wait(at - now)


class Forwarder:
    """The sink (see the module docstring). Use as a context manager, or call :meth:`close`."""

    def __init__(
        self,
        options: ForwardOptions,
        out: TextIO,
        *,
        stop: threading.Event | None = None,
        log: Callable[[Delivery], None] | None = None,
    ) -> None:
        self.options = options
        self.target = Target.parse(options.url)
        self.stop = stop or threading.Event()
        self.summary = ForwardSummary()
        self._log = log or DeliveryLog(out, options.output).write
        # url_with_body_hash of any body ends in the 64 hex digits of its hash: keep the rest.
        self._signed_prefix = url_with_body_hash(self.target.url, b"")[:-64]
        prefix = urlsplit(self._signed_prefix + "0" * 64)
        self._path_prefix = f"{prefix.path or '/'}?{prefix.query[:-64]}"
        self._headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": USER_AGENT,
        }
        self._limiter = RateLimiter(options.rate)
        self._pending = 0
        self._abandoned = False
        self._error: Exception | None = None
        self._deadline = (
            time.monotonic() + options.run_timeout if options.run_timeout is not None else None
        )
        self._failing_since: float | None = None  # no delivery by any worker since then
        self._failing_requests = 0  # requests that failed since then (a handler down: all)
        self._down: str | None = None  # why the handler counts as down (then: no more tries)
        self._changed = threading.Condition()
        self._queues: list[queue.Queue[object]] = []
        self._threads: list[threading.Thread] = []
        for n in range(max(1, options.concurrency)):
            inbox: queue.Queue[object] = queue.Queue(maxsize=QUEUE_PER_WORKER * options.batch)
            thread = threading.Thread(
                target=self._work, args=(inbox,), name=f"forward-{n}", daemon=True
            )
            self._queues.append(inbox)
            self._threads.append(thread)
            thread.start()

    @staticmethod
    def check(options: ForwardOptions) -> None:
        """Refuse bad options before anything is read (the URL: a usage error)."""
        Target.parse(options.url)

    # --- the sink interface (what run_tail calls) ---------------------------------------------

    def write(self, record: KinesisRecord, decoded: DecodedEvent) -> None:
        """Queue one event for delivery (blocks when the workers are far behind)."""
        if self._error is not None:  # a worker failed: end the tail the same way
            raise self._error
        body = webhook_body(decoded)
        if body is None or decoded.event is None:
            self.summary.skipped += 1
            self._log(
                Delivery([], [record.sequence_number], None, 0.0, 0, "skipped", "not a CloudEvent")
            )
            return
        item = _Item(body, decoded.event.type, decoded.event.id)
        inbox = self._queues[zlib.crc32(record.partition_key.encode()) % len(self._queues)]
        with self._changed:
            self._pending += 1
        inbox.put(item)

    def flush(self) -> bool:
        """Wait until every event written so far is delivered, dropped or abandoned.

        True when none was abandoned (in this run): only then may a checkpoint advance.
        """
        with self._changed:
            self._changed.wait_for(lambda: self._pending == 0)
            return not self._abandoned

    def drain(self) -> None:
        """Nothing to hand on: the workers take each event as it is written."""

    def settle(self) -> int | None:
        """The tail's checkpoint question (:class:`~twilio_es_cli.tail.sink.EventSink`): None
        once every event so far is delivered or dropped (:meth:`flush`), else 0, so the
        checkpoint keeps its place until the next run delivers them again."""
        return None if self.flush() else 0

    def finish(self) -> None:
        """Nothing to add: :meth:`settle` waits for every delivery anyway."""

    def close(self) -> None:
        """Finish what is queued (see :meth:`flush`) and end the worker threads."""
        for inbox in self._queues:
            inbox.put(_CLOSE)
        for thread in self._threads:
            thread.join()

    def __enter__(self) -> Forwarder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- the workers --------------------------------------------------------------------------

    def _work(self, inbox: queue.Queue[object]) -> None:
        poster = Poster(self.target, timeout=self.options.timeout)
        group: list[_Item] = []
        try:
            while True:
                try:
                    item = inbox.get(timeout=LINGER if group else None)
                except queue.Empty:
                    item = None
                if item is _CLOSE:
                    break
                if isinstance(item, _Item):
                    group.append(item)
                if group and (item is None or len(group) >= self.options.batch):
                    self._run_group(poster, group)
                    group = []
            if group:
                self._run_group(poster, group)
        finally:
            poster.close()

    def _run_group(self, poster: Poster, group: list[_Item]) -> None:
        """Deliver ``group``; after a failure of our own (e.g. stdout closed), only count it.

        A worker must never die with events pending: ``flush()`` would wait forever.
        """
        if self._error is not None:
            self._finish(group, "abandoned")
            return
        try:
            outcome = self._deliver(poster, group)
        except Exception as exc:  # BrokenPipeError writing the line (`| head`), and the like
            self._error = exc
            outcome = "abandoned"
            self._abandon_for(f"{type(exc).__name__}: {exc}", asked=False)
        self._finish(group, outcome)

    def _abandon_for(self, why: str, *, asked: bool) -> str:
        """Note why events are abandoned (the first reason is the summary's); ``asked``: by a
        stop or ``--timeout``, not by a failure."""
        with self._changed:
            if not self.summary.why_abandoned:
                self.summary.why_abandoned = why
            if not asked:
                self.summary.unasked = True
        return why

    def _finish(self, group: list[_Item], outcome: str) -> None:
        with self._changed:
            self._pending -= len(group)
            if outcome == "abandoned":
                self._abandoned = True
                self.summary.abandoned += len(group)
            elif outcome == "delivered":
                self.summary.delivered += len(group)
            else:
                self.summary.dropped += len(group)
            self._changed.notify_all()

    def request(self, group: list[_Item]) -> tuple[str, bytes, dict[str, str]]:
        """(path + query, body, headers) of the request Twilio would send for ``group``.

        The same URL and signature as :func:`~twilio_es_cli.signing.sign_json_request` (a test
        checks it), with the URL's unchanging part computed once: parsing and re-encoding the
        query for every event cost more than the HMAC itself.
        """
        if self.options.batch > 1:  # batch_events true: always an array, even of one
            body = b"[" + b",".join(item.body for item in group) + b"]"
        else:  # batch_events false (Twilio's default): the event itself, one per request
            (only,) = group
            body = only.body
        digest = body_sha256(body)
        signature = compute_signature(self.options.token, self._signed_prefix + digest)
        headers = dict(self._headers)
        headers[SIGNATURE_HEADER] = signature
        headers[IDEMPOTENCY_HEADER] = group[0].id if len(group) == 1 else digest[:32]
        headers.update(self.options.headers)
        return self._path_prefix + digest, body, headers

    def _log_attempt(
        self,
        attempted: tuple[list[str], list[str], Response, int],
        outcome: str,
        why: str | None,
        *,
        retry_in: float | None = None,
    ) -> None:
        """One delivery line for an attempt: (types, ids, answer, attempt number) and its fate."""
        types, ids, response, attempt = attempted
        self._log(
            Delivery(types, ids, response.status, response.latency, attempt, outcome, why, retry_in)
        )

    def _deliver(self, poster: Poster, group: list[_Item]) -> str:
        """Send ``group`` until it is delivered or dropped (or abandoned: on stop, at
        ``--timeout``, or after retrying for ``give_up_after``)."""
        path, body, headers = self.request(group)
        types, ids = [i.type for i in group], [i.id for i in group]
        attempt = 0
        first_failure: float | None = None
        while True:
            attempt += 1
            if self._not_worth_trying():  # stopping, time is up or the handler is down
                reason = self.summary.why_abandoned or "stopping"
                self._log(Delivery(types, ids, None, 0.0, 0, "abandoned", f"not sent: {reason}"))
                return "abandoned"
            self._limiter.acquire(self.stop)
            response = poster.send(path, body, headers)
            with self._changed:
                self.summary.requests += 1
            outcome = classify(response)
            attempted = (types, ids, response, attempt)
            if outcome != "retry":
                with self._changed:
                    self._failing_since, self._failing_requests = None, 0  # it answers
                self._log_attempt(attempted, outcome, _why(response, outcome))
                return outcome
            now = time.monotonic()
            if first_failure is None:
                first_failure = now
                with self._changed:
                    self._failing_requests += 1
            ending = self._why_end(response, now - first_failure, now)
            if ending is not None:
                self._log_attempt(attempted, "abandoned", ending)
                return "abandoned"
            delay = self._within_limits(self._backoff(attempt, response), first_failure, now)
            self._log_attempt(attempted, "retrying", response.error, retry_in=delay)
            with self._changed:
                self.summary.retries += 1
            self.stop.wait(delay)

    def _not_worth_trying(self) -> bool:
        """Abandon without a request: the handler is down, or the run is stopping (or out of
        time) and an event has already failed."""
        if self._down is not None:
            return True
        return self._abandoned and (self.stop.is_set() or self._timed_out())

    def _timed_out(self, now: float | None = None) -> bool:
        return self._deadline is not None and (now or time.monotonic()) >= self._deadline

    def _why_end(self, response: Response, retried: float, now: float) -> str | None:
        """Why this failed attempt is the last one (None: retry). ``retried``: how long this
        request has been failing (the handler as a whole: since ``_failing_since``)."""
        error = response.error or (f"HTTP {response.status}" if response.status else "no answer")
        with self._changed:
            if self._failing_since is None:
                self._failing_since = now
            silent = now - self._failing_since
        if self.stop.is_set():
            return self._abandon_for(f"{error}; stopping, delivered again on resume", asked=True)
        if self._timed_out(now):
            timeout = self.options.run_timeout
            return self._abandon_for(f"{error}; --timeout {timeout:g}s reached", asked=True)
        budget = self.options.give_up_after
        if budget is None:
            return None
        # The handler is down when nothing was delivered for the budget and it either does
        # not answer at all or failed more than one request meanwhile; one event it always
        # refuses (others delivered around it) is given up alone.
        if silent >= budget and (response.status is None or self._failing_requests > 1):
            self._down = f"{error}; nothing delivered for {budget:g}s, gave up"
            return self._abandon_for(self._down, asked=False)
        if retried >= budget:
            return self._abandon_for(f"{error}; retried for {budget:g}s, gave up", asked=False)
        return None

    def _within_limits(self, delay: float, first_failure: float, now: float) -> float:
        """``delay``, cut so that the last try comes when the budget or ``--timeout`` ends."""
        ends = [self._deadline] if self._deadline is not None else []
        if self.options.give_up_after is not None:
            ends.append(first_failure + self.options.give_up_after)
        if ends:
            delay = min(delay, max(0.0, min(ends) - now))
        return delay

    def _backoff(self, attempt: int, response: Response) -> float:
        """Retry-After when it names a wait (seconds or an HTTP date, at most MAX_BACKOFF;
        post.py ignores 0, negative and malformed values), else exponential with jitter."""
        if response.retry_after is not None and response.retry_after > 0:
            return min(MAX_BACKOFF, max(self.options.base_backoff, response.retry_after))
        delay = min(MAX_BACKOFF, self.options.base_backoff * 2 ** (attempt - 1))
        return float(delay * random.uniform(0.8, 1.2))


def _why(response: Response, outcome: str) -> str | None:
    """The note on a delivery line: the error, or why a status was dropped."""
    if response.error:
        return response.error
    status = response.status or 0
    if outcome == "dropped" and 300 <= status < 400:
        location = dict(response.headers).get("Location")
        return (
            f"redirect not followed (Twilio does not either){f' to {location}' if location else ''}"
        )
    if outcome == "dropped":
        return "4xx: dropped, as Twilio drops it"
    return None
