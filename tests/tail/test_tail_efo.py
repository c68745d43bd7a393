"""``tail --efo`` on ministack, the emulator whose SubscribeToShard boto3 can read.

ministack's subscriptions last 3 s here (AWS: 5 minutes; see ``MINISTACK_SUBSCRIPTION_SECONDS``)
so every test also renews them from the ContinuationSequenceNumber. Two things it does unlike
AWS shape the tests: SplitShard deletes the parent shard with its records (AWS keeps a closed
parent readable for the retention period), so the producer pauses while the reader catches up
just before each split; and UpdateShardCount rebuilds every shard without lineage, so 1 -> 2 -> 4
is done with SplitShard, which gives the ChildShards AWS gives.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.conftest import aws_response, boto_client
from tests.fixture_types import CliRunner
from tests.tail.tail_support import (
    CallCounter,
    create_stream,
    event,
    put,
    put_events,
    reader_client,
)
from twilio_es_cli.progress import Collect

if TYPE_CHECKING:
    from mypy_boto3_kinesis import KinesisClient

HALF = 2**127
QUARTER = 2**126


def _stream_arn(kinesis: KinesisClient, name: str) -> str:
    return str(
        kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["StreamARN"]
    )


def _consumers(kinesis: KinesisClient, name: str) -> list[str]:
    arn = _stream_arn(kinesis, name)
    return [c["ConsumerName"] for c in kinesis.list_stream_consumers(StreamARN=arn)["Consumers"]]


class Tail:
    """``twilio-es tail ... --efo`` in a child process; its stdout lines collected as they come."""

    def __init__(self, args: list[str], *, stdout: Any = subprocess.PIPE) -> None:
        self.err = tempfile.TemporaryFile()  # noqa: SIM115 (read until the test ends)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "twilio_es_cli", "tail", *args],
            stdout=stdout,
            stderr=self.err,
            text=True,
            env=dict(os.environ),
            # Ctrl-C as on a terminal, even when this suite runs as a background job (where
            # the shell makes its children ignore SIGINT, and the tail would too).
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
        self.lines: list[str] = []
        self.changed = threading.Condition()
        self.reader = threading.Thread(target=self._collect, daemon=True)
        if stdout is subprocess.PIPE:
            self.reader.start()

    def _collect(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            with self.changed:
                self.lines.append(line)
                self.changed.notify_all()
        with self.changed:
            self.changed.notify_all()

    def wait_lines(self, count: int, timeout: float = 60) -> None:
        with self.changed:
            ok = self.changed.wait_for(lambda: len(self.lines) >= count, timeout)
        assert ok, f"saw {len(self.lines)} of {count} lines; stderr: {self.stderr()}"

    def stderr(self) -> str:
        self.err.seek(0)
        return self.err.read().decode("utf-8", "replace")

    def wait_stderr(self, pattern: str, timeout: float = 60) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = re.search(pattern, self.stderr())
            if found:
                return found.group(0)
            assert self.proc.poll() is None, self.stderr()
            time.sleep(0.05)
        raise AssertionError(f"{pattern!r} not in stderr: {self.stderr()}")

    def finish(self, timeout: float = 60) -> int:
        code = self.proc.wait(timeout)
        if self.reader.is_alive():
            self.reader.join(timeout)
        return code

    def numbers(self) -> list[int]:
        return [json.loads(line)["data"]["n"] for line in self.lines]


@pytest.fixture
def admin(ministack_env: str) -> KinesisClient:
    return boto_client("kinesis", ministack_env)


@pytest.mark.slow
def test_efo_reshard_1_2_4_with_a_live_producer_every_event_once_parents_first(
    admin: KinesisClient, unique_name: str
) -> None:
    total, keys = 900, 24
    create_stream(admin, unique_name, 1)
    tail = Tail(
        [unique_name, "--efo", "--from", "trim-horizon", "-o", "jsonl", "--max", str(total)]
    )
    gate = threading.Lock()  # held by the resharder: the producer waits
    written = 0
    progress = threading.Condition()

    def produce() -> None:
        nonlocal written
        for start in range(0, total, 20):
            with gate:
                batch = range(start, start + 20)
                put(
                    admin,
                    unique_name,
                    ((event(n, key=f"k{n % keys}"), f"k{n % keys}") for n in batch),
                )
                with progress:
                    written = start + 20
                    progress.notify_all()
            time.sleep(0.02)

    def split(shard: str, at: int) -> None:
        with gate:  # ministack drops a split parent's records: let the reader have them first
            tail.wait_lines(written)
            admin.split_shard(
                StreamName=unique_name, ShardToSplit=shard, NewStartingHashKey=str(at)
            )

    def reshard() -> None:
        with progress:
            progress.wait_for(lambda: written >= total // 3, timeout=120)
        split("shardId-000000000000", HALF)  # -> 1, 2
        with progress:
            progress.wait_for(lambda: written >= 2 * total // 3, timeout=120)
        split("shardId-000000000001", QUARTER)  # -> 3, 4
        split("shardId-000000000002", HALF + QUARTER)  # -> 5, 6

    producer = threading.Thread(target=produce)
    resharder = threading.Thread(target=reshard)
    tail.wait_stderr(r"reading with enhanced fan-out as consumer \S+")
    producer.start()
    resharder.start()
    producer.join(180)
    resharder.join(180)
    assert tail.finish(120) == 0, tail.stderr()

    numbers = tail.numbers()
    assert sorted(numbers) == list(range(total)), "lost or repeated events"
    docs = [json.loads(line) for line in tail.lines]
    shards = [d["kinesis"]["shard_id"] for d in docs]
    assert {int(s.rsplit("-", 1)[1]) for s in shards} == set(range(7))  # 1 -> 2 -> 4 happened
    by_key: dict[str, list[int]] = defaultdict(list)
    for doc in docs:
        by_key[doc["kinesis"]["partition_key"]].append(doc["data"]["n"])
    assert all(ns == sorted(ns) for ns in by_key.values())
    first = {s: shards.index(s) for s in set(shards)}
    last = {s: len(shards) - 1 - shards[::-1].index(s) for s in set(shards)}
    parent = {1: 0, 2: 0, 3: 1, 4: 1, 5: 2, 6: 2}
    for child, of in parent.items():
        child_id, parent_id = f"shardId-{child:012d}", f"shardId-{of:012d}"
        assert last[parent_id] < first[child_id], f"{child_id} started before {parent_id} ended"
    assert "stopped after --max" in tail.stderr()
    assert _consumers(admin, unique_name) == []


@pytest.mark.slow
def test_subscriptions_are_renewed_from_the_continuation_without_gap_or_repeat(
    admin: KinesisClient, unique_name: str
) -> None:
    from twilio_es_cli.tail.efo import EfoConsumer
    from twilio_es_cli.tail.positions import StartPosition
    from twilio_es_cli.tail.reader import read_stream

    create_stream(admin, unique_name, 2)
    client = reader_client()
    subscribes = CallCounter(client, "SubscribeToShard")
    stop = threading.Event()
    produced = 0

    def produce() -> None:
        nonlocal produced
        while not stop.is_set():  # keeps writing across several subscriptions of each shard
            put_events(admin, unique_name, range(produced, produced + 5), keys=7)
            produced += 5
            time.sleep(0.05)

    report = Collect()
    with EfoConsumer(client, unique_name, report=report) as efo:
        numbers: list[int] = []
        producer = threading.Thread(target=produce)
        records = read_stream(
            client, unique_name, StartPosition.trim_horizon(), shard_reader=efo.read_shard
        )
        producer.start()
        for record in records:
            numbers.append(json.loads(json.loads(record.data)["data"])["n"])
            # 2 shards x 3 subscriptions each: every shard renewed at least once, mid-flow
            if subscribes.count >= 6 and not stop.is_set():
                stop.set()
                producer.join(30)
            if stop.is_set() and not producer.is_alive() and len(numbers) == produced:
                break
        records.close()
        assert efo.arn is not None
        assert _consumers(admin, unique_name) == [efo.name]
    assert sorted(numbers) == list(range(produced))
    assert _consumers(admin, unique_name) == []


@pytest.mark.slow
@pytest.mark.parametrize(
    ("signum", "code", "reason"),
    [(signal.SIGTERM, 0, "stopped by SIGTERM"), (signal.SIGINT, 130, "interrupted")],
)
def test_consumer_deregistered_after_a_signal(
    admin: KinesisClient, unique_name: str, signum: int, code: int, reason: str
) -> None:
    create_stream(admin, unique_name, 2)
    put_events(admin, unique_name, range(40))
    tail = Tail([unique_name, "--efo", "--from", "trim-horizon", "-o", "jsonl"])
    tail.wait_lines(40)
    name = tail.wait_stderr(r"twilio-es-\S+")
    assert _consumers(admin, unique_name) == [name]
    tail.proc.send_signal(signum)
    assert tail.finish() == code, tail.stderr()
    assert reason in tail.stderr()
    assert sorted(tail.numbers()) == list(range(40))
    assert _consumers(admin, unique_name) == []


@pytest.mark.slow
def test_consumer_deregistered_after_an_error(admin: KinesisClient, unique_name: str) -> None:
    create_stream(admin, unique_name, 1)
    with open("/dev/full", "w") as full:  # every write fails: "No space left on device"
        tail = Tail([unique_name, "--efo", "--from", "trim-horizon", "-o", "jsonl"], stdout=full)
        name = tail.wait_stderr(r"twilio-es-\S+")
        assert _consumers(admin, unique_name) == [name]
        put_events(admin, unique_name, range(200))
        assert tail.finish() == 1, tail.stderr()
    assert "error:" in tail.stderr() and "Traceback" not in tail.stderr()
    assert _consumers(admin, unique_name) == []


@pytest.mark.slow
def test_no_follow_and_max_deregister(
    admin: KinesisClient, unique_name: str, cli: CliRunner
) -> None:
    create_stream(admin, unique_name, 3)
    put_events(admin, unique_name, range(90))
    done = cli("tail", unique_name, "--efo", "--from", "trim-horizon", "--no-follow", "-o", "jsonl")
    assert done.exit_code == 0, done.stderr
    assert sorted(json.loads(line)["data"]["n"] for line in done.stdout.splitlines()) == list(
        range(90)
    )
    assert "90 events from 3 shards" in done.stderr and "caught up" in done.stderr
    assert _consumers(admin, unique_name) == []
    some = cli("tail", unique_name, "--efo", "--from", "trim-horizon", "--max", "5", "-o", "jsonl")
    assert some.exit_code == 0 and len(some.stdout.splitlines()) == 5, some.stderr
    assert _consumers(admin, unique_name) == []


def test_sigkill_leaves_the_consumer_and_the_next_run_removes_it_and_resumes(
    admin: KinesisClient, unique_name: str, tmp_path: Path
) -> None:
    total = 300
    create_stream(admin, unique_name, 2)
    put_events(admin, unique_name, range(total // 2))
    state = tmp_path / "state.json"
    args = [unique_name, "--efo", "--checkpoint", str(state), "-o", "jsonl"]
    first = Tail([*args, "--from", "trim-horizon"])
    first.wait_lines(total // 2)
    name = first.wait_stderr(r"twilio-es-\S+")
    produced = total // 2
    deadline = time.monotonic() + 60
    # Checkpoints are saved as records keep coming: trickle until one is on disk.
    while not (state.exists() and json.loads(state.read_text())["shards"]):
        assert time.monotonic() < deadline, "no checkpoint was saved"
        put_events(admin, unique_name, [produced])
        produced += 1
        time.sleep(0.2)
    first.proc.kill()  # SIGKILL: no chance to deregister
    first.finish()
    assert _consumers(admin, unique_name) == [name]  # left behind ...

    put_events(admin, unique_name, range(produced, total))
    second = Tail([*args, "--no-follow"])
    assert second.finish() == 0, second.stderr()
    assert f"removed consumer {name}" in second.stderr()  # ... found by name and removed
    assert _consumers(admin, unique_name) == []
    before, after = set(first.numbers()), second.numbers()
    assert before | set(after) == set(range(total))  # nothing lost across the kill
    assert len(after) == len(set(after))  # each once within the resumed run
    assert set(range(produced, total)) <= set(after) and len(after) < total  # resumed


def test_a_running_tails_consumer_is_not_taken_as_a_leftover(
    admin: KinesisClient, unique_name: str
) -> None:
    from twilio_es_cli.tail.efo import EfoConsumer, consumer_name

    create_stream(admin, unique_name, 1)
    arn = _stream_arn(admin, unique_name)
    alive = consumer_name(pid=os.getpid(), tag="beef")  # this very process: still running
    dead = consumer_name(pid=2**22 + 1, tag="dead")  # above Linux's pid_max: never running
    other = "twilio-es-someone-elsewhere-12-abcd"  # another user's or host's: not ours to remove
    for name in (alive, dead, other):
        admin.register_stream_consumer(StreamARN=arn, ConsumerName=name)
    report = Collect()
    with EfoConsumer(reader_client(), unique_name, report=report) as efo:
        assert sorted(_consumers(admin, unique_name)) == sorted([alive, other, efo.name])
    assert any(f"removed consumer {dead}" in m for m in report.notes)
    assert sorted(_consumers(admin, unique_name)) == sorted([alive, other])


def test_consumer_names_follow_kinesis_rules() -> None:
    from twilio_es_cli.tail.efo import consumer_name, owner_pid, owner_prefix

    name = consumer_name(user="Jane Doe", host="box-1.example.com", pid=4242, tag="a1b2")
    assert name == "twilio-es-Jane_Doe-box_1.example.com-4242-a1b2"  # "-" only separates
    assert re.fullmatch(r"[a-zA-Z0-9_.-]{1,128}", name)
    long = consumer_name(user="u" * 300, host="h" * 300, pid=1, tag="0000")
    assert len(long) <= 128 and long.endswith("-1-0000")
    prefix = owner_prefix(user="Jane Doe", host="box-1.example.com")
    assert owner_pid(name, prefix) == 4242
    assert owner_pid("twilio-es-Jane_Doe-box-1.example.com-tail", prefix) is None
    assert owner_pid("someone-else", prefix) is None


def test_unknown_stream_is_one_line_not_found(ministack_env: str, cli: CliRunner) -> None:
    result = cli("tail", "no-such-stream", "--efo", "--no-follow")
    assert result.exit_code == 4
    assert result.stderr.startswith("error: ") and "no-such-stream" in result.stderr
    assert "hint:" in result.stderr


class _Refuse:
    """Answers every RegisterStreamConsumer with an AWS error (the request never leaves)."""

    def __init__(self, client: Any, code: str) -> None:
        self.code = code
        self.calls = 0
        client.meta.events.register("before-send.kinesis.RegisterStreamConsumer", self)

    def __call__(self, request: Any, **_: Any) -> Any:
        self.calls += 1
        body = json.dumps({"__type": self.code, "message": f"injected {self.code}"}).encode()

        class Raw:
            def stream(self, **_: Any) -> Iterator[bytes]:
                yield body

        return aws_response(request.url, 400, {"x-amzn-errortype": self.code}, Raw())


def test_twenty_consumers_is_a_one_line_limit_error(admin: KinesisClient, unique_name: str) -> None:
    from twilio_es_cli.errors import TwilioEsError
    from twilio_es_cli.tail.efo import EfoConsumer

    create_stream(admin, unique_name, 1)
    arn = _stream_arn(admin, unique_name)
    for n in range(20):  # Kinesis's limit; ministack does not enforce it, AWS does
        admin.register_stream_consumer(StreamARN=arn, ConsumerName=f"production-{n}")
    client = reader_client()
    _Refuse(client, "LimitExceededException")
    with pytest.raises(TwilioEsError) as caught, EfoConsumer(client, unique_name, report=Collect()):
        pass
    assert "at most 20 consumers" in caught.value.message
    assert f"stream describe {unique_name}" in (caught.value.hint or "")


def test_busy_stream_is_retried_then_a_one_line_error(
    admin: KinesisClient, unique_name: str
) -> None:
    from twilio_es_cli.errors import TwilioEsError
    from twilio_es_cli.tail.efo import EfoConsumer

    create_stream(admin, unique_name, 1)
    client = reader_client()
    refuse = _Refuse(client, "ResourceInUseException")
    consumer = EfoConsumer(client, unique_name, report=Collect(), patience=1.5)
    with pytest.raises(TwilioEsError) as caught, consumer:
        pass
    assert refuse.calls >= 2  # retried while the stream might be updating
    assert "ResourceInUse" in caught.value.message and "ACTIVE" in (caught.value.hint or "")
    assert _consumers(admin, unique_name) == []


def test_stream_describe_lists_consumers(aws_env: str, unique_name: str, cli: CliRunner) -> None:
    admin = boto_client("kinesis", aws_env)  # moto: describe also looks up the IAM role
    create_stream(admin, unique_name, 1)
    arn = _stream_arn(admin, unique_name)
    admin.register_stream_consumer(StreamARN=arn, ConsumerName="twilio-es-ann-host-1-abcd")
    admin.register_stream_consumer(StreamARN=arn, ConsumerName="analytics")
    result = cli("stream", "describe", unique_name, "--json")
    assert result.exit_code == 0, result.stderr
    consumers = {c["name"]: c for c in result.json()["consumers"]}
    assert set(consumers) == {"twilio-es-ann-host-1-abcd", "analytics"}
    assert consumers["twilio-es-ann-host-1-abcd"]["twilio_es"] is True
    assert consumers["analytics"]["twilio_es"] is False
    table = cli("stream", "describe", unique_name)
    assert "analytics (ACTIVE)" in table.stdout


@pytest.mark.slow
def test_a_dropped_subscription_is_renewed_without_gap_or_repeat(
    admin: KinesisClient, unique_name: str, ministack_env: str
) -> None:
    from tests.tail.test_tail_faults import DroppingProxy
    from twilio_es_cli.tail.efo import EfoConsumer
    from twilio_es_cli.tail.positions import StartPosition
    from twilio_es_cli.tail.reader import read_stream

    create_stream(admin, unique_name, 2)
    proxy = DroppingProxy(ministack_env)
    stop = threading.Event()
    produced = 0

    def produce() -> None:
        nonlocal produced
        while not stop.is_set():
            put_events(admin, unique_name, range(produced, produced + 4), keys=5)
            produced += 4
            time.sleep(0.05)

    report = Collect()
    numbers: list[int] = []
    producer = threading.Thread(target=produce)
    try:
        client = reader_client(endpoint_url=proxy.url)
        with EfoConsumer(client, unique_name, report=report) as efo:
            records = read_stream(
                client,
                unique_name,
                StartPosition.trim_horizon(),
                shard_reader=efo.read_shard,
                report=report,
            )
            producer.start()
            cut = threading.Thread(target=proxy.cut, args=(1.5,), daemon=True)
            for record in records:
                numbers.append(json.loads(json.loads(record.data)["data"])["n"])
                if len(numbers) == 40:  # mid-subscription: every open stream is cut
                    cut.start()
                if len(numbers) == 200 and not stop.is_set():
                    stop.set()
                    producer.join(30)
                if stop.is_set() and len(numbers) >= produced:
                    break
            records.close()
    finally:
        stop.set()
        proxy.close()
    assert sorted(numbers) == list(range(produced))  # nothing lost, nothing twice
    assert any("lost connection to Kinesis" in m for m in report.warnings), report.lines
    assert any("reconnected" in m for m in report.warnings), report.lines
    assert _consumers(admin, unique_name) == []
