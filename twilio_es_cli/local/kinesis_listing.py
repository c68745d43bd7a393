"""ListShards in the sandbox the way the Kinesis API reference describes it.

moto 5.2 returns every shard whatever the ``ShardFilter``, wants the stream name beside
``NextToken`` and accepts ``NextToken`` with ``ExclusiveStartShardId``. Here (botocore's
``kinesis/2013-12-02/service-2.json``, ``ListShardsInput`` and ``ShardFilter``):

- ``NextToken`` comes alone: with ``StreamName``/``StreamARN``, ``ExclusiveStartShardId``,
  ``ShardFilter`` or ``StreamCreationTimestamp`` it is an ``InvalidArgumentException``; the token
  carries the stream, the place and the filter to the next page, and expires after 300 s
  (``ExpiredNextTokenException``);
- ``MaxResults`` 1-10000 (default 1000); above 1000, at most 1000 shards are returned;
- ``ShardFilter`` types: ``AFTER_SHARD_ID`` (needs ``ShardId``: the shards after it),
  ``AT_TRIM_HORIZON`` (the shards open at the trim horizon), ``FROM_TRIM_HORIZON`` (the
  default: every shard within the retention period), ``AT_LATEST`` (the open shards),
  ``AT_TIMESTAMP`` (needs ``Timestamp``: the shards open at that time) and ``FROM_TIMESTAMP``
  (needs ``Timestamp``: the open shards and the closed ones that ended at or after it, the time
  corrected to the trim horizon when older). ``ShardId`` and ``Timestamp`` "can only be used"
  with the types that take them; anything else is an ``InvalidArgumentException``;
- expired shards (closed before the trim horizon) are never listed.

The trim horizon is the later of "retention period ago" and the stream's first shard opening.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from datetime import datetime, timedelta, timezone
from typing import Any

from twilio_es_cli.local.kinesis_fix import aws_error, invalid, naive_utc, utcnow

DEFAULT_PAGE = 1000
MAX_RESULTS = 10000
TOKEN_SECONDS = 300.0
FILTER_TYPES = (
    "AFTER_SHARD_ID",
    "AT_TRIM_HORIZON",
    "FROM_TRIM_HORIZON",
    "AT_LATEST",
    "AT_TIMESTAMP",
    "FROM_TIMESTAMP",
)
_TIMED = ("AT_TIMESTAMP", "FROM_TIMESTAMP")


def list_shards(self: Any) -> Any:
    """KinesisResponse.list_shards, the AWS way (see the module docstring)."""
    from moto.core.responses import ActionResult

    limit = self._get_param("MaxResults")
    limit = DEFAULT_PAGE if limit is None else int(limit)
    if not 1 <= limit <= MAX_RESULTS:
        raise invalid(f"MaxResults must be between 1 and {MAX_RESULTS}")
    token = self._get_param("NextToken")
    if token:
        _token_alone(self)
        name, after, shard_filter = _decode_token(token)
        stream = self.kinesis_backend.describe_stream(None, name)
    else:
        shard_filter = _check_filter(self._get_param("ShardFilter"))
        after = self._get_param("ExclusiveStartShardId") or ""
        stream = self.kinesis_backend.describe_stream(
            self._get_param("StreamARN"), self._get_param("StreamName")
        )
    shards = [s for s in filtered(stream, shard_filter) if s.shard_id > after]
    page = shards[: min(limit, DEFAULT_PAGE)]
    answer: dict[str, Any] = {"Shards": [s.to_json() for s in page]}
    if len(shards) > len(page):
        answer["NextToken"] = _encode_token(stream.stream_name, page[-1].shard_id, shard_filter)
    return ActionResult(answer)


def _token_alone(self: Any) -> None:
    for name in (
        "StreamName",
        "StreamARN",
        "ExclusiveStartShardId",
        "ShardFilter",
        "StreamCreationTimestamp",
    ):
        if self._get_param(name):
            raise invalid(f"NextToken and {name} cannot be provided together.")


def _check_filter(shard_filter: dict[str, Any] | None) -> dict[str, Any] | None:
    """The filter as given, or the InvalidArgumentException AWS answers for it."""
    if not shard_filter:
        return None
    kind = shard_filter.get("Type")
    if kind not in FILTER_TYPES:
        raise invalid(f"ShardFilter type {kind!r} is not one of {', '.join(FILTER_TYPES)}")
    has_id = bool(shard_filter.get("ShardId"))
    has_time = shard_filter.get("Timestamp") is not None
    if kind == "AFTER_SHARD_ID" and not has_id:
        raise invalid("ShardFilter AFTER_SHARD_ID needs a ShardId")
    if kind in _TIMED and not has_time:
        raise invalid(f"ShardFilter {kind} needs a Timestamp")
    if has_id and kind != "AFTER_SHARD_ID":
        raise invalid(f"ShardFilter ShardId can only be used with AFTER_SHARD_ID, not {kind}")
    if has_time and kind not in _TIMED:
        raise invalid(
            f"ShardFilter Timestamp can only be used with AT_TIMESTAMP or FROM_TIMESTAMP, "
            f"not {kind}"
        )
    return shard_filter


def _opened(shard: Any) -> datetime:
    return getattr(shard, "opened_at", None) or datetime.min


def _closed(shard: Any) -> datetime | None:
    if shard.is_open:
        return None
    return getattr(shard, "closed_at", None) or datetime.min


def trim_horizon(stream: Any) -> datetime:
    """The oldest time a stream still holds: retention ago, or its first shard's opening."""
    retention = utcnow() - timedelta(hours=int(stream.retention_period_hours))
    first = min((_opened(s) for s in stream.shards.values()), default=retention)
    return max(retention, first)


def _open_at(shard: Any, when: datetime) -> bool:
    closed = _closed(shard)
    return _opened(shard) <= when and (closed is None or closed >= when)


def filtered(stream: Any, shard_filter: dict[str, Any] | None) -> list[Any]:
    """The stream's unexpired shards that ``shard_filter`` selects, in shard-id order."""
    horizon = trim_horizon(stream)
    shards = sorted(
        (s for s in stream.shards.values() if (_closed(s) or horizon) >= horizon),
        key=lambda s: s._shard_id,
    )
    kind = (shard_filter or {}).get("Type", "FROM_TRIM_HORIZON")
    if kind == "AT_LATEST":
        return [s for s in shards if s.is_open]
    if kind == "AFTER_SHARD_ID":
        after = str((shard_filter or {})["ShardId"])
        return [s for s in shards if s.shard_id > after]
    if kind == "AT_TRIM_HORIZON":
        return [s for s in shards if _open_at(s, horizon)]
    if kind in _TIMED:
        when = naive_utc(_as_datetime((shard_filter or {})["Timestamp"]))
        if kind == "AT_TIMESTAMP":
            return [s for s in shards if _open_at(s, when)]
        when = max(when, horizon)
        return [s for s in shards if s.is_open or (_closed(s) or when) >= when]
    return shards  # FROM_TRIM_HORIZON


def _as_datetime(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value
    return datetime.fromtimestamp(float(value), timezone.utc)


def _encode_token(stream: str, after: str, shard_filter: dict[str, Any] | None) -> str:
    kept = dict(shard_filter or {})
    if "Timestamp" in kept:
        kept["Timestamp"] = (
            naive_utc(_as_datetime(kept["Timestamp"])).replace(tzinfo=timezone.utc).timestamp()
        )
    raw = {"stream": stream, "after": after, "filter": kept or None, "issued": time.time()}
    return base64.urlsafe_b64encode(json.dumps(raw).encode()).decode()


def _decode_token(token: str) -> tuple[str, str, dict[str, Any] | None]:
    try:
        raw = json.loads(base64.urlsafe_b64decode(token.encode()))
        stream, after, issued = str(raw["stream"]), str(raw["after"]), float(raw["issued"])
        shard_filter = raw.get("filter")
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise invalid(f"NextToken {token[:40]!r} is not valid") from exc
    if time.time() - issued > TOKEN_SECONDS:
        raise aws_error(
            "ExpiredNextTokenException", "The NextToken has expired (tokens last 300 seconds)."
        )
    return stream, after, shard_filter if isinstance(shard_filter, dict) else None
