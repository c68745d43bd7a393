"""`query --chart`'s drawing: which shapes chart, and what each chart shows."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from twilio_es_cli.analytics.chart import NoChart, draw

HOUR = datetime(2026, 1, 31, 8)


def test_bars_scale_to_the_largest_and_show_values() -> None:
    text = draw(
        [("status", "VARCHAR"), ("messages", "BIGINT")], [("delivered", 80), ("failed", 20)], 60
    )
    head, delivered, failed = text.splitlines()
    assert head == "messages by status"
    assert delivered.endswith("80") and failed.endswith("20")
    assert (
        delivered.count("█") == 4 * failed.count("█")
        or abs(delivered.count("█") - 4 * failed.count("█")) <= 4
    )
    assert len(delivered) <= 60


def test_bars_are_capped_and_say_so() -> None:
    rows = [(f"label{n}", n) for n in range(50)]
    lines = draw([("l", "VARCHAR"), ("n", "INTEGER")], rows, 80).splitlines()
    assert len(lines) == 1 + 40 + 1 and lines[-1] == "(the first 40 of 50 rows)"


def test_time_series_fills_missing_hours_with_zero() -> None:
    rows = [(HOUR, 4), (HOUR + timedelta(hours=3), 8)]
    text = draw([("hour", "TIMESTAMP"), ("events", "BIGINT")], rows, 60)
    lines = text.splitlines()
    assert lines[0] == "events per hour, 2026-01-31 08:00 to 2026-01-31 11:00 (UTC)"
    assert lines[1].split() == ["8", "█"]  # the peak's row: only 11:00 reaches it
    assert lines[1].endswith("8    █")
    assert lines[8].endswith("0 █  █")  # the bottom row: 09:00 and 10:00 are zero, not left out
    assert lines[-1] == "events: total 12, peak 8"


def test_long_format_is_one_row_per_label_on_one_scale() -> None:
    rows = [
        (HOUR, "delivered", 10),
        (HOUR, "failed", 1),
        (HOUR + timedelta(hours=1), "delivered", 5),
    ]
    text = draw([("hour", "TIMESTAMP"), ("status", "VARCHAR"), ("events", "BIGINT")], rows, 60)
    lines = text.splitlines()
    assert lines[0].startswith("events by status per hour")
    delivered = next(line for line in lines if line.startswith("delivered"))
    failed = next(line for line in lines if line.startswith("failed"))
    assert "█▄" in delivered and delivered.endswith("total 15")
    assert "▁" in failed and failed.endswith("total 1")
    assert lines[-1] == "(one scale for all rows, peak 10)"


def test_wide_format_gives_each_column_its_own_scale_and_peak() -> None:
    rows = [(date(2026, 1, d), 100 * d, 50.0 + d / 2) for d in (1, 2)]
    text = draw([("day", "DATE"), ("finished", "BIGINT"), ("pct", "DOUBLE")], rows, 60)
    lines = text.splitlines()
    assert lines[0] == "finished, pct per day, 2026-01-01 to 2026-01-02 (UTC)"
    assert next(line for line in lines if line.startswith("pct")).endswith("peak 51")
    assert lines[-1] == "(each row to scale)"


def test_long_series_are_merged_to_fit_the_width() -> None:
    rows = [(HOUR + timedelta(hours=h), 1) for h in range(300)]
    text = draw([("hour", "TIMESTAMP"), ("events", "BIGINT")], rows, 80)
    assert all(len(line) <= 80 for line in text.splitlines())
    last = text.splitlines()[-1]
    assert last.startswith("events: total 300, peak 4; each column 4 buckets"), last


@pytest.mark.parametrize(
    ("columns", "rows", "says"),
    [
        ([("a", "VARCHAR"), ("b", "VARCHAR")], [("x", "y")], "(a VARCHAR, b VARCHAR)"),
        ([("a", "VARCHAR")], [("x",)], "(a VARCHAR)"),
        ([("t", "TIMESTAMP"), ("a", "VARCHAR")], [(HOUR, "x")], "a time series needs"),
        ([("s", "VARCHAR"), ("n", "BIGINT")], [], "no rows"),
        ([("t", "TIMESTAMP"), ("n", "BIGINT")], [(None, 1)], "time is NULL"),
    ],
)
def test_no_chart(
    columns: list[tuple[str, str]], rows: list[tuple[object, ...]], says: str
) -> None:
    with pytest.raises(NoChart, match=says.replace("(", r"\(").replace(")", r"\)")):
        draw(columns, rows, 80)


def test_labels_from_events_are_escaped_and_types_keep_their_end() -> None:
    rows = [("\x1b[2Jevil", 1), ("com.twilio.messaging.message.undelivered-and-more-words", 2)]
    text = draw([("label", "VARCHAR"), ("n", "BIGINT")], rows, 50)
    assert "\x1b" not in text and "\\x1b[2Jevil" in text
    assert "undelivered-and-more-words" in text and "com.twilio." not in text
