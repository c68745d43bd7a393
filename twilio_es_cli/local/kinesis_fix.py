"""Make the sandbox's moto Kinesis reshard the way Amazon Kinesis does.

moto (5.x) gets resharding wrong in ways a user of ``twilio-es local up`` meets at once: after
``stream scale`` it keeps routing writes to the closed parent shard (it looks a key up among
*all* shards), it moves a split parent's records into the children and copies merged parents'
records into the child (a reader sees them twice), a drained closed shard never ends (there is
always a ``NextShardIterator`` and never ``ChildShards``), and ``ListShards`` wants the stream
name beside ``NextToken`` where AWS refuses that combination.

Why correct moto instead of embedding another backend: the sandbox must stay a pure
``pip install '.[local]'`` (kinesis-local, which gets this right, needs Node), and moto already
serves IAM and STS from the same process, which the emulator's deliveries rely on. The fixes are
small replacements of a few moto methods, applied once per process by :func:`install` (the
sandbox calls it before starting moto's server; it changes every moto Kinesis backend in this
process, which only makes them more like AWS):

- writes go to the OPEN shard whose hash-key range holds the key (inclusive bounds);
- split and merge leave records where they were written; children start empty, with sequence
  numbers above their parents' (as in AWS, where they grow across the stream);
- ``GetRecords`` on a closed shard, once its last record has been read, answers without
  ``NextShardIterator`` and with ``ChildShards``;
- ``ListShards`` pages the AWS way: ``NextToken`` alone (with the stream it is an
  ``InvalidArgumentException``), ``MaxResults`` (default 1,000), ``ExclusiveStartShardId`` and
  ``ShardFilter``;
- one lock serialises Kinesis calls, so a put cannot land in a shard that a concurrent
  ``UpdateShardCount`` is closing after its readers have been told it is drained.
"""

from __future__ import annotations

import base64
import json
import threading
from collections import OrderedDict
from collections.abc import Callable
from functools import wraps
from typing import Any

_LOCK = threading.RLock()
_installed = False
DEFAULT_LIST_SHARDS_PAGE = 1000
MAX_LIST_SHARDS_PAGE = 10000
_HASH_LIMIT = 2**128 - 1


def install() -> None:
    """Patch moto's Kinesis models and responses in this process (idempotent)."""
    global _installed
    with _LOCK:
        if _installed:
            return
        from moto.kinesis import models, responses

        setattr(models.Shard, "put_record", _shard_put_record)  # noqa: B010 (patching)
        setattr(models.Stream, "get_shard_for_key", _get_shard_for_key)  # noqa: B010
        setattr(models.Stream, "split_shard", _split_shard)  # noqa: B010
        setattr(models.Stream, "merge_shards", _merge_shards)  # noqa: B010
        response = responses.KinesisResponse
        setattr(response, "get_records", _get_records)  # noqa: B010
        setattr(response, "list_shards", _list_shards)  # noqa: B010
        for name in (
            "put_record",
            "put_records",
            "update_shard_count",
            "split_shard",
            "merge_shards",
            "get_shard_iterator",
            "get_records",
            "list_shards",
            "describe_stream",
        ):
            setattr(response, name, _serialised(getattr(response, name)))
        _installed = True


def _serialised(method: Callable[..., Any]) -> Callable[..., Any]:
    @wraps(method)
    def call(self: Any) -> Any:
        with _LOCK:
            return method(self)

    return call


def _invalid(message: str) -> Exception:
    from moto.kinesis.exceptions import InvalidArgumentError

    return InvalidArgumentError(message)


# -- models ----------------------------------------------------------------------------------


def _shard_put_record(self: Any, partition_key: str, data: bytes, explicit_hash_key: str) -> str:
    """moto's Shard.put_record, numbering above the parents' last record (``seq_floor``)."""
    from moto.kinesis.models import Record

    floor = int(getattr(self, "seq_floor", 0))
    sequence_number = max(self.get_max_sequence_number(), floor) + 1
    self.records[sequence_number] = Record(partition_key, data, sequence_number, explicit_hash_key)
    return str(sequence_number)


def _get_shard_for_key(self: Any, partition_key: str, explicit_hash_key: str) -> Any:
    """The open shard whose (inclusive) hash-key range holds the key."""
    from moto.utilities.utils import md5_hash

    if not isinstance(partition_key, str) or not 1 <= len(partition_key) <= 256:
        raise _invalid("partition_key")
    if explicit_hash_key:
        key = int(explicit_hash_key)
        if not 0 <= key <= _HASH_LIMIT:
            raise _invalid("explicit_hash_key")
    else:
        key = int(md5_hash(partition_key.encode("utf-8")).hexdigest(), 16)
    for shard in self.shards.values():
        if shard.is_open and shard.starting_hash <= key <= shard.ending_hash:
            return shard
    return None


def _next_index(stream: Any) -> int:
    return int(max(shard._shard_id for shard in stream.shards.values())) + 1


def _floor(*parents: Any) -> int:
    return max(int(max(p.get_max_sequence_number(), getattr(p, "seq_floor", 0))) for p in parents)


def _split_shard(self: Any, shard_to_split: str, new_starting_hash_key: str) -> None:
    """Close the parent (its records stay) and open two empty children."""
    from moto.kinesis.models import Shard

    shard = self.get_shard(shard_to_split)
    new_start = int(new_starting_hash_key)
    if not shard.starting_hash < new_start <= shard.ending_hash:
        raise _invalid(
            f"NewStartingHashKey {new_start} used in SplitShard() on shard {shard_to_split} "
            f"in stream {self.stream_name} is not within the shard's hash key range."
        )
    if not shard.is_open:
        raise _invalid(
            f"Shard {shard.shard_id} in stream {self.stream_name} has already been merged "
            "or split, and thus is not eligible for merging or splitting."
        )
    index = _next_index(self)
    floor = _floor(shard)
    for offset, (start, end) in enumerate(
        ((shard.starting_hash, new_start - 1), (new_start, shard.ending_hash))
    ):
        child = Shard(index + offset, starting_hash=start, ending_hash=end, parent=shard.shard_id)
        setattr(child, "seq_floor", floor)  # noqa: B010 (moto's Shard has no such field)
        child.records = OrderedDict()
        self.shards[child.shard_id] = child
    shard.is_open = False


def _merge_shards(self: Any, shard_to_merge: str, adjacent_shard_to_merge: str) -> None:
    """Close two adjacent open shards (records stay) and open one empty child."""
    from moto.kinesis.models import Shard

    first = self.get_shard(shard_to_merge)
    second = self.get_shard(adjacent_shard_to_merge)
    if not (first.is_open and second.is_open):
        raise _invalid("Only open shards can be merged.")
    low, high = sorted((first, second), key=lambda s: s.starting_hash)
    if low.ending_hash + 1 != high.starting_hash:
        raise _invalid(
            f"Shards {shard_to_merge} and {adjacent_shard_to_merge} in stream "
            f"{self.stream_name} are not an adjacent pair of shards eligible for merging"
        )
    child = Shard(
        _next_index(self),
        starting_hash=low.starting_hash,
        ending_hash=high.ending_hash,
        parent=first.shard_id,
        adjacent_parent=second.shard_id,
    )
    setattr(child, "seq_floor", _floor(first, second))  # noqa: B010
    self.shards[child.shard_id] = child
    first.is_open = False
    second.is_open = False


# -- responses -------------------------------------------------------------------------------


def _child_shards(stream: Any, shard_id: str) -> list[dict[str, Any]]:
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
    """GetRecords; a closed shard read to its end answers with ChildShards and no iterator."""
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
    answer: dict[str, Any] = {
        "Records": [record.to_json() for record in records],
        "MillisBehindLatest": behind,
    }
    _, _, position = decompose_shard_iterator(next_iterator)
    if not shard.is_open and int(position) >= shard.get_max_sequence_number():
        answer["ChildShards"] = _child_shards(stream, shard_id)
    else:
        answer["NextShardIterator"] = next_iterator
    return ActionResult(answer)


def _encode_token(stream: str, after: str) -> str:
    raw = json.dumps({"stream": stream, "after": after}).encode()
    return base64.urlsafe_b64encode(raw).decode()


def _decode_token(token: str) -> tuple[str, str]:
    try:
        raw = json.loads(base64.urlsafe_b64decode(token.encode()))
        return str(raw["stream"]), str(raw["after"])
    except (ValueError, KeyError, TypeError) as exc:
        raise _invalid(f"NextToken {token!r} is not valid") from exc


def _filtered(stream: Any, shard_filter: dict[str, Any] | None) -> list[Any]:
    shards = sorted(stream.shards.values(), key=lambda s: s._shard_id)
    if not shard_filter:
        return shards
    kind = shard_filter.get("Type")
    if kind == "AT_LATEST":
        return [s for s in shards if s.is_open]
    if kind == "AFTER_SHARD_ID":
        after = str(shard_filter.get("ShardId", ""))
        return [s for s in shards if s.shard_id > after]
    if kind in ("AT_TRIM_HORIZON", "FROM_TRIM_HORIZON", "AT_TIMESTAMP", "FROM_TIMESTAMP"):
        return shards
    raise _invalid(f"ShardFilter type {kind!r} is not valid")


def _list_shards(self: Any) -> Any:
    """ListShards the AWS way (see the module docstring)."""
    from moto.core.responses import ActionResult

    name, arn = self._get_param("StreamName"), self._get_param("StreamARN")
    token = self._get_param("NextToken")
    limit = int(self._get_param("MaxResults") or DEFAULT_LIST_SHARDS_PAGE)
    if not 1 <= limit <= MAX_LIST_SHARDS_PAGE:
        raise _invalid(f"MaxResults must be 1-{MAX_LIST_SHARDS_PAGE}")
    after = self._get_param("ExclusiveStartShardId") or ""
    if token:
        if name or arn:
            raise _invalid("NextToken and StreamName cannot be provided together.")
        name, after = _decode_token(token)
    stream = self.kinesis_backend.describe_stream(arn, name)
    shards = [s for s in _filtered(stream, self._get_param("ShardFilter")) if s.shard_id > after]
    page = shards[:limit]
    answer: dict[str, Any] = {"Shards": [s.to_json() for s in page]}
    if len(shards) > limit:
        answer["NextToken"] = _encode_token(stream.stream_name, page[-1].shard_id)
    return ActionResult(answer)
