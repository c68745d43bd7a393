"""Issue 8, the tail's side: no record stops it, output stays strict JSON, the terminal stays
the user's, and files given to it fail as one line. (Crash durability: test_tail_durability.)"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.conftest import boto_client, run_on_terminal
from tests.fixture_types import CliRunner
from tests.tail.tail_support import create_stream, event, put

if TYPE_CHECKING:
    from mypy_boto3_kinesis import KinesisClient

STREAM = "poison"
DEEP_ARRAY = b"[" * 100_000 + b"]" * 100_000
DEEP_OBJECT = b'{"a":' * 50_000 + b"1" + b"}" * 50_000


def _ce(n: int, data: bytes) -> bytes:
    """A CloudEvent whose ``data`` is the given JSON text (which may not be strict JSON)."""
    head = json.dumps({"specversion": "1.0", "id": f"EZ{n}", "source": "/s", "type": "t.x"})
    return head[:-1].encode() + b',"data":' + data + b"}"


def _aggregated(numbers: range) -> bytes:
    from aws_kinesis_agg.aggregator import RecordAggregator

    aggregator = RecordAggregator()
    for n in numbers:
        aggregator.add_user_record(f"agg-{n}", event(n))
    _, _, data = aggregator.clear_and_get().get_contents()
    return bytes(data)


# (bytes, shown as a CloudEvent?) in stream order; numbered events carry data.n.
POISON: list[tuple[bytes, str]] = [
    (event(0), "event"),
    (DEEP_ARRAY, "raw"),
    (DEEP_OBJECT, "raw"),
    (_ce(1, DEEP_ARRAY), "raw"),
    (b"\xff\xfe\xfd not UTF-8", "raw"),
    (bytes(range(256)), "raw"),
    (gzip.compress(event(1)), "event"),
    (_aggregated(range(2, 5)), "3 events"),
    (b"x" * 1_000_000, "raw"),
    (b"[1, 2, 3]", "raw"),
    (b"42", "raw"),
    (_ce(2, b'{"x": NaN}'), "raw"),
    (_ce(3, b'{"x": [Infinity, -Infinity]}'), "raw"),
    (_ce(4, b'{"x": 1e400}'), "raw"),
    (event(5), "event"),
]
RAW_RECORDS = sum(1 for _, kind in POISON if kind == "raw")
LINES = RAW_RECORDS + 3 + 3  # events 0, 1 (gzip), 5 and the three aggregated ones


@pytest.fixture
def poisoned(aws_env: str) -> KinesisClient:
    client = boto_client("kinesis", aws_env)
    create_stream(client, STREAM, 1)  # one shard: the order is the order written
    put(client, STREAM, [(data, "k") for data, _ in POISON])
    return client


def _strict(line: str) -> Any:
    """Parse like jq and RFC 8259: NaN/Infinity are errors."""

    def refuse(name: str) -> None:
        raise ValueError(f"not JSON: {name}")

    return json.loads(line, parse_constant=refuse)


def _json_docs(text: str) -> list[Any]:
    decoder, pos, docs = json.JSONDecoder(parse_constant=lambda c: 1 / 0), 0, []
    while pos < len(text.rstrip()):
        doc, pos = decoder.raw_decode(text, pos)
        docs.append(doc)
        while pos < len(text) and text[pos].isspace():
            pos += 1
    return docs


def _check_clean(stderr: str) -> None:
    assert "unexpected" not in stderr and "Traceback" not in stderr, stderr[-2000:]
    assert f"{RAW_RECORDS} record(s) were not CloudEvents" in stderr, stderr[-2000:]


def test_every_poison_record_is_shown_and_the_tail_goes_on_jsonl(
    poisoned: KinesisClient, cli: CliRunner
) -> None:
    result = cli("tail", STREAM, "--from", "trim-horizon", "--no-follow", "-o", "jsonl")
    assert result.exit_code == 0, result.stderr[-2000:]
    _check_clean(result.stderr)
    docs = [_strict(line) for line in result.stdout.splitlines()]  # strict JSON, every line
    assert len(docs) == LINES
    shown = [d["data"]["n"] for d in docs if d.get("cloudevent", True)]
    assert shown == [0, 1, 2, 3, 4, 5]  # gzip decoded, KPL split, the last one reached
    raw = [d for d in docs if d.get("cloudevent", True) is False]
    assert [d["error"] for d in raw[:3]] == ["JSON nested too deeply"] * 3
    assert raw[3]["raw_base64"] and raw[3]["raw"].startswith("\\xff\\xfe\\xfd not UTF-8")
    assert len(raw[5]["raw"]) == 1_000_000
    assert [d["error"] for d in raw[-3:]] == [
        "not strict JSON (NaN or Infinity)",
        "not strict JSON (NaN or Infinity)",
        "not strict JSON (a number too large for JSON output)",
    ]
    gz = next(d for d in docs if d.get("id") == "EZ00000000000000000000000000000001")
    assert gz["kinesis"]["content_encoding"] == "gzip"
    users = [d["kinesis"] for d in docs if "subsequence_number" in d["kinesis"]]
    assert [(u["partition_key"], u["subsequence_number"]) for u in users] == [
        ("agg-2", 0),
        ("agg-3", 1),
        ("agg-4", 2),
    ]
    assert len({u["sequence_number"] for u in users}) == 1  # one Kinesis record


@pytest.mark.parametrize("fmt", ["json", "pretty", "raw"])
def test_every_poison_record_is_shown_in_every_format(
    poisoned: KinesisClient, cli: CliRunner, fmt: str
) -> None:
    result = cli("tail", STREAM, "--from", "trim-horizon", "--no-follow", "-o", fmt)
    assert result.exit_code == 0, result.stderr[-2000:]
    _check_clean(result.stderr)
    if fmt == "json":
        assert len(_json_docs(result.stdout)) == LINES
    elif fmt == "pretty":
        lines = result.stdout.splitlines()
        assert len(lines) == LINES
        assert "n=5" in lines[-1]
        assert sum("(not a CloudEvent)" in line for line in lines) == RAW_RECORDS
    else:
        assert result.stdout.endswith(event(5).decode() + "\n")


def test_poison_records_in_follow_mode_with_a_checkpoint(
    poisoned: KinesisClient, aws_env: str, tmp_path: Path
) -> None:
    # Follow mode (no --no-follow) in a real process; --max ends it once everything is shown.
    state = tmp_path / "state.json"
    argv = ["tail", STREAM, "--from", "trim-horizon", "--checkpoint", str(state), "-o", "jsonl"]
    first = subprocess.run(
        [sys.executable, "-m", "twilio_es_cli", *argv, "--max", str(LINES)],
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(os.environ),
    )
    assert first.returncode == 0, first.stderr[-2000:]
    _check_clean(first.stderr)
    assert len(first.stdout.splitlines()) == LINES
    # The checkpoint went past every poison record: the next run shows only what is new.
    put(poisoned, STREAM, [(event(6), "k")])
    argv = ["tail", STREAM, "--checkpoint", str(state), "--no-follow", "-o", "jsonl"]
    second = subprocess.run(
        [sys.executable, "-m", "twilio_es_cli", *argv],
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(os.environ),
    )
    assert second.returncode == 0, second.stderr
    assert [json.loads(line)["data"]["n"] for line in second.stdout.splitlines()] == [6]


ESCAPES = {
    "clear": "\x1b[2J\x1b[H",
    "title": "\x1b]0;pwned\x07",
    "blink": "\x1b[5m",
    "csi": "\x9b31m",
    "bidi": "\u202e",
}


def _hostile(n: int) -> bytes:
    doc = {
        "specversion": "1.0",
        "id": f"EZ{n}",
        "source": "/src" + ESCAPES["title"],
        "type": "com.twilio.x" + ESCAPES["clear"],
        "subject": "subj" + ESCAPES["csi"],
        "time": "2026-01-01T00:00:00Z" + ESCAPES["blink"],
        "data": {"body": "hi" + ESCAPES["clear"] + ESCAPES["csi"] + ESCAPES["bidi"], "n": n},
    }
    return json.dumps(doc, ensure_ascii=False).encode()


@pytest.fixture
def hostile(aws_env: str) -> KinesisClient:
    client = boto_client("kinesis", aws_env)
    create_stream(client, STREAM, 1)
    key = "pk" + ESCAPES["blink"] + "\x9b"
    put(client, STREAM, [(_hostile(1), key), (b"raw\x1b]0;x\x07\x9b\n", key)])
    return client


def _no_controls(text: str) -> None:
    """Nothing an event sent may act on the terminal (rich's own colour codes aside)."""
    for name, sequence in ESCAPES.items():
        assert sequence not in text, name
    assert "\x9b" not in text and "\x07" not in text and "\u202e" not in text


@pytest.mark.slow
def test_control_characters_never_reach_the_terminal_in_pretty(
    hostile: KinesisClient, aws_env: str
) -> None:
    argv = ["tail", STREAM, "--from", "trim-horizon", "--no-follow"]
    shown = run_on_terminal([*argv, "-o", "pretty"], columns=300)
    assert shown.exit_code == 0, shown.stderr
    _no_controls(shown.stdout)
    assert "\\x1b[2J" in shown.stdout and "\\x9b" in shown.stdout  # visible instead
    assert "\\u202e" in shown.stdout
    raw = run_on_terminal([*argv, "-o", "raw"], columns=300)
    assert raw.exit_code == 0, raw.stderr
    _no_controls(raw.stdout)
    assert "raw\\x1b]0;x\\x07\\xc2\\x9b" not in raw.stdout  # UTF-8 C1 is one character
    assert "raw\\x1b]0;x\\x07\\x9b" in raw.stdout
    for fmt in ("json", "jsonl"):
        shown = run_on_terminal([*argv, "-o", fmt], columns=300)
        assert shown.exit_code == 0, shown.stderr
        _no_controls(shown.stdout)


def test_control_characters_when_piped(
    hostile: KinesisClient, cli: CliRunner, aws_env: str
) -> None:
    argv = ["tail", STREAM, "--from", "trim-horizon", "--no-follow"]
    pretty = cli(*argv, "-o", "pretty")  # piped pretty is still for people (less, tee)
    _no_controls(pretty.stdout)
    assert "x\\x1b[2J\\x1b[H" in pretty.stdout and "pk=pk\\x1b[5m\\x9b" in pretty.stdout
    jsonl = cli(*argv, "-o", "jsonl")
    _no_controls(jsonl.stdout)
    doc = json.loads(jsonl.stdout.splitlines()[0])  # the same values, escaped as JSON
    assert doc["data"]["body"] == "hi" + ESCAPES["clear"] + ESCAPES["csi"] + ESCAPES["bidi"]
    assert doc["kinesis"]["partition_key"] == "pk\x1b[5m\x9b"
    raw = subprocess.run(  # not a terminal: byte-exact
        [sys.executable, "-m", "twilio_es_cli", *argv, "-o", "raw"],
        capture_output=True,
        timeout=120,
        env=dict(os.environ),
    )
    assert raw.returncode == 0, raw.stderr
    assert raw.stdout == _hostile(1) + b"\n" + b"raw\x1b]0;x\x07\x9b\n\n"


def test_files_nested_too_deeply_are_one_line_errors(
    aws_env: str, cli: CliRunner, tmp_path: Path
) -> None:
    create_stream(boto_client("kinesis", aws_env), STREAM, 1)
    for name, content in (("array", DEEP_ARRAY), ("object", DEEP_OBJECT)):
        path = tmp_path / f"{name}.json"
        path.write_bytes(content)
        config = cli("tail", "--sink-config", str(path), "--no-follow")
        assert config.exit_code == 3, config.stderr
        checkpoint = cli("tail", STREAM, "--checkpoint", str(path), "--no-follow")
        assert checkpoint.exit_code == 2, checkpoint.stderr
        for result in (config, checkpoint):
            assert "unexpected" not in result.stderr and "Traceback" not in result.stderr
            assert result.stderr.startswith("error: ") and "nested too deeply" in result.stderr
            assert len(result.stderr.splitlines()) <= 2  # error: and hint:


@pytest.mark.parametrize("since", ["99999999999999999999d", "1000000d", "9" * 400 + "s"])
def test_since_too_far_back_is_a_usage_error(cli: CliRunner, since: str) -> None:
    result = cli("tail", "some-stream", "--since", since)
    assert result.exit_code == 2, result.stderr
    assert result.stderr.startswith("error: --since ") and "unexpected" not in result.stderr
    assert len(result.stderr.splitlines()[0]) < 120  # never echoes the whole argument


def test_checkpoint_wins_over_from_and_says_so(
    aws_env: str, cli: CliRunner, tmp_path: Path
) -> None:
    client = boto_client("kinesis", aws_env)
    create_stream(client, STREAM, 1)
    put(client, STREAM, [(event(n), "k") for n in range(5)])
    state = tmp_path / "state.json"
    first = cli("tail", STREAM, "--from", "trim-horizon", "--checkpoint", str(state), "--max", "3")
    assert first.exit_code == 0 and len(first.stdout.splitlines()) == 3
    # --from latest would skip events 3 and 4: the checkpoint wins, and says so in one line.
    second = cli("tail", STREAM, "--from", "latest", "--checkpoint", str(state), "--no-follow")
    assert second.exit_code == 0, second.stderr
    assert [json.loads(x)["data"]["n"] for x in second.stdout.splitlines()] == [3, 4]
    said = [line for line in second.stderr.splitlines() if "wins over --from" in line]
    assert len(said) == 1 and "nothing is skipped" in said[0]


def test_from_given_to_a_checkpoint_cannot_skip_unknown_shards() -> None:
    from datetime import datetime, timezone

    from twilio_es_cli.tail.positions import StartPosition, earlier

    t1 = StartPosition.at(datetime(2026, 1, 1, tzinfo=timezone.utc))
    t2 = StartPosition.at(datetime(2026, 1, 2, tzinfo=timezone.utc))
    assert earlier(t2, t1) == t1 and earlier(t1, t2) == t1
    assert earlier(StartPosition.latest(), t1) == t1
    assert earlier(t1, StartPosition.trim_horizon()) == StartPosition.trim_horizon()


def test_write_private_atomic(tmp_path: Path) -> None:
    from twilio_es_cli.files import write_private_atomic

    tmp_path = tmp_path / "private"
    tmp_path.mkdir()
    target = tmp_path / "state.json"
    target.write_text("old")
    target.chmod(0o644)
    write_private_atomic(target, b"new")
    assert target.read_bytes() == b"new"
    assert target.stat().st_mode & 0o777 == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]  # no temp file left
    with pytest.raises(OSError):
        write_private_atomic(tmp_path / "missing-dir" / "x", b"data")
    (tmp_path / "dir").mkdir()
    with pytest.raises(OSError):  # cannot replace a directory: the old content stays
        write_private_atomic(tmp_path / "dir", b"data")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dir", "state.json"]
