"""The core of ``twilio-es tail``: start positions, filters, dedupe, checkpoints, stop rules.

Reading is :func:`twilio_es_cli.reader.read_stream`; decoding is
:mod:`twilio_es_cli.cloudevents`; writing is :mod:`twilio_es_cli.render_events`. This module
wires them together against a plain Kinesis client and an output stream, so tests drive it
against moto or kinesis-local and the CLI stays a thin shell around :func:`run_tail`.
"""

from __future__ import annotations

import contextlib
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any, TextIO

from twilio_es_cli.errors import UsageError
from twilio_es_cli.reader import SHARD_END, ShardReader, StartPosition, read_stream

DEDUPE_CAPACITY = 100_000
CHECKPOINT_EVERY = 1.0  # seconds between checkpoint writes while running (and one at the end)

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def parse_duration(text: str) -> timedelta:
    """``30s``, ``15m``, ``2h``, ``1d``, ``1h30m`` -> timedelta; anything else is a usage error."""
    cleaned = text.strip().lower()
    parts = _DURATION_PART.findall(cleaned)
    if not cleaned or "".join(n + u for n, u in parts) != cleaned:
        raise UsageError(
            f"{text!r} is not a duration",
            hint="Use a number and a unit: 30s, 15m, 2h, 1d (or combined, 1h30m).",
        )
    return timedelta(seconds=sum(float(n) * _UNITS[u] for n, u in parts))


def parse_time(text: str) -> datetime:
    """An ISO 8601 time; without a zone it is taken as UTC (predictable in scripts)."""
    try:
        when = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise UsageError(
            f"--from {text!r} is not latest, trim-horizon or an ISO 8601 time",
            hint="Examples: --from trim-horizon, --from 2026-01-31T09:00:00Z, or --since 15m.",
        ) from exc
    return when if when.tzinfo is not None else when.replace(tzinfo=timezone.utc)


def parse_start(
    from_: str | None, since: str | None, *, now: datetime | None = None
) -> StartPosition | None:
    """``--from latest|trim-horizon|<ISO time>`` or ``--since DURATION``; None when neither."""
    if from_ is not None and since is not None:
        raise UsageError("--from and --since cannot be combined", hint="Pick one.")
    if since is not None:
        ago = parse_duration(since)
        return StartPosition.at((now or datetime.now(timezone.utc)) - ago)
    if from_ is None:
        return None
    key = from_.strip().lower().replace("_", "-")
    if key == "latest":
        return StartPosition.latest()
    if key in ("trim-horizon", "oldest", "earliest"):
        return StartPosition.trim_horizon()
    when = parse_time(from_)
    if when > (now or datetime.now(timezone.utc)):
        # Kinesis refuses it ("timestampInMillis cannot be greater than the current..."):
        # say so before any call, in our words.
        raise UsageError(
            f"--from {from_} is in the future",
            hint="Use --from latest (the default) to see events as they arrive.",
        )
    return StartPosition.at(when)


class TypeFilter:
    """``--type`` globs (``com.twilio.messaging.*``); no patterns lets everything through."""

    def __init__(self, patterns: Sequence[str]) -> None:
        self.patterns = tuple(patterns)
        self._cache: dict[str, bool] = {}

    def __bool__(self) -> bool:
        return bool(self.patterns)

    def matches(self, event_type: str | None) -> bool:
        if not self.patterns:
            return True
        if event_type is None:  # not a CloudEvent: it has no type to match
            return False
        hit = self._cache.get(event_type)
        if hit is None:
            hit = any(fnmatchcase(event_type, p) for p in self.patterns)
            if len(self._cache) < 10_000:
                self._cache[event_type] = hit
        return hit


class Deduper:
    """Remembers the last ``capacity`` CloudEvent (source, id) pairs: bounded memory, LRU."""

    def __init__(self, capacity: int = DEDUPE_CAPACITY) -> None:
        self.capacity = capacity
        self._seen: OrderedDict[tuple[str, str], None] = OrderedDict()

    def seen(self, source: str, event_id: str) -> bool:
        """True if this event was already seen; otherwise remember it."""
        key = (source, event_id)
        if key in self._seen:
            self._seen.move_to_end(key)
            return True
        self._seen[key] = None
        if len(self._seen) > self.capacity:
            self._seen.popitem(last=False)
        return False


@dataclass(frozen=True)
class TailOptions:
    """Everything ``tail`` was asked to do (validated by the CLI before any remote call)."""

    start: StartPosition
    explicit_start: bool = True  # False: a resumed checkpoint's own start wins
    follow: bool = True
    max_events: int | None = None
    timeout: float | None = None
    types: tuple[str, ...] = ()
    dedupe: bool = False
    expand: bool = False
    output: str = "jsonl"
    tty: bool = False
    checkpoint: Path | None = None


@dataclass
class TailSummary:
    """What happened, for the closing line on stderr."""

    emitted: int = 0
    read: int = 0
    filtered: int = 0
    duplicates: int = 0
    not_cloudevents: int = 0
    shards: set[str] = field(default_factory=set)  # shards read (with or without events)
    elapsed: float = 0.0
    interrupted: bool = False
    reason: str = ""

    def line(self) -> str:
        noun = "event" if self.emitted == 1 else "events"
        extras = []
        if self.filtered:
            extras.append(f"{self.filtered} filtered out")
        if self.duplicates:
            extras.append(f"{self.duplicates} duplicate{'s' if self.duplicates != 1 else ''}")
        if self.not_cloudevents:
            extras.append(f"{self.not_cloudevents} not CloudEvents")
        more = f" ({', '.join(extras)})" if extras else ""
        shard_count = len(self.shards)
        return (
            f"{self.emitted} {noun} from {shard_count} shard{'s' if shard_count != 1 else ''}"
            f"{more} in {self.elapsed:.1f}s{f'; {self.reason}' if self.reason else ''}"
        )


def run_tail(
    kinesis: Any,
    stream: str,
    options: TailOptions,
    *,
    out: TextIO,
    stop: threading.Event | None = None,
    notify: Callable[[str], None] | None = None,
    sink: Any = None,
    shard_reader: ShardReader | None = None,
) -> TailSummary:
    """Read ``stream``, filter, dedupe and write events to ``out`` until a stop rule fires.

    Ctrl-C (KeyboardInterrupt) ends it cleanly with ``summary.interrupted`` set; setting
    ``stop`` (the CLI does on SIGTERM) ends it after the record being written, with the
    checkpoint saved exactly there. A broken pipe
    (``| head``) propagates as BrokenPipeError after the checkpoint is saved and the reader
    threads are told to stop. The checkpoint only advances past records that were written.

    ``sink`` replaces the renderer (``tail --forward-to``): it gets ``write(record, decoded)``
    like one, and if it has ``flush() -> bool`` the checkpoint is saved only after a flush
    that returned True (every event written so far is finished, e.g. delivered or dropped).

    ``shard_reader`` chooses how shards are read (``tail --efo``: SubscribeToShard).
    """
    from twilio_es_cli.checkpoint import Checkpoint
    from twilio_es_cli.cloudevents import decode
    from twilio_es_cli.render_events import make_renderer

    if notify is None:
        from twilio_es_cli.output import warn

        notify = warn
    renderer = sink if sink is not None else make_renderer(options.output, out, tty=options.tty)
    type_filter = TypeFilter(options.types)
    deduper = Deduper() if options.dedupe else None
    summary = TailSummary()
    started = time.monotonic()
    deadline = started + options.timeout if options.timeout is not None else None

    start = options.start
    cp = None
    if options.checkpoint is not None:
        # A new checkpoint remembers "latest" as the time we started, so a shard that stays
        # quiet during this run is later resumed from here rather than from a new "latest".
        remembered = start
        if start.kind == "LATEST":
            remembered = StartPosition.at(datetime.now(timezone.utc))
        cp = Checkpoint.open(options.checkpoint, stream, remembered)
        if cp.existed and not options.explicit_start:
            start = cp.start
        elif not cp.existed:  # at once: a kill -9 before the first event must not lose the start
            cp.save()
    last_save = time.monotonic()

    def shard_end(shard_id: str) -> None:
        if cp is not None:
            cp.shards[shard_id] = SHARD_END

    records = read_stream(
        kinesis,
        stream,
        start,
        follow=options.follow,
        deadline=deadline,
        stop=stop,
        checkpoint=dict(cp.shards) if cp is not None else None,
        on_shard_end=shard_end,
        on_shard_start=summary.shards.add,  # "0 events from 4 shards", not "from 0 shards"
        notify=notify,
        shard_reader=shard_reader,
    )
    warned = False
    try:
        with contextlib.closing(records):
            for record in records:
                summary.read += 1
                decoded = decode(record.data, expand=options.expand)
                event = decoded.event
                keep = True
                if event is None:
                    summary.not_cloudevents += 1
                    if not warned:
                        notify(
                            f"a record in {record.shard_id} (sequence {record.sequence_number}) "
                            f"is not a CloudEvent ({decoded.error}); "
                            + ("--type skips such records" if type_filter else "showing it raw")
                        )
                        warned = True
                if not type_filter.matches(event.type if event is not None else None):
                    summary.filtered += 1
                    keep = False
                elif (
                    deduper is not None
                    and event is not None
                    and deduper.seen(event.source, event.id)
                ):
                    summary.duplicates += 1
                    keep = False
                if keep:
                    renderer.write(record, decoded)
                    summary.emitted += 1
                if cp is not None:
                    cp.shards[record.shard_id] = record.sequence_number
                    now = time.monotonic()
                    if now - last_save >= CHECKPOINT_EVERY and _settled(renderer):
                        cp.save()
                        last_save = now
                if options.max_events is not None and summary.emitted >= options.max_events:
                    summary.reason = f"stopped after --max {options.max_events}"
                    break
                if stop is not None and stop.is_set():  # between records: checkpoint exact
                    summary.reason = "stop requested"
                    break
            else:
                if stop is not None and stop.is_set():
                    summary.reason = "stop requested"
                elif deadline is not None and time.monotonic() >= deadline:
                    summary.reason = f"--timeout {options.timeout:g}s reached"
                elif not options.follow:
                    summary.reason = "caught up"
    except KeyboardInterrupt:
        summary.interrupted = True
        summary.reason = "interrupted"
    finally:
        summary.elapsed = time.monotonic() - started
        if cp is not None and _settled(renderer):
            cp.save()
    return summary


def _settled(renderer: Any) -> bool:
    """True when everything written is finished (a forwarding sink may still be delivering)."""
    flush = getattr(renderer, "flush", None)
    return bool(flush()) if flush is not None else True
