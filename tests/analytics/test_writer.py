"""The archive's writer: Hive layout, rolls by size and age, atomic files, what is durable."""

from __future__ import annotations

import os
import re
from datetime import datetime, timezone
from pathlib import Path

import pytest

from tests.analytics.archive_support import build, message_status, record
from twilio_es_cli.analytics import layout
from twilio_es_cli.analytics.engine import connect, open_archive
from twilio_es_cli.analytics.writer import ArchiveWriter, clean_leftovers, event_time
from twilio_es_cli.errors import TwilioEsError
from twilio_es_cli.tail.decode import decode


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _files(root: Path) -> list[str]:
    return sorted(
        str(p.relative_to(root).parent)
        for p in root.rglob("*.parquet")
        if ".archive" not in p.parts
    )


def test_hive_layout_by_type_and_utc_day(tmp_path: Path) -> None:
    root = tmp_path / "a"
    build(
        root,
        [
            record(message_status("sent", event_id="1", time="2026-01-31T23:59:59.999Z"), 1),
            record(message_status("sent", event_id="2", time="2026-02-01T00:00:00Z"), 2),
            record(message_status("failed", event_id="3", time="2026-02-01T00:30:00+01:00"), 3),
            record(b"garbage", 4),
        ],
    )
    assert _files(root) == [
        "not-cloudevents/date=2026-01-31",
        "type=com.twilio.messaging.message.failed/date=2026-01-31",
        "type=com.twilio.messaging.message.sent/date=2026-01-31",
        "type=com.twilio.messaging.message.sent/date=2026-02-01",
    ]
    names = [p.name for p in root.rglob("*.parquet")]
    assert all(n.startswith("part-") for n in names) and len(set(names)) == len(names)
    assert not list(root.rglob("*.tmp"))
    assert not list((root / ".archive" / "spool").iterdir())  # spools removed once written


def test_rolls_by_size_and_by_age(tmp_path: Path) -> None:
    clock = Clock()
    docs = [record(message_status("sent", event_id=f"E{n}"), n) for n in range(12)]
    probe = ArchiveWriter(tmp_path / "probe", connect())
    probe.add(docs[0], decode(docs[0].data))
    size = probe.buffered_bytes()  # one event's spool line (they are all as long)
    probe.discard()
    writer = ArchiveWriter(tmp_path, connect(), max_bytes=5 * size, max_age=60, clock=clock)
    for item in docs[:10]:  # a file every 5 events
        writer.add(item, decode(item.data))
    assert writer.stats.files == 2 and writer.pending() == 0
    for item in docs[10:]:
        writer.add(item, decode(item.data))
    assert writer.roll_due() == 0 and writer.pending() == 2  # young: stays in the spool
    clock.now += 60
    assert writer.roll_due() == 1
    assert writer.stats.files == 3 and writer.stats.events == 12
    con = open_archive(tmp_path)
    assert con.execute("SELECT count(*) FROM messages").fetchone() == (12,)


def test_too_many_open_partitions_roll_the_oldest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from twilio_es_cli.analytics import writer as module

    monkeypatch.setattr(module, "MAX_OPEN", 2)
    clock = Clock()
    writer = ArchiveWriter(tmp_path, connect(), clock=clock)
    for n, status in enumerate(["sent", "delivered", "failed"]):
        clock.now += 1
        item = record(message_status(status, event_id=f"E{n}"), n)
        writer.add(item, decode(item.data))
    assert writer.stats.files == 1 and writer.pending() == 2
    assert _files(tmp_path) == ["type=com.twilio.messaging.message.sent/date=2026-01-31"]


def test_oldest_pending_follows_the_files_out_of_order(tmp_path: Path) -> None:
    """Events are numbered as added; durable files need not come in that order (one file per
    type): the oldest event still waiting is what a checkpoint may not pass."""
    clock = Clock()
    writer = ArchiveWriter(tmp_path, connect(), max_age=60, clock=clock)
    assert writer.oldest_pending() is None
    sent = [record(message_status("sent", event_id=f"S{n}"), n) for n in range(2)]
    failed = record(message_status("failed", event_id="F"), 9)
    writer.add(sent[0], decode(sent[0].data))  # event 0: the "sent" partition, at 1000 s
    clock.now += 30
    writer.add(failed, decode(failed.data))  # event 1: the "failed" partition, at 1030 s
    writer.add(sent[1], decode(sent[1].data))  # event 2: "sent" again
    assert writer.oldest_pending() == 0
    clock.now += 30  # "sent" is 60 s old: rolled; "failed" (30 s) waits
    assert writer.roll_due() == 1
    assert writer.oldest_pending() == 1  # events 0 and 2 are durable, 1 is not
    writer.roll_all()
    assert writer.oldest_pending() is None and writer.added == 3


def test_a_failed_write_leaves_no_file_and_no_position(tmp_path: Path) -> None:
    root = tmp_path / "a"
    (root / "type=com.twilio.messaging.message.sent").mkdir(parents=True)
    (root / "type=com.twilio.messaging.message.sent" / "date=2026-01-31").write_text("a file")
    writer = ArchiveWriter(root, connect())
    item = record(message_status("sent", event_id="A"), 1)
    writer.add(item, decode(item.data))
    with pytest.raises(TwilioEsError, match=r"could not write .*date=2026-01-31"):
        writer.roll_all()
    assert writer.oldest_pending() == 0  # still waiting: a checkpoint may not pass it
    assert not list(root.rglob("*.parquet")) and not list(root.rglob("*.tmp"))


def test_leftovers_of_a_killed_writer_are_removed(tmp_path: Path) -> None:
    spool = tmp_path / ".archive" / "spool"
    spool.mkdir(parents=True)
    (spool / "123-1.jsonl").write_text("{}\n")
    folder = tmp_path / "type=t" / "date=2026-01-31"
    folder.mkdir(parents=True)
    (folder / ".part-x.parquet.tmp").write_text("half")
    (folder / "part-y.parquet").write_text("kept")
    assert clean_leftovers(tmp_path) == 2
    assert [p.name for p in folder.iterdir()] == ["part-y.parquet"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-01-31T10:15:00.123Z", ("2026-01-31T10:15:00.123Z", "2026-01-31")),
        ("2026-01-31T23:30:00-02:00", ("2026-02-01T01:30:00.000000Z", "2026-02-01")),
        ("2026-01-31 10:15:00", ("2026-01-31T10:15:00.000000Z", "2026-01-31")),
        ("2026-01-31T10:15:00.123456789Z", ("2026-01-31T10:15:00.123456Z", "2026-01-31")),
        ("2026-02-30T00:00:00Z", (None, None)),
        ("yesterday", (None, None)),
        (1234, (None, None)),
        (None, (None, None)),
    ],
)
def test_event_time(text: object, expected: tuple[str | None, str | None]) -> None:
    assert event_time(text) == expected


def test_partition_values_are_percent_encoded() -> None:
    assert layout.encode("com.twilio.messaging.message.sent") == "com.twilio.messaging.message.sent"
    assert layout.encode("a/b c") == "a%2Fb%20c"
    assert layout.encode("é") == "%C3%A9"
    assert layout.encode("") == "_"
    long = layout.encode("/" * 300)
    assert len(long) <= layout.MAX_VALUE
    assert re.fullmatch(r"(%[0-9A-F]{2})+~[0-9a-f]{16}", long)  # no escape cut in two
    assert layout.encode("/" * 300) != layout.encode("/" * 301)
    root = Path("/x")
    assert layout.partition(root, None, "2026-01-31") == Path("/x/not-cloudevents/date=2026-01-31")


def test_part_names_sort_by_time() -> None:
    early = layout.part_name(datetime(2026, 1, 31, 9, tzinfo=timezone.utc))
    late = layout.part_name(datetime(2026, 1, 31, 10, tzinfo=timezone.utc))
    assert early < late and early.endswith(".parquet")
    assert layout.hidden_temp(Path("/d") / early).name == f".{early}.tmp"


def test_new_folders_are_made_and_reported_outermost_first(tmp_path: Path) -> None:
    made = layout.ensure_dir(tmp_path / "a" / "b" / "c")
    assert made == [tmp_path / "a", tmp_path / "a" / "b", tmp_path / "a" / "b" / "c"]
    assert layout.ensure_dir(tmp_path / "a" / "b") == []
    assert os.path.isdir(tmp_path / "a" / "b" / "c")


def test_background_writer_counts_files_in_flight_as_not_durable(tmp_path: Path) -> None:
    clock = Clock()
    writer = ArchiveWriter(tmp_path, connect(), clock=clock, background=True)
    try:
        items = [record(message_status("sent", event_id=f"E{n}"), n) for n in range(3)]
        for item in items:
            writer.add(item, decode(item.data))
        assert writer.oldest_pending() == 0
        writer.roll_all()  # waits for the thread: every file is in place
        assert writer.oldest_pending() is None and writer.stats.files == 1
        assert open_archive(tmp_path).execute("SELECT count(*) FROM events").fetchone() == (3,)
    finally:
        writer.close()


def test_background_writer_failure_is_raised_in_the_callers_thread(tmp_path: Path) -> None:
    root = tmp_path / "a"
    (root / "type=com.twilio.messaging.message.sent").mkdir(parents=True)
    (root / "type=com.twilio.messaging.message.sent" / "date=2026-01-31").write_text("a file")
    writer = ArchiveWriter(root, connect(), background=True)
    try:
        item = record(message_status("sent", event_id="A"), 1)
        writer.add(item, decode(item.data))
        with pytest.raises(TwilioEsError, match="could not write"):
            writer.roll_all()
        with pytest.raises(TwilioEsError, match="could not write"):
            writer.oldest_pending()  # never "all durable" after a lost file
    finally:
        writer.close()


def test_all_buffers_together_stay_bounded(tmp_path: Path) -> None:
    """Many types at once: past twice max_bytes in all spools, the largest becomes a file."""
    statuses = ["sent", "delivered", "failed", "queued", "read", "undelivered"]
    items = [record(message_status(statuses[n % 6], event_id=f"E{n}"), n) for n in range(60)]
    probe = ArchiveWriter(tmp_path / "probe", connect())
    probe.add(items[0], decode(items[0].data))
    size = probe.buffered_bytes()
    probe.discard()
    writer = ArchiveWriter(tmp_path / "a", connect(), max_bytes=10 * size)
    for item in items:  # 10 per type: no type alone reaches max_bytes
        writer.add(item, decode(item.data))
        assert writer.buffered_bytes() < 2 * 10 * size + size
    assert writer.stats.files >= 2


def test_row_groups_are_bounded_in_bytes_not_only_in_rows(tmp_path: Path) -> None:
    """What DuckDB holds while it turns a spool into a file is about one row group: bounded in
    bytes, that memory is the same for a small spool and a full one (issue 24, "memory flat").
    3,000 events of ~3 KB (~9 MB of rows) are far fewer rows than ROW_GROUP, so without the
    byte bound the file would be one row group."""
    from twilio_es_cli.analytics.writer import ROW_GROUP, ROW_GROUP_BYTES

    items = []
    for n in range(3000):
        doc = message_status("sent", event_id=f"E{n}")
        body = f"{n:06d}" + "x" * 3000  # each its own: no dictionary makes them small
        doc["data"] = doc["data"][:-1] + f', "body": "{body}"}}'
        items.append(record(doc, n))
    root = tmp_path / "a"
    writer = build(root, items, max_bytes=64 * 1024 * 1024)
    assert writer.stats.files == 1 and len(items) < ROW_GROUP
    (path,) = root.rglob("part-*.parquet")
    con = connect()
    groups = con.execute(
        "SELECT row_group_id, any_value(row_group_num_rows), sum(total_uncompressed_size) "
        f"FROM parquet_metadata('{path}') GROUP BY row_group_id ORDER BY row_group_id"
    ).fetchall()
    assert len(groups) >= 2
    assert sum(rows for _, rows, _ in groups) == len(items)
    # DuckDB closes a group once it passes the bound: at most one more chunk of rows (2,048).
    assert all(size <= ROW_GROUP_BYTES + 2048 * 3200 for _, _, size in groups)
    assert con.execute(f"SELECT count(*) FROM '{path}' WHERE length(data) > 3000").fetchone() == (
        len(items),
    )
