"""The record a stream reader hands out: :class:`KinesisRecord`, and how answers become them.

Every part of ``tail`` meets this type: the shard readers build it (from a GetRecords answer or
a SubscribeToShard event, which carry the same ``Records``), the pipeline decodes it, the
sinks (renderers, ``--forward-to``, ``--stats``) and ``sink validate`` read it. Pure and light:
stdlib only.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class KinesisRecord:
    """One record as read from a shard (``data`` already base64-decoded by boto3)."""

    shard_id: str
    sequence_number: str
    partition_key: str
    arrival: datetime  # ApproximateArrivalTimestamp
    data: bytes
    subsequence: int | None = None  # index of a user record inside a KPL-aggregated record


def records_of(shard_id: str, raw: Sequence[Mapping[str, Any]]) -> list[KinesisRecord]:
    """Our records from a GetRecords or SubscribeToShard answer's ``Records`` (same shape).

    Built by :func:`_new_record`: a frozen dataclass's ``__init__`` sets each field through
    ``object.__setattr__``, about 2 us per record, as much as parsing the record's JSON.
    """
    new = _new_record
    return [
        new(
            shard_id,
            r["SequenceNumber"],
            r.get("PartitionKey", ""),
            r["ApproximateArrivalTimestamp"],
            r["Data"],
        )
        for r in raw
    ]


def _record_maker() -> Callable[[str, str, str, datetime, bytes], KinesisRecord]:
    """``KinesisRecord(shard, seq, key, arrival, data)``, equal and as frozen, 4x cheaper.

    The slots' own descriptors store the fields, as the generated ``__init__`` would through
    ``object.__setattr__``; the record is handed out only once every field is set, and stays
    frozen (assigning to it raises as ever). Falls back to the class itself if its fields
    ever change (tests/tail/test_getrecords_parser.py compares the two).
    """
    new = object.__new__
    cls = KinesisRecord
    names = ("shard_id", "sequence_number", "partition_key", "arrival", "data", "subsequence")
    if tuple(f.name for f in dataclasses.fields(cls)) != names:  # a field added or moved
        return cls
    setters: list[Any] = [vars(cls)[name].__set__ for name in names]  # the slot descriptors
    shard, seq, key, arrival, data, sub = setters

    def make(s: str, q: str, k: str, a: datetime, d: bytes) -> KinesisRecord:
        record = new(cls)
        shard(record, s)
        seq(record, q)
        key(record, k)
        arrival(record, a)
        data(record, d)
        sub(record, None)
        return record

    return make


_new_record = _record_maker()
