"""The status line ``tail`` shows on a terminal's stderr while the stream is quiet.

One line saying how long tail has waited, how many shards and events so far, and how far
behind the latest record each shard reads; erased before each event and each message (through
:meth:`StatusLine.around`, a :class:`~twilio_es_cli.progress.Reporter`), so it never mixes with
them. A :class:`~twilio_es_cli.tail.pipeline.TailObserver`: it runs in the consumer's thread,
between records, and reads the counters without locks.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING, TextIO

from twilio_es_cli.tail.render import format_lag, short_shard

if TYPE_CHECKING:
    from twilio_es_cli.progress import Reporter
    from twilio_es_cli.tail.pipeline import TailSummary
    from twilio_es_cli.tail.records import KinesisRecord


def behind_text(behind: dict[str, int], limit: int = 4) -> str:
    """``shard-0 0s, shard-1 1.2s`` (or the worst of many shards: ``max 3.1s over 12``)."""
    if not behind:
        return ""
    items = sorted(behind.items())
    if len(items) > limit:
        worst = max(ms for _, ms in items)
        return f"max {millis_text(worst)} over {len(items)} shards"
    return ", ".join(f"{short_shard(sid)} {millis_text(ms)}" for sid, ms in items)


def millis_text(millis: int) -> str:
    """``0s``, ``1.2s``, ``12m``: a MillisBehindLatest for a column."""
    return "0s" if millis <= 0 else format_lag(millis / 1000)


class StatusLine:
    """One status line on stderr while tail waits (only when stderr is a terminal)."""

    def __init__(self, err: TextIO, *, width: Callable[[], int] | None = None) -> None:
        self.err = err
        self.width = width or _terminal_width(err)
        self.summary: TailSummary | None = None
        self.shown = ""
        self.since = time.monotonic()  # the last event (or the start)
        self.lock = threading.Lock()  # messages may come from reader threads

    def started(self, summary: TailSummary) -> None:
        self.summary = summary

    def seen(self, record: KinesisRecord, event_type: str | None, outcome: str) -> None:
        self.since = time.monotonic()
        if outcome == "shown":
            self.clear()

    def idle(self) -> None:
        if self.summary is None:
            return
        text = self.text(self.summary, time.monotonic() - self.since)
        limit = max(10, self.width() - 1)  # never wrap: a wrapped line cannot be erased
        if len(text) > limit:
            text = text[: limit - 1] + "…"
        with self.lock:
            if text != self.shown:
                self.err.write("\r\x1b[K" + text)
                self.err.flush()
                self.shown = text

    @staticmethod
    def text(summary: TailSummary, waited: float) -> str:
        shards = len(summary.shards)
        events = summary.emitted
        parts = [
            f"waiting {int(waited)}s",
            f"{shards} shard{'s' if shards != 1 else ''}",
            f"{events} event{'s' if events != 1 else ''} so far",
        ]
        behind = behind_text(dict(summary.behind))
        if behind:
            parts.append(f"behind latest: {behind}")
        return " · ".join(parts)

    def clear(self) -> None:
        """Erase the line (before an event or a message is written)."""
        with self.lock:
            if self.shown:
                self.err.write("\r\x1b[K")
                self.err.flush()
                self.shown = ""

    def around(self, report: Reporter) -> Reporter:
        """``report`` with this line erased before each of its lines (and spinners)."""
        return _Erasing(report, self.clear)


@dataclass(frozen=True)
class _Erasing:
    """A :class:`~twilio_es_cli.progress.Reporter` that erases the status line before each
    line it passes on, so a message never lands on the status line's row."""

    parent: Reporter
    erase: Callable[[], None]

    def step(self, text: str) -> None:
        self.erase()
        self.parent.step(text)

    def note(self, text: str) -> None:
        self.erase()
        self.parent.note(text)

    def warn(self, text: str) -> None:
        self.erase()
        self.parent.warn(text)

    def waiting(self, text: str, limit: float | None = None) -> AbstractContextManager[None]:
        self.erase()
        return self.parent.waiting(text, limit)


def _terminal_width(stream: TextIO) -> Callable[[], int]:
    def width() -> int:
        try:
            return os.get_terminal_size(stream.fileno()).columns
        except (OSError, ValueError):
            return 80

    return width
