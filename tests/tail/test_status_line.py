"""The status line's text: short enough never to wrap, the worst shard when there are many."""

from __future__ import annotations

import io

from twilio_es_cli.tail.pipeline import TailSummary
from twilio_es_cli.tail.status_line import StatusLine, behind_text


def test_behind_text_names_few_shards_and_summarises_many() -> None:
    assert behind_text({"shardId-000000000001": 1200, "shardId-000000000000": 0}) == (
        "shard-0 0s, shard-1 1.2s"
    )
    many = {f"shardId-{n:012d}": n * 1000 for n in range(12)}
    assert behind_text(many) == "max 11.0s over 12 shards"


def test_status_line_is_cut_to_the_terminal_and_erased_once() -> None:
    err = io.StringIO()
    status = StatusLine(err, width=lambda: 40)
    summary = TailSummary(emitted=3, shards={"a", "b"}, behind={"shardId-000000000000": 0})
    status.started(summary)
    status.idle()
    drawn = err.getvalue()
    assert drawn.startswith("\r\x1b[Kwaiting ") and len(drawn) - len("\r\x1b[K") == 39
    assert drawn.endswith("…")
    status.idle()  # unchanged text: nothing written again
    assert err.getvalue() == drawn
    status.clear()
    status.clear()
    assert err.getvalue() == drawn + "\r\x1b[K"
