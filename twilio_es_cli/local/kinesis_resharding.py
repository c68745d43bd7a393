"""UpdateShardCount, SplitShard and MergeShards in the sandbox, with Kinesis's rules.

moto 5.2 accepts any target (1 -> 4 in one call, leaving 2 open shards while
DescribeStreamSummary says 4), reshards at once and never shows ``UPDATING``. The Kinesis API
reference (botocore's ``kinesis/2013-12-02/service-2.json``) says instead:

- UpdateShardCount: by default one cannot "scale up to more than double your current shard
  count", "scale down below half your current shard count", go above 10,000 shards, or "scale
  more than ten times per rolling 24-hour period per stream". The reference lists both
  ``InvalidArgumentException`` and ``LimitExceededException`` without saying which rule
  answers which; like kinesis-mock (LocalStack's engine) the shard-count rules answer
  ``InvalidArgumentException`` and the ten-a-day rule ``LimitExceededException``. Only
  PROVISIONED streams can be scaled (moto's ``ValidationException`` for on-demand ones).
- All three are asynchronous: "Kinesis Data Streams returns immediately and sets the status of
  the stream to UPDATING. After the update is complete, ... back to ACTIVE", and reads and
  writes go on meanwhile (to the old shards). A stream that is not ACTIVE refuses another
  reshard with ``ResourceInUseException``.

Here the request is checked at once, the stream turns ``UPDATING``, and the reshard itself
happens :attr:`~twilio_es_cli.local.kinesis_fix.Timing.updating` seconds later (at once when
that is 0), under the Kinesis lock, after which the stream is ``ACTIVE`` again.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from typing import Any

from twilio_es_cli.local import kinesis_fix
from twilio_es_cli.local.kinesis_fix import CHANGED, LOCK, aws_error, invalid

MAX_SHARDS = 10000
SCALINGS_PER_DAY = 10
DAY = 24 * 3600.0


def _stream(self: Any) -> Any:
    return self.kinesis_backend.describe_stream(
        self._get_param("StreamARN"), self._get_param("StreamName")
    )


def _require_active(stream: Any) -> None:
    if stream.status != "ACTIVE":
        raise aws_error(
            "ResourceInUseException",
            f"Stream {stream.stream_name} under account {stream.account_id} is in use "
            f"(status {stream.status}); it can be resharded only when ACTIVE.",
        )


def _open_count(stream: Any) -> int:
    return sum(1 for shard in stream.shards.values() if shard.is_open)


def check_target(stream: Any, target: int) -> int:
    """The open shard count now, or the error AWS answers for ``target``."""
    current = _open_count(stream)
    low, high = math.ceil(current / 2), min(current * 2, MAX_SHARDS)
    if target > current * 2:
        raise invalid(
            f"UpdateShardCount cannot scale stream {stream.stream_name} from {current} to "
            f"{target} shards: at most double the current open shard count ({high})."
        )
    if target < low:
        raise invalid(
            f"UpdateShardCount cannot scale stream {stream.stream_name} from {current} to "
            f"{target} shards: at least half the current open shard count ({low})."
        )
    if target > MAX_SHARDS:
        raise invalid(f"UpdateShardCount cannot scale a stream above {MAX_SHARDS} shards.")
    return current


def _charge_scaling(stream: Any) -> None:
    """Count one UpdateShardCount against the stream's ten per rolling 24 hours."""
    now = time.monotonic()
    recent = [t for t in getattr(stream, "scalings", ()) if now - t < DAY]
    if len(recent) >= SCALINGS_PER_DAY:
        raise aws_error(
            "LimitExceededException",
            f"Stream {stream.stream_name} was scaled {SCALINGS_PER_DAY} times in the last "
            "24 hours: UpdateShardCount is limited to ten calls per rolling 24-hour period.",
        )
    stream.scalings = [*recent, now]


def begin_update(stream: Any, apply: Callable[[], None]) -> None:
    """Mark ``stream`` UPDATING; ``apply`` the reshard after the configured time, then ACTIVE."""
    stream.status = "UPDATING"
    delay = kinesis_fix.timing().updating
    if delay <= 0:
        _finish(stream, apply)
        return
    timer = threading.Timer(delay, _finish, args=(stream, apply))
    timer.daemon = True
    timer.start()


def _finish(stream: Any, apply: Callable[[], None]) -> None:
    with LOCK:
        try:
            if stream.status == "UPDATING":
                apply()
        finally:
            stream.status = "ACTIVE"
            CHANGED.notify_all()


def update_shard_count(self: Any) -> Any:
    """KinesisResponse.update_shard_count with AWS's limits and the UPDATING state."""
    from moto.core.responses import ActionResult
    from moto.kinesis.exceptions import StreamCannotBeUpdatedError

    stream = _stream(self)
    target = int(self._get_param("TargetShardCount"))
    if stream.stream_mode.get("StreamMode", "") == "ON_DEMAND":
        raise StreamCannotBeUpdatedError(
            stream_name=stream.stream_name, account_id=stream.account_id
        )
    _require_active(stream)
    current = check_target(stream, target)
    _charge_scaling(stream)
    if target != current:
        begin_update(stream, lambda: stream.update_shard_count(target))
    return ActionResult(
        {
            "StreamName": stream.stream_name,
            "StreamARN": stream.arn,
            "CurrentShardCount": current,
            "TargetShardCount": target,
        }
    )


def split_shard(self: Any) -> Any:
    """KinesisResponse.split_shard: checked now, split once the UPDATING time is over."""
    from moto.core.responses import EmptyResult

    stream = _stream(self)
    shard_id = self._get_param("ShardToSplit")
    key = self._get_param("NewStartingHashKey")
    _require_active(stream)
    kinesis_fix.check_split(stream, shard_id, key)
    begin_update(stream, lambda: stream.split_shard(shard_id, key))
    return EmptyResult()


def merge_shards(self: Any) -> Any:
    """KinesisResponse.merge_shards: checked now, merged once the UPDATING time is over."""
    from moto.core.responses import EmptyResult

    stream = _stream(self)
    first = self._get_param("ShardToMerge")
    second = self._get_param("AdjacentShardToMerge")
    _require_active(stream)
    kinesis_fix.check_merge(stream, first, second)
    begin_update(stream, lambda: stream.merge_shards(first, second))
    return EmptyResult()


#: The KinesisResponse methods this module replaces (kinesis_fix.install sets them).
HANDLERS: dict[str, Callable[[Any], Any]] = {
    "update_shard_count": update_shard_count,
    "split_shard": split_shard,
    "merge_shards": merge_shards,
}
