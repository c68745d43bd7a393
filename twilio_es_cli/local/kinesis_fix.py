"""Make the sandbox's moto Kinesis behave the way Amazon Kinesis documents it.

moto (5.2) gets Kinesis wrong in ways a user of ``twilio-es local up`` meets at once: after
``stream scale`` it keeps routing writes to the closed parent shard, moves or copies records
into the children (a reader sees them twice), never ends a drained closed shard, numbers
records "1", "2", ..., ignores ListShards' ShardFilter, accepts any UpdateShardCount, never
shows a stream UPDATING or a consumer CREATING, and has no SubscribeToShard.

Why correct moto instead of embedding another backend: the sandbox must stay a pure
``pip install '.[local]'`` (kinesis-local needs Node; ministack, measured side by side, loses
unread records when it reshards), and moto already serves IAM and STS from the same process,
which the emulator's deliveries rely on. The corrections replace a few moto methods, applied
once per process by :func:`install` (which first checks the moto version and every moto name
it relies on: :mod:`twilio_es_cli.local.moto_contract`). Each rule follows the Kinesis API
reference (botocore's ``kinesis/2013-12-02/service-2.json``):

- here: writes go to the OPEN shard whose hash-key range holds the key; split and merge leave
  records where they were written; a closed shard read to its end answers GetRecords with
  ``ChildShards`` and no iterator; ``MillisBehindLatest`` is above 0 while records remain;
  sequence numbers are 56-digit decimal strings that grow per shard and across a reshard
  (:class:`SequenceClock`); DescribeStreamSummary counts the open shards;
- :mod:`~twilio_es_cli.local.kinesis_listing`: ListShards' paging and ShardFilter types;
- :mod:`~twilio_es_cli.local.kinesis_resharding`: UpdateShardCount's limits, SplitShard and
  MergeShards, each leaving the stream ``UPDATING`` for :attr:`Timing.updating` seconds;
- :mod:`~twilio_es_cli.local.kinesis_consumers`: consumers ``CREATING`` -> ``ACTIVE``,
  ``DELETING`` -> gone, Kinesis's limits;
- :mod:`~twilio_es_cli.local.kinesis_subscribe`: SubscribeToShard, served as an event stream
  by the sandbox's server (:mod:`~twilio_es_cli.local.aws_server`).

One lock (:data:`LOCK`) serialises the Kinesis calls, so a put cannot land in a shard that a
concurrent reshard is closing after its readers were told it is drained; :data:`CHANGED` wakes
open subscriptions when records arrive or shards change.
"""

from __future__ import annotations

import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields, replace
from datetime import datetime, timezone
from functools import wraps
from typing import Any

from twilio_es_cli.errors import ConfigError

LOCK = threading.RLock()
CHANGED = threading.Condition(LOCK)
_installed = False
_HASH_LIMIT = 2**128 - 1
_SPREAD = 0x9E3779B97F4A7C15F39CC0605CEDC835  # spreads the low digits of a sequence number


# -- timing ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Timing:
    """How long the sandbox's Kinesis takes where AWS takes seconds to minutes.

    Zero means at once (moto's own behaviour; what the test suite's shared moto server uses).
    ``subscription`` is AWS's 5 minutes; tests shorten it to see renewals.
    """

    updating: float = 0.0  # a stream stays UPDATING this long after a reshard request
    consumer: float = 0.0  # a consumer stays CREATING (after registering) / DELETING this long
    subscription: float = 300.0  # a SubscribeToShard stream ends after this long
    heartbeat: float = 1.0  # an idle subscription sends an empty event this often

    @classmethod
    def sandbox(cls, env: Mapping[str, str] | None = None) -> Timing:
        """``local up``'s timing: a second of UPDATING/CREATING, overridable from ``env``.

        ``TWILIO_ES_SANDBOX_UPDATING_SECONDS``, ``TWILIO_ES_SANDBOX_CONSUMER_SECONDS`` and
        ``TWILIO_ES_SANDBOX_SUBSCRIPTION_SECONDS`` (tests shorten them, or lengthen UPDATING
        to watch it); a value that is not a number >= 0 is a configuration error.
        """
        timing = cls(updating=1.0, consumer=1.0)
        env = os.environ if env is None else env
        changes: dict[str, float] = {}
        for field in fields(cls):
            name = f"TWILIO_ES_SANDBOX_{field.name.upper()}_SECONDS"
            raw = env.get(name)
            if raw is None or raw == "":
                continue
            try:
                value = float(raw)
            except ValueError:
                value = -1.0
            if not 0 <= value < 86400:  # also refuses nan and inf
                raise ConfigError(
                    f"{name}={raw!r} is not a number of seconds",
                    hint=f"Give a number from 0 to 86399, or unset {name}.",
                )
            changes[field.name] = value
        return replace(timing, **changes)


_timing = Timing()


def configure(timing: Timing) -> Timing:
    """Use ``timing`` in this process from now on; returns the previous one (to restore)."""
    global _timing
    with LOCK:
        previous, _timing = _timing, timing
    return previous


def timing() -> Timing:
    return _timing


# -- install ---------------------------------------------------------------------------------


def install() -> None:
    """Check moto, then patch its Kinesis models and responses in this process (idempotent).

    Raises :class:`~twilio_es_cli.errors.ConfigError` (one line) when the installed moto is
    not a version the corrections were tested on, or lacks a name they use.
    """
    global _installed
    from twilio_es_cli.local import moto_contract

    moto_contract.check()  # every time: a refusal must not depend on what ran before
    with LOCK:
        if _installed:
            return
        from moto.kinesis import models, responses

        from twilio_es_cli.local import kinesis_consumers, kinesis_listing, kinesis_resharding

        shard_init = models.Shard.__init__
        shard_to_json = models.Shard.to_json
        summary = models.Stream.to_json_summary

        @wraps(shard_init)
        def init(self: Any, *args: Any, **kwargs: Any) -> None:
            shard_init(self, *args, **kwargs)
            _open_shard(self)

        setattr(models.Shard, "__init__", init)  # noqa: B010 (patching)
        setattr(models.Shard, "put_record", _shard_put_record)  # noqa: B010
        setattr(models.Shard, "to_json", _with_sequence_range(shard_to_json))  # noqa: B010
        setattr(models.Stream, "get_shard_for_key", _get_shard_for_key)  # noqa: B010
        setattr(models.Stream, "split_shard", _split_shard)  # noqa: B010
        setattr(models.Stream, "merge_shards", _merge_shards)  # noqa: B010
        setattr(models.Stream, "to_json_summary", _with_open_count(summary))  # noqa: B010
        response = responses.KinesisResponse
        handlers: dict[str, Callable[[Any], Any]] = {
            "get_records": _get_records,
            "list_shards": kinesis_listing.list_shards,
            **kinesis_resharding.HANDLERS,
            **kinesis_consumers.HANDLERS,
        }
        for name, handler in handlers.items():
            setattr(response, name, handler)
        for name in (
            "create_stream",
            "put_record",
            "put_records",
            "get_shard_iterator",
            "describe_stream",
            "describe_stream_summary",
            "list_streams",
            "delete_stream",
            *handlers,
        ):
            setattr(response, name, _serialised(getattr(response, name)))
        _installed = True


def _serialised(method: Callable[..., Any]) -> Callable[..., Any]:
    @wraps(method)
    def call(self: Any) -> Any:
        with LOCK:
            return method(self)

    return call


def aws_error(code: str, message: str) -> Exception:
    """A Kinesis error answer (HTTP 400, ``__type`` ``code``) that moto's responses send."""
    from moto.core.exceptions import JsonRESTError

    return JsonRESTError(error_type=code, message=message)


def invalid(message: str) -> Exception:
    return aws_error("InvalidArgumentException", message)


def utcnow() -> datetime:
    """Now, as moto keeps times: naive UTC."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


def naive_utc(value: datetime) -> datetime:
    """``value`` as naive UTC, to compare with moto's times (request times may be aware)."""
    if value.tzinfo is not None:
        value = value.astimezone(timezone.utc).replace(tzinfo=None)
    return value


# -- sequence numbers ------------------------------------------------------------------------


class SequenceClock:
    """Sequence numbers shaped like Kinesis's: 56-digit decimal strings, no leading zeros.

    AWS's look like ``49590338271490256608559692538361571095921575989136588898`` and grow
    with time, so numbers grow per shard and a child's are above its parents' (it is opened
    after they close). Here: ``49``, then a microsecond clock that never repeats (16 digits,
    process-wide), the shard's index (6) and 32 digits derived from the clock, so every
    number is unique, 56 digits long, and the string order of two is their numeric order.
    """

    PREFIX = 49 * 10**54

    def __init__(self) -> None:
        self._last = 0
        self._lock = threading.Lock()

    def next(self, shard_index: int) -> int:
        with self._lock:
            tick = max(self._last + 1, time.time_ns() // 1000)
            self._last = tick
        filler = (tick * _SPREAD) % 10**32  # digits that vary, as AWS's do
        return self.PREFIX + tick * 10**38 + (shard_index % 10**6) * 10**32 + filler


CLOCK = SequenceClock()


# -- models ----------------------------------------------------------------------------------


def _open_shard(shard: Any) -> None:
    """A new shard: its starting sequence number and the time it opened."""
    shard.start_seq = CLOCK.next(shard._shard_id)
    shard.end_seq = None
    shard.opened_at = utcnow()
    shard.closed_at = None


def close_shard(shard: Any) -> None:
    """Close ``shard`` (a reshard): its ending sequence number is above every record in it."""
    shard.is_open = False
    shard.end_seq = CLOCK.next(shard._shard_id)
    shard.closed_at = utcnow()


def _shard_put_record(self: Any, partition_key: str, data: bytes, explicit_hash_key: str) -> str:
    """moto's Shard.put_record, numbered by :data:`CLOCK`; wakes open subscriptions."""
    from moto.kinesis.models import Record

    sequence_number = CLOCK.next(self._shard_id)
    self.records[sequence_number] = Record(partition_key, data, sequence_number, explicit_hash_key)
    with CHANGED:
        CHANGED.notify_all()
    return str(sequence_number)


def starting_sequence(shard: Any) -> int:
    return int(getattr(shard, "start_seq", 0))


def _with_sequence_range(original: Callable[[Any], dict[str, Any]]) -> Callable[..., Any]:
    """Shard.to_json with the shard's own starting/ending numbers (moto's say "0" when empty)."""

    @wraps(original)
    def to_json(self: Any) -> dict[str, Any]:
        doc = original(self)
        numbers = {"StartingSequenceNumber": str(starting_sequence(self))}
        if not self.is_open:
            numbers["EndingSequenceNumber"] = str(
                getattr(self, "end_seq", None) or self.get_max_sequence_number()
            )
        doc["SequenceNumberRange"] = numbers
        return doc

    return to_json


def _with_open_count(original: Callable[[Any], dict[str, Any]]) -> Callable[..., Any]:
    """Stream.to_json_summary counting the open shards (moto reports the last target) and the
    registered consumers, as DescribeStreamSummary does."""

    @wraps(original)
    def to_json_summary(self: Any) -> dict[str, Any]:
        doc = original(self)
        body = doc["StreamDescriptionSummary"]
        body["OpenShardCount"] = sum(1 for s in self.shards.values() if s.is_open)
        from twilio_es_cli.local.kinesis_consumers import current

        body["ConsumerCount"] = len(current(self))
        return doc

    return to_json_summary


def _get_shard_for_key(self: Any, partition_key: str, explicit_hash_key: str) -> Any:
    """The open shard whose (inclusive) hash-key range holds the key."""
    from moto.utilities.utils import md5_hash

    if not isinstance(partition_key, str) or not 1 <= len(partition_key) <= 256:
        raise invalid("partition_key")
    if explicit_hash_key:
        key = int(explicit_hash_key)
        if not 0 <= key <= _HASH_LIMIT:
            raise invalid("explicit_hash_key")
    else:
        key = int(md5_hash(partition_key.encode("utf-8")).hexdigest(), 16)
    for shard in self.shards.values():
        if shard.is_open and shard.starting_hash <= key <= shard.ending_hash:
            return shard
    return None


def _next_index(stream: Any) -> int:
    return int(max(shard._shard_id for shard in stream.shards.values())) + 1


def check_split(stream: Any, shard_to_split: str, new_starting_hash_key: str) -> Any:
    """The shard SplitShard may split (else the error Kinesis answers)."""
    shard = stream.shards.get(shard_to_split)
    if shard is None:
        raise aws_error(
            "ResourceNotFoundException",
            f"Could not find shard {shard_to_split} in stream {stream.stream_name}.",
        )
    if not str(new_starting_hash_key).isdigit():
        raise invalid(f"NewStartingHashKey {new_starting_hash_key!r} is not a number")
    new_start = int(new_starting_hash_key)
    if not shard.starting_hash < new_start <= shard.ending_hash:
        raise invalid(
            f"NewStartingHashKey {new_start} used in SplitShard() on shard {shard_to_split} "
            f"in stream {stream.stream_name} is not within the shard's hash key range."
        )
    if not shard.is_open:
        raise invalid(
            f"Shard {shard.shard_id} in stream {stream.stream_name} has already been merged "
            "or split, and thus is not eligible for merging or splitting."
        )
    return shard


def _split_shard(self: Any, shard_to_split: str, new_starting_hash_key: str) -> None:
    """Close the parent (its records stay) and open two empty children."""
    from moto.kinesis.models import Shard

    shard = check_split(self, shard_to_split, new_starting_hash_key)
    new_start = int(new_starting_hash_key)
    index = _next_index(self)
    close_shard(shard)
    for offset, (start, end) in enumerate(
        ((shard.starting_hash, new_start - 1), (new_start, shard.ending_hash))
    ):
        child = Shard(index + offset, starting_hash=start, ending_hash=end, parent=shard.shard_id)
        child.records = OrderedDict()
        self.shards[child.shard_id] = child


def check_merge(stream: Any, shard_to_merge: str, adjacent_shard_to_merge: str) -> None:
    """Raise what Kinesis answers when the two shards may not be merged."""
    for shard_id in (shard_to_merge, adjacent_shard_to_merge):
        if shard_id not in stream.shards:
            raise aws_error(
                "ResourceNotFoundException",
                f"Could not find shard {shard_id} in stream {stream.stream_name}.",
            )
    first = stream.shards[shard_to_merge]
    second = stream.shards[adjacent_shard_to_merge]
    if not (first.is_open and second.is_open):
        raise invalid("Only open shards can be merged.")
    low, high = sorted((first, second), key=lambda s: s.starting_hash)
    if low.ending_hash + 1 != high.starting_hash:
        raise invalid(
            f"Shards {shard_to_merge} and {adjacent_shard_to_merge} in stream "
            f"{stream.stream_name} are not an adjacent pair of shards eligible for merging"
        )


def _merge_shards(self: Any, shard_to_merge: str, adjacent_shard_to_merge: str) -> None:
    """Close two adjacent open shards (records stay) and open one empty child."""
    from moto.kinesis.models import Shard

    check_merge(self, shard_to_merge, adjacent_shard_to_merge)
    first = self.shards[shard_to_merge]
    second = self.shards[adjacent_shard_to_merge]
    low, high = sorted((first, second), key=lambda s: s.starting_hash)
    index = _next_index(self)
    close_shard(first)
    close_shard(second)
    child = Shard(
        index,
        starting_hash=low.starting_hash,
        ending_hash=high.ending_hash,
        parent=first.shard_id,
        adjacent_parent=second.shard_id,
    )
    self.shards[child.shard_id] = child


# -- responses -------------------------------------------------------------------------------


def child_shards(stream: Any, shard_id: str) -> list[dict[str, Any]]:
    """The ``ChildShards`` entries of a closed shard (GetRecords and SubscribeToShard)."""
    children = []
    for shard in stream.shards.values():
        parents = [p for p in (shard.parent, shard.adjacent_parent) if p]
        if shard_id in parents:
            children.append(
                {
                    "ShardId": shard.shard_id,
                    "ParentShards": parents,
                    "HashKeyRange": {
                        "StartingHashKey": str(shard.starting_hash),
                        "EndingHashKey": str(shard.ending_hash),
                    },
                }
            )
    return children


def _get_records(self: Any) -> Any:
    """GetRecords; a closed shard read to its end answers with ChildShards and no iterator.

    ``MillisBehindLatest`` is at least 1 while the shard holds records after this page: AWS's
    "zero means caught up", which moto breaks when records arrive within one millisecond.
    """
    from moto.core.responses import ActionResult
    from moto.kinesis.utils import decompose_shard_iterator

    iterator, arn = self._get_param("ShardIterator"), self._get_param("StreamARN")
    next_iterator, records, behind = self.kinesis_backend.get_records(
        arn, iterator, self._get_param("Limit")
    )
    stream_name, shard_id, _ = decompose_shard_iterator(iterator)
    # moto writes the literal "None" as the name into iterators asked for by StreamARN.
    stream = self.kinesis_backend.describe_stream(
        arn, None if stream_name == "None" else stream_name
    )
    shard = stream.get_shard(shard_id)
    _, _, position = decompose_shard_iterator(next_iterator)
    remaining = shard.get_max_sequence_number() > int(position)
    answer: dict[str, Any] = {
        "Records": [record.to_json() for record in records],
        "MillisBehindLatest": max(int(behind), 1) if remaining else int(behind),
    }
    if not shard.is_open and not remaining:
        answer["ChildShards"] = child_shards(stream, shard_id)
    else:
        answer["NextShardIterator"] = next_iterator
    return ActionResult(answer)
