"""The checkpoint file is trusted only as far as it deserves (issue 20 items 1 and 3).

- one tail per file: a second one is refused with the holder's pid (two would overwrite each
  other's position and a resume would skip events one of them never showed);
- a save that moves a shard back behind what another writer put in the file says so;
- what is read is a regular file of bounded size holding well-formed positions, checked
  against the shards the stream lists (a shard saved as ended that is open is read again).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.conftest import boto_client
from tests.fixture_types import CliRunner
from tests.tail.tail_support import create_stream, numbers_of, put_events
from twilio_es_cli.errors import UsageError
from twilio_es_cli.progress import Collect
from twilio_es_cli.tail.checkpoint import (
    MAX_BYTES,
    Checkpoint,
    CheckpointLock,
    lock_path,
)
from twilio_es_cli.tail.positions import SHARD_END, StartPosition

if TYPE_CHECKING:
    from mypy_boto3_kinesis import KinesisClient

STREAM = "guarded"


@pytest.fixture
def kinesis(aws_env: str) -> KinesisClient:
    client = boto_client("kinesis", aws_env)
    create_stream(client, STREAM, 1)
    return client


def _wait_for(condition: object, what: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if callable(condition) and condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"waited in vain for {what}")


def _one_error_line(stderr: str) -> str:
    errors = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "Traceback" not in stderr, stderr
    return errors[0]


# --- item 1: one tail per checkpoint ----------------------------------------------------------


def test_a_second_tail_on_one_checkpoint_is_refused_and_nothing_is_skipped(
    kinesis: KinesisClient, cli: CliRunner, tmp_path: Path
) -> None:
    state = tmp_path / "state.json"
    put_events(kinesis, STREAM, range(10))
    first = cli("tail", STREAM, "--checkpoint", str(state), "--from", "trim-horizon", "--max", "10")
    assert first.exit_code == 0, first.stderr
    # The idle tail of the issue: following, holding the file, nothing new to read yet.
    err = tmp_path / "idle.err"
    with open(tmp_path / "idle.out", "wb") as out, open(err, "wb") as errors:
        idle = subprocess.Popen(
            [sys.executable, "-m", "twilio_es_cli", "tail", STREAM, "--checkpoint", str(state)],
            stdout=out,
            stderr=errors,
            env=dict(os.environ),
        )
    try:
        # The pid is written once the lock is held (the file itself outlives each holder).
        _wait_for(lambda: lock_path(state).read_text().strip() == str(idle.pid), "its lock")
        put_events(kinesis, STREAM, range(10, 100))
        second = cli("tail", STREAM, "--checkpoint", str(state), "--no-follow", "-o", "jsonl")
        assert second.exit_code == 2
        line = _one_error_line(second.stderr)
        assert f"in use by another tail (pid {idle.pid})" in line
        assert second.stdout == ""
        shown = tmp_path / "idle.out"
        _wait_for(lambda: len(shown.read_text().splitlines()) == 90, "the idle tail's 90 events")
        idle.send_signal(signal.SIGTERM)
        assert idle.wait(60) == 0, err.read_text()
    finally:
        if idle.poll() is None:
            idle.kill()
            idle.wait(60)
    shown_by_idle = numbers_of((tmp_path / "idle.out").read_text().splitlines())
    resumed = cli("tail", STREAM, "--checkpoint", str(state), "--no-follow", "-o", "jsonl")
    assert resumed.exit_code == 0, resumed.stderr  # the lock went with the idle tail
    # Every one of the 90 new events is shown once, by one of the two runs on the file.
    assert sorted(shown_by_idle + numbers_of(resumed.stdout.splitlines())) == list(range(10, 100))


def test_the_lock_is_held_for_the_run_and_names_its_holder(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    held = CheckpointLock(state).acquire()
    try:
        with pytest.raises(UsageError, match=rf"in use by another tail \(pid {os.getpid()}\)"):
            CheckpointLock(state).acquire()
    finally:
        held.release()
    CheckpointLock(state).acquire().release()  # free again
    assert lock_path(state).stat().st_mode & 0o777 == 0o600


def test_a_save_that_moves_a_shard_back_says_so(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    cp = Checkpoint.open(path, "s", StartPosition.trim_horizon())
    cp.report = report = Collect()
    cp.shards.update({"shardId-0": "10"})
    cp.save()
    # Another writer that does not lock (an older twilio-es, a restored copy) moves it on.
    doc = json.loads(path.read_text())
    doc["shards"] = {"shardId-0": "100", "shardId-1": "5"}
    path.write_text(json.dumps(doc))
    cp.shards["shardId-0"] = "20"
    cp.save()
    assert len(report.warnings) == 1, report.warnings
    assert "moves 2 shard(s) back (shardId-0, shardId-1)" in report.warnings[0]
    assert json.loads(path.read_text())["shards"] == {"shardId-0": "20"}  # what this run showed
    cp.shards["shardId-0"] = "30"
    cp.save()  # nobody else wrote since: nothing to say
    assert len(report.warnings) == 1


# --- item 3: what is read is checked --------------------------------------------------------


def _special(kind: str, tmp_path: Path) -> Path:
    if kind == "fifo":
        path = tmp_path / "cp.fifo"
        os.mkfifo(path)
        return path
    if kind == "directory":
        return tmp_path
    if kind == "huge":
        path = tmp_path / "huge.json"
        with open(path, "wb") as handle:
            handle.truncate(MAX_BYTES + 1)
        return path
    return Path("/dev/zero")


@pytest.mark.parametrize(
    ("kind", "said"),
    [
        ("fifo", "is a FIFO (named pipe), not a regular file"),
        ("chardev", "is a character device, not a regular file"),
        ("directory", "is a directory, not a regular file"),
        ("huge", "is larger than 8 MiB"),
    ],
)
def test_what_is_not_a_checkpoint_file_is_refused_in_one_line(
    cli: CliRunner, tmp_path: Path, kind: str, said: str
) -> None:
    # No AWS configured: refused before any call. Before: the FIFO hung, /dev/zero ran out of
    # memory ("error: unexpected").
    result = cli("tail", STREAM, "--checkpoint", str(_special(kind, tmp_path)), "--no-follow")
    assert result.exit_code == 2
    assert said in _one_error_line(result.stderr)
    assert not Path("/dev/zero.lock").exists()


@pytest.mark.parametrize(
    ("shards", "said"),
    [
        ({"shardId-000000000000": "12x"}, "shard shardId-000000000000 is at '12x'"),
        ({"shardId-000000000000": 12}, "shard shardId-000000000000 is at 12"),
        ({"shardId-000000000000": "-12"}, "is at '-12', not a sequence number"),
        ({"shard id with spaces": "1"}, "'shard id with spaces' is not a shard id"),
        (["shardId-000000000000"], "'shards' is not an object"),
    ],
)
def test_malformed_positions_are_named(
    cli: CliRunner, tmp_path: Path, shards: object, said: str
) -> None:
    path = tmp_path / "cp.json"
    path.write_text(json.dumps({"version": 1, "stream": STREAM, "shards": shards}))
    result = cli("tail", STREAM, "--checkpoint", str(path), "--no-follow")
    assert result.exit_code == 2
    assert said in _one_error_line(result.stderr)


def test_a_shard_saved_as_ended_that_is_open_is_read_again(
    kinesis: KinesisClient, cli: CliRunner, tmp_path: Path
) -> None:
    state = tmp_path / "state.json"
    put_events(kinesis, STREAM, range(10))
    first = cli("tail", STREAM, "--checkpoint", str(state), "--from", "trim-horizon", "--no-follow")
    assert first.exit_code == 0, first.stderr
    doc = json.loads(state.read_text())
    (shard,) = doc["shards"]
    doc["shards"][shard] = SHARD_END  # open, but the file says ended (before: skipped forever)
    doc["shards"]["shardId-000000000099"] = "42"  # not a shard of this stream
    state.write_text(json.dumps(doc))
    put_events(kinesis, STREAM, range(10, 15))
    again = cli("tail", STREAM, "--checkpoint", str(state), "--no-follow", "-o", "jsonl")
    assert again.exit_code == 0, again.stderr
    assert sorted(numbers_of(again.stdout.splitlines())) == list(range(15))  # read again
    assert f"marks shard {shard} as ended, but the stream says it is open" in again.stderr
    assert "reading it again from trim-horizon" in again.stderr
    assert "names 1 shard(s) stream 'guarded' does not have (shardId-000000000099)" in (
        again.stderr
    )
    saved = json.loads(state.read_text())["shards"]
    assert list(saved) == [shard] and saved[shard] != SHARD_END
    quiet = cli("tail", STREAM, "--checkpoint", str(state), "--no-follow", "-o", "jsonl")
    assert quiet.stdout == "" and "warning" not in quiet.stderr  # repaired once, for good
