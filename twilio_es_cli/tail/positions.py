"""Where reading starts: :class:`StartPosition`, and ``--from``/``--since`` parsed into one.

A position is a Kinesis ShardIteratorType plus its argument; the stream reader applies one to
every shard it does not know from a checkpoint, and a shard reader reopens a shard
``AFTER_SEQUENCE_NUMBER`` of its last record. :data:`SHARD_END` is the checkpoint's word for
a shard drained to its end. Pure: no AWS call, nothing heavier than the stdlib.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Literal

from twilio_es_cli.errors import UsageError

#: Checkpoint value meaning "this shard was closed and fully drained": skip it on resume.
SHARD_END = "SHARD_END"

#: The ShardIteratorTypes the reader starts from (AT_SEQUENCE_NUMBER is never needed).
PositionKind = Literal["LATEST", "TRIM_HORIZON", "AT_TIMESTAMP", "AFTER_SEQUENCE_NUMBER"]


@dataclass(frozen=True)
class StartPosition:
    """Where to start reading: the Kinesis ShardIteratorType plus its argument."""

    kind: PositionKind
    timestamp: datetime | None = None
    sequence_number: str | None = None

    @classmethod
    def latest(cls) -> StartPosition:
        return cls("LATEST")

    @classmethod
    def trim_horizon(cls) -> StartPosition:
        return cls("TRIM_HORIZON")

    @classmethod
    def at(cls, when: datetime) -> StartPosition:
        return cls("AT_TIMESTAMP", timestamp=when)

    @classmethod
    def after(cls, sequence_number: str) -> StartPosition:
        """Right after one record of one shard (used per shard, for checkpoints and expiry)."""
        return cls("AFTER_SEQUENCE_NUMBER", sequence_number=sequence_number)

    def iterator_args(self) -> dict[str, Any]:
        """The GetShardIterator arguments for this position."""
        args: dict[str, Any] = {"ShardIteratorType": self.kind}
        if self.kind == "AT_TIMESTAMP":
            args["Timestamp"] = self.timestamp
        elif self.kind == "AFTER_SEQUENCE_NUMBER":
            args["StartingSequenceNumber"] = self.sequence_number
        return args


_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def parse_duration(text: str) -> timedelta:
    """``30s``, ``15m``, ``2h``, ``1d``, ``1h30m`` -> timedelta; anything else is a usage error."""
    cleaned = text.strip().lower()
    parts = _DURATION_PART.findall(cleaned)
    if not cleaned or "".join(n + u for n, u in parts) != cleaned:
        raise UsageError(
            f"{_short(text)!r} is not a duration",
            hint="Use a number and a unit: 30s, 15m, 2h, 1d (or combined, 1h30m).",
        )
    try:
        return timedelta(seconds=sum(float(n) * _UNITS[u] for n, u in parts))
    except OverflowError as exc:  # timedelta stops at 999,999,999 days
        raise _too_long(text) from exc


def _short(text: str, limit: int = 40) -> str:
    """A prefix of user input for a message (never echo a 100,000-character argument)."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _too_long(text: str) -> UsageError:
    return UsageError(
        f"--since {_short(text)} reaches back before year 1",
        hint="Kinesis keeps at most 365 days: use e.g. --since 7d, or --from trim-horizon.",
    )


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
        try:
            return StartPosition.at((now or datetime.now(timezone.utc)) - ago)
        except OverflowError as exc:
            raise _too_long(since) from exc
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


def earlier(a: StartPosition, b: StartPosition) -> StartPosition:
    """The start that skips nothing the other would show (trim horizon < a time < latest)."""

    def rank(position: StartPosition) -> tuple[int, datetime]:
        order = {"TRIM_HORIZON": 0, "AT_TIMESTAMP": 1}.get(position.kind, 2)
        when = position.timestamp or datetime.min.replace(tzinfo=timezone.utc)
        return order, when

    return a if rank(a) <= rank(b) else b


def describe_start(start: StartPosition) -> str:
    if start.kind == "AT_TIMESTAMP" and start.timestamp is not None:
        return start.timestamp.isoformat(timespec="seconds")
    return start.kind.lower().replace("_", "-")
