"""``tail``'s filters: ``--type`` globs (:class:`TypeFilter`) and ``--dedupe`` (:class:`Deduper`).

Both run once per record in the consumer's thread, so both are cheap per call: a type's verdict
is cached, and dedupe remembers a bounded number of ids (least recently seen go first).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from fnmatch import fnmatchcase

DEDUPE_CAPACITY = 100_000


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
