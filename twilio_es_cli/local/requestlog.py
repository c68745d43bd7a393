"""The request log of ``twilio-es local up``: one line per request, in one format for both APIs.

Why: the window ``local up`` runs in is where a user looks when something in the sandbox goes
wrong, and it used to fill with werkzeug's access lines and moto's multi-page tracebacks.
Now every request to the local AWS (Kinesis, IAM, STS) and to the Events API emulator is one
line, like Stripe CLI's ``listen``::

    14:02:07  POST   Kinesis.PutRecords                200      3 ms
    14:02:08  POST   Kinesis.UpdateShardCount          400      1 ms  InvalidArgumentException: ...
    14:02:09  POST   Events /v1/Sinks/DG.../Test       200     41 ms
    14:02:14  POST   Kinesis.SubscribeToShard          200  5,004 ms  shardId-000000000001 ...

An error is that one line (its code and message); a crash inside the sandbox is one line too,
and only ``--debug`` adds its traceback. Text that came from a request (paths, names echoed in
messages) is made inert (:func:`twilio_es_cli.output.bounded`) before it reaches the terminal.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import TextIO

from twilio_es_cli.output import bounded

MAX_DETAIL = 300


@dataclass(frozen=True)
class Entry:
    """One request as the log shows it."""

    method: str
    operation: str  # "Kinesis.PutRecords", "IAM.CreateRole", "Events /v1/Sinks", a path
    status: int
    millis: float
    detail: str = ""  # an error's code and message, a subscription's summary


def format_entry(entry: Entry, when: float | None = None) -> str:
    """The line for ``entry`` (``when``: a time.time() value, now by default)."""
    clock = time.strftime("%H:%M:%S", time.localtime(time.time() if when is None else when))
    line = (
        f"{clock}  {bounded(entry.method)[:7]:<6} {bounded(entry.operation)[:60]:<33} "
        f"{entry.status:>3} {entry.millis:>8,.0f} ms"
    )
    if entry.detail:
        detail = bounded(" ".join(entry.detail.split()))  # a multi-line message: one line
        if len(detail) > MAX_DETAIL:
            detail = detail[:MAX_DETAIL] + "…"
        line += f"  {detail}"
    return line


class RequestLog:
    """Writes :class:`Entry` lines to ``stream`` (stderr), whole lines from any thread."""

    def __init__(self, stream: TextIO, *, debug: bool = False) -> None:
        self.stream = stream
        self.debug = debug
        self._lock = threading.Lock()

    def record(self, entry: Entry, *, traceback: str | None = None) -> None:
        """One line; with ``--debug`` a crash's ``traceback`` follows it."""
        text = format_entry(entry) + "\n"
        if traceback and self.debug:
            text += traceback if traceback.endswith("\n") else traceback + "\n"
        with self._lock:
            try:
                self.stream.write(text)
                self.stream.flush()
            except (OSError, ValueError):  # the terminal went away: the sandbox keeps serving
                pass

    def events_hook(self, method: str, path: str, status: int, millis: float, detail: str) -> None:
        """The Events emulator's per-request callback (``EventsEmulator.request_log``)."""
        self.record(Entry(method, f"Events {path}", status, millis, detail))
