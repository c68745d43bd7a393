"""A per-shard checkpoint file for ``tail --checkpoint FILE``: resume right after the last event.

The file maps each shard id to the sequence number of the last record the tail handled (emitted or
filtered out), or :data:`~twilio_es_cli.tail.positions.SHARD_END` once a closed shard was drained.
It also remembers where the first run started, so a shard that had no records then is resumed from
that point instead of the new run's ``--from`` (which would skip or repeat). Writes go through
:func:`twilio_es_cli.files.write_private_atomic` (temporary file in the same directory, fsync,
``os.replace``, fsync of the directory, mode 0600), so a crash leaves either the old or the new
checkpoint, never a torn one, and other users cannot read it. When it is saved is
:class:`CheckpointSaver`'s business.

One tail per file: two tails saving one file overwrite each other's position, and a resume
then skips events one of them never showed. :class:`CheckpointLock` holds an exclusive
``flock`` on ``FILE.lock`` beside it (holding the owner's pid) for the whole run, and a second
tail is refused before it reads anything. What is read is checked before it is trusted: only
a regular file of at most :data:`MAX_BYTES` (a FIFO would hang the read, ``/dev/zero`` never
ends), a JSON object whose shard ids and positions are Kinesis' own shapes, and
:meth:`Checkpoint.reconcile` against the shards the stream lists (a shard marked ended that is
open is read again, with a warning; shards the stream no longer lists are dropped, said too).
A save never moves a shard back behind what another writer put in the file without saying so.
"""

from __future__ import annotations

import json
import os
import re
import stat
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
    from twilio_es_cli.shards import Shard
    from twilio_es_cli.tail.sink import EventSink

FORMAT_VERSION = 1
# One entry per shard (about 80 bytes): 8 MiB is 100,000 shards, far beyond any stream, and
# bounds what a wrong path (a log file, a disk image) costs before it is refused.
MAX_BYTES = 8 * 1024 * 1024
_SHARD_ID = re.compile(r"[A-Za-z0-9_.-]{1,128}")  # Kinesis' ShardId pattern
# Kinesis' SequenceNumber is 0|[1-9][0-9]{0,128}; emulators pad with zeros (ministack): digits.
_SEQUENCE = re.compile(r"[0-9]{1,256}")
_FIX = "Fix or delete the file (deleting starts again from --from)."
# The checkpoint is saved at the start; then, when it changed, once this many seconds passed
# since the last save or this many records were handled, and as soon as the stream goes quiet
# (no record for 0.2 s): after `kill -9` at most that much is shown again, never less.
CHECKPOINT_EVERY = 1.0
CHECKPOINT_EVERY_RECORDS = 1000
# Consecutive records of one shard share one entry in waiting while they span at most this
# many events (see CheckpointSaver.handled).
WAITING_BLOCK = 256


@dataclass
class Checkpoint:
    """Where each shard of one stream was left; see the module docstring."""

    path: Path
    stream: str
    start: StartPosition
    shards: dict[str, str] = field(default_factory=dict)
    existed: bool = False

    report: Reporter | None = None  # where a save that moves a shard back says so
    _seen: tuple[int, int, int] | None = None  # the file as last read or written by us

    @classmethod
    def open(cls, path: Path, stream: str, start: StartPosition) -> Checkpoint:
        """Load ``path`` for ``stream``, or begin a new checkpoint starting at ``start``.

        A new file's directory must exist and be writable: checked here, before anything is
        read, rather than after the first events were shown and could not be recorded. An
        existing one must be a regular file of at most :data:`MAX_BYTES` holding a checkpoint
        (a usage error naming what is wrong otherwise).
        """
        refuse_special(path)
        if not path.exists():
            check_location(path)
            return cls(path=path, stream=stream, start=start)
        try:
            data = _read_regular(path)
            doc = json.loads(data.decode("utf-8"))
        except RecursionError as exc:  # nested deeper than the parser's recursion limit
            raise UsageError(
                f"checkpoint file {path} is not readable: JSON nested too deeply", hint=_FIX
            ) from exc
        except (OSError, ValueError) as exc:
            raise UsageError(
                f"checkpoint file {path} is not readable: {_first_line(exc)}", hint=_FIX
            ) from exc
        saved_stream, shards, saved_start = _parse(doc, path)
        if stream_name(saved_stream) != stream_name(stream):
            raise UsageError(
                f"checkpoint file {path} belongs to stream {stream_name(saved_stream)!r}, "
                f"not {stream_name(stream)!r}",
                hint="Each stream needs a checkpoint file of its own (with archive: a --dir "
                "of its own).",
            )
        return cls(
            path=path,
            stream=stream,
            start=saved_start or start,
            shards=shards,
            existed=True,
            _seen=_signature(path),
        )

    def reconcile(self, listing: list[Shard], start: StartPosition, report: Reporter) -> None:
        """Check the saved shards against the ones the stream lists, before planning.

        - a shard saved as ended that the stream says is open (a hand-edited file, a stream
          created again under the same name) would be skipped forever: it is read again, from
          ``start`` (where shards the checkpoint does not know begin) or from its first record
          when an ancestor is saved, with a warning;
        - shards the stream neither lists nor names as a parent (another stream of the same
          name, a copied file) cannot be read: they are dropped from the file, with a warning.
          A parent trimmed after the retention period stays: it still places its children.
        """
        listed = {shard.shard_id: shard for shard in listing}
        parents = {parent for shard in listing for parent in shard.parents}
        for sid, position in list(self.shards.items()):
            if position == SHARD_END and sid in listed and listed[sid].open:
                del self.shards[sid]
                report.warn(
                    f"checkpoint {self.path} marks shard {sid} as ended, but the stream says "
                    f"it is open: reading it again from {self._restart_of(sid, listing, start)} "
                    "(events may repeat)"
                )
        unknown = sorted(sid for sid in self.shards if sid not in listed and sid not in parents)
        for sid in unknown:
            del self.shards[sid]
        if unknown:
            more = f" and {len(unknown) - 3} more" if len(unknown) > 3 else ""
            report.warn(
                f"checkpoint {self.path} names {len(unknown)} shard(s) stream "
                f"{stream_name(self.stream)!r} does not have ({', '.join(unknown[:3])}{more}): "
                "dropped (was the stream deleted and created again?)"
            )

    def _restart_of(self, shard_id: str, listing: list[Shard], start: StartPosition) -> str:
        """Where the reader will start a shard the checkpoint no longer names (reader.plan)."""
        from twilio_es_cli.shards import Lineage

        if any(a in self.shards for a in Lineage(listing).ancestors(shard_id)):
            return "its first record"
        return describe_start(start)

    def save(self) -> None:
        """Write the checkpoint atomically and durably (see the module docstring)."""
        from twilio_es_cli.files import write_private_atomic

        doc: dict[str, Any] = {
            "version": FORMAT_VERSION,
            "stream": self.stream,
            "start": _start_to_json(self.start),
            "shards": dict(sorted(self.shards.items())),
        }
        self._say_if_moving_back()
        try:
            write_private_atomic(self.path, (json.dumps(doc, indent=2) + "\n").encode())
            self._seen = _signature(self.path)
        except OSError as exc:  # no space, permissions changed, directory removed
            raise TwilioEsError(
                f"could not save checkpoint file {self.path} ({exc.strerror or exc})",
                hint="Check the directory's space and permissions; events shown since "
                "the last save will be shown again on resume.",
            ) from exc

    def _say_if_moving_back(self) -> None:
        """Another writer changed the file since we read or wrote it (with the lock held, one
        that does not take it: an older twilio-es, a restored copy, an editor). This run's
        positions are saved, as it showed exactly those events; where that moves a shard
        back, it is said, since a resume then shows those events again."""
        now = _signature(self.path)
        if now is None or now == self._seen or self.report is None:
            return
        self._seen = now
        try:
            _, disk, _ = _parse(json.loads(_read_regular(self.path).decode("utf-8")), self.path)
        except (OSError, ValueError, RecursionError, UsageError):
            return  # not a checkpoint now: nothing to compare with; ours replaces it
        back = sorted(sid for sid, pos in disk.items() if _ahead(pos, self.shards.get(sid)))
        if back:
            self.report.warn(
                f"checkpoint {self.path} was changed by another process: saving this run's "
                f"positions moves {len(back)} shard(s) back ({', '.join(back[:3])}"
                f"{'...' if len(back) > 3 else ''}); a resume shows their later events again"
            )


def _ahead(saved: str, ours: str | None) -> bool:
    """Is the position ``saved`` further along its shard than ``ours`` (None: not read)?"""
    if ours is None or saved == ours:
        return ours is None
    if ours == SHARD_END:
        return False
    return saved == SHARD_END or int(saved) > int(ours)


def _signature(path: Path) -> tuple[int, int, int] | None:
    """Which file is at ``path`` now (inode, size, mtime), to notice another writer."""
    try:
        info = os.stat(path)
    except OSError:
        return None
    return (info.st_ino, info.st_size, info.st_mtime_ns)


def _kind(mode: int) -> str | None:
    """What a file that is not a regular one is, in words (None for a regular file)."""
    for test, name in (
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISFIFO, "a FIFO (named pipe)"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    ):
        if test(mode):
            return name
    return None if stat.S_ISREG(mode) else "not a regular file"


def refuse_special(path: Path) -> None:
    """A checkpoint path that exists must be a regular file (or a link to one): reading a
    FIFO waits for a writer, a device never ends, and a save would rename over either."""
    try:
        kind = _kind(os.stat(path).st_mode)
    except OSError:  # missing (a new file) or unreadable: said when it is opened
        return
    if kind is not None:
        raise UsageError(
            f"checkpoint file {path} is {kind}, not a regular file",
            hint="Give --checkpoint a file path, e.g. --checkpoint .tail-state.json.",
        )


def _read_regular(path: Path) -> bytes:
    """The bytes of ``path``, a regular file of at most MAX_BYTES (checked on the open file,
    so a FIFO swapped in after :func:`refuse_special` cannot hang the read)."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(path, flags)
    try:
        info = os.fstat(fd)
        kind = _kind(info.st_mode)
        if kind is not None:
            raise UsageError(
                f"checkpoint file {path} is {kind}, not a regular file",
                hint="Give --checkpoint a file path, e.g. --checkpoint .tail-state.json.",
            )
        chunks, size = [], 0
        while size <= MAX_BYTES:
            chunk = os.read(fd, min(1 << 20, MAX_BYTES + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    finally:
        os.close(fd)
    if size > MAX_BYTES:
        raise UsageError(
            f"checkpoint file {path} is larger than {MAX_BYTES // (1024 * 1024)} MiB: "
            "not a checkpoint",
            hint="Check the --checkpoint path; a checkpoint holds one line per shard.",
        )
    return b"".join(chunks)


def _parse(doc: Any, path: Path) -> tuple[str, dict[str, str], StartPosition | None]:
    """(stream, shard -> position, start) of a checkpoint document, each value checked."""

    def bad(why: str) -> UsageError:
        return UsageError(f"checkpoint file {path} is not readable: {why}", hint=_FIX)

    if not isinstance(doc, dict):
        raise bad("not a JSON object")
    version = doc.get("version", FORMAT_VERSION)
    if not isinstance(version, int) or isinstance(version, bool) or version > FORMAT_VERSION:
        raise bad(f"format version {_short(version)} is not one this twilio-es reads")
    saved_stream = doc.get("stream")
    if not isinstance(saved_stream, str) or not saved_stream.strip():
        raise bad("no 'stream' name")
    raw = doc.get("shards") or {}
    if not isinstance(raw, dict):
        raise bad("'shards' is not an object of shard id -> position")
    shards: dict[str, str] = {}
    for sid, position in raw.items():
        if not _SHARD_ID.fullmatch(sid):
            raise bad(f"{_short(sid)} is not a shard id")
        if not isinstance(position, str) or not (
            position == SHARD_END or _SEQUENCE.fullmatch(position)
        ):
            raise bad(f"shard {sid} is at {_short(position)}, not a sequence number or {SHARD_END}")
        shards[sid] = position
    try:
        start = _start_from_json(doc.get("start"))
    except (ValueError, KeyError, TypeError, AttributeError, OverflowError) as exc:
        raise bad(f"'start' is not a start position ({_first_line(exc)})") from exc
    return saved_stream, shards, start


def _short(value: object, limit: int = 40) -> str:
    """A value from the file for a message: repr, cut (never echo a megabyte)."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


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
        when = datetime.fromisoformat(str(doc["timestamp"]))
        return StartPosition.at(when if when.tzinfo else when.replace(tzinfo=timezone.utc))
    if kind == "TRIM_HORIZON":
        return StartPosition.trim_horizon()
    if kind == "LATEST":
        return StartPosition.latest()
    raise ValueError(f"unknown start kind {kind!r}")


def lock_path(path: Path) -> Path:
    """The lock file of checkpoint ``path``: ``FILE.lock`` beside it (kept after the run:
    removing it while another tail opens it would let two tails hold two locks)."""
    return path.with_name(path.name + ".lock")


class CheckpointLock:
    """One tail per checkpoint file: an exclusive ``flock`` on :func:`lock_path`, held from
    before the file is read until the run's last save, with the holder's pid in it.

    Why a sibling file: saves replace the checkpoint (a new inode each time), so a lock on
    the checkpoint itself would be on a file nobody opens any more. The lock dies with its
    process (``kill -9`` included), so a stale one never blocks. Where ``fcntl`` does not
    exist (Windows) nothing is locked.
    """

    def __init__(self, path: Path) -> None:
        self.checkpoint = path
        self.path = lock_path(path)
        self._fd: int | None = None

    def acquire(self) -> CheckpointLock:
        """Take the lock (once: again is a no-op), or raise a usage error naming the tail that
        holds it."""
        if self._fd is not None:
            return self
        try:
            import fcntl
        except ImportError:  # pragma: no cover - not on POSIX
            return self
        refuse_special(self.checkpoint)  # never create /dev/zero.lock
        check_location(self.checkpoint)  # a new file: its directory, said in those words
        from twilio_es_cli.files import open_private

        try:
            fd = open_private(self.path)
        except OSError as exc:
            raise UsageError(
                f"cannot lock checkpoint file {self.checkpoint}: {self.path} "
                f"({exc.strerror or exc})",
                hint="The checkpoint's directory must be writable (the lock file lives "
                "beside it); or choose another --checkpoint path.",
            ) from None
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise UsageError(
                    f"cannot lock checkpoint file {self.checkpoint}: {self.path} is not a "
                    "regular file",
                    hint=f"Remove {self.path}, or choose another --checkpoint path.",
                )
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise self._in_use(fd) from None
            # One write of a fixed width, so whoever reads it never sees it half written.
            record = f"{os.getpid():>10}\n".encode()
            os.pwrite(fd, record, 0)
            os.ftruncate(fd, len(record))
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd
        return self

    def _in_use(self, fd: int) -> UsageError:
        try:
            text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
        except OSError:
            text = ""
        holder = f"pid {text}" if text.isdigit() else "pid unknown"
        return UsageError(
            f"checkpoint file {self.checkpoint} is in use by another tail ({holder})",
            hint="One tail per checkpoint file: two would overwrite each other's position and "
            "skip events. Stop the other tail, or give this one its own --checkpoint file.",
        )

    def release(self) -> None:
        """Let the next tail in (closing the descriptor drops the flock)."""
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)


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

    Consecutive records of one shard share one entry while they span at most WAITING_BLOCK
    events: the entry takes the later record's position and count, so it is released no
    earlier than the later record would be (a shard moves a little less far, never further).
    An archive keeps up to ~150k events pending (its spools); one entry each was ~30 MB of
    its peak memory, growing with the stream until they filled (bench/README.md).
    """

    def __init__(self, cp: Checkpoint, sink: EventSink) -> None:
        self.cp = cp
        self.sink = sink
        self.written = 0  # events written to the sink so far (the last handled record's count)
        # (events written by then, shard id, sequence number or SHARD_END), oldest first
        self.waiting: deque[tuple[int, str, str]] = deque()
        self._block = -1  # events written when the last entry's block began (-1: none open)
        self.pending = 0
        self.last_save = time.monotonic()

    def handled(self, record: KinesisRecord, written: int) -> None:
        """``record`` was handled, and ``written`` events went to the sink so far."""
        self.written = written
        waiting, shard_id = self.waiting, record.shard_id
        if (
            self._block >= 0
            and waiting[-1][1] == shard_id
            and written - self._block <= WAITING_BLOCK
        ):
            waiting[-1] = (written, shard_id, record.sequence_number)
        else:
            waiting.append((written, shard_id, record.sequence_number))
            self._block = written
        self.pending += 1
        if (
            self.pending >= CHECKPOINT_EVERY_RECORDS
            or time.monotonic() - self.last_save >= CHECKPOINT_EVERY
        ):
            self.save()

    def shard_ended(self, shard_id: str) -> None:
        """``shard_id`` was drained to its end (after its last record was handled)."""
        self.waiting.append((self.written, shard_id, SHARD_END))
        self._block = -1  # a shard's end is never merged into

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
        if not waiting:
            self._block = -1
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
    lock: CheckpointLock | None = None,
) -> tuple[Checkpoint | None, StartPosition]:
    """Open (or begin) the checkpoint and decide the start for shards it does not know.

    ``lock`` (acquired here when given) is taken before the file is read, so what is read is
    the last save of whoever held it before; the caller releases it after its last save.

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
    if lock is not None:
        lock.acquire()
    cp = Checkpoint.open(path, stream, remembered)
    cp.report = report
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
