"""``tail --forward-to``: deliver each decoded event to a URL the way Twilio's webhook sink does.

An :class:`~twilio_es_cli.tail.sink.EventSink` for ``tail`` (instead of a renderer):
``write(record, decoded)`` takes each event tail decoded, ``settle()`` waits until every event
written so far is finished and says whether all were, so the checkpoint never moves past an
event that was neither delivered nor dropped.

Twilio's delivery semantics, reproduced so a handler meets here what it meets in production:

- the body is a JSON array of CloudEvents (``data`` as an object), one event per request, or
  up to ``batch`` (``batch_events``); ``bodySHA256`` is appended to the URL and
  ``X-Twilio-Signature`` signed with the auth token (:mod:`twilio_es_cli.signing`);
- 2xx: delivered. 429 and 5xx, a refused/reset connection, no answer within 5 s: retried with
  exponential backoff (``Retry-After`` honoured), never skipped. Other 4xx: logged and dropped
  (Twilio discards them). 3xx: not followed, logged and dropped;
- ``concurrency`` workers, each owning the partition keys that hash to it, so events of one
  key are delivered in order; ``rate`` caps requests per second across them.

Stopping (Ctrl-C, SIGTERM) lets queued events go out once; an event that then fails is
*abandoned*: ``flush()`` returns False and the tail keeps its previous checkpoint, so the next
run delivers it again (at least once, never lost).
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
MAX_BACKOFF = 30.0
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


@dataclass
class ForwardSummary:
    """Counts for the closing line."""

    requests: int = 0
    delivered: int = 0
    dropped: int = 0
    skipped: int = 0
    retries: int = 0
    abandoned: int = 0

    def line(self) -> str:
        parts = [f"{self.delivered} delivered"]
        for name in ("dropped", "skipped", "retries", "abandoned"):
            value = getattr(self, name)
            if value:
                parts.append(f"{value} {name}")
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
        self._finish(group, outcome)

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
        body = b"[" + b",".join(item.body for item in group) + b"]"
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
        """Send ``group`` until it is delivered or dropped (or abandoned on stop)."""
        path, body, headers = self.request(group)
        types, ids = [i.type for i in group], [i.id for i in group]
        attempt = 0
        while True:
            attempt += 1
            if self.stop.is_set() and self._abandoned:
                return "abandoned"  # stopping and the handler is failing: do not wait on each
            self._limiter.acquire(self.stop)
            response = poster.send(path, body, headers)
            with self._changed:
                self.summary.requests += 1
            outcome = classify(response)
            attempted = (types, ids, response, attempt)
            if outcome != "retry":
                self._log_attempt(attempted, outcome, _why(response, outcome))
                return outcome
            if self.stop.is_set():
                why = _why(response, outcome) or "stopping; delivered again on resume"
                self._log_attempt(attempted, "abandoned", why)
                return "abandoned"
            delay = self._backoff(attempt, response)
            self._log_attempt(attempted, "retrying", response.error, retry_in=delay)
            with self._changed:
                self.summary.retries += 1
            self.stop.wait(delay)

    def _backoff(self, attempt: int, response: Response) -> float:
        if response.retry_after is not None:
            return min(MAX_BACKOFF, response.retry_after)
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
