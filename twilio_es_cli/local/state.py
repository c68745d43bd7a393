"""The emulator's in-memory store: sinks, subscriptions, the debugger log; optional JSON file.

Plain dataclasses behind one lock. With a state directory every change is written atomically
to ``events-emulator.json`` and read back at start, so a sandbox keeps its sinks across
restarts (``twilio-es local up`` / ``down``). The catalogue is not state: it is seeded data.
"""

from __future__ import annotations

import json
import threading
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

STATE_FILE = "events-emulator.json"


def new_sid(prefix: str) -> str:
    """A Twilio-style SID: two letters and 32 hex digits."""
    return prefix + uuid.uuid4().hex


@dataclass
class Sink:
    sid: str
    description: str
    sink_type: str
    sink_configuration: dict[str, Any]
    status: str
    date_created: str
    date_updated: str
    last_test_id: str | None = None
    # Test events a segment sink "sent" (there is no Segment here to receive them).
    segment_events: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Subscription:
    sid: str
    description: str
    sink_sid: str
    date_created: str
    date_updated: str
    # type -> schema version, in subscription order.
    types: dict[str, int] = field(default_factory=dict)


@dataclass
class State:
    sinks: dict[str, Sink] = field(default_factory=dict)
    subscriptions: dict[str, Subscription] = field(default_factory=dict)
    debugger: list[dict[str, Any]] = field(default_factory=list)


class Store:
    """Thread-safe holder of :class:`State` with optional persistence to ``state_dir``."""

    def __init__(self, state_dir: Path | None = None) -> None:
        self.lock = threading.RLock()
        self.state_dir = state_dir
        self.state = State()
        if state_dir is not None:
            self._load()

    @property
    def path(self) -> Path | None:
        return None if self.state_dir is None else self.state_dir / STATE_FILE

    def _load(self) -> None:
        path = self.path
        if path is None or not path.exists():
            return
        raw = json.loads(path.read_text("utf-8"))
        self.state = State(
            sinks={sid: Sink(**value) for sid, value in raw.get("sinks", {}).items()},
            subscriptions={
                sid: Subscription(**value) for sid, value in raw.get("subscriptions", {}).items()
            },
            debugger=list(raw.get("debugger", [])),
        )

    def save(self) -> None:
        """Write the state atomically and durably, private to the user (0600)."""
        from twilio_es_cli.files import write_private_atomic

        path = self.path
        if path is None:
            return
        with self.lock:
            document = json.dumps(asdict(self.state), indent=1, sort_keys=True)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_private_atomic(path, document.encode("utf-8"))

    def reset(self) -> None:
        with self.lock:
            self.state = State()
        self.save()
