"""A per-shard checkpoint file for ``tail --checkpoint FILE``: resume right after the last event.

The file maps each shard id to the sequence number of the last record the tail handled (emitted or
filtered out), or :data:`~twilio_es_cli.tail.positions.SHARD_END` once a closed shard was drained.
It also remembers where the first run started, so a shard that had no records then is resumed from
that point instead of the new run's ``--from`` (which would skip or repeat). Writes go through
:func:`twilio_es_cli.files.write_private_atomic` (temporary file in the same directory, fsync,
``os.replace``, fsync of the directory, mode 0600), so a crash leaves either the old or the new
checkpoint, never a torn one, and other users cannot read it. When it is saved is
:class:`twilio_es_cli.tail.pipeline.CheckpointSaver`'s business.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from twilio_es_cli.arns import stream_name
from twilio_es_cli.errors import TwilioEsError, UsageError
from twilio_es_cli.tail.positions import StartPosition

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
