"""Events in, durable Parquet files out: the archive's writer, and which events are durable.

Each event goes to its partition's *spool* (one NDJSON file per type and UTC day, under
``DIR/.archive/spool``): appending a line costs about what ``tail -o jsonl`` pays per event,
and memory stays flat however large the buffers are. A partition *rolls* when its spool
reaches ``max_bytes`` or its first event is ``max_age`` seconds old (Firehose's buffering
hints: size and interval), when too many are open, and at the end of a run. Rolling is:

1. DuckDB reads the spool (its columns declared, nothing guessed) and writes the Parquet file
   (zstd) under a hidden name beside its final place (``.part-*.parquet.tmp``);
2. the file is fsynced, renamed to ``part-*.parquet`` (atomic), and its folder fsynced (and
   the folders above it when they are new), so after a crash the file is whole or absent;
3. only then are its events *durable*. Events are numbered in the order they were added;
   :meth:`ArchiveWriter.oldest_pending` is the number of the oldest one not yet in such a
   file, which is what tail's checkpoint saver asks a sink (``settle``) before it lets a
   shard's checkpoint pass a record.

So ``kill -9`` at any moment loses nothing (what the checkpoint had not passed is read again)
and repeats only events the views remove (the first copy of each ``source``/``id`` wins).
Why DuckDB writes the files and not pyarrow: it is already the query engine (one dependency
instead of two, ~70 MB installed against pyarrow's ~150 MB more), and it converts faster than
building Arrow columns in Python (bench/README.md has the measurement).
"""

from __future__ import annotations

import base64
import contextlib
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from twilio_es_cli.analytics import layout
from twilio_es_cli.errors import TwilioEsError

if TYPE_CHECKING:
    import duckdb

    from twilio_es_cli.tail.decode import DecodedEvent
    from twilio_es_cli.tail.records import KinesisRecord

MB = 1024 * 1024
DEFAULT_MAX_BYTES = 32 * MB
DEFAULT_MAX_AGE = 60.0
MAX_OPEN = 64  # partitions with a spool open at once (file descriptors, and bounded repeats)
# All spools together at most this many times max_bytes: past it the largest rolls. What is
# not yet in a file is what the checkpoint (and its queue of records) waits on: bounding it
# keeps memory flat however many types and days are open.
TOTAL_BUFFERS = 2
SPOOL_BUFFER = 256 * 1024
AGE_CHECK_EVERY = 256  # events between two looks at the clock
# The largest spool line DuckDB is asked to read: a Kinesis record holds at most 10 MiB. DuckDB
# reads JSON in buffers of twice this size, so it is most of the writer's memory.
MAX_OBJECT = 11 * MB
ROW_GROUP = 32_768  # rows a file's writer holds in memory at once (DuckDB: 122,880)
# ... and at most this many bytes of them: what DuckDB holds while it converts a spool is about
# one row group, so a bound in bytes keeps its memory the same for a 2 MB spool or a 32 MB one
# (by rows alone it grew with the spool: 119 -> 163 MB for a 31 -> 125 MB spool; with it,
# 100 -> 105 MB; bench/README.md). Rows of 10 MiB still make a group of one row each.
ROW_GROUP_BYTES = 4 * MB
# zstd's fastest level: ~1 us less CPU per event than its default (3), and on Twilio's events
# the files came out no larger (bench/README.md, "Parquet writer").
ZSTD_LEVEL = 1

_ATTRIBUTES: tuple[str, ...] = ("id", "source", "specversion", "type", "time")
_ATTRIBUTES += ("datacontenttype", "dataschema", "subject", "data")
_KNOWN = frozenset(_ATTRIBUTES)


# --- rows ------------------------------------------------------------------------------------

_FAST_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?Z\Z")
_ANY_TIME = re.compile(
    r"\s*(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:[.,](\d+))?"
    r"\s*(?:([Zz])|([+-])(\d{2}):?(\d{2}))?\s*\Z"
)


def event_time(value: Any) -> tuple[str | None, str | None]:
    """(the time as text DuckDB reads, its UTC day) of a CloudEvent ``time``; (None, None)
    when it is not an RFC 3339 time. Twilio's ``2026-01-31T10:15:00.123Z`` is taken as it
    is (one regular expression); other offsets are converted to UTC here, so the day of the
    folder and the ``time`` column always agree; no offset at all is read as UTC."""
    if type(value) is not str:
        return None, None
    fast = _FAST_TIME.match(value) and value[11:13] < "24" and value[14:16] < "60"
    if fast and value[17:19] < "60" and _real_day(value[:10]):
        return value, value[:10]
    match = _ANY_TIME.match(value)
    if match is None:
        return None, None
    year, month, day, hour, minute, second, fraction, _zulu, sign, oh, om = match.groups()
    micros = int((fraction or "0")[:6].ljust(6, "0"))
    offset = timedelta(0)
    if sign is not None:
        offset = timedelta(hours=int(oh), minutes=int(om))
        offset = -offset if sign == "-" else offset
    try:
        when = datetime(
            int(year),
            int(month),
            int(day),
            int(hour),
            int(minute),
            int(second),
            micros,
            tzinfo=timezone(offset),
        ).astimezone(timezone.utc)
    except (ValueError, OverflowError):  # 2026-02-30, hour 25, a year past 9999 in UTC
        return None, None
    text = when.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"
    return text, text[:10]


_DAYS: dict[str, bool] = {}


def _real_day(day: str) -> bool:
    """Whether ``YYYY-MM-DD`` is a day of the calendar (2026-02-30 is not): asked per event,
    answered once per day."""
    known = _DAYS.get(day)
    if known is None:
        try:
            date.fromisoformat(day)
            known = True
        except ValueError:
            known = False
        if len(_DAYS) < 10_000:
            _DAYS[day] = known
    return known


class _Dumper:
    """orjson for a row (as tail's renderer), the stdlib for what orjson refuses (integers
    beyond 64 bits, which decoding keeps exact)."""

    def __init__(self) -> None:
        import orjson

        self._dumps = orjson.dumps
        self._newline = orjson.OPT_APPEND_NEWLINE
        self._error = orjson.JSONEncodeError

    def __call__(self, row: dict[str, Any]) -> bytes:
        try:
            return self._dumps(row, option=self._newline)
        except self._error:
            import json

            return (json.dumps(row, ensure_ascii=False, separators=(",", ":")) + "\n").encode()


class _Arrival:
    """The arrival time's text and day, reused while records share it (a batch does).

    Compared by value: each record of a batch has a datetime of its own (the identity test
    this replaces never matched, ~1 us per event in archive's profile). Kinesis' times are
    UTC already (aws.parse_timestamp): converted only when they are not."""

    def __init__(self) -> None:
        self.last: datetime | None = None
        self.text = ""
        self.day = ""

    def __call__(self, when: datetime) -> tuple[str, str]:
        if when != self.last or self.last is None:
            tz = when.tzinfo
            utc = (
                when.astimezone(timezone.utc) if tz is not None and tz is not timezone.utc else when
            )
            self.last = when
            self.text = utc.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"
            self.day = self.text[:10]
        return self.text, self.day


# --- partitions ------------------------------------------------------------------------------


@dataclass
class _Partition:
    """One type and day being buffered: its folder, spool file, and what it holds."""

    key: tuple[str | None, str]
    folder: Path
    spool: Path
    handle: IO[bytes]
    first: int  # the number of its first event (see ArchiveWriter.oldest_pending)
    size: int = 0
    events: int = 0
    opened: float = 0.0


@dataclass
class WriterStats:
    """What the writer has made durable so far."""

    events: int = 0  # events in renamed files
    files: int = 0
    bytes: int = 0  # Parquet bytes written
    not_cloudevents: int = 0
    partitions: set[tuple[str | None, str]] = field(default_factory=set)


_EVENT_COLUMNS = (
    "id VARCHAR, source VARCHAR, specversion VARCHAR, time VARCHAR, datacontenttype VARCHAR, "
    "dataschema VARCHAR, subject VARCHAR, data JSON, extensions JSON, shard_id VARCHAR, "
    "sequence_number VARCHAR, subsequence INTEGER, partition_key VARCHAR, arrival_time VARCHAR"
)
_EVENT_SELECT = (
    "id, source, specversion, "
    # The writer hands DuckDB UTC times only (``...Z``, see event_time and _Arrival): a
    # plain TIMESTAMP cast reads them as they are, cheaper than through TIMESTAMPTZ.
    "TRY_CAST(time AS TIMESTAMP) AS time, "
    "datacontenttype, dataschema, subject, CAST(data AS VARCHAR) AS data, "
    "CAST(extensions AS VARCHAR) AS extensions, shard_id, sequence_number, subsequence, "
    "partition_key, "
    "TRY_CAST(arrival_time AS TIMESTAMP) AS arrival_time, "
    # views.ARCHIVE's event_key: stable (SHA-256 is a standard), computed here in DuckDB's
    # threads rather than per event in Python.
    "CAST(('0x' || left(sha256(source || chr(0) || id), 15)) AS BIGINT) AS event_key"
)
_RAW_COLUMNS = (
    "raw VARCHAR, error VARCHAR, shard_id VARCHAR, sequence_number VARCHAR, "
    "subsequence INTEGER, partition_key VARCHAR, arrival_time VARCHAR"
)
_RAW_SELECT = (
    "from_base64(raw) AS raw, error, shard_id, sequence_number, subsequence, partition_key, "
    "TRY_CAST(arrival_time AS TIMESTAMP) AS arrival_time"
)


def _event_sql(event_type: str) -> tuple[str, str]:
    """read_json's columns and the SELECT of a file of ``event_type``: the CloudEvent and
    Kinesis columns, then its family's columns typed as the views expect them."""
    from twilio_es_cli.analytics.views import family_of

    family = family_of(event_type)
    if family is None:
        return _EVENT_COLUMNS, _EVENT_SELECT
    columns = _EVENT_COLUMNS + "".join(f", {f.column} VARCHAR" for f in family.fields)
    select = _EVENT_SELECT + "".join(f", {f.sql(f.column)} AS {f.column}" for f in family.fields)
    return columns, select


def _struct(columns: str) -> str:
    """``a VARCHAR, b JSON`` as read_json's ``columns`` struct: ``{'a': 'VARCHAR', ...}``."""
    pairs = (part.strip().split(" ", 1) for part in columns.split(","))
    return "{" + ", ".join(f"'{name}': '{kind}'" for name, kind in pairs) + "}"


def _literal(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


class ArchiveWriter:
    """Writes events into the Hive layout under ``root``; see the module docstring.

    ``add`` takes each decoded event (or non-CloudEvent record) and rolls partitions that
    are full; ``roll_due`` rolls partitions whose first event is older than ``max_age``;
    ``roll_all`` rolls everything (the end of a run); ``oldest_pending`` says which events
    are durable.
    """

    def __init__(
        self,
        root: Path,
        con: duckdb.DuckDBPyConnection,
        *,
        max_bytes: int = DEFAULT_MAX_BYTES,
        max_age: float = DEFAULT_MAX_AGE,
        clock: Callable[[], float] = time.monotonic,
        background: bool = False,
    ) -> None:
        self.root = root
        self.con = con
        # DuckDB before 2.0 accepts ROW_GROUP_SIZE_BYTES only without insertion order kept; the
        # archive's writer runs one thread, so each file's rows stay in spool order either way.
        con.execute("SET preserve_insertion_order = false")
        self.max_bytes = max_bytes
        self.max_age = max_age
        self.clock = clock
        self.added = 0  # events added so far; the next one gets this number
        self.stats = WriterStats()
        self.spool_dir = layout.state_dir(root) / layout.SPOOL
        self._open: dict[tuple[str | None, str], _Partition] = {}
        self._dump = _Dumper()
        self._arrival = _Arrival()
        self._pluck = _Plucker()
        self._until_age_check = AGE_CHECK_EVERY
        self._serial = 0
        # background: files are written by a thread of their own (DuckDB releases the GIL),
        # so reading and decoding go on meanwhile; otherwise in the caller's thread.
        self._roller = _Roller(self._write) if background else None
        self._failed: list[_Partition] = []
        self._buffered = 0  # bytes in all open spools

    # -- input -----------------------------------------------------------------------------

    def add(self, record: KinesisRecord, decoded: DecodedEvent) -> None:
        """Buffer one event (or a record that is not a CloudEvent) in its partition."""
        if self._roller is not None and self._roller.error is not None:
            self._roller.raise_error()
        arrival, arrival_day = self._arrival(record.arrival)
        attrs = decoded.attrs
        if attrs is None:
            key: tuple[str | None, str] = (None, arrival_day)
            line = self._dump(_raw_row(record, decoded, arrival))
        else:
            text, day = event_time(attrs.get("time"))
            event_type = attrs["type"]
            key = (event_type, day or arrival_day)
            row = _event_row(record, attrs, text, arrival)
            self._pluck(row, event_type, row.get("data"))
            line = self._dump(row)
        part = self._open.get(key) or self._start(key)
        part.handle.write(line)
        part.size += len(line)
        part.events += 1
        self.added += 1
        self._buffered += len(line)
        if part.size >= self.max_bytes:
            self._roll([part])
        elif self._buffered >= TOTAL_BUFFERS * self.max_bytes:
            self._roll([max(self._open.values(), key=lambda p: p.size)])
        self._until_age_check -= 1
        if self._until_age_check <= 0:
            self._until_age_check = AGE_CHECK_EVERY
            self.roll_due()

    def oldest_pending(self) -> int | None:
        """The number of the oldest event not yet in a durable file (events are numbered
        from 0 in the order they were added); None when every event added is durable."""
        oldest = min((p.first for p in [*self._open.values(), *self._failed]), default=None)
        if self._roller is not None:
            self._roller.raise_error()
            flying = self._roller.oldest()
            if flying is not None and (oldest is None or flying < oldest):
                return flying
        return oldest

    # -- rolling ---------------------------------------------------------------------------

    def pending(self) -> int:
        """Events buffered and not yet in a durable file."""
        return sum(p.events for p in self._open.values())

    def buffered_bytes(self) -> int:
        """Bytes in the spools (what ``max_bytes`` is compared with, per partition)."""
        return sum(p.size for p in self._open.values())

    def roll_due(self) -> int:
        """Roll every partition whose first event is ``max_age`` seconds old; how many."""
        now = self.clock()
        due = [p for p in self._open.values() if now - p.opened >= self.max_age]
        if due:
            self._roll(due)
        return len(due)

    def roll_all(self) -> None:
        """Roll every open partition and wait until every file is written (the end of a run)."""
        if self._open:
            self._roll(list(self._open.values()))
        if self._roller is not None:
            self._roller.wait()

    def close(self) -> None:
        """Stop the background writer (after :meth:`roll_all` or :meth:`discard`)."""
        if self._roller is not None:
            self._roller.stop()

    def discard(self) -> None:
        """Close and delete the spools without writing them (their events were never
        checkpointed, so the next run reads them again)."""
        for part in self._open.values():
            with contextlib.suppress(OSError):
                part.handle.close()
                part.spool.unlink()
        self._open.clear()
        self._buffered = 0

    def _start(self, key: tuple[str | None, str]) -> _Partition:
        if len(self._open) >= MAX_OPEN:
            self._roll([min(self._open.values(), key=lambda p: p.opened)])
        layout.ensure_dir(self.spool_dir)
        self._serial += 1
        spool = self.spool_dir / f"{os.getpid()}-{self._serial}.jsonl"
        handle = open(spool, "wb", buffering=SPOOL_BUFFER)  # noqa: SIM115 (closed on roll)
        folder = layout.partition(self.root, key[0], key[1])
        part = _Partition(key, folder, spool, handle, self.added, opened=self.clock())
        self._open[key] = part
        return part

    def _roll(self, parts: list[_Partition]) -> None:
        for part in parts:
            del self._open[part.key]
            self._buffered -= part.size
            part.handle.close()
            if self._roller is not None:
                self._roller.submit(part)
                continue
            try:
                self._write(part)
            except BaseException:
                self._failed.append(part)  # never durable: no checkpoint may pass it
                raise

    def _write(self, part: _Partition) -> None:
        """Steps 1-3 of the module docstring for one partition."""
        created = layout.ensure_dir(part.folder)
        final = part.folder / layout.part_name()
        temp = layout.hidden_temp(final)
        raw = part.key[0] is None
        columns, select = (_RAW_COLUMNS, _RAW_SELECT) if raw else _event_sql(part.key[0] or "")
        sql = (
            f"COPY (SELECT {select} FROM read_json({_literal(part.spool)}, "
            f"format = 'newline_delimited', columns = {_struct(columns)}, "
            f"maximum_object_size = {MAX_OBJECT})) "
            f"TO {_literal(temp)} (FORMAT parquet, COMPRESSION zstd, COMPRESSION_LEVEL "
            f"{ZSTD_LEVEL}, ROW_GROUP_SIZE {ROW_GROUP}, ROW_GROUP_SIZE_BYTES {ROW_GROUP_BYTES})"
        )
        try:
            self.con.execute(sql)
            _fsync_file(temp)
            os.replace(temp, final)
        except Exception as exc:
            with contextlib.suppress(OSError):
                temp.unlink()
            raise TwilioEsError(
                f"could not write {final} ({_reason(exc)})",
                hint="Check the space and permissions of the archive's directory; nothing "
                "past the last durable file was checkpointed, so a new run reads it again.",
            ) from exc
        from twilio_es_cli.files import fsync_directory

        fsync_directory(part.folder)
        for folder in created:  # a new folder's own entry lives in its parent
            fsync_directory(folder.parent)
        with contextlib.suppress(OSError):
            part.spool.unlink()
        self.stats.events += part.events
        self.stats.files += 1
        self.stats.bytes += final.stat().st_size
        self.stats.partitions.add(part.key)
        if raw:
            self.stats.not_cloudevents += part.events


class _Roller:
    """Writes rolled partitions in one thread of its own, in order, at most ``depth`` waiting
    (then the reader waits: memory and the spool stay bounded). An error is kept and raised in
    the caller's thread at its next call; the partitions in flight count as not durable."""

    def __init__(self, write: Callable[[_Partition], None], depth: int = 2) -> None:
        import queue
        import threading

        self._write = write
        self._queue: queue.Queue[_Partition | None] = queue.Queue(maxsize=depth)
        self._lock = threading.Lock()
        self._flying: list[_Partition] = []
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="archive-writer", daemon=True)
        self._thread.start()

    def submit(self, part: _Partition) -> None:
        self.raise_error()
        with self._lock:
            self._flying.append(part)
        self._queue.put(part)

    def _run(self) -> None:
        while True:
            part = self._queue.get()
            try:
                if part is None:
                    return
                if self.error is None:  # after a failure, nothing more is written
                    self._write(part)
            except BaseException as exc:  # raised again in the caller's thread
                self.error = exc
            finally:
                if part is not None and self.error is None:
                    with self._lock:
                        self._flying.remove(part)
                self._queue.task_done()

    def oldest(self) -> int | None:
        with self._lock:
            return min((p.first for p in self._flying), default=None)

    def wait(self) -> None:
        self._queue.join()
        self.raise_error()

    def raise_error(self) -> None:
        if self.error is not None:
            raise self.error

    def stop(self) -> None:
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()


#: A family's fields grouped by the object that holds them: (path to that object, the
#: columns, their keys in it); () is ``data`` itself.
_Fields = tuple[tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]], ...]
_NOT_SCALAR = frozenset({dict, list})


class _Plucker:
    """Each event's family columns, taken out of its parsed ``data`` (see views.Field): the
    raw value at each path, or None; DuckDB types them when it writes the file. Done here
    because the data is already parsed: a JSON parse per column at query time cost more than
    the rest of a group-by. The keys of one object are read in one C-level ``map`` of its
    ``dict.get``: a Python loop over each path was the archive's costliest step per event."""

    def __init__(self) -> None:
        self._by_type: dict[str, _Fields] = {}

    def fields(self, event_type: str) -> _Fields:
        found = self._by_type.get(event_type)
        if found is None:
            from twilio_es_cli.analytics.views import family_of

            family = family_of(event_type)
            groups: dict[tuple[str, ...], list[tuple[str, str]]] = {}
            for field in family.fields if family is not None else ():
                *parent, key = field.path.split(".")
                groups.setdefault(tuple(parent), []).append((field.column, key))
            found = tuple(
                (parent, tuple(c for c, _ in items), tuple(k for _, k in items))
                for parent, items in groups.items()
            )
            if len(self._by_type) < 10_000:
                self._by_type[event_type] = found
        return found

    def __call__(self, row: dict[str, Any], event_type: str, data: Any) -> None:
        found = self._by_type.get(event_type)  # (fields() only for a type not seen yet)
        for parent, columns, keys in found if found is not None else self.fields(event_type):
            holder = data
            for key in parent:
                holder = holder.get(key) if type(holder) is dict else None
            if type(holder) is not dict:
                row.update(dict.fromkeys(columns))
                continue
            values = list(map(holder.get, keys))
            row.update(zip(columns, values, strict=False))  # equal lengths (see fields)
            if not _NOT_SCALAR.isdisjoint(map(type, values)):  # an object where a scalar goes
                for column, value in zip(columns, values, strict=True):
                    if type(value) in _NOT_SCALAR:
                        row[column] = None


def _event_row(
    record: KinesisRecord, attrs: dict[str, Any], time_text: str | None, arrival: str
) -> dict[str, Any]:
    """The spool line of one event: its attribute dict itself, with the Kinesis metadata
    and the normalised time set in it (the decoded event is the archive's alone, and a
    second dict of 14 keys per event cost a fifth of ``add``). Extension attributes move
    into ``extensions`` first, so no attribute can be overwritten by a metadata key; keys
    read_json is not asked for are ignored by it."""
    row = attrs
    if not _KNOWN.issuperset(attrs):
        row = {k: v for k, v in attrs.items() if k in _KNOWN}
        row["extensions"] = {k: v for k, v in attrs.items() if k not in _KNOWN}
    row["time"] = time_text
    row["shard_id"] = record.shard_id
    row["sequence_number"] = record.sequence_number
    row["subsequence"] = record.subsequence
    row["partition_key"] = record.partition_key
    row["arrival_time"] = arrival
    return row


def _raw_row(record: KinesisRecord, decoded: DecodedEvent, arrival: str) -> dict[str, Any]:
    return {
        "raw": base64.b64encode(decoded.raw).decode("ascii"),
        "error": decoded.error,
        "shard_id": record.shard_id,
        "sequence_number": record.sequence_number,
        "subsequence": record.subsequence,
        "partition_key": record.partition_key,
        "arrival_time": arrival,
    }


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    lines = [line for line in str(exc).splitlines() if line.strip()]
    text = lines[0] if lines else type(exc).__name__
    return text[:200]


def clean_leftovers(root: Path) -> int:
    """Remove what a killed archiver left: spool files and hidden ``.part-*.tmp`` files.

    Neither holds anything the checkpoint passed (a spool's events were not durable, a
    temporary file was never renamed), so the next run writes their events again.
    """
    removed = 0
    spool = layout.state_dir(root) / layout.SPOOL
    stale = [*spool.glob("*.jsonl"), *root.glob("type=*/date=*/.part-*.tmp")]
    stale += root.glob(f"{layout.NOT_CLOUDEVENTS}/date=*/.part-*.tmp")
    for path in stale:
        with contextlib.suppress(OSError):
            path.unlink()
            removed += 1
    return removed
