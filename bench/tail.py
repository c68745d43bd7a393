"""Tail benchmark: `twilio-es tail` beside bare boto3 loops, on moto and on ministack.

For each emulator (its own process on 127.0.0.1, started and stopped here) it fills a 4-shard
stream with Twilio-like CloudEvents of about 1.5 KB and then, in interleaved rounds (one of
each reader per round, so background load hits all alike), measures wall time and the
client's CPU (user + system of that child alone, start-up included) of:

- ``twilio-es tail STREAM --from trim-horizon --no-follow --output jsonl > /dev/null``
- (a) a bare sequential boto3 GetRecords loop printing one line per record
- (a4) a bare 4-thread boto3 loop (one thread per shard) printing one line per record
- (b) on moto only, the quickstart's shell pattern on a small sample (`aws kinesis
  get-records`, then `base64 -d | jq` per record; skipped when `aws` or `jq` is missing)

then the peak RSS of plain ``tail`` over a large run (ministack), and, in-process, the decoder
alone and decode + jsonl render (one core) against an orjson pipeline writing the identical
document (same input records, interleaved rounds; see :func:`decode_throughput`), and the RSS
of decode + dedupe + render.

    .venv/bin/python bench/tail.py                       # 20,000 events, both emulators
    .venv/bin/python bench/tail.py --events 5000 --rounds 1 --rss-tail-events 0  # quick
    .venv/bin/python bench/tail.py --emulator ministack
    .venv/bin/python bench/tail.py --in-process-only     # decode + render vs orjson only
"""

from __future__ import annotations

import argparse
import compileall
import io
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, NamedTuple

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from emulators import (  # noqa: E402  (bench/ is not a package)
    EMULATORS,
    Run,
    bench_env,
    emulator,
    fill,
    median,
    tail_argv,
    timed,
    twilio_event,
)

STREAM = "bench-events"

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

# One thread per shard, as a hand-written fast reader would; one line per record, as tail.
BASELINE_THREADS = r"""
import sys, threading, boto3
c = boto3.client("kinesis")
out, lock = sys.stdout, threading.Lock()
def read(shard_id):
    it = c.get_shard_iterator(StreamName=sys.argv[1], ShardId=shard_id,
                              ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    while it:
        r = c.get_records(ShardIterator=it)
        with lock:
            for rec in r["Records"]:
                out.write(rec["Data"].decode() + "\n")
        if not r["Records"] and r.get("MillisBehindLatest", 0) == 0:
            break
        it = r.get("NextShardIterator")
threads = [threading.Thread(target=read, args=(s["ShardId"],))
           for s in c.list_shards(StreamName=sys.argv[1])["Shards"]]
for t in threads: t.start()
for t in threads: t.join()
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


def run_quickstart(env: dict[str, str], sample: int) -> tuple[float, int] | None:
    missing = [tool for tool in ("aws", "jq", "base64") if shutil.which(tool) is None]
    if missing:
        print(f"(b) skipped: {', '.join(missing)} not installed (apt-get install -y jq)")
        return None
    with tempfile.NamedTemporaryFile("w", suffix=".sh", delete=False) as script:
        script.write(QUICKSTART)
    try:
        run = timed(["bash", script.name, STREAM, "shardId-000000000000", str(sample)], env)
    finally:
        os.unlink(script.name)
    return run.seconds, sample


class InProcess(NamedTuple):
    """The in-process figures, one core (events/s; medians of interleaved rounds)."""

    decode: float  # decode only
    pipeline: float  # decode + jsonl render, as tail does per record
    orjson: float  # the orjson pipeline writing the identical document
    ratios: list[float]  # pipeline / orjson of each round
    identical: bool  # every line of the two equal, byte for byte


def decode_throughput(count: int, rounds: int = 5) -> InProcess:
    """Decode only, decode + jsonl render, and the orjson pipeline, on one core, in-process.

    Both pipelines get the same input: ``KinesisRecord`` objects as the reader hands them to
    tail (built before timing; building them is the reader's work, not decoding). tail's
    renderer writes to a text stream on /dev/null, as its stdout would be in the process
    benchmark; the orjson pipeline keeps its lines in memory and writes nothing (so tail pays
    for writing and the yardstick does not). Rounds alternate which pipeline goes first, so
    the machine's load hits both alike; each figure is the median of its rounds.
    """
    from twilio_es_cli.tail.decode import decode

    records = bench_records(count)
    per_round = max(1, count // rounds)
    decode_times, ours, theirs = [], [], []
    with open(os.devnull, "w", encoding="utf-8") as null:
        tail_pipeline(records[:2000], null)  # warm both (imports, caches) before timing
        orjson_pipeline(records[:2000], null)
        for n in range(rounds):
            batch = records[n * per_round : (n + 1) * per_round]
            start = time.perf_counter()
            for record in batch:
                decode(record.data)
            decode_times.append(time.perf_counter() - start)
            first, second = (tail_pipeline, orjson_pipeline)[:: 1 if n % 2 == 0 else -1]
            times = {f: f(batch, null) for f in (first, second)}
            ours.append(times[tail_pipeline])
            theirs.append(times[orjson_pipeline])
    identical = same_output(records[:2000])
    return InProcess(
        decode=per_round / median(decode_times),
        pipeline=per_round / median(ours),
        orjson=per_round / median(theirs),
        ratios=[t / o for o, t in zip(ours, theirs, strict=True)],
        identical=identical,
    )


def bench_records(count: int) -> list[Any]:
    """``count`` records of 2,000 distinct MessageStatus-like events, as the reader makes them."""
    from datetime import datetime, timezone

    from twilio_es_cli.tail.records import KinesisRecord

    rng = random.Random(2)
    pool = [twilio_event(n, rng)[0] for n in range(2000)]
    now = datetime.now(timezone.utc)
    shard = "shardId-000000000000"
    return [KinesisRecord(shard, str(i), "pk", now, pool[i % len(pool)]) for i in range(count)]


def tail_pipeline(records: list[Any], out: Any) -> float:
    """Seconds for tail's per-record work (``decode`` then the jsonl renderer) over ``records``."""
    from twilio_es_cli.tail.decode import decode
    from twilio_es_cli.tail.render import JsonLines

    renderer = JsonLines(out)
    write = renderer.write
    start = time.perf_counter()
    for record in records:
        write(record, decode(record.data))
    renderer.drain()
    return time.perf_counter() - start


CE_FIELDS: tuple[str, ...] = ("specversion", "id", "source", "type", "time")
CE_FIELDS += ("datacontenttype", "dataschema", "subject", "data")


def orjson_line_maker() -> Any:
    """The yardstick of issue 11, one record -> one line: parse with orjson, parse ``data``
    when it is a JSON string, order the attributes as tail does, add the same ``kinesis``
    object, dump with orjson. No checks, no escaping: on this input it writes tail's document.
    (A closure, so the imports are not paid per record.)"""
    import orjson

    from twilio_es_cli.tail.render import iso_utc

    loads, dumps, known = orjson.loads, orjson.dumps, frozenset(CE_FIELDS)

    def line(record: Any) -> bytes:
        event = loads(record.data)
        inner = event.get("data")
        if isinstance(inner, str) and inner.lstrip()[:1] in ("{", "["):
            event["data"] = loads(inner)
        doc = {k: event[k] for k in CE_FIELDS if event.get(k) is not None}
        doc.update((k, v) for k, v in event.items() if k not in known)
        doc["kinesis"] = {
            "shard_id": record.shard_id,
            "sequence_number": record.sequence_number,
            "partition_key": record.partition_key,
            "arrival": iso_utc(record.arrival),
        }
        return dumps(doc) + b"\n"

    return line


def orjson_pipeline(records: list[Any], out: Any) -> float:
    """Seconds for the orjson pipeline over ``records`` (``out`` unused: it writes nothing)."""
    line = orjson_line_maker()
    start = time.perf_counter()
    for record in records:
        line(record)
    return time.perf_counter() - start


def same_output(records: list[Any]) -> bool:
    """Whether tail's renderer writes exactly the orjson pipeline's lines for ``records``."""
    from twilio_es_cli.tail.decode import decode
    from twilio_es_cli.tail.render import JsonLines

    ours: list[str] = []

    class Collect(io.StringIO):
        def write(self, text: str) -> int:
            ours.append(text)
            return len(text)

    renderer = JsonLines(Collect())
    for record in records:
        renderer.write(record, decode(record.data))
        renderer.drain()  # one line per write call, to compare line by line
    line = orjson_line_maker()
    return all(line(r).decode() == ours[i] for i, r in enumerate(records))


def rss_child(count: int) -> None:
    """Decode + dedupe + render ``count`` distinct events; print peak RSS in MB as JSON."""
    from datetime import datetime, timezone

    from twilio_es_cli.tail.decode import decode
    from twilio_es_cli.tail.filters import Deduper
    from twilio_es_cli.tail.records import KinesisRecord
    from twilio_es_cli.tail.render import JsonLines

    class Null(io.StringIO):
        def write(self, text: str) -> int:
            return len(text)

    rng = random.Random(3)
    template = twilio_event(0, rng)[0].decode()
    old_id = json.loads(template)["id"]
    renderer = JsonLines(Null())
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


READERS = {
    "tail": "twilio-es tail --no-follow -o jsonl (4 shards parallel)",
    "a": "(a) bare sequential boto3 GetRecords loop",
    "a4": "(a4) bare 4-thread boto3 loop, one thread per shard",
}


def compare(
    kind: str, events: int, rounds: int, sample: int, other: Path | None = None
) -> dict[str, Any]:
    """Fill a stream on ``kind`` and time every reader, interleaved; medians per reader.

    ``other``: a second checkout of twilio-es (e.g. ``git archive`` of an older commit) whose
    ``tail`` runs in the same rounds as reader ``tail@other`` (same interpreter and packages).
    """
    with emulator(kind) as endpoint:
        env = bench_env(endpoint)
        size = fill(endpoint, STREAM, events)
        print(f"{kind}: {events:,} events of {size:,.0f} bytes on 4 shards at {endpoint}")
        argvs = {
            "tail": tail_argv(STREAM),
            "a": [sys.executable, "-c", BASELINE, STREAM],
            "a4": [sys.executable, "-c", BASELINE_THREADS, STREAM],
        }
        envs = dict.fromkeys(argvs, env)
        if other is not None:
            compileall.compile_dir(str(other / "twilio_es_cli"), quiet=1)
            argvs["tail@other"] = tail_argv(STREAM)
            envs["tail@other"] = {**env, "PYTHONPATH": str(other), "PYTHONSAFEPATH": "1"}
        runs: dict[str, list[Run]] = {key: [] for key in argvs}
        for _ in range(rounds):
            for key, argv in argvs.items():
                run = timed(argv, envs[key])
                if key.startswith("tail") and f"{events} events from 4 shards" not in run.stderr:
                    raise SystemExit(f"{key} did not read every event: {run.stderr}")
                runs[key].append(run)
        quick = run_quickstart(env, sample) if kind == "moto" and sample else None
    return {"runs": runs, "quick": quick}


def print_compare(kind: str, events: int, result: dict[str, Any]) -> None:
    runs: dict[str, list[Run]] = result["runs"]
    wall = {key: median([r.seconds for r in rs]) for key, rs in runs.items()}
    cpu = {key: median([r.cpu for r in rs]) for key, rs in runs.items()}
    print(f"\n{kind}, medians of {len(runs['tail'])} interleaved rounds:")
    print(f"{'reader':56} {'seconds':>8} {'events/s':>9} {'CPU us/ev':>10} {'x tail':>7}")
    labels = dict(READERS)
    if "tail@other" in runs:
        labels["tail@other"] = "the same tail from the --other checkout"
    for key, label in labels.items():
        rate = events / wall[key]
        print(
            f"{label:56} {wall[key]:>8.2f} {rate:>9,.0f} {cpu[key] / events * 1e6:>10.1f} "
            f"{wall['tail'] / wall[key]:>7.2f}"
        )
    quick = result["quick"]
    if quick is not None:
        rate = quick[1] / quick[0]
        label = "(b) quickstart: aws get-records + base64 -d + jq"
        ratio = rate * wall["tail"] / events
        print(f"{label:56} {quick[0]:>8.2f} {rate:>9,.0f} {'':>10} {ratio:>7.3f}")
    print(
        f"tail speed vs (a4): {wall['a4'] / wall['tail']:.2f}x, vs (a): "
        f"{wall['a'] / wall['tail']:.2f}x (>1 = tail faster); tail CPU/event vs (a): "
        f"{cpu['tail'] / cpu['a']:.2f}x (<=1 = tail cheaper)"
    )
    if "tail@other" in runs:
        print(
            f"--other checkout, same rounds: speed vs (a4) {wall['a4'] / wall['tail@other']:.2f}x,"
            f" CPU/event vs (a) {cpu['tail@other'] / cpu['a']:.2f}x; this tail is "
            f"{wall['tail@other'] / wall['tail']:.2f}x its speed at "
            f"{cpu['tail'] / cpu['tail@other']:.2f}x its CPU"
        )


def tail_rss(events: int) -> Run:
    """Peak RSS of plain ``tail`` reading ``events`` events (ministack; a fresh process)."""
    with emulator("ministack") as endpoint:
        fill(endpoint, STREAM, events)
        run = timed(tail_argv(STREAM), bench_env(endpoint))
    if f"{events} events from 4 shards" not in run.stderr:
        raise SystemExit(f"tail did not read every event: {run.stderr}")
    return run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000, help="events in the stream")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds per reader")
    parser.add_argument(
        "--emulator", action="append", choices=EMULATORS, help="repeatable (default: both)"
    )
    parser.add_argument("--sample", type=int, default=100, help="events for the (b) pattern")
    parser.add_argument("--decode", type=int, default=200_000, help="events for decode speed")
    parser.add_argument(
        "--decode-rounds", type=int, default=5, help="interleaved rounds of the decode figures"
    )
    parser.add_argument("--rss-events", type=int, default=1_000_000, help="events for decode RSS")
    parser.add_argument(
        "--rss-tail-events", type=int, default=200_000, help="events for tail's RSS (0: skip)"
    )
    parser.add_argument(
        "--in-process-only", action="store_true", help="only the in-process decode/render/RSS"
    )
    parser.add_argument(
        "--other",
        type=Path,
        help="another checkout whose tail joins the same rounds (before/after in one run)",
    )
    parser.add_argument("--rss-child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.rss_child:
        rss_child(args.rss_child)
        return 0

    for kind in [] if args.in_process_only else args.emulator or EMULATORS:
        result = compare(kind, args.events, args.rounds, args.sample, args.other)
        print_compare(kind, args.events, result)
    if args.rss_tail_events and not args.in_process_only:
        run = tail_rss(args.rss_tail_events)
        print(
            f"\nplain tail over {args.rss_tail_events:,} events (ministack): peak RSS "
            f"{run.max_rss_mb:.0f} MB, {run.seconds:.1f}s, "
            f"{run.cpu / args.rss_tail_events * 1e6:.1f} us CPU/event"
        )

    speeds = decode_throughput(args.decode, args.decode_rounds)
    child = subprocess.run(
        [sys.executable, __file__, "--rss-child", str(args.rss_events)],
        capture_output=True,
        text=True,
        check=True,
    )
    rss: dict[str, Any] = json.loads(child.stdout)
    print(f"decode only, one core:           {speeds.decode:>10,.0f} events/s (target >= 100,000)")
    print(
        f"decode + jsonl render, one core: {speeds.pipeline:>10,.0f} events/s = "
        f"{speeds.pipeline / speeds.orjson:.2f}x the orjson pipeline (target >= 0.8x; rounds: "
        + " ".join(f"{r:.2f}" for r in speeds.ratios)
        + ")"
    )
    same = "identical" if speeds.identical else "NOT identical"
    print(f"orjson pipeline, one core:       {speeds.orjson:>10,.0f} events/s ({same} output)")
    print(
        f"peak RSS decoding+dedupe+render {rss['events']:,} events: {rss['peak_mb']:.0f} MB "
        f"(at start {rss['start_mb']:.0f} MB; target < 150 MB; {rss['seconds']:.0f}s)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
