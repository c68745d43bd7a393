"""`tail --efo` against polling `tail`, in the same run: latency (put -> shown) and throughput.

On one ministack process (127.0.0.1, started and stopped here; the only emulator whose
SubscribeToShard boto3 can read):

- latency: a polling `tail` and a `tail --efo` follow the same 4-shard stream side by side
  while a producer puts one ~1.5 KB event every ``--interval`` seconds for ``--seconds``,
  each stamped with the time it was put; both tails' stdout is read here as lines arrive,
  and the delay from put to line is summarised (median, 95th percentile, max) per mode;
- throughput: ``tail --from trim-horizon --no-follow -o jsonl`` with and without ``--efo`` over
  ``--events`` events on 4 shards, interleaved rounds, wall time and events/s (``--efo``
  includes registering and deregistering its consumer), beside a bare boto3 EFO reader
  (register, one SubscribeToShard thread per shard printing one line per record, deregister):
  what the emulator's push allows any client.

    .venv/bin/python bench/efo.py
    .venv/bin/python bench/efo.py --seconds 5 --events 5000 --rounds 1   # quick
"""

from __future__ import annotations

import argparse
import json
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mypy_boto3_kinesis import KinesisClient

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from emulators import (
    bench_env,
    client,
    emulator,
    fill,
    median,
    tail_argv,
    timed,
    twilio_event,
)

WARM_UP = -1  # "n" of the events that only tell us a tail is reading


class Follower:
    """A following `tail` child; for each event number, when its line arrived."""

    def __init__(self, stream: str, env: dict[str, str], *extra: str) -> None:
        argv = [sys.executable, "-m", "twilio_es_cli", "tail", stream, "-o", "jsonl", *extra]
        self.err = tempfile.TemporaryFile()  # noqa: SIM115 (read when the tail stops)
        self.proc = subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=self.err, env=env, text=True
        )
        self.seen: dict[int, float] = {}
        self.warm = threading.Event()
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            now = time.time()
            n = json.loads(line)["data"]["n"]
            if n == WARM_UP:
                self.warm.set()
            else:
                self.seen.setdefault(n, now)

    def stop(self) -> str:
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(30)
        self.thread.join(10)
        self.err.seek(0)
        return self.err.read().decode("utf-8", "replace")


def put_one(kinesis: KinesisClient, stream: str, n: int, rng: random.Random) -> float:
    sent = time.time()
    data, key = twilio_event(n, rng, sent=sent)
    kinesis.put_record(StreamName=stream, Data=data, PartitionKey=f"{key}-{n}")
    return sent


def latency(endpoint: str, seconds: float, interval: float) -> dict[str, list[float]]:
    stream = "efo-latency"
    kinesis = client(endpoint)
    fill(endpoint, stream, 0)
    env = bench_env(endpoint)
    tails = {"polling": Follower(stream, env), "efo": Follower(stream, env, "--efo")}
    rng = random.Random(5)
    deadline = time.monotonic() + 60
    while not all(t.warm.is_set() for t in tails.values()):  # both are reading every shard
        if time.monotonic() > deadline:
            raise SystemExit("a tail never started reading: " + tails["efo"].stop())
        for _ in range(8):
            put_one(kinesis, stream, WARM_UP, rng)
        time.sleep(0.5)
    sent: dict[int, float] = {}
    n = 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        sent[n] = put_one(kinesis, stream, n, rng)
        n += 1
        time.sleep(interval)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and any(len(t.seen) < n for t in tails.values()):
        time.sleep(0.1)
    result = {}
    for mode, tail in tails.items():
        errors = tail.stop()
        if len(tail.seen) < n:
            raise SystemExit(f"{mode} tail showed {len(tail.seen)} of {n}: {errors[-2000:]}")
        result[mode] = sorted(tail.seen[i] - sent[i] for i in range(n))
    return result


#: The bare EFO reader: boto3 only, no checks, stops when it has read ``total`` records.
BARE_EFO = """
import sys, threading, time, boto3
stream, total = sys.argv[1], int(sys.argv[2])
kinesis = boto3.client("kinesis")
arn = kinesis.describe_stream_summary(StreamName=stream)["StreamDescriptionSummary"]["StreamARN"]
consumer = kinesis.register_stream_consumer(StreamARN=arn, ConsumerName="bare-bench")["Consumer"]
while kinesis.describe_stream_consumer(ConsumerARN=consumer["ConsumerARN"])[
        "ConsumerDescription"]["ConsumerStatus"] != "ACTIVE":
    time.sleep(0.05)
shards = [s["ShardId"] for s in kinesis.list_shards(StreamName=stream)["Shards"]]
lock, count, done = threading.Lock(), [0], threading.Event()
out = sys.stdout
def read(shard):
    answer = kinesis.subscribe_to_shard(ConsumerARN=consumer["ConsumerARN"], ShardId=shard,
                                        StartingPosition={"Type": "TRIM_HORIZON"})
    for event in answer["EventStream"]:
        records = event.get("SubscribeToShardEvent", {}).get("Records", [])
        with lock:
            for r in records:
                out.write(r["Data"].decode() + "\\n")
            count[0] += len(records)
            if count[0] >= total:
                done.set()
        if done.is_set():
            return
threads = [threading.Thread(target=read, args=(s,), daemon=True) for s in shards]
for thread in threads:
    thread.start()
done.wait(300)
out.flush()
kinesis.deregister_stream_consumer(ConsumerARN=consumer["ConsumerARN"])
"""


def throughput(endpoint: str, events: int, rounds: int) -> dict[str, list[float]]:
    stream = "efo-throughput"
    fill(endpoint, stream, events)
    env = bench_env(endpoint)
    argvs = {
        "polling": tail_argv(stream),
        "efo": tail_argv(stream, "--efo"),
        "bare efo": [sys.executable, "-c", BARE_EFO, stream, str(events)],
    }
    walls: dict[str, list[float]] = {mode: [] for mode in argvs}
    for _ in range(rounds):
        for mode, argv in argvs.items():
            run = timed(argv, env)
            if mode != "bare efo" and f"{events} events from 4 shards" not in run.stderr:
                raise SystemExit(f"{mode} tail did not read every event: {run.stderr}")
            walls[mode].append(run.seconds)
    return walls


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="latency: how long to put")
    parser.add_argument("--interval", type=float, default=0.05, help="latency: between puts")
    parser.add_argument("--events", type=int, default=20_000, help="throughput: events")
    parser.add_argument("--rounds", type=int, default=3, help="throughput: interleaved rounds")
    args = parser.parse_args(argv)
    with emulator("ministack") as endpoint:
        delays = latency(endpoint, args.seconds, args.interval)
        walls = throughput(endpoint, args.events, args.rounds)
    count = len(delays["efo"])
    print(f"latency, put -> shown, {count:,} events over {args.seconds:g}s (ms):")
    print(f"{'mode':10} {'median':>8} {'p95':>8} {'max':>8}")
    for mode, values in delays.items():
        p95 = values[min(len(values) - 1, int(len(values) * 0.95))]
        print(f"{mode:10} {median(values) * 1e3:>8.0f} {p95 * 1e3:>8.0f} {values[-1] * 1e3:>8.0f}")
    print(f"\nthroughput, {args.events:,} events on 4 shards, median of {args.rounds}:")
    print(f"{'mode':10} {'seconds':>8} {'events/s':>9}")
    for mode, values in walls.items():
        wall = median(values)
        print(f"{mode:10} {wall:>8.2f} {args.events / wall:>9,.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
