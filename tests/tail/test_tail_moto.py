"""`twilio-es tail` against moto's server over HTTP: reading, start positions, output, filters."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.conftest import Terminal, boto_client, run_on_terminal
from tests.fixture_types import CliRunner
from tests.tail.tail_support import (
    CALL,
    DELIVERED,
    SENT,
    CallCounter,
    create_stream,
    event,
    numbers_of,
    put,
    put_events,
    reader_client,
)

if TYPE_CHECKING:
    from mypy_boto3_kinesis import KinesisClient

    from twilio_es_cli.tail.positions import PositionKind, StartPosition

STREAM = "twilio-events"


@pytest.fixture
def kinesis(aws_env: str) -> KinesisClient:
    client = boto_client("kinesis", aws_env)
    create_stream(client, STREAM, 4)
    return client


def _tail(cli: CliRunner, *args: str) -> Any:
    return cli("tail", STREAM, "--from", "trim-horizon", "--no-follow", *args)


def test_reader_reads_every_record_once_in_order_per_shard(kinesis: KinesisClient) -> None:
    from twilio_es_cli.tail.positions import StartPosition
    from twilio_es_cli.tail.reader import read_stream

    put_events(kinesis, STREAM, range(1200), keys=37)
    records = list(read_stream(reader_client(), STREAM, StartPosition.trim_horizon(), follow=False))
    numbers = [json.loads(json.loads(r.data)["data"])["n"] for r in records]
    assert sorted(numbers) == list(range(1200))
    assert len({r.shard_id for r in records}) == 4  # the keys really spread over all shards
    by_shard: dict[str, list[int]] = defaultdict(list)
    by_key: dict[str, list[int]] = defaultdict(list)
    for record, n in zip(records, numbers, strict=True):
        by_shard[record.shard_id].append(int(record.sequence_number))
        by_key[record.partition_key].append(n)
    assert all(seqs == sorted(seqs) for seqs in by_shard.values())
    assert all(ns == sorted(ns) for ns in by_key.values())


def test_cli_jsonl_envelope_has_event_and_kinesis_metadata(
    kinesis: KinesisClient, cli: CliRunner
) -> None:
    put_events(kinesis, STREAM, range(300))
    result = _tail(cli, "--output", "jsonl")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert sorted(numbers_of(lines)) == list(range(300))
    first = json.loads(lines[0])
    assert first["type"] == DELIVERED
    assert first["specversion"] == "1.0"
    assert first["data"]["to"] == "+15551234567"  # data arrived as a JSON string: parsed
    meta = first["kinesis"]
    assert meta["shard_id"].startswith("shardId-")
    assert meta["partition_key"] == f"k{first['data']['n'] % 16}"
    assert meta["sequence_number"].isdigit()
    assert meta["arrival"].endswith("Z")
    assert "300 events from 4 shards" in result.stderr


def test_data_as_object_and_nested_json_expansion(kinesis: KinesisClient, cli: CliRunner) -> None:
    nested = {"attributes": json.dumps({"skills": ["en"], "inner": json.dumps({"x": 1})})}
    put(kinesis, STREAM, [(event(1, data_as_string=False, extra=nested), "k")])
    plain = json.loads(_tail(cli, "-o", "jsonl").stdout)
    assert plain["data"]["n"] == 1
    assert isinstance(plain["data"]["attributes"], str)
    expanded = json.loads(_tail(cli, "-o", "jsonl", "--expand-json").stdout)
    assert expanded["data"]["attributes"] == {"skills": ["en"], "inner": {"x": 1}}


def test_stream_tail_by_arn_and_from_sink_config(
    kinesis: KinesisClient, cli: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    put_events(kinesis, STREAM, range(40))
    arn = kinesis.describe_stream_summary(StreamName=STREAM)["StreamDescriptionSummary"][
        "StreamARN"
    ]
    by_arn = cli("stream", "tail", arn, "--from", "trim-horizon", "--no-follow", "-o", "jsonl")
    assert by_arn.exit_code == 0, by_arn.stderr
    assert sorted(numbers_of(by_arn.stdout.splitlines())) == list(range(40))

    monkeypatch.chdir(tmp_path)
    missing = cli("tail", "--no-follow")
    assert missing.exit_code == 2
    assert "twilio-sink.json" in missing.stderr
    config = {"arn": arn, "role_arn": "arn:aws:iam::123456789012:role/x", "external_id": "e"}
    (tmp_path / "twilio-sink.json").write_text(json.dumps(config))
    default = cli("tail", "--from", "trim-horizon", "--no-follow", "-o", "jsonl")
    assert default.exit_code == 0, default.stderr
    assert sorted(numbers_of(default.stdout.splitlines())) == list(range(40))
    other = tmp_path / "other.json"
    other.write_text(json.dumps(config))
    explicit = cli("tail", "--sink-config", str(other), "--from", "trim-horizon", "--no-follow")
    assert len(explicit.stdout.splitlines()) == 40


def test_latest_reads_only_events_written_after_start(kinesis: KinesisClient) -> None:
    from twilio_es_cli.tail.options import TailOptions
    from twilio_es_cli.tail.pipeline import run_tail

    put_events(kinesis, STREAM, range(100))  # history that LATEST must not show
    client = reader_client()
    opened = CallCounter(client, "GetShardIterator")
    out = _Lines()
    options = TailOptions(start=_start("LATEST"), max_events=50, timeout=60, output="jsonl")
    thread = threading.Thread(target=run_tail, args=(client, STREAM, options), kwargs={"out": out})
    thread.start()
    opened.wait_for(4)  # every shard has its LATEST iterator: now produce
    put_events(kinesis, STREAM, range(100, 150))
    thread.join(60)
    assert not thread.is_alive()
    assert sorted(numbers_of(out.lines())) == list(range(100, 150))


def test_at_timestamp_and_since(kinesis: KinesisClient, cli: CliRunner) -> None:
    put_events(kinesis, STREAM, range(30))
    time.sleep(0.05)
    boundary = datetime.now(timezone.utc)
    time.sleep(0.05)
    put_events(kinesis, STREAM, range(30, 50))
    result = cli("tail", STREAM, "--from", boundary.isoformat(), "--no-follow", "-o", "jsonl")
    assert result.exit_code == 0, result.stderr
    assert sorted(numbers_of(result.stdout.splitlines())) == list(range(30, 50))
    since = cli("tail", STREAM, "--since", "1h", "--no-follow", "-o", "jsonl")
    assert sorted(numbers_of(since.stdout.splitlines())) == list(range(50))
    future = (datetime.now(timezone.utc) + timedelta(hours=1)).isoformat()
    refused = cli("tail", STREAM, "--from", future, "--no-follow")
    assert refused.exit_code == 2 and "in the future" in refused.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["--since", "15 minutes"],
        ["--from", "yesterday"],
        ["--from", "latest", "--since", "5m"],
        ["--max", "0"],
        ["--output", "xml"],
        ["--type", ""],
        ["--checkpoint", "/no-such-dir/state/cp.json"],
    ],
)
def test_bad_input_is_rejected_before_any_call(cli: CliRunner, args: list[str]) -> None:
    # No AWS endpoint configured at all: a remote call would fail differently (exit 3/1).
    result = cli("tail", STREAM, *args)
    assert result.exit_code == 2, result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "stream",
    [
        "bad name!",
        "x" * 129,
        "arn:aws:s3:::a-bucket",
        "arn:aws:kinesis:us-east-1:123456789012:stream/bad%name",
    ],
)
def test_bad_stream_names_are_rejected_before_any_call(
    aws_env: str, cli: CliRunner, stream: str
) -> None:
    # moto answers a bad name with "not found" (exit 4); we must not get that far.
    result = cli("tail", stream, "--no-follow")
    assert result.exit_code == 2, result.stderr
    assert "hint:" in result.stderr


def test_missing_stream_is_not_found(aws_env: str, cli: CliRunner) -> None:
    result = cli("tail", "no-such-stream", "--no-follow")
    assert result.exit_code == 4
    assert "no-such-stream" in result.stderr
    assert "hint:" in result.stderr


def test_stream_deleted_while_following_is_not_found(kinesis: KinesisClient) -> None:
    from twilio_es_cli.errors import NotFoundError
    from twilio_es_cli.tail.positions import StartPosition
    from twilio_es_cli.tail.reader import read_stream

    client = reader_client()
    opened = CallCounter(client, "GetShardIterator")
    failure: list[BaseException] = []

    def consume() -> None:
        try:
            for _ in read_stream(client, STREAM, StartPosition.latest(), deadline=_in(60)):
                pass
        except NotFoundError as exc:
            failure.append(exc)

    thread = threading.Thread(target=consume)
    thread.start()
    opened.wait_for(4)
    kinesis.delete_stream(StreamName=STREAM)
    thread.join(60)
    assert failure and "was not found" in str(failure[0])


def test_checkpoint_resumes_exactly_after_last_event(
    kinesis: KinesisClient, cli: CliRunner, tmp_path: Path
) -> None:
    state = tmp_path / "state.json"
    put_events(kinesis, STREAM, range(200))
    first = _tail(cli, "--checkpoint", str(state), "--max", "60", "-o", "jsonl")
    assert first.exit_code == 0, first.stderr
    seen = numbers_of(first.stdout.splitlines())
    assert len(seen) == 60
    saved = json.loads(state.read_text())
    assert saved["stream"] == STREAM and saved["shards"]
    # Resume: no --from, the checkpoint decides; then new events only.
    second = cli("tail", STREAM, "--checkpoint", str(state), "--no-follow", "-o", "jsonl")
    assert second.exit_code == 0, second.stderr
    seen += numbers_of(second.stdout.splitlines())
    assert sorted(seen) == list(range(200))
    put_events(kinesis, STREAM, range(200, 230))
    third = cli("tail", STREAM, "--checkpoint", str(state), "--no-follow", "-o", "jsonl")
    assert sorted(numbers_of(third.stdout.splitlines())) == list(range(200, 230))
    assert not list(tmp_path.glob(".state.json.*"))  # no temp files left behind


def test_checkpoint_of_another_stream_is_refused(
    kinesis: KinesisClient, cli: CliRunner, tmp_path: Path
) -> None:
    state = tmp_path / "state.json"
    state.write_text(json.dumps({"version": 1, "stream": "other", "shards": {}}))
    result = _tail(cli, "--checkpoint", str(state))
    assert result.exit_code == 2
    assert "belongs to stream 'other'" in result.stderr


def test_a_mistyped_stream_leaves_no_checkpoint_to_refuse_the_right_one(
    kinesis: KinesisClient, cli: CliRunner, tmp_path: Path
) -> None:
    state = tmp_path / "state.json"
    typo = cli("tail", "no-such-stream", "--checkpoint", str(state), "--no-follow")
    assert typo.exit_code == 4, typo.stderr
    assert "Kinesis stream 'no-such-stream' was not found" in typo.stderr
    assert not state.exists()
    right = _tail(cli, "--checkpoint", str(state))
    assert right.exit_code == 0, right.stderr
    assert json.loads(state.read_text())["stream"] == STREAM


def test_type_filter_globs_are_repeatable(kinesis: KinesisClient, cli: CliRunner) -> None:
    put(
        kinesis,
        STREAM,
        [(event(i, type_=(DELIVERED, SENT, CALL)[i % 3]), f"k{i}") for i in range(90)],
    )
    messaging = _tail(cli, "--type", "com.twilio.messaging.*", "-o", "jsonl")
    types = Counter(json.loads(line)["type"] for line in messaging.stdout.splitlines())
    assert types == {DELIVERED: 30, SENT: 30}
    assert "60 filtered out" not in messaging.stderr and "30 filtered out" in messaging.stderr
    two = _tail(cli, "--type", "*.call.completed", "--type", SENT, "-o", "jsonl")
    types = Counter(json.loads(line)["type"] for line in two.stdout.splitlines())
    assert types == {CALL: 30, SENT: 30}


def test_dedupe_drops_redelivered_ids(kinesis: KinesisClient, cli: CliRunner) -> None:
    records = [(event(i), f"k{i}") for i in range(20)]
    redelivered = [(event(i), f"k{i}") for i in range(0, 20, 4)]  # same ids, Twilio retry
    put(kinesis, STREAM, records + redelivered)
    everything = _tail(cli, "-o", "jsonl")
    assert len(everything.stdout.splitlines()) == 25
    deduped = _tail(cli, "--dedupe", "-o", "jsonl")
    assert sorted(numbers_of(deduped.stdout.splitlines())) == list(range(20))
    assert "5 duplicates" in deduped.stderr


def test_output_formats(kinesis: KinesisClient, cli: CliRunner) -> None:
    raw_events = [event(i, key=f"key-{i}") for i in range(5)]
    put(kinesis, STREAM, [(data, f"key-{i}") for i, data in enumerate(raw_events)])

    raw = _tail(cli, "-o", "raw")
    assert sorted(raw.stdout.splitlines()) == sorted(e.decode() for e in raw_events)

    pretty = _tail(cli, "-o", "pretty")
    lines = pretty.stdout.splitlines()
    assert len(lines) == 5
    line = next(x for x in lines if "pk=key-3" in x)
    # the account prefix of the source is the same on every event: shown without it
    # pretty is for people: the type without Twilio's common `com.twilio.` prefix
    assert f"  {DELIVERED.removeprefix('com.twilio.')}  " in line
    assert "  Messages/SM" in line and "/Accounts/" not in line
    # the data summary: the status value first, without its key
    assert "  delivered to=+15551234567 n=3" in line and "shard-" in line
    assert "lag " in line

    indented = _tail(cli, "-o", "json").stdout
    decoder, pos, docs = json.JSONDecoder(), 0, []
    while pos < len(indented.rstrip()):
        doc, pos = decoder.raw_decode(indented, pos)
        docs.append(doc)
        while pos < len(indented) and indented[pos].isspace():
            pos += 1
    assert sorted(d["data"]["n"] for d in docs) == list(range(5))
    assert "\n  " in indented  # indented, for people

    piped_default = cli("tail", STREAM, "--from", "trim-horizon", "--no-follow")
    assert all(json.loads(x)["kinesis"] for x in piped_default.stdout.splitlines())


def test_records_that_are_not_cloudevents_are_shown_raw(
    kinesis: KinesisClient, cli: CliRunner
) -> None:
    junk = [b"\x00\xffbinary", b"plain text", b"[1, 2]", b'{"hello": "world"}']
    put(kinesis, "twilio-events", [(event(1), "a"), *((j, "a") for j in junk), (event(2), "a")])
    result = _tail(cli, "-o", "jsonl")
    assert result.exit_code == 0
    docs = [json.loads(line) for line in result.stdout.splitlines()]
    assert [d.get("data", {}).get("n") for d in docs] == [1, None, None, None, None, 2]
    odd = docs[1:5]
    assert all(d["cloudevent"] is False for d in odd)
    assert odd[1]["raw"] == "plain text" and odd[1]["error"] == "not JSON"
    assert "missing CloudEvent attribute" in odd[3]["error"]
    assert "4 record(s) were not CloudEvents" in result.stderr
    assert "Traceback" not in result.stderr


def test_max_stops_after_n_events(kinesis: KinesisClient, cli: CliRunner) -> None:
    put_events(kinesis, STREAM, range(100))
    result = cli("tail", STREAM, "--from", "trim-horizon", "--max", "7", "-o", "jsonl")
    assert result.exit_code == 0
    assert len(result.stdout.splitlines()) == 7
    assert "stopped after --max 7" in result.stderr


def test_timeout_stops_a_follow(kinesis: KinesisClient, cli: CliRunner) -> None:
    result = cli("tail", STREAM, "--timeout", "1.5", "-o", "jsonl")
    assert result.exit_code == 0
    assert "--timeout 1.5s reached" in result.stderr
    assert "0 events from 4 shards" in result.stderr  # shards read, even without events


def test_pipe_to_head_ends_quietly(kinesis: KinesisClient, aws_env: str) -> None:
    put_events(kinesis, STREAM, range(2000))
    env = dict(os.environ)
    tail = subprocess.Popen(
        [sys.executable, "-m", "twilio_es_cli", "tail", STREAM, "--from", "trim-horizon"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    head = subprocess.run(
        ["head", "-n", "3"], stdin=tail.stdout, capture_output=True, timeout=60, check=True
    )
    assert tail.stdout is not None
    tail.stdout.close()  # only head holds the read end now
    _, err = tail.communicate(timeout=60)  # follows by default: only the closed pipe ends it
    assert tail.returncode == 0, err
    assert len(head.stdout.splitlines()) == 3
    assert b"Traceback" not in err and b"Broken pipe" not in err


def test_ctrl_c_prints_summary_and_exits_130(kinesis: KinesisClient, aws_env: str) -> None:
    put_events(kinesis, STREAM, range(10))
    tail = subprocess.Popen(
        [sys.executable, "-m", "twilio_es_cli", "tail", STREAM, "--from", "trim-horizon"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=dict(os.environ),
    )
    assert tail.stdout is not None
    first = tail.stdout.readline()
    assert json.loads(first)["type"] == DELIVERED
    tail.send_signal(signal.SIGINT)
    assert tail.wait(timeout=60) == 130
    assert tail.stderr is not None
    out, err = tail.stdout.read(), tail.stderr.read()  # the buffered reader, not communicate()
    shown = 1 + len(out.splitlines())
    noun = b"event" if shown == 1 else b"events"
    assert b"%d %s from" % (shown, noun) in err and b"; interrupted" in err
    assert b"Traceback" not in err


class _Lines:
    """A thread-safe text sink standing in for stdout."""

    def __init__(self) -> None:
        self._parts: list[str] = []
        self._lock = threading.Lock()

    def write(self, text: str) -> int:
        with self._lock:
            self._parts.append(text)
        return len(text)

    def flush(self) -> None:
        pass

    def lines(self) -> list[str]:
        with self._lock:
            return "".join(self._parts).splitlines()


def _start(kind: PositionKind) -> StartPosition:
    from twilio_es_cli.tail.positions import StartPosition

    return StartPosition(kind)


def _in(seconds: float) -> float:
    return time.monotonic() + seconds


def test_default_on_a_terminal_is_pretty(kinesis: KinesisClient, aws_env: str) -> None:
    put_events(kinesis, STREAM, range(3))
    # A 120-column terminal: each event must stay on one screen line (cut, not wrapped).
    shown = run_on_terminal(["tail", STREAM, "--from", "trim-horizon", "--no-follow"], columns=120)
    assert shown.exit_code == 0, shown.stderr
    text = shown.stdout
    lines = [line for line in text.splitlines() if line.strip()]
    assert len(lines) == 3
    plain = [re.sub(r"\x1b\[[0-9;]*m", "", line) for line in lines]
    short = DELIVERED.removeprefix("com.twilio.")
    assert all(short in line and "shard-" in line and "lag " in line for line in plain)
    assert all(" delivered to=+15551234567" in line for line in plain)  # the summary in view
    assert all(len(line) <= 120 for line in plain), plain
    assert not any(line.lstrip().startswith("{") for line in lines)  # not jsonl


def test_region_comes_from_the_arn_when_none_is_configured(
    kinesis: KinesisClient, cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    put_events(kinesis, STREAM, range(5))
    arn = kinesis.describe_stream_summary(StreamName=STREAM)["StreamDescriptionSummary"][
        "StreamARN"
    ]
    monkeypatch.delenv("AWS_REGION")
    by_name = cli("tail", STREAM, "--no-follow")
    assert by_name.exit_code == 3  # a bare name: no region to go by
    by_arn = cli("tail", arn, "--from", "trim-horizon", "--no-follow", "-o", "jsonl")
    assert by_arn.exit_code == 0, by_arn.stderr
    assert len(by_arn.stdout.splitlines()) == 5


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 0), (signal.SIGINT, 130)])
def test_sigterm_or_ctrl_c_stop_cleanly_with_an_exact_checkpoint(
    kinesis: KinesisClient, aws_env: str, tmp_path: Path, signum: int, code: int
) -> None:
    # systemd, `docker stop` and `kill` send SIGTERM, people press Ctrl-C: either way the
    # checkpoint must hold exactly the events that were shown (none lost, none repeated).
    state = tmp_path / "state.json"
    put_events(kinesis, STREAM, range(10))
    argv = ["tail", STREAM, "--from", "trim-horizon", "--checkpoint", str(state), "-o", "jsonl"]
    tail = subprocess.Popen(
        [sys.executable, "-m", "twilio_es_cli", *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=dict(os.environ),
    )
    assert tail.stdout is not None and tail.stderr is not None
    docs = [json.loads(tail.stdout.readline()) for _ in range(10)]
    tail.send_signal(signum)
    assert tail.wait(timeout=60) == code
    assert tail.stdout.read() == b""
    assert b"10 events from 4 shards" in tail.stderr.read()
    last: dict[str, int] = {}
    for doc in docs:
        shard, seq = doc["kinesis"]["shard_id"], int(doc["kinesis"]["sequence_number"])
        last[shard] = max(seq, last.get(shard, 0))
    saved = json.loads(state.read_text())["shards"]
    assert {k: int(v) for k, v in saved.items()} == last
    put_events(kinesis, STREAM, range(10, 15))
    argv = ["tail", STREAM, "--checkpoint", str(state), "--no-follow", "-o", "jsonl"]
    resumed = subprocess.run(
        [sys.executable, "-m", "twilio_es_cli", *argv],
        capture_output=True,
        env=dict(os.environ),
        timeout=60,
        check=True,
    )
    assert sorted(numbers_of(resumed.stdout.decode().splitlines())) == list(range(10, 15))


def test_ctrl_c_on_a_terminal_puts_the_summary_on_its_own_line(
    kinesis: KinesisClient, aws_env: str
) -> None:
    import pty

    put_events(kinesis, STREAM, range(1))
    argv = [sys.executable, "-m", "twilio_es_cli", "tail", STREAM, "--from", "trim-horizon"]
    pid, terminal = pty.fork()
    if pid == 0:  # the child: a session whose controlling terminal turns ^C into SIGINT
        try:
            os.execve(sys.executable, argv, dict(os.environ))
        finally:
            os._exit(127)  # never run the rest of pytest in the forked child
    screen = Terminal(terminal)
    # An event is on screen: now the user presses Ctrl-C.
    assert screen.read_until(b"shard-"), screen.seen
    os.write(terminal, b"\x03")
    screen.read_until(b"interrupted")
    _, status = os.waitpid(pid, 0)
    os.close(terminal)
    assert os.waitstatus_to_exitcode(status) == 130
    text = re.sub(rb"\x1b\[[0-9;?]*[a-zA-Z]", b"", screen.seen).decode()
    summary = next(line for line in text.splitlines() if "interrupted" in line)
    assert re.match(r"\d+ events? from 4 shards", summary), text  # not after the ^C echo


_TAIL_AND_LIST_IMPORTS = """
import runpy, sys
sys.argv = ["twilio-es", "tail", sys.argv[1], "--from", "trim-horizon", "--no-follow",
            "-o", "jsonl"]
try:
    runpy.run_module("twilio_es_cli", run_name="__main__")
except SystemExit:
    pass
sys.stderr.write("\\nPYDANTIC=" + repr(sorted(m for m in ("pydantic", "pydantic_core")
                                              if m in sys.modules)))
"""


def _pydantic_imported_by_tail(stream: str) -> tuple[str, str]:
    proc = subprocess.run(
        [sys.executable, "-c", _TAIL_AND_LIST_IMPORTS, stream],
        capture_output=True,
        text=True,
        timeout=60,
    )
    return proc.stdout, proc.stderr.rsplit("PYDANTIC=", 1)[-1]


def test_plain_tail_of_well_formed_events_never_imports_pydantic(
    kinesis: KinesisClient, aws_env: str
) -> None:
    """Start-up budget (issue 11): the model is built only when an event needs it."""
    put_events(kinesis, STREAM, range(5))
    stdout, imported = _pydantic_imported_by_tail(STREAM)
    assert sorted(numbers_of(stdout.splitlines())) == list(range(5))
    assert imported == "[]"


def test_an_unusual_record_still_gets_the_full_check(kinesis: KinesisClient, aws_env: str) -> None:
    """The other side of the test above: a record the fast path leaves goes to pydantic."""
    put_events(kinesis, STREAM, range(2))
    put(kinesis, STREAM, [(b'{"id": "x", "type": "t"}', "k")])
    stdout, imported = _pydantic_imported_by_tail(STREAM)
    odd = [line for line in stdout.splitlines() if "missing CloudEvent attribute" in line]
    events = [line for line in stdout.splitlines() if line not in odd]
    assert sorted(numbers_of(events)) == [0, 1] and len(odd) == 1
    assert imported == "['pydantic', 'pydantic_core']"
