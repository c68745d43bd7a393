"""``tail --stats``: a live view of the stream instead of its events.

The views are :class:`twilio_es_cli.tail.pipeline.TailObserver` s: they run in the tail's
consumer thread, between records, so they read the counters without locks (the per-shard
``behind`` dict is written by reader threads one key at a time, which is atomic).

- :class:`StatsCollector` counts per type and per shard over the last minute;
  :class:`LiveStats` draws it full-screen with rich's live display (``q`` or Ctrl-C leaves,
  the screen and the terminal mode are restored), :class:`JsonStats` prints one JSON summary
  per interval when stdout is not a terminal; :class:`LastEvents` is the run's sink, keeping
  the last events' short lines for the screen.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from collections import deque
from datetime import datetime, timezone
from typing import IO, TYPE_CHECKING, Any, TextIO

from twilio_es_cli.safe_text import visible
from twilio_es_cli.tail.render import short_shard, short_type
from twilio_es_cli.tail.sink import BaseSink
from twilio_es_cli.tail.status_line import millis_text

if TYPE_CHECKING:
    from twilio_es_cli.tail.pipeline import TailSummary
    from twilio_es_cli.tail.records import KinesisRecord

WINDOW = 60  # seconds of history for rates and sparklines
SPARKS = "▁▂▃▄▅▆▇█"


class _Series:
    """Counts per second over the last WINDOW seconds (a ring of one-second buckets)."""

    def __init__(self) -> None:
        self.buckets: deque[int] = deque([0] * WINDOW, maxlen=WINDOW)
        self.second = int(time.monotonic())
        self.total = 0

    def advance(self, now: float) -> None:
        second = int(now)
        for _ in range(min(WINDOW, second - self.second)):
            self.buckets.append(0)
        self.second = max(self.second, second)

    def add(self, now: float) -> None:
        self.advance(now)
        self.buckets[-1] += 1
        self.total += 1

    def last_minute(self) -> int:
        return sum(self.buckets)

    def spark(self, width: int) -> str:
        values = list(self.buckets)[-width:]
        top = max(values) or 1
        return "".join(" " if v == 0 else SPARKS[min(7, (v * 8 - 1) // top)] for v in values)


class StatsCollector:
    """Counts for ``tail --stats``: per type and per shard, totals and the last events."""

    LAST = 5

    def __init__(self, stream: str) -> None:
        self.stream = stream
        self.started_at = time.monotonic()
        self.summary: TailSummary | None = None
        self.types: dict[str, _Series] = {}
        self.shards: dict[str, _Series] = {}
        self.all = _Series()
        self.last: deque[str] = deque(maxlen=self.LAST)

    def started(self, summary: TailSummary) -> None:
        self.summary = summary

    def seen(self, record: KinesisRecord, event_type: str | None, outcome: str) -> None:
        now = time.monotonic()
        self.shards.setdefault(record.shard_id, _Series()).add(now)
        if outcome != "shown":
            return
        name = event_type if event_type is not None else "(not a CloudEvent)"
        self.types.setdefault(name, _Series()).add(now)
        self.all.add(now)

    def remember(self, line: str) -> None:
        self.last.append(visible(line))

    def idle(self) -> None:
        """Nothing to do: the views decide when to draw."""

    def window(self) -> float:
        return max(1.0, min(float(WINDOW), time.monotonic() - self.started_at))

    def advance(self) -> None:
        now = time.monotonic()
        for series in [self.all, *self.types.values(), *self.shards.values()]:
            series.advance(now)

    def document(self) -> dict[str, Any]:
        """The JSON summary (``--stats`` when stdout is not a terminal)."""
        self.advance()
        summary = self.summary
        window = self.window()
        behind = dict(summary.behind) if summary is not None else {}
        shard_ids = sorted(set(self.shards) | set(behind) | set(summary.shards if summary else ()))
        return {
            "time": datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z"),
            "stream": self.stream,
            "elapsed": round(time.monotonic() - self.started_at, 1),
            "events": self.all.total,
            "per_second": round(self.all.last_minute() / window, 2),
            "not_cloudevents": summary.not_cloudevents if summary else 0,
            "duplicates": summary.duplicates if summary else 0,
            "filtered": summary.filtered if summary else 0,
            "types": {
                name: {
                    "total": s.total,
                    "last_minute": s.last_minute(),
                    "per_second": round(s.last_minute() / window, 2),
                }
                for name, s in sorted(self.types.items())
            },
            "shards": {
                sid: {
                    "behind_latest_ms": behind.get(sid),
                    "records": self.shards[sid].total if sid in self.shards else 0,
                    "per_second": round(
                        (self.shards[sid].last_minute() if sid in self.shards else 0) / window, 2
                    ),
                }
                for sid in shard_ids
            },
        }


class JsonStats:
    """``tail --stats`` with stdout not a terminal: one JSON line per ``interval`` seconds."""

    def __init__(self, collector: StatsCollector, out: TextIO, interval: float) -> None:
        self.collector = collector
        self.out = out
        self.interval = interval
        self.next_at = time.monotonic() + interval

    def started(self, summary: TailSummary) -> None:
        self.collector.started(summary)

    def seen(self, record: KinesisRecord, event_type: str | None, outcome: str) -> None:
        self.collector.seen(record, event_type, outcome)
        self.idle()

    def idle(self) -> None:
        if time.monotonic() >= self.next_at:
            self.emit()

    def emit(self) -> None:
        self.next_at = time.monotonic() + self.interval
        self.out.write(json.dumps(self.collector.document(), ensure_ascii=False) + "\n")
        self.out.flush()


class LiveStats:
    """``tail --stats`` on a terminal: a full-screen view redrawn in place (rich Live).

    Drawn from the consumer thread only (no auto-refresh thread: the counters have one
    owner). Keys come from stdin in cbreak mode: ``q`` asks tail to stop (exit 0); Ctrl-C
    still sends SIGINT (exit 130). Leaving restores the screen and the terminal mode.
    """

    REFRESH = 0.25

    def __init__(
        self,
        collector: StatsCollector,
        out: TextIO,
        stop: threading.Event,
        keys: IO[bytes] | None = None,
    ) -> None:
        self.collector = collector
        self.out = out
        self.stop = stop
        self.keys = keys
        self.live: Any = None
        self.next_at = 0.0
        self._saved: Any = None

    def __enter__(self) -> LiveStats:
        from rich.live import Live

        from twilio_es_cli.console import new_console

        console = new_console(self.out, highlight=False)
        self.live = Live(console=console, screen=True, auto_refresh=False, transient=True)
        self._cbreak()
        self.live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            if self.live is not None:
                self.live.__exit__(None, None, None)
        finally:
            self._restore()

    def _cbreak(self) -> None:
        if self.keys is None:
            return
        try:
            import termios
            import tty

            fd = self.keys.fileno()
            self._saved = termios.tcgetattr(fd)
            tty.setcbreak(fd)
        except (OSError, ValueError, ImportError):
            self._saved = None

    def _restore(self) -> None:
        if self._saved is None or self.keys is None:
            return
        import termios

        with contextlib.suppress(OSError, ValueError):
            termios.tcsetattr(self.keys.fileno(), termios.TCSADRAIN, self._saved)

    def started(self, summary: TailSummary) -> None:
        self.collector.started(summary)
        self.draw()

    def seen(self, record: KinesisRecord, event_type: str | None, outcome: str) -> None:
        self.collector.seen(record, event_type, outcome)
        self.idle()

    def idle(self) -> None:
        if time.monotonic() >= self.next_at:  # keys too: a busy stream costs no extra calls
            self._read_keys()
            self.draw()

    def _read_keys(self) -> None:
        if self.keys is None or self._saved is None:
            return
        import select

        fd = self.keys.fileno()
        while select.select([fd], [], [], 0)[0]:
            data = os.read(fd, 64)
            if not data:
                return
            if b"q" in data.lower():
                self.stop.set()
                return

    def draw(self) -> None:
        self.next_at = time.monotonic() + self.REFRESH
        if self.live is not None:
            self.live.update(render(self.collector, self.live.console.width), refresh=True)


def render(collector: StatsCollector, width: int) -> Any:
    """The screen of ``tail --stats`` for a terminal ``width`` columns wide."""
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    doc = collector.document()
    spark = max(10, min(WINDOW, width - 50))
    head = Text(no_wrap=True, overflow="ellipsis")
    head.append(f"twilio-es tail --stats  {collector.stream}", style="bold")
    head.append(f"   {_uptime(doc['elapsed'])}   q or Ctrl-C to leave", style="dim")
    totals = Text(no_wrap=True, overflow="ellipsis")
    totals.append(f"{doc['events']:,} events  {doc['per_second']:.1f}/s", style="bold")
    totals.append(
        f"   not CloudEvents {doc['not_cloudevents']:,}   duplicates {doc['duplicates']:,}"
        f"   filtered out {doc['filtered']:,}"
    )
    types = Table(box=None, padding=(0, 1), expand=False, show_edge=False)
    types.add_column(f"type (last {WINDOW}s)", no_wrap=True, overflow="ellipsis", max_width=34)
    types.add_column("", no_wrap=True, width=spark)
    types.add_column("/s", justify="right", no_wrap=True)
    types.add_column("total", justify="right", no_wrap=True)
    for name, series in sorted(collector.types.items(), key=lambda kv: -kv[1].last_minute()):
        rate = doc["types"][name]["per_second"]
        short = visible(short_type(name))
        types.add_row(
            short, Text(series.spark(spark), style="cyan"), f"{rate:.1f}", f"{series.total:,}"
        )
    shards = Table(box=None, padding=(0, 1), show_edge=False)
    shards.add_column("shard", no_wrap=True)
    shards.add_column("behind latest", justify="right", no_wrap=True)
    shards.add_column("read/s", justify="right", no_wrap=True)
    shards.add_column("records", justify="right", no_wrap=True)
    for sid, info in doc["shards"].items():
        lag = info["behind_latest_ms"]
        shards.add_row(
            short_shard(sid),
            "-" if lag is None else millis_text(lag),
            f"{info['per_second']:.1f}",
            f"{info['records']:,}",
        )
    last = [Text(line, no_wrap=True, overflow="ellipsis") for line in collector.last]
    return Group(
        head,
        totals,
        Text(""),
        types,
        Text(""),
        shards,
        Text(""),
        Text("last events", style="bold"),
        *last,
    )


def _uptime(seconds: float) -> str:
    whole = int(seconds)
    return f"{whole // 3600:02d}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


class LastEvents(BaseSink):
    """The renderer of ``tail --stats``: keeps the last events' short lines for the screen."""

    def __init__(self, collector: StatsCollector) -> None:
        self.collector = collector

    def write(self, record: KinesisRecord, decoded: Any) -> None:
        from twilio_es_cli.tail.render import clock, narrow_type, pretty_fields

        time_, _, _, type_, summary, _, _ = pretty_fields(record, decoded, summary_width=60)
        today = datetime.now(timezone.utc).strftime("%Y-%m-%d")
        kind = narrow_type(decoded.event.type) if decoded.event is not None else type_[0]
        self.collector.remember(
            "  ".join(p for p in (clock(time_[0], today, millis=False), kind, summary[0]) if p)
        )
