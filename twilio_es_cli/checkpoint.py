"""A per-shard checkpoint file for ``tail --checkpoint FILE``: resume right after the last event.

The file maps each shard id to the sequence number of the last record the tail handled
(emitted or filtered out), or :data:`~twilio_es_cli.reader.SHARD_END` once a closed shard was
drained. It also remembers where the first run started, so a shard that had no records then
is resumed from that point instead of the new run's ``--from`` (which would skip or repeat).
Writes go to a temporary file in the same directory, are fsynced and then ``os.replace``-d,
so a crash leaves either the old or the new checkpoint, never a torn one.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from twilio_es_cli.errors import TwilioEsError, UsageError
from twilio_es_cli.reader import StartPosition, stream_name

FORMAT_VERSION = 1


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
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise UsageError(
                f"checkpoint file {path} is not readable: {exc}",
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
        """Write the checkpoint atomically (temp file + fsync + os.replace)."""
        doc: dict[str, Any] = {
            "version": FORMAT_VERSION,
            "stream": self.stream,
            "start": _start_to_json(self.start),
            "shards": dict(sorted(self.shards.items())),
        }
        directory = self.path.parent if str(self.path.parent) else Path(".")
        tmp: str | None = None
        try:
            fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp", dir=directory)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(doc, handle, indent=2)
                handle.write("\n")
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.path)
        except BaseException as exc:
            if tmp is not None:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
            if isinstance(exc, OSError):  # no space, permissions changed, directory removed
                raise TwilioEsError(
                    f"could not save checkpoint file {self.path} ({exc.strerror or exc})",
                    hint="Check the directory's space and permissions; events shown since "
                    "the last save will be shown again on resume.",
                ) from exc
            raise


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
    if kind in ("TRIM_HORIZON", "LATEST"):
        return StartPosition(kind)
    raise ValueError(f"unknown start kind {kind!r}")
