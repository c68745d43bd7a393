"""Where an archive keeps what: the Hive layout of its Parquet files and its state folder.

::

    DIR/type=com.twilio.messaging.message.delivered/date=2026-01-31/part-20260131T101500Z-3f2a9c.parquet
    DIR/not-cloudevents/date=2026-01-31/part-....parquet    records that are not CloudEvents
    DIR/.archive/checkpoint.json                            where each shard was archived up to
    DIR/.archive/lock                                       held by the running archiver
    DIR/.archive/spool/                                     events not yet in a Parquet file

Why this shape: it is the layout Firehose's dynamic partitioning writes and Athena's partition
projection reads (``type=`` and ``date=`` folders), and DuckDB, Spark and Trino all read
``key=value`` folders as columns, so a query on one type and a few days opens only their files.
Folder values are percent-encoded (Hive's convention: DuckDB decodes them when it reads), so an
odd event type from another producer can never make a path of its own. Names beginning with
``.`` are hidden from readers (Hive, Athena and ``*.parquet`` globs alike): files being written
are ``.part-*.parquet.tmp`` until they are complete and renamed.
"""

from __future__ import annotations

import contextlib
import os
import re
from datetime import datetime, timezone
from pathlib import Path

DEFAULT_DIR = Path("twilio-events")
STATE = ".archive"
CHECKPOINT = "checkpoint.json"
LOCK = "lock"
SPOOL = "spool"
NOT_CLOUDEVENTS = "not-cloudevents"

#: The files of each view's base relation, relative to the archive's directory.
EVENT_FILES = "type=*/date=*/*.parquet"
RAW_FILES = f"{NOT_CLOUDEVENTS}/date=*/*.parquet"


def family_files(types: str) -> str:
    """The files of the events whose type is ``types``, or begins with it when it ends in
    ``.`` (a view's family, see views.Family): a type's folder name is its encoding, which
    keeps a prefix of plain characters as it is; other prefixes get every event file."""
    if not types.endswith("."):
        return f"type={encode(types)}/date=*/*.parquet"
    if encode(types) != types:
        return EVENT_FILES
    return f"type={types}*/date=*/*.parquet"


_SAFE = re.compile(r"[A-Za-z0-9._-]")
MAX_VALUE = 200  # a folder name stays well below the 255 bytes file systems allow


def encode(value: str) -> str:
    """``value`` as a folder value: ``[A-Za-z0-9._-]`` as they are, every other byte ``%XX``.

    Twilio's event types need no escape at all (``com.twilio.messaging.message.sent``).
    A value whose encoding is longer than MAX_VALUE keeps its start and a hash of the whole,
    so distinct long types stay in distinct folders (the view then shows that shorter name).
    """
    if all(_SAFE.fullmatch(ch) for ch in value) and value and len(value) <= MAX_VALUE:
        return value
    encoded = "".join(
        ch if _SAFE.fullmatch(ch) else "".join(f"%{b:02X}" for b in ch.encode()) for ch in value
    )
    if not encoded:  # an empty type: a folder value must not be empty
        return "_"
    if len(encoded) > MAX_VALUE:
        import hashlib  # rare: only for types too long for a folder (query imports this module)

        digest = hashlib.sha256(value.encode()).hexdigest()[:16]
        cut = encoded[: MAX_VALUE - 20]
        cut = cut[: cut.rfind("%")] if "%" in cut[-2:] else cut  # never split an escape
        encoded = f"{cut}~{digest}"
    return encoded


def partition(root: Path, event_type: str | None, day: str) -> Path:
    """The folder of one event type's files for one UTC day (``None``: not a CloudEvent)."""
    if event_type is None:
        return root / NOT_CLOUDEVENTS / f"date={day}"
    return root / f"type={encode(event_type)}" / f"date={day}"


def part_name(now: datetime | None = None) -> str:
    """A new file's name: when it was written (UTC, sortable) and a random tail (unique)."""
    moment = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
    return f"part-{moment.strftime('%Y%m%dT%H%M%SZ')}-{os.urandom(6).hex()}.parquet"


def hidden_temp(final: Path) -> Path:
    """Where ``final`` is written before it is complete: hidden from every reader's glob."""
    return final.with_name(f".{final.name}.tmp")


def state_dir(root: Path) -> Path:
    return root / STATE


def has_files(root: Path, pattern: str) -> bool:
    """Whether any file matches ``pattern`` under ``root`` (stops at the first one)."""
    return next(iter(root.glob(pattern)), None) is not None


def ensure_dir(path: Path) -> list[Path]:
    """Create ``path`` and any missing parents; returns the ones it created, outermost first
    (their parents must be fsynced for the new entries to survive a crash)."""
    missing: list[Path] = []
    current = path
    while not current.exists():
        missing.append(current)
        current = current.parent
    for folder in reversed(missing):
        with contextlib.suppress(FileExistsError):  # made meanwhile by someone else
            os.mkdir(folder)
    return list(reversed(missing))
