"""What ``tail`` was asked to do: :class:`TailOptions`, validated by the CLI before any call."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from twilio_es_cli.tail.positions import StartPosition


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
