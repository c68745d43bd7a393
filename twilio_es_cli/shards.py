"""The one shard model: what a Kinesis shard is to us, how shards are listed, and which may be
read before which.

Why one module: "is this shard closed?" used to be answered three ways (``"EndingSequenceNumber"
in ...`` in ``streams.py``, ``bool(...EndingSequenceNumber)`` twice in ``reader.py``), parents
were read from ``ParentShardId``/``AdjacentParentShardId`` or ``ParentShards`` depending on
which answer they came from, and ``stream scale``/``stream describe`` borrowed the tail
reader's pager. Here:

- :class:`Shard`: id, parents, open or closed, hash-key range, from a ``ListShards`` entry or a
  ``ChildShards`` entry (GetRecords / SubscribeToShard after a reshard) alike;
- :func:`list_shards`: every shard of a stream, paged the AWS way (``NextToken`` alone; moto
  wants the stream name with it, so that is retried once when the server refuses), throttling
  and 5xx retried, anything else raised as our own error;
- :class:`Lineage`: parent/child edges, so the reader starts a child only after its parents
  are drained (records of one partition key stay in order) and a checkpoint's ancestors and
  descendants are known;
- :func:`subscription_ended`: when a SubscribeToShard event says the shard is closed and read.

Used by ``reader.py`` (planning), ``efo.py`` and ``streams.py`` (scale, describe). No boto3 here:
calls go through the client handed in, failures through :mod:`twilio_es_cli.aws`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypedDict, TypeVar

from twilio_es_cli import arns
from twilio_es_cli.aws import (
    REFUSED,
    backoff,
    classify,
    error_code,
    sandbox_down,
    stream_not_found,
    translate,
)
from twilio_es_cli.errors import TwilioEsError

if TYPE_CHECKING:
    from mypy_boto3_kinesis import KinesisClient
    from mypy_boto3_kinesis.type_defs import ShardTypeDef

# What a server says when it wants the stream named alongside NextToken (moto).
_WANTS_STREAM_WITH_TOKEN = frozenset(
    {"InvalidToken", "InvalidArgumentException", "ValidationException", "ResourceNotFoundException"}
)


@dataclass(frozen=True, slots=True)
class Shard:
    """One shard as listed, or as named in a ``ChildShards`` entry."""

    shard_id: str
    parents: tuple[str, ...] = ()  # parent first, then the adjacent parent of a merge
    closed: bool = False  # resharded away: it has an ending sequence number
    hash_range: tuple[int, int] | None = None  # the partition-key hashes it holds

    @property
    def open(self) -> bool:
        return not self.closed

    @property
    def parent(self) -> str | None:
        return self.parents[0] if self.parents else None

    @property
    def adjacent_parent(self) -> str | None:
        return self.parents[1] if len(self.parents) > 1 else None

    @classmethod
    def from_api(cls, entry: Mapping[str, Any]) -> Shard:
        """From a ``ListShards``/``DescribeStream`` entry or a ``ChildShards`` entry.

        Closed means the entry has an ``EndingSequenceNumber`` (AWS adds one when a reshard
        closes the shard); ``ChildShards`` entries name new shards, which are open.
        """
        if "ParentShards" in entry:  # ChildShards entries
            parents = tuple(p for p in entry.get("ParentShards") or () if p)
        else:
            named = (entry.get("ParentShardId"), entry.get("AdjacentParentShardId"))
            parents = tuple(p for p in named if p)
        ending = (entry.get("SequenceNumberRange") or {}).get("EndingSequenceNumber")
        hashes = entry.get("HashKeyRange") or {}
        hash_range = None
        if "StartingHashKey" in hashes and "EndingHashKey" in hashes:
            hash_range = (int(hashes["StartingHashKey"]), int(hashes["EndingHashKey"]))
        return cls(str(entry["ShardId"]), parents, bool(ending), hash_range)

    def view(self) -> dict[str, Any]:
        """The shard as ``stream describe`` shows it (``--json`` keys)."""
        return {
            "id": self.shard_id,
            "parent": self.parent,
            "adjacent_parent": self.adjacent_parent,
            "open": self.open,
        }


def open_count(shards: Iterable[Shard]) -> int:
    """How many of ``shards`` are open (what UpdateShardCount counts)."""
    return sum(s.open for s in shards)


class StreamArgs(TypedDict, total=False):
    """How a Kinesis call names its stream: by ARN or by name (one of the two)."""

    StreamARN: str
    StreamName: str


def stream_kwargs(stream: str) -> StreamArgs:
    """``StreamARN`` for an ARN (``arn:aws:kinesis:REGION:ACCT:stream/NAME``), else StreamName."""
    if arns.is_arn(stream):
        return {"StreamARN": stream}
    return {"StreamName": stream}


def subscription_ended(event: Mapping[str, Any]) -> bool:
    """A SubscribeToShard event saying the shard is closed and everything in it was sent.

    AWS's last event of a closed shard carries ``ChildShards`` (after a reshard) and no
    ``ContinuationSequenceNumber``; either alone is enough (servers differ).
    """
    return event.get("ContinuationSequenceNumber") is None or bool(event.get("ChildShards"))


# --- listing ---------------------------------------------------------------------------------


def list_shards(
    kinesis: KinesisClient, stream: str, *, page_size: int | None = None
) -> list[Shard]:
    """Every shard of ``stream`` (a name or an ARN; open and closed within retention).

    Throttling and 5xx are retried a few times; any other failure raises our own error
    (:class:`~twilio_es_cli.errors.NotFoundError` when the stream does not exist).
    ``page_size`` (MaxResults) is for tests; AWS's default page is 1,000 shards.
    """
    try:
        return [Shard.from_api(s) for s in _pages(kinesis, stream, page_size)]
    except _Refused as exc:
        raise exc.error from exc.cause


def _pages(kinesis: KinesisClient, stream: str, page_size: int | None) -> Iterator[ShardTypeDef]:
    """The raw entries of every page, raising :class:`_Refused` (the cause decides paging).

    Pages after the first send ``NextToken`` alone, as AWS requires. moto instead wants the
    stream with the token and refuses the lone token: then the same page is asked again with
    the stream, and so are later pages.
    """
    args = stream_kwargs(stream)
    paging: dict[str, Any] = {"MaxResults": page_size} if page_size else {}
    response = _call_retrying(kinesis.list_shards, f"list the shards of {stream}", **args, **paging)
    token_with_stream = False
    while True:
        yield from response.get("Shards") or []
        token = response.get("NextToken")
        if not token:
            return
        if not token_with_stream:
            try:
                response = _call_retrying(
                    kinesis.list_shards, "list shards", NextToken=token, **paging
                )
                continue
            except _Refused as exc:
                if error_code(exc.cause) not in _WANTS_STREAM_WITH_TOKEN:
                    raise
                token_with_stream = True
        response = _call_retrying(
            kinesis.list_shards, "list shards", NextToken=token, **args, **paging
        )


class _Refused(Exception):
    """A non-transient failure of a listing call (carries the translated error)."""

    def __init__(self, cause: BaseException, error: TwilioEsError) -> None:
        super().__init__(str(error))
        self.cause = cause
        self.error = error


_Answer = TypeVar("_Answer")


def _call_retrying(fn: Callable[..., _Answer], action: str, **kwargs: Any) -> _Answer:
    """Call ``fn`` retrying throttling/5xx a few times (listing is rare and cheap to repeat).

    A refused connection to a loopback endpoint is not retried: nothing is listening there
    (`twilio-es local up` is not running), and waiting would only delay the answer that says
    so (docs/configuration.md, "The offline sandbox's endpoints").
    """
    for attempt in range(6):
        try:
            return fn(**kwargs)
        except Exception as exc:
            if classify(exc) != REFUSED and attempt < 5 and not sandbox_down(exc):
                time.sleep(backoff(attempt, base=0.3))
                continue
            error = translate(exc, action)
            if error_code(exc) == "ResourceNotFoundException":
                error = stream_not_found(kwargs.get("StreamARN") or kwargs.get("StreamName") or "?")
            raise _Refused(exc, error) from exc
    raise AssertionError("unreachable")


# --- lineage ---------------------------------------------------------------------------------


class Lineage:
    """Which shard came from which: parents before children.

    A parent missing from the listing (trimmed after the retention period) does not hold its
    children back; it still counts as an ancestor, so a checkpoint naming it is honoured.
    """

    def __init__(self, shards: Iterable[Shard] = ()) -> None:
        self.shards: dict[str, Shard] = {}
        self._children: dict[str, list[str]] = {}
        for shard in shards:
            self.add(shard)

    def add(self, shard: Shard) -> bool:
        """Learn ``shard``; False when it was known already."""
        if shard.shard_id in self.shards:
            return False
        self.shards[shard.shard_id] = shard
        for parent in shard.parents:
            self._children.setdefault(parent, []).append(shard.shard_id)
        return True

    def __contains__(self, shard_id: object) -> bool:
        return shard_id in self.shards

    def ancestors(self, shard_id: str) -> Iterator[str]:
        """Parents, their parents, ... (listed or not), each once."""
        return self._walk(shard_id, lambda sid: self.shards[sid].parents if sid in self else ())

    def descendants(self, shard_id: str) -> Iterator[str]:
        """Children, their children, ..., each once."""
        return self._walk(shard_id, lambda sid: self._children.get(sid, ()))

    def ready(self, shard_id: str, finished: Callable[[str], bool]) -> bool:
        """May ``shard_id`` be read now: is every listed parent ``finished`` (drained)?"""
        return all(finished(p) for p in self.shards[shard_id].parents if p in self)

    @staticmethod
    def _walk(start: str, edges: Callable[[str], Iterable[str]]) -> Iterator[str]:
        seen: set[str] = set()
        todo = list(edges(start))
        while todo:
            current = todo.pop(0)
            if current in seen:
                continue
            seen.add(current)
            yield current
            todo.extend(edges(current))
