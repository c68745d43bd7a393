"""The flow docs/analytics.md promises, against `twilio-es local up` as a user runs it: from a
running sandbox to a chart of delivery status per hour in three commands (quickstart, archive,
query); and `quickstart --local` ending with an answer from its sample events."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from tests.fixture_types import CliRunner, SubprocessRunner
from tests.sandbox_support import RunningSandbox


def test_from_local_up_to_a_chart_of_delivery_status_per_hour(
    sandbox: RunningSandbox, tmp_path: Path
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    made = sandbox.run("quickstart", cwd=work)  # 1
    assert made.exit_code == 0, made.stderr
    assert "sandbox: emitted 30 sample events" in made.stderr
    archived = sandbox.run("archive", "--no-follow", cwd=work)  # 2
    assert archived.exit_code == 0, archived.stderr
    assert "archived 31 events" in archived.stderr  # the samples and the validation's test event
    chart = sandbox.run("query", "delivery-status-per-hour", "--chart", cwd=work)  # 3
    assert chart.exit_code == 0, chart.stderr
    head, *rows = chart.stdout.splitlines()
    assert head.startswith("events by status at ") or head.startswith("events by status per hour")
    statuses = {row.split()[0] for row in rows if "total" in row or "█" in row}
    assert {"delivered", "undelivered"} <= statuses, chart.stdout
    counts = sandbox.run("query", "delivery-status", "--json", cwd=work)
    assert sum(row["messages"] for row in counts.json()) == 30
    second = sandbox.run("archive", "--no-follow", cwd=work)  # nothing new: nothing repeated
    assert "archived 0 events" in second.stderr, second.stderr


def test_quickstart_local_ends_with_an_answer_from_the_samples(
    cli_subprocess: SubprocessRunner, tmp_path: Path
) -> None:
    result = cli_subprocess("quickstart", "--local", "--out", str(tmp_path / "sink.json"))
    assert result.exit_code == 0, result.stderr
    lines = result.stderr.splitlines()
    start = next(
        i for i, line in enumerate(lines) if "asked `twilio-es query delivery-status`" in line
    )
    table = [line.split() for line in lines[start + 1 : start + 5]]
    assert table[0] == ["status", "messages"]
    assert sum(int(row[1]) for row in table[1:] if len(row) == 2 and row[1].isdigit()) == 5
    doc = cli_subprocess(
        "quickstart", "--local", "--json", "--out", str(tmp_path / "sink2.json")
    ).json()
    answer = doc["answer"]
    assert answer["query"] == "delivery-status"
    assert sum(row["messages"] for row in answer["rows"]) == 5


def test_quickstart_local_without_duckdb_says_how_to_get_it(
    cli: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "duckdb", None)  # as if the extra were not installed
    monkeypatch.setitem(sys.modules, "_duckdb", None)  # and its compiled engine
    result = cli("quickstart", "--local", "--json", "--out", str(tmp_path / "sink.json"))
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["answer"] is None
    assert "pip install 'twilio-es[analytics]'" in result.stderr
