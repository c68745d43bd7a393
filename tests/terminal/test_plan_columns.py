"""How the one renderer chooses columns for a terminal width (pure; the screens are in
test_layout.py)."""

from __future__ import annotations

from twilio_es_cli.output import Column, plan_columns


def test_list_layout_when_identifiers_alone_do_not_fit() -> None:
    columns = [Column("SID", identifier=True), Column("TARGET", identifier=True)]
    cells = [["DG" + "a" * 32, "arn:aws:kinesis:us-east-1:000000000000:stream/twilio-events"]]
    assert plan_columns(columns, cells, 80) is None
    assert plan_columns(columns, cells, 120) == [(0, 34), (1, 59)]


def test_droppable_columns_go_lowest_priority_first() -> None:
    columns = [
        Column("SID", identifier=True),
        Column("NOTE", priority=1),
        Column("TARGET", identifier=True, priority=2),
    ]
    cells = [["DG" + "a" * 32, "a long description " * 3, "https://example.com/" + "x" * 30]]
    plan = plan_columns(columns, cells, 80)
    assert plan is not None
    assert [index for index, _ in plan] == [0, 1]
    assert sum(width for _, width in plan) + 3 * len(plan) + 1 <= 80
