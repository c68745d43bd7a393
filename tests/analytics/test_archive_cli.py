"""`twilio-es archive` as a user runs it against moto's Kinesis: files, checkpoint, errors."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.analytics.test_lock import _holder
from tests.conftest import boto_client
from tests.fixture_types import CliRunner
from tests.tail.tail_support import CALL, create_stream, event, put, put_events


def test_archive_then_query_then_resume(aws_env: str, cli: CliRunner, tmp_path: Path) -> None:
    kinesis = boto_client("kinesis", aws_env)
    create_stream(kinesis, "arch-events", 2)
    put_events(kinesis, "arch-events", range(40))
    put(kinesis, "arch-events", [(event(40, type_=CALL), "k1"), (b"not an event", "k2")])
    root = tmp_path / "twilio-events"
    first = cli(
        "archive", "arch-events", "--dir", str(root), "--from", "trim-horizon", "--no-follow"
    )
    assert first.exit_code == 0, first.stderr
    assert "archived 42 events into 3 files" in first.stderr
    assert "1 record(s) were not CloudEvents" in first.stderr
    folders = sorted(str(p.parent.relative_to(root)) for p in root.rglob("part-*.parquet"))
    assert folders == [
        "not-cloudevents/date=" + folders[0].rsplit("=", 1)[1],
        "type=com.twilio.messaging.message.delivered/date=2026-01-01",
        "type=com.twilio.voice.status-callback.call.completed/date=2026-01-01",
    ]
    counted = cli("query", "SELECT count(*) AS n FROM events", "--dir", str(root), "--json")
    assert counted.json() == [{"n": 41}]
    put_events(kinesis, "arch-events", range(100, 105))
    again = cli("archive", "arch-events", "--dir", str(root), "--no-follow")  # the checkpoint
    assert again.exit_code == 0, again.stderr
    assert "archived 5 events into 1 file" in again.stderr
    assert (root / ".archive" / "checkpoint.json").stat().st_mode & 0o777 == 0o600


def test_second_archiver_gets_one_line(aws_env: str, cli: CliRunner, tmp_path: Path) -> None:
    create_stream(boto_client("kinesis", aws_env), "arch-lock", 1)
    root = tmp_path / "twilio-events"
    (root / ".archive").mkdir(parents=True)
    holder = _holder(root / ".archive" / "lock")
    try:
        result = cli("archive", "arch-lock", "--dir", str(root), "--no-follow")
    finally:
        holder.kill()
        holder.wait(10)
    assert result.exit_code == 1
    first = result.stderr.splitlines()[0]
    assert first.startswith(f"error: {root} is being archived by process {holder.pid} (since ")
    assert first.endswith(f"(lock {root / '.archive' / 'lock'})")
    assert len(result.stderr.splitlines()) == 2 and "Archiving" not in result.stderr


@pytest.mark.parametrize(
    ("args", "code", "says"),
    [
        (("--buffer-size", "0"), 2, "--buffer-size must be more than 0"),
        (("--buffer-size", "500"), 2, "at most 128 MB"),
        (("--buffer-interval", "-1"), 2, "--buffer-interval must be 0 to 900"),
        (("--from", "tomorrow"), 2, "is not latest, trim-horizon or an ISO 8601 time"),
        (("--since", "1d", "--from", "latest"), 2, "--from and --since cannot be combined"),
    ],
)
def test_usage_errors(
    aws_env: str, cli: CliRunner, tmp_path: Path, args: tuple[str, ...], code: int, says: str
) -> None:
    result = cli("archive", "arch-usage", "--dir", str(tmp_path / "d"), *args)
    assert result.exit_code == code, result.stderr
    assert says in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "d").exists()  # refused before anything was made


def test_dir_that_is_a_file_or_another_streams(
    aws_env: str, cli: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    kinesis = boto_client("kinesis", aws_env)
    create_stream(kinesis, "arch-one", 1)
    create_stream(kinesis, "arch-two", 1)
    a_file = tmp_path / "file"
    a_file.write_text("x")
    assert cli("archive", "arch-one", "--dir", str(a_file), "--no-follow").exit_code == 2
    monkeypatch.chdir(tmp_path)  # were it taken as a folder, it would be made here
    empty = cli("archive", "arch-one", "--dir", "", "--no-follow")  # not the current folder
    assert empty.exit_code == 2 and empty.stderr.startswith("error: --dir is empty"), empty.stderr
    root = tmp_path / "d"
    assert cli("archive", "arch-one", "--dir", str(root), "--no-follow").exit_code == 0
    other = cli("archive", "arch-two", "--dir", str(root), "--no-follow")
    assert other.exit_code == 2 and "belongs to stream 'arch-one'" in other.stderr


def test_missing_stream_is_exit_4_and_leaves_no_folder(
    aws_env: str, cli: CliRunner, tmp_path: Path
) -> None:
    """A mistyped name makes nothing: a folder holding a checkpoint of a stream that does not
    exist would refuse the right name afterwards ("belongs to stream 'no-such-stream'")."""
    root = tmp_path / "d"
    result = cli("archive", "no-such-stream", "--dir", str(root), "--no-follow")
    assert result.exit_code == 4, result.stderr
    assert "Kinesis stream 'no-such-stream' was not found" in result.stderr
    assert not root.exists()
    create_stream(boto_client("kinesis", aws_env), "arch-typo", 1)
    assert cli("archive", "arch-typo", "--dir", str(root), "--no-follow").exit_code == 0


def test_without_duckdb(
    aws_env: str, cli: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "duckdb", None)  # as if the extra were not installed
    monkeypatch.setitem(sys.modules, "_duckdb", None)  # and its compiled engine
    result = cli("archive", "arch-x", "--dir", str(tmp_path / "d"), "--no-follow")
    assert result.exit_code == 3
    assert "pip install 'twilio-es[analytics]'" in result.stderr
