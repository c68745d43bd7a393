"""``query --chart``: a bar chart or a time series drawn with block characters, or why not.

Which shape a result has decides the chart:

- **bar**: two columns, a label and a number (``status, messages``): one bar per row;
- **time series**: a time or date first, then numbers (``hour, sent, delivered``: a series
  per column), or one label and one number (``hour, status, events``: a series per label);
- anything else: :class:`NoChart` says which shapes chart and what the result had.

Drawn as plain text (the terminal's width, no colour), so it can be pasted into an issue;
labels from events pass through :func:`~twilio_es_cli.tail.render.visible` and cannot drive
the terminal. A single series is drawn eight rows high with eighth-blocks; several series get
one row each on a shared scale (so their sizes compare) with their total or peak beside them.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

BLOCKS = " ▁▂▃▄▅▆▇█"
BAR_EIGHTHS = " ▏▎▍▌▋▊▉█"
MAX_BARS = 40
MAX_FILLED = 2000  # time buckets filled in between points (beyond: points as they come)
MAX_SERIES = 12
HEIGHT = 8
LABEL_WIDTH = 28

_NUMERIC: tuple[str, ...] = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT")
_NUMERIC += ("UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT", "UHUGEINT")
_NUMERIC += ("FLOAT", "DOUBLE", "DECIMAL", "REAL")
_TEMPORAL = ("DATE", "TIMESTAMP")


class NoChart(Exception):
    """The result has no shape a chart can show; the message says which shapes do."""


def numeric(kind: str) -> bool:
    return kind.upper().startswith(_NUMERIC)


def temporal(kind: str) -> bool:
    return kind.upper().startswith(_TEMPORAL)


@dataclass
class Series:
    """One line of a time series: its points, then its values on the chart's time axis."""

    name: str
    points: dict[datetime, float] = field(default_factory=dict)
    values: list[float] = field(default_factory=list)

    def add(self, when: datetime, value: Any) -> None:
        self.points[when] = self.points.get(when, 0.0) + (_number(value) or 0.0)


def draw(columns: Sequence[tuple[str, str]], rows: Sequence[Sequence[Any]], width: int) -> str:
    """The chart of a result (its columns as (name, engine type) and its rows) as text."""
    if not rows:
        raise NoChart("the result has no rows")
    kinds = [kind for _, kind in columns]
    if len(columns) >= 2 and temporal(kinds[0]):
        return _time_series(columns, rows, width)
    if len(columns) == 2 and numeric(kinds[1]):
        return _bars(columns, rows, width)
    shape = ", ".join(f"{name} {kind}" for name, kind in columns)
    raise NoChart(
        "a chart needs (label, number) for bars, or (time, number, ...) or "
        f"(time, label, number) for a time series; this result is ({shape})"
    )


def _number(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float | Decimal):
        number = float(value)
        return number if math.isfinite(number) else None
    return None


def _label(value: Any, limit: int = LABEL_WIDTH) -> str:
    """A label that fits: Twilio's ``com.twilio.`` dropped, and a dotted name (an event
    type) cut at its start, where types share their words, rather than at its end."""
    from twilio_es_cli.safe_text import visible

    text = "NULL" if value is None else visible(str(value))
    if len(text) <= limit:
        return text
    text = text.removeprefix("com.twilio.")
    if len(text) <= limit:
        return text
    return "…" + text[-(limit - 1) :] if "." in text else text[: limit - 1] + "…"


def _amount(value: float) -> str:
    if value == int(value) and abs(value) < 1e15:
        return f"{int(value):,}"
    return f"{value:,.2f}" if abs(value) < 1e6 else f"{value:,.0f}"


def _bars(columns: Sequence[tuple[str, str]], rows: Sequence[Sequence[Any]], width: int) -> str:
    shown = rows[:MAX_BARS]
    labels = [_label(row[0], max(LABEL_WIDTH, width * 2 // 5)) for row in shown]
    values = [_number(row[1]) for row in shown]
    amounts = ["NULL" if v is None else _amount(v) for v in values]
    label_width = max(len(label) for label in labels)
    amount_width = max(len(a) for a in amounts)
    room = max(10, width - label_width - amount_width - 4)
    top = max((v for v in values if v is not None), default=0.0)
    lines = [f"{columns[1][0]} by {columns[0][0]}"]
    for label, value, amount in zip(labels, values, amounts, strict=True):
        bar = _bar(value or 0.0, top, room)
        lines.append(f"{label.ljust(label_width)}  {bar.ljust(room)}  {amount.rjust(amount_width)}")
    notes = []
    if len(rows) > MAX_BARS:
        notes.append(f"the first {MAX_BARS} of {len(rows)} rows")
    if any(v is not None and v < 0 for v in values):
        notes.append("negative values drawn as empty bars")
    if notes:
        lines.append("(" + "; ".join(notes) + ")")
    return "\n".join(lines)


def _bar(value: float, top: float, room: int) -> str:
    if value <= 0 or top <= 0:
        return ""
    eighths = max(1, round(value / top * room * 8))
    return "█" * (eighths // 8) + (BAR_EIGHTHS[eighths % 8] if eighths % 8 else "")


# --- time series ---------------------------------------------------------------------------


def _time_series(
    columns: Sequence[tuple[str, str]], rows: Sequence[Sequence[Any]], width: int
) -> str:
    kinds = [kind for _, kind in columns]
    rest = kinds[1:]
    wide = all(numeric(kind) for kind in rest)
    if wide:
        series = _wide(columns, rows)
        what = ", ".join(name for name, _ in columns[1:])
    elif len(rest) == 2 and numeric(rest[1]) and not numeric(rest[0]):
        series = _long(rows)
        what = f"{columns[2][0]} by {columns[1][0]}"
    else:
        shape = ", ".join(f"{name} {kind}" for name, kind in columns)
        raise NoChart(
            "a time series needs (time, number, ...) or (time, label, number); "
            f"this result is ({shape})"
        )
    times = sorted({when for item in series for when in item.points})
    if not times:
        raise NoChart("every row's time is NULL")
    axis = _axis(times)
    for item in series:
        item.values = [item.points.get(when, 0.0) for when in axis]
    notes: list[str] = []
    if len(series) > MAX_SERIES:
        series.sort(key=lambda s: -sum(s.values))
        notes.append(f"the {MAX_SERIES} largest of {len(series)} series")
        series = series[:MAX_SERIES]
    if len(axis) == 1:
        head = f"{what} at {_stamp(axis[0])} (UTC)"
    else:
        head = f"{what} per {_step_name(axis)}, {_stamp(axis[0])} to {_stamp(axis[-1])} (UTC)"
    if len(series) == 1:
        body = _tall(series[0], axis, width)
    else:
        body = _rows(series, axis, width, shared=not wide)
    if notes:
        body += "\n(" + "; ".join(notes) + ")"
    return f"{head}\n{body}"


def _moment(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value.replace(tzinfo=None) if value.tzinfo is None else value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    return None


def _wide(columns: Sequence[tuple[str, str]], rows: Sequence[Sequence[Any]]) -> list[Series]:
    """(time, number, number ...) rows: one series per number column."""
    series = [Series(name) for name, _ in columns[1:]]
    for row in rows:
        when = _moment(row[0])
        if when is not None:
            for index, item in enumerate(series, start=1):
                item.add(when, row[index])
    return series


def _long(rows: Sequence[Sequence[Any]]) -> list[Series]:
    """(time, label, number) rows: one series per label."""
    by_label: dict[str, Series] = {}
    for row in rows:
        when = _moment(row[0])
        if when is not None:
            label = _label(row[1])
            by_label.setdefault(label, Series(label)).add(when, row[2])
    return list(by_label.values())


_UNITS = (timedelta(days=1), timedelta(hours=1), timedelta(minutes=1), timedelta(seconds=1))


def _axis(times: list[datetime]) -> list[datetime]:
    """The time axis: every step from the first time to the last (the missing ones are
    zeros: an hour without events) when the times fall on a whole unit (as ``date_trunc``
    makes them) or are evenly spaced; else the times as they are."""
    steps = [b - a for a, b in itertools.pairwise(times)]
    if not steps:
        return times
    step = min(steps)
    origin = times[0].replace(hour=0, minute=0, second=0, microsecond=0)
    for unit in _UNITS:
        if unit <= step and all((t - origin) % unit == timedelta(0) for t in times):
            step = unit
            break
    count = (times[-1] - times[0]) // step + 1
    if count > MAX_FILLED or any((t - times[0]) % step for t in times):
        return times
    return [times[0] + step * i for i in range(count)]


def _step_name(axis: list[datetime]) -> str:
    if len(axis) < 2:
        return "point"
    step = axis[1] - axis[0]
    names = {
        timedelta(minutes=1): "minute",
        timedelta(hours=1): "hour",
        timedelta(days=1): "day",
        timedelta(weeks=1): "week",
    }
    return names.get(step, "point")


def _stamp(when: datetime) -> str:
    if when.hour == when.minute == when.second == 0:
        return when.strftime("%Y-%m-%d")
    return when.strftime("%Y-%m-%d %H:%M")


def _fit(values: list[float], room: int) -> tuple[list[float], int]:
    """At most ``room`` columns: consecutive buckets merged (summed when every value is a
    whole number, as counts are; averaged otherwise, as rates are). Returns the merge size."""
    if len(values) <= room:
        return values, 1
    size = math.ceil(len(values) / room)
    whole = all(v == int(v) for v in values)
    merged = []
    for start in range(0, len(values), size):
        chunk = values[start : start + size]
        merged.append(sum(chunk) if whole else sum(chunk) / len(chunk))
    return merged, size


def _tall(item: Series, axis: list[datetime], width: int) -> str:
    widest = _amount(max(sum(item.values), max(item.values, default=0.0)))
    gutter = len(widest) + 1  # room for the peak of merged columns too
    values, size = _fit(item.values, max(10, width - gutter - 1))
    top = max(values) if values else 0.0
    top_label = _amount(top)
    lines = []
    for level in range(HEIGHT, 0, -1):
        cells = []
        for value in values:
            eighths = 0 if top <= 0 or value <= 0 else max(1, round(value / top * HEIGHT * 8))
            filled = eighths - (level - 1) * 8
            cells.append("█" if filled >= 8 else (BLOCKS[filled] if filled > 0 else " "))
        label = top_label if level == HEIGHT else ("0" if level == 1 else "")
        lines.append(f"{label.rjust(gutter - 1)} {''.join(cells)}")
    first, last = _stamp(axis[0]), _stamp(axis[-1])
    span = len(values)
    ruler = first + (last.rjust(span - len(first)) if span > len(first) + len(last) else "")
    lines.append(" " * gutter + ruler)
    merged = f"; each column {size} buckets" if size > 1 else ""
    lines.append(f"{item.name}: {_side(item.values)}, peak {top_label}{merged}")
    return "\n".join(lines)


def _rows(series: list[Series], axis: list[datetime], width: int, *, shared: bool) -> str:
    """One row per series. ``shared``: one scale for all (the same measure split by a label,
    so sizes compare); otherwise each row its own (columns of different units, such as a
    count and a percentage). Beside each row its total when it counts, else its peak."""
    label_width = min(max(LABEL_WIDTH, width // 3), max(len(s.name) for s in series))
    sides = [_side(s.values) for s in series]
    side_width = max(len(side) for side in sides)
    room = max(10, width - label_width - side_width - 4)
    fitted = [_fit(s.values, room) for s in series]
    top = max((max(values) for values, _ in fitted if values), default=0.0)
    lines = []
    for item, (values, _), side in zip(series, fitted, sides, strict=True):
        scale = top if shared else max(values, default=0.0)
        spark = "".join(_spark(v, scale) for v in values)
        name = _label(item.name, label_width)
        lines.append(f"{name.ljust(label_width)}  {spark.ljust(room)}  {side.rjust(side_width)}")
    span = len(fitted[0][0]) if fitted else 0
    first, last = _stamp(axis[0]), _stamp(axis[-1])
    ruler = first + (last.rjust(span - len(first)) if span > len(first) + len(last) else "")
    lines.append(" " * (label_width + 2) + ruler)
    size = fitted[0][1] if fitted else 1
    merged = f", each column {size} buckets" if size > 1 else ""
    scale_note = f"one scale for all rows, peak {_amount(top)}" if shared else "each row to scale"
    lines.append(f"({scale_note}{merged})")
    return "\n".join(lines)


def _side(values: list[float]) -> str:
    if all(v == int(v) for v in values):
        return f"total {_amount(sum(values))}"
    return f"peak {_amount(max(values, default=0.0))}"


def _spark(value: float, top: float) -> str:
    if value <= 0 or top <= 0:
        return " "
    return BLOCKS[max(1, min(8, round(value / top * 8)))]
