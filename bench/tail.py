"""Tail benchmark: `twilio-es tail` beside a bare boto3 loop and the quickstart's shell pattern.

Starts its own moto server (a separate process on 127.0.0.1), fills a 4-shard stream with
Twilio-like CloudEvents of about 1.5 KB, then in the same run times:

- ``twilio-es tail STREAM --from trim-horizon --no-follow --output jsonl > /dev/null``
- (a) a bare sequential boto3 GetRecords loop over the shards printing one line per record
- (b) the quickstart's pattern on a small sample: ``aws kinesis get-records``, then per record
  ``base64 -d | jq`` (skipped with a message when ``aws`` or ``jq`` is missing)

and, in-process, the decoder alone (events/s on one core; target >= 100k/s) and, in a fresh
child process, the peak RSS of decoding + rendering a long run (target < 150 MB for 1M events).
Process start-up is included in the wall times of the three readers, as a user would see it.

    .venv/bin/python bench/tail.py                     # 50,000 events, full run
    .venv/bin/python bench/tail.py --events 5000 --rss-events 100000   # quick
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
STREAM = "bench-events"
REGION = "us-east-1"

BASELINE = r"""
import sys, boto3
c = boto3.client("kinesis")
out = sys.stdout
for shard in c.list_shards(StreamName=sys.argv[1])["Shards"]:
    it = c.get_shard_iterator(StreamName=sys.argv[1], ShardId=shard["ShardId"],
                              ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    while it:
        r = c.get_records(ShardIterator=it)
        for rec in r["Records"]:
            out.write(rec["Data"].decode() + "\n")
        if not r["Records"] and r.get("MillisBehindLatest", 0) == 0:
            break
        it = r.get("NextShardIterator")
"""

# The quickstart's reader, per record: get-records, then base64 -d | jq for each record.
QUICKSTART = r"""
set -euo pipefail
it=$(aws kinesis get-shard-iterator --stream-name "$1" --shard-id "$2" \
      --shard-iterator-type TRIM_HORIZON --query ShardIterator --output text)
n=0
while [ "$n" -lt "$3" ]; do
  result=$(aws kinesis get-records --shard-iterator "$it" --limit 25)
  it=$(echo "$result" | jq -r .NextShardIterator)
  for data in $(echo "$result" | jq -r '.Records[].Data'); do
    echo "$data" | base64 -d | jq .
    n=$((n + 1))
  done
done
"""


def twilio_event(n: int, rng: random.Random) -> tuple[bytes, str]:
    """A MessageStatus-like CloudEvent of about 1.5 KB (data as a JSON string, as in Kinesis)."""
    sid = f"SM{rng.getrandbits(128):032x}"
    data = {
        "accountSid": f"AC{'a' * 32}",
        "messageSid": sid,
        "messagingServiceSid": f"MG{'b' * 32}",
        "to": f"+1555{n % 10_000_000:07d}",
        "from": "+15557654321",
        "messageStatus": rng.choice(["queued", "sent", "delivered", "undelivered"]),
        "eventName": "com.twilio.messaging.message.delivered",
        "numSegments": 1,
        "numMedia": 0,
        "apiVersion": "2010-04-01",
        "body": "".join(rng.choice("abcdefghijklmnopqrstuvwxyz ") for _ in range(800)),
        "timestamp": "2026-01-01T00:00:00.000Z",
    }
    doc = {
        "specversion": "1.0",
        "type": "com.twilio.messaging.message.delivered",
        "source": f"/2010-04-01/Accounts/AC{'a' * 32}/Messages/{sid}.json",
        "id": f"EZ{rng.getrandbits(128):032x}",
        "dataschema": "https://events-schemas.twilio.com/Messaging.MessageStatus/5",
        "datacontenttype": "application/json",
        "time": "2026-01-01T00:00:00.000Z",
        "data": json.dumps(data),
    }
    return json.dumps(doc).encode(), sid


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_moto() -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return proc, f"http://127.0.0.1:{port}"
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("moto server did not start")


def bench_env(endpoint: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "TWILIO_"))}
    env.update(
        AWS_ENDPOINT_URL=endpoint,
        AWS_ACCESS_KEY_ID="bench",
        AWS_SECRET_ACCESS_KEY="bench",
        AWS_REGION=REGION,
        AWS_DEFAULT_REGION=REGION,
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        AWS_EC2_METADATA_DISABLED="true",
    )
    return env


def fill(endpoint: str, count: int) -> float:
    import boto3

    kinesis = boto3.client(
        "kinesis",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id="bench",
        aws_secret_access_key="bench",
    )
    kinesis.create_stream(StreamName=STREAM, ShardCount=4)
    kinesis.get_waiter("stream_exists").wait(StreamName=STREAM, WaiterConfig={"Delay": 0.2})
    rng = random.Random(1)
    sizes = 0
    for start in range(0, count, 500):
        batch = []
        for n in range(start, min(count, start + 500)):
            data, key = twilio_event(n, rng)
            sizes += len(data)
            batch.append({"Data": data, "PartitionKey": key})
        response = kinesis.put_records(StreamName=STREAM, Records=batch)
        assert response.get("FailedRecordCount", 0) == 0
    return sizes / count


def timed(argv: list[str], env: dict[str, str]) -> tuple[float, str]:
    start = time.perf_counter()
    with open(os.devnull, "wb") as devnull:
        proc = subprocess.run(argv, stdout=devnull, stderr=subprocess.PIPE, env=env, check=False)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"`{' '.join(argv[:4])} ...` failed: {proc.stderr.decode()[-2000:]}")
    return elapsed, proc.stderr.decode()


def run_quickstart(env: dict[str, str], sample: int) -> tuple[float, int] | None:
    missing = [tool for tool in ("aws", "jq", "base64") if shutil.which(tool) is None]
    if missing:
        print(f"(b) skipped: {', '.join(missing)} not installed (apt-get install -y jq)")
        return None
    with tempfile.NamedTemporaryFile("w", suffix=".sh", delete=False) as script:
        script.write(QUICKSTART)
    try:
        elapsed, _ = timed(["bash", script.name, STREAM, "shardId-000000000000", str(sample)], env)
    finally:
        os.unlink(script.name)
    return elapsed, sample


def decode_throughput(count: int) -> tuple[float, float]:
    """(decode-only events/s, decode + jsonl render events/s), one core, in-process."""
    from twilio_es_cli.cloudevents import decode
    from twilio_es_cli.reader import KinesisRecord
    from twilio_es_cli.render_events import JsonLines

    rng = random.Random(2)
    pool = [twilio_event(n, rng)[0] for n in range(2000)]
    datas = [pool[i % len(pool)] for i in range(count)]
    start = time.perf_counter()
    for data in datas:
        decode(data)
    decode_rate = count / (time.perf_counter() - start)

    class Null:
        def write(self, text: str) -> int:
            return len(text)

        def flush(self) -> None:
            pass

    renderer = JsonLines(Null())  # type: ignore[arg-type]
    from datetime import datetime, timezone

    now = datetime.now(timezone.utc)
    start = time.perf_counter()
    for i, data in enumerate(datas):
        record = KinesisRecord("shardId-000000000000", str(i), "pk", now, data)
        renderer.write(record, decode(data))
    pipeline_rate = count / (time.perf_counter() - start)
    return decode_rate, pipeline_rate


def rss_child(count: int) -> None:
    """Decode + dedupe + render ``count`` distinct events; print peak RSS in MB as JSON."""
    from datetime import datetime, timezone

    from twilio_es_cli.cloudevents import decode
    from twilio_es_cli.reader import KinesisRecord
    from twilio_es_cli.render_events import JsonLines
    from twilio_es_cli.tail import Deduper

    class Null:
        def write(self, text: str) -> int:
            return len(text)

        def flush(self) -> None:
            pass

    rng = random.Random(3)
    template = twilio_event(0, rng)[0].decode()
    old_id = json.loads(template)["id"]
    renderer = JsonLines(Null())  # type: ignore[arg-type]
    deduper = Deduper()
    now = datetime.now(timezone.utc)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    start = time.perf_counter()
    for i in range(count):
        data = template.replace(old_id, f"EZ{i:032x}").encode()  # a distinct id each time
        decoded = decode(data)
        assert decoded.event is not None
        if not deduper.seen(decoded.event.source, decoded.event.id):
            renderer.write(KinesisRecord("shardId-000000000000", str(i), "pk", now, data), decoded)
    elapsed = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"events": count, "peak_mb": peak, "start_mb": before, "seconds": elapsed}))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=50_000, help="events in the stream")
    parser.add_argument("--sample", type=int, default=100, help="events for the (b) pattern")
    parser.add_argument("--decode", type=int, default=200_000, help="events for decode speed")
    parser.add_argument("--rss-events", type=int, default=1_000_000, help="events for peak RSS")
    parser.add_argument("--rss-child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.rss_child:
        rss_child(args.rss_child)
        return 0

    moto, endpoint = start_moto()
    try:
        env = bench_env(endpoint)
        print(f"filling {STREAM} (4 shards, moto at {endpoint}) with {args.events:,} events ...")
        size = fill(endpoint, args.events)
        print(f"  average record {size:,.0f} bytes")

        tail_argv = [sys.executable, "-m", "twilio_es_cli", "tail", STREAM]
        tail_argv += ["--from", "trim-horizon", "--no-follow", "--output", "jsonl"]
        tail_s, tail_err = timed(tail_argv, env)
        if f"{args.events} events from 4 shards" not in tail_err:
            raise SystemExit(f"tail did not read every event: {tail_err}")
        base_s, _ = timed([sys.executable, "-c", BASELINE, STREAM], env)
        quick = run_quickstart(env, args.sample)
    finally:
        moto.terminate()
        moto.wait(10)

    decode_rate, pipeline_rate = decode_throughput(args.decode)
    child = subprocess.run(
        [sys.executable, __file__, "--rss-child", str(args.rss_events)],
        capture_output=True,
        text=True,
        check=True,
    )
    rss: dict[str, Any] = json.loads(child.stdout)

    tail_rate, base_rate = args.events / tail_s, args.events / base_s
    print()
    print(f"{'reader':58} {'records':>8} {'seconds':>8} {'records/s':>10} {'x tail':>7}")
    rows = [
        ("twilio-es tail --no-follow -o jsonl (4 shards parallel)", args.events, tail_s),
        ("(a) bare sequential boto3 GetRecords loop", args.events, base_s),
    ]
    if quick is not None:
        rows.append(("(b) quickstart: aws get-records + base64 -d + jq", quick[1], quick[0]))
    for label, count, seconds in rows:
        rate = count / seconds
        print(f"{label:58} {count:>8,} {seconds:>8.2f} {rate:>10,.0f} {rate / tail_rate:>7.3f}")
    print()
    print(f"tail vs (a): {tail_rate / base_rate:.2f}x the records/s (target >= 1.0)")
    if quick is not None:
        print(f"tail vs (b): {tail_rate / (quick[1] / quick[0]):,.0f}x the records/s")
    print(f"decode only, one core:           {decode_rate:>10,.0f} events/s (target >= 100,000)")
    print(f"decode + jsonl render, one core: {pipeline_rate:>10,.0f} events/s")
    print(
        f"peak RSS decoding+dedupe+render {rss['events']:,} events: {rss['peak_mb']:.0f} MB "
        f"(at start {rss['start_mb']:.0f} MB; target < 150 MB; {rss['seconds']:.0f}s)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
