"""A per-shard checkpoint file for ``tail --checkpoint FILE``: resume right after the last event.

The file maps each shard id to the sequence number of the last record the tail handled (emitted or
filtered out), or :data:`~twilio_es_cli.tail.positions.SHARD_END` once a closed shard was drained.
It also remembers where the first run started, so a shard that had no records then is resumed from
that point instead of the new run's ``--from`` (which would skip or repeat). Writes go through
:func:`twilio_es_cli.files.write_private_atomic` (temporary file in the same directory, fsync,
``os.replace``, fsync of the directory, mode 0600), so a crash leaves either the old or the new
checkpoint, never a torn one, and other users cannot read it. When it is saved is
:class:`CheckpointSaver`'s business.
"""

from __future__ import annotations

import json
import os
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from twilio_es_cli.arns import stream_name
from twilio_es_cli.errors import TwilioEsError, UsageError
from twilio_es_cli.progress import Reporter
from twilio_es_cli.tail.positions import SHARD_END, StartPosition, describe_start, earlier
from twilio_es_cli.tail.records import KinesisRecord

if TYPE_CHECKING:
    from twilio_es_cli.tail.sink import EventSink

FORMAT_VERSION = 1
# The checkpoint is saved at the start; then, when it changed, once this many seconds passed
# since the last save or this many records were handled, and as soon as the stream goes quiet
# (no record for 0.2 s): after `kill -9` at most that much is shown again, never less.
CHECKPOINT_EVERY = 1.0
CHECKPOINT_EVERY_RECORDS = 1000


@dataclass
class Checkpoint:
    """Where each shard of one stream was left; see the module docstring."""

    path: Path
    stream: str
    start: StartPosition
    shards: dict[str, str] = field(default_factory=dict)
    existed: bool = False

    @classmethod
    def open(cls, path: Path, stream: str, start: StartPosition) -> Checkpoint:
        """Load ``path`` for ``stream``, or begin a new checkpoint starting at ``start``.

        A new file's directory must exist and be writable: checked here, before anything is
        read, rather than after the first events were shown and could not be recorded.
        """
        if not path.exists():
            check_location(path)
            return cls(path=path, stream=stream, start=start)
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
            saved_stream = str(doc["stream"])
            shards = {str(k): str(v) for k, v in dict(doc.get("shards") or {}).items()}
            saved_start = _start_from_json(doc.get("start"))
        except RecursionError as exc:  # nested deeper than the parser's recursion limit
            raise UsageError(
                f"checkpoint file {path} is not readable: JSON nested too deeply",
                hint="Fix or delete the file (deleting starts again from --from).",
            ) from exc
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise UsageError(
                f"checkpoint file {path} is not readable: {_first_line(exc)}",
                hint="Fix or delete the file (deleting starts again from --from).",
            ) from exc
        if stream_name(saved_stream) != stream_name(stream):
            raise UsageError(
                f"checkpoint file {path} belongs to stream {stream_name(saved_stream)!r}, "
                f"not {stream_name(stream)!r}",
                hint="Use one checkpoint file per stream.",
            )
        return cls(
            path=path, stream=stream, start=saved_start or start, shards=shards, existed=True
        )

    def save(self) -> None:
        """Write the checkpoint atomically and durably (see the module docstring)."""
        from twilio_es_cli.files import write_private_atomic

        doc: dict[str, Any] = {
            "version": FORMAT_VERSION,
            "stream": self.stream,
            "start": _start_to_json(self.start),
            "shards": dict(sorted(self.shards.items())),
        }
        try:
            write_private_atomic(self.path, (json.dumps(doc, indent=2) + "\n").encode())
        except OSError as exc:  # no space, permissions changed, directory removed
            raise TwilioEsError(
                f"could not save checkpoint file {self.path} ({exc.strerror or exc})",
                hint="Check the directory's space and permissions; events shown since "
                "the last save will be shown again on resume.",
            ) from exc


def _first_line(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text if len(text) <= 120 else text[:119] + "…"


def check_location(path: Path) -> None:
    """A new checkpoint file needs an existing, writable directory (a usage error if not)."""
    if path.exists():
        return
    directory = path.parent if str(path.parent) else Path(".")
    if not directory.is_dir() or not os.access(directory, os.W_OK | os.X_OK):
        raise UsageError(
            f"cannot write checkpoint file {path}: "
            f"directory {directory} does not exist or is not writable",
            hint="Create the directory first, or choose another --checkpoint path.",
        )


def _start_to_json(start: StartPosition) -> dict[str, Any]:
    doc: dict[str, Any] = {"kind": start.kind}
    if start.timestamp is not None:
        doc["timestamp"] = start.timestamp.isoformat()
    return doc


def _start_from_json(doc: Any) -> StartPosition | None:
    if not doc:
        return None
    kind = str(doc["kind"])
    if kind == "AT_TIMESTAMP":
        return StartPosition.at(datetime.fromisoformat(str(doc["timestamp"])))
    if kind == "TRIM_HORIZON":
        return StartPosition.trim_horizon()
    if kind == "LATEST":
        return StartPosition.latest()
    raise ValueError(f"unknown start kind {kind!r}")


class CheckpointSaver:
    """When the checkpoint is written, and how far it may go, so that ``kill -9`` loses nothing.

    When:

    - at the start, before the first event is shown (a new file holds the start position);
    - after a record is handled, when CHECKPOINT_EVERY seconds or CHECKPOINT_EVERY_RECORDS
      records passed since the last save;
    - when the stream goes quiet (the reader calls :meth:`idle` after 0.2 s without a record,
      so at most five times a second), if anything is waiting;
    - on every exit.

    How far: each handled record (written to the sink, filtered out or a duplicate) and each
    drained shard waits here with the number of events written to the sink so far; before
    each save the sink is settled (:meth:`~twilio_es_cli.tail.sink.EventSink.settle`: a
    renderer flushes and fsyncs its output) and says which events are durable, and only the
    records and shard ends whose every earlier event is durable move their shard forward.
    """

    def __init__(self, cp: Checkpoint, sink: EventSink) -> None:
        self.cp = cp
        self.sink = sink
        self.written = 0  # events written to the sink so far (the last handled record's count)
        # (events written by then, shard id, sequence number or SHARD_END), oldest first
        self.waiting: deque[tuple[int, str, str]] = deque()
        self.pending = 0
        self.last_save = time.monotonic()

    def handled(self, record: KinesisRecord, written: int) -> None:
        """``record`` was handled, and ``written`` events went to the sink so far."""
        self.written = written
        self.waiting.append((written, record.shard_id, record.sequence_number))
        self.pending += 1
        if (
            self.pending >= CHECKPOINT_EVERY_RECORDS
            or time.monotonic() - self.last_save >= CHECKPOINT_EVERY
        ):
            self.save()

    def shard_ended(self, shard_id: str) -> None:
        """``shard_id`` was drained to its end (after its last record was handled)."""
        self.waiting.append((self.written, shard_id, SHARD_END))

    def idle(self) -> None:
        """The stream is quiet: record where we are now, so a kill while idle repeats nothing."""
        if self.waiting:
            self.save()

    def save(self, *, force: bool = False) -> None:
        """Settle the sink, advance past what is durable, write the file if that moved (or
        ``force``: the first save puts the start position on disk)."""
        oldest = self.sink.settle()
        moved = False
        waiting, shards = self.waiting, self.cp.shards
        while waiting and (oldest is None or waiting[0][0] <= oldest):
            _, shard_id, position = waiting.popleft()
            shards[shard_id] = position
            moved = True
        if moved or force:
            self.cp.save()
        self.pending = 0
        self.last_save = time.monotonic()


def open_checkpoint(
    path: Path | None,
    stream: str,
    start: StartPosition,
    *,
    explicit_start: bool,
    report: Reporter,
) -> tuple[Checkpoint | None, StartPosition]:
    """Open (or begin) the checkpoint and decide the start for shards it does not know.

    A new checkpoint remembers "latest" as the time we started, so a shard that stays quiet
    during this run is later resumed from here rather than from a new "latest". When the file
    exists and --from/--since is given too, the checkpoint wins for the shards it knows and
    the earlier of the two starts applies to the others: the safe choice, nothing is skipped.
    """
    if path is None:
        return None, start
    remembered = start
    if start.kind == "LATEST":
        remembered = StartPosition.at(datetime.now(timezone.utc))
    cp = Checkpoint.open(path, stream, remembered)
    if not cp.existed:
        return cp, start
    if not explicit_start:
        return cp, cp.start
    chosen = earlier(cp.start, start)
    report.warn(
        f"checkpoint {path} wins over --from/--since: its {len(cp.shards)} "
        f"shard(s) resume right after their last event, others start at {describe_start(chosen)} "
        "(the earlier start, so nothing is skipped; delete the file to start over)"
    )
    return cp, chosen
