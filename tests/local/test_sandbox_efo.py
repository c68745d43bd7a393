"""`tail --efo` on `twilio-es local up`, as a user runs both: enhanced fan-out in the sandbox.

The same shape as the polling tail's test (tests/local/test_sandbox_reshard.py): scale the
stream 1 -> 2 -> 4 -> 2 while `local emit` writes, and every event is read exactly once,
parents before children. Subscriptions last 3 s here (``TWILIO_ES_SANDBOX_SUBSCRIPTION_SECONDS``;
AWS: 5 minutes), so the tail also renews them, many times over. The consumer is deregistered
however the tail stops, and the `local up` window stays one line per request.
The EFO tests on ministack (tests/tail/test_tail_efo.py) remain as a second opinion.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import pytest

from tests.conftest import Result, boto_client, wait_active
from tests.sandbox_support import DELIVERED, RunningSandbox, build_flow, start_sandbox
from tests.tail.tail_support import put_events

if TYPE_CHECKING:
    from mypy_boto3_kinesis import KinesisClient

STREAM = "efo-reshard-flow"
EMITTED = 60
TIMINGS = {
    "TWILIO_ES_SANDBOX_SUBSCRIPTION_SECONDS": "3",
    "TWILIO_ES_SANDBOX_UPDATING_SECONDS": "1",
    "TWILIO_ES_SANDBOX_CONSUMER_SECONDS": "0.5",
}
# One line per request: time, method, Service.Operation (or a path), status, milliseconds.
LOG_LINE = re.compile(r"\d\d:\d\d:\d\d  [A-Z?]+\s+\S.*\s\d{3}\s+[\d,]+ ms(  .*)?")


@pytest.fixture(scope="module")
def efo_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSandbox]:
    running = start_sandbox(tmp_path_factory.mktemp("efo-sandbox"), env=TIMINGS)
    yield running
    running.kill()


def tail_process(sandbox: RunningSandbox, *args: str, stdout: Any = subprocess.PIPE) -> Any:
    """`twilio-es tail ARGS` in its own process, pointed at the sandbox (stderr to a file)."""
    err = tempfile.TemporaryFile()  # noqa: SIM115 (read when the test checks it)
    proc = subprocess.Popen(
        [sys.executable, "-m", "twilio_es_cli", "tail", *args],
        stdout=stdout,
        stderr=err,
        text=True,
        env=sandbox.env,
        # Ctrl-C as on a terminal, even when this suite runs as a background job.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    proc.err = err  # type: ignore[attr-defined]
    return proc


def stderr_of(proc: Any) -> str:
    err: IO[bytes] = proc.err
    err.seek(0)
    return err.read().decode("utf-8", "replace")


def consumers(kinesis: KinesisClient, stream: str) -> dict[str, str]:
    arn = kinesis.describe_stream_summary(StreamName=stream)["StreamDescriptionSummary"][
        "StreamARN"
    ]
    listed = kinesis.list_stream_consumers(StreamARN=arn)["Consumers"]
    return {c["ConsumerName"]: c["ConsumerStatus"] for c in listed}


def assert_deregistered(kinesis: KinesisClient, stream: str) -> None:
    """Right after the tail exits its consumer is DELETING (or gone), then gone for good."""
    assert all(status == "DELETING" for status in consumers(kinesis, stream).values())
    deadline = time.monotonic() + 30
    while consumers(kinesis, stream):
        assert time.monotonic() < deadline, consumers(kinesis, stream)
        time.sleep(0.1)


def delivered_ids(result: Result) -> list[str]:
    assert result.exit_code == 0, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert all(event["type"] == DELIVERED for event in events)
    return [str(event["id"]) for event in events]


def window_is_readable(window: str) -> None:
    """No traceback, and after the start-up lines one line per request."""
    assert "Traceback" not in window and "HTTP/1.1" not in window
    during = window.split("Ctrl-C stops.\n", 1)[1].split("Stopping the sandbox")[0]
    odd = [line for line in during.splitlines() if not LOG_LINE.fullmatch(line)]
    assert odd == [], odd[:5]


@pytest.mark.slow
def test_tail_efo_reads_every_event_once_while_the_sandbox_reshards_1_2_4_2(
    tmp_path: Path,
) -> None:
    sandbox = start_sandbox(tmp_path, env=TIMINGS)
    try:
        build_flow(sandbox, tmp_path, STREAM)
        kinesis = boto_client("kinesis", sandbox.env["AWS_ENDPOINT_URL"])
        start = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        tail = [STREAM, "--efo", "--timeout", "300", "--type", DELIVERED, "-o", "jsonl"]
        follower = tail_process(sandbox, *tail, "--from", start, "--max", str(EMITTED))
        # Let the first subscription outlive its 3 s before any event: a renewal is then
        # certain, however fast the machine reads the rest.
        deadline = time.monotonic() + 60
        while "ACTIVE" not in consumers(kinesis, STREAM).values():
            assert time.monotonic() < deadline, "the tail registered no consumer"
            time.sleep(0.2)
        time.sleep(4)
        emitted: list[Result] = []
        emitter = threading.Thread(
            target=lambda: emitted.append(
                sandbox.run(
                    "local",
                    "emit",
                    DELIVERED,
                    "-n",
                    str(EMITTED),
                    "--rate",
                    "15",
                    "--json",
                    cwd=tmp_path,
                )
            )
        )
        emitter.start()
        for count in ("2", "4", "2"):
            scaled = sandbox.run("stream", "scale", STREAM, count, cwd=tmp_path)
            assert scaled.exit_code == 0, scaled.stderr
        emitter.join(timeout=300)
        assert emitted and emitted[0].exit_code == 0, emitted and emitted[0].stderr
        assert emitted[0].json()["deliveries"] == EMITTED
        shards = kinesis.list_shards(StreamName=STREAM)["Shards"]
        assert len(shards) == 1 + 2 + 4 + 2

        # A tail run afterwards, from the same time, reads parents then children: each once.
        after = sandbox.run(
            "tail",
            STREAM,
            "--efo",
            "--from",
            start,
            "--no-follow",
            "--type",
            DELIVERED,
            "-o",
            "jsonl",
            cwd=tmp_path,
        )
        ids = delivered_ids(after)
        assert len(ids) == EMITTED and len(set(ids)) == EMITTED
        assert "reading with enhanced fan-out" in after.stderr

        out, _ = follower.communicate(timeout=300)
        assert follower.returncode == 0, stderr_of(follower)
        followed = [json.loads(line) for line in out.splitlines()]
        assert sorted(str(e["id"]) for e in followed) == sorted(ids)
        # Parents before children: no child shard's first event before its parent's last.
        order = [e["kinesis"]["shard_id"] for e in followed]
        first = {s: order.index(s) for s in set(order)}
        last = {s: len(order) - 1 - order[::-1].index(s) for s in set(order)}
        for shard in shards:
            for parent in (shard.get("ParentShardId"), shard.get("AdjacentParentShardId")):
                child = shard["ShardId"]
                if parent in last and child in first:
                    assert last[parent] < first[child], f"{child} before {parent} ended"
        assert_deregistered(kinesis, STREAM)
    finally:
        code, window = sandbox.stop()
    assert code == 0
    window_is_readable(window)
    subscriptions = [line for line in window.splitlines() if "Kinesis.SubscribeToShard" in line]
    assert any("ChildShards sent" in line for line in subscriptions), subscriptions[:5]
    assert any("its time is over" in line for line in subscriptions)  # renewed after 3 s
    assert any("Kinesis.UpdateShardCount" in line for line in window.splitlines())
    assert any("Events /v1/" in line for line in window.splitlines())


def test_no_follow_on_the_sandbox_reads_all_and_deregisters(
    efo_sandbox: RunningSandbox, unique_name: str, tmp_path: Path
) -> None:
    kinesis = boto_client("kinesis", efo_sandbox.env["AWS_ENDPOINT_URL"])
    kinesis.create_stream(StreamName=unique_name, ShardCount=3)
    wait_active(kinesis, unique_name)
    put_events(kinesis, unique_name, range(90))
    done = efo_sandbox.run(
        "tail",
        unique_name,
        "--efo",
        "--from",
        "trim-horizon",
        "--no-follow",
        "-o",
        "jsonl",
        cwd=tmp_path,
    )
    assert done.exit_code == 0, done.stderr
    numbers = sorted(json.loads(line)["data"]["n"] for line in done.stdout.splitlines())
    assert numbers == list(range(90))
    assert "90 events from 3 shards" in done.stderr and "caught up" in done.stderr
    assert_deregistered(kinesis, unique_name)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("how", "code", "said"),
    [
        ("max", 0, "stopped after --max"),
        ("timeout", 0, "--timeout 4s reached"),
        ("SIGTERM", 0, "stopped by SIGTERM"),
        ("SIGINT", 130, "interrupted"),
        ("error", 1, "error:"),
    ],
)
def test_every_kind_of_stop_deregisters_the_consumer(
    efo_sandbox: RunningSandbox, unique_name: str, how: str, code: int, said: str
) -> None:
    kinesis = boto_client("kinesis", efo_sandbox.env["AWS_ENDPOINT_URL"])
    kinesis.create_stream(StreamName=unique_name, ShardCount=2)
    wait_active(kinesis, unique_name)
    put_events(kinesis, unique_name, range(40))
    args = [unique_name, "--efo", "--from", "trim-horizon", "-o", "jsonl"]
    extra = {"max": ["--max", "5"], "timeout": ["--timeout", "4"]}.get(how, [])
    if how == "error":
        with open("/dev/full", "w") as full:  # every write fails: "No space left on device"
            proc = tail_process(efo_sandbox, *args, stdout=full)
            assert proc.wait(timeout=120) == code, stderr_of(proc)
    else:
        proc = tail_process(efo_sandbox, *args, *extra)
        if how.startswith("SIG"):
            lines: list[str] = []
            assert proc.stdout is not None
            while len(lines) < 40:  # everything was read: the tail now follows the stream
                lines.append(proc.stdout.readline())
                assert lines[-1], stderr_of(proc)
            assert set(consumers(kinesis, unique_name).values()) == {"ACTIVE"}
            proc.send_signal(getattr(signal, how))
        proc.communicate(timeout=120)
        assert proc.returncode == code, stderr_of(proc)
    err = stderr_of(proc)
    assert said in err and "Traceback" not in err
    assert_deregistered(kinesis, unique_name)
