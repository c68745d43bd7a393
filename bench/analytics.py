"""Analytics benchmark: `archive` against `tail -o jsonl > file`, `query` against jq and DuckDB
reading JSONL, and the archive's size against the JSONL's.

Part 1, query (no emulator): ``--events`` (1,000,000) events of a realistic mix
(bench/twilio_mix.py) become, in-process, the JSONL ``tail -o jsonl > events.jsonl`` writes
(tail's own renderer) and an archive (the archive's own writer). Then, in interleaved rounds,
whole processes answer one group-by, "message status events per status" (repeats removed):

- ``twilio-es query "SELECT status, count(*) ... FROM messages GROUP BY status" --dir D``
- ``jq -n 'reduce (inputs | select(...) | .data.messageStatus) ...' events.jsonl`` (what
  people do today; it removes no repeats, so it does less work)
- the same engine reading the JSONL: ``python -c`` DuckDB over ``read_json``, the same query

and in-process (one DuckDB connection, start-up excluded) the archive's query against the
JSONL one. All answers are compared before timing. Targets (issue 24): query >= 50x jq and
>= 3x DuckDB on JSONL; archive <= 1/4 of the JSONL's bytes.

Part 2, archive (ministack, its own process on 127.0.0.1): ``--archive-events`` (200,000)
events on a 4-shard stream; interleaved rounds of ``twilio-es tail STREAM --from
trim-horizon --no-follow -o jsonl > file`` and ``twilio-es archive STREAM --from trim-horizon
--no-follow --dir D`` (each into a fresh place), wall time, CPU and peak RSS of each child.
Target: archive >= 0.8x tail's speed, memory flat (peak RSS of the archive over 50,000 and
200,000 events).

Part 3, ``--writers``: the Parquet writer chosen, DuckDB (``COPY (SELECT ... FROM
read_json(spool)) TO ... (FORMAT parquet)``), beside pyarrow (``pa.table`` of Python lists,
``pq.write_table``), when pyarrow is installed: CPU per event of each, and what each installs.

    .venv/bin/python bench/analytics.py                       # parts 1 and 2
    .venv/bin/python bench/analytics.py --query-only --events 200000 --rounds 3
    .venv/bin/python bench/analytics.py --archive-only --archive-events 50000
    .venv/bin/python bench/analytics.py --writers --writer-events 200000
    .venv/bin/python bench/analytics.py --memory-curve 50000,100000,200000,300000
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from emulators import Run, byte_compile, machine, median  # noqa: E402  (bench/ is no package)
from twilio_mix import events  # noqa: E402

TWILIO_ES = [sys.executable, "-m", "twilio_es_cli"]
GROUP_BY = "SELECT status, count(*) AS events FROM messages GROUP BY status ORDER BY status"
JQ = (
    'reduce (inputs | select(.type | startswith("com.twilio.messaging.message.")) '
    "| .data.messageStatus | ascii_downcase) as $s ({}; .[$s] += 1)"
)
# The same question over tail's JSONL, as DuckDB would be asked it: the same repeats removed
# (first arrival of each source and id), the same JSON extraction.
JSONL_QUERY = """
SELECT status, count(*) AS events FROM (
  SELECT lower(data ->> '$.messageStatus') AS status,
    row_number() OVER (PARTITION BY source, id ORDER BY kinesis ->> '$.arrival') AS copy
  FROM read_json({path}, format = 'newline_delimited', columns = {{
    'id': 'VARCHAR', 'source': 'VARCHAR', 'type': 'VARCHAR', 'data': 'JSON', 'kinesis': 'JSON'}})
  WHERE type LIKE 'com.twilio.messaging.message.%'
) WHERE copy = 1 GROUP BY status ORDER BY status
"""
DUCKDB_JSONL = """
import json, sys, duckdb
con = duckdb.connect()
con.execute("SET enable_progress_bar = false")
rows = con.sql(sys.argv[1]).fetchall()
print(json.dumps({status: n for status, n in rows}))
"""


def _literal(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def build(count: int, work: Path) -> dict[str, Any]:
    """The JSONL tail writes and the archive's files, from the same ``count`` events."""
    from twilio_es_cli.analytics.engine import connect
    from twilio_es_cli.analytics.writer import ArchiveWriter
    from twilio_es_cli.tail.decode import decode
    from twilio_es_cli.tail.records import KinesisRecord
    from twilio_es_cli.tail.render import JsonLines

    jsonl, archive = work / "events.jsonl", work / "twilio-events"
    arrival = datetime(2026, 1, 3, tzinfo=timezone.utc)
    writer = ArchiveWriter(archive, connect())
    spent = {"tail": 0.0, "archive": 0.0}
    with open(jsonl, "w", encoding="utf-8") as out:
        renderer = JsonLines(out)
        for n, data in enumerate(events(count)):
            record = KinesisRecord(f"shardId-{n % 4:012d}", f"{10**20 + n}", "pk", arrival, data)
            start = time.perf_counter()
            renderer.write(record, decode(data))
            middle = time.perf_counter()
            writer.add(record, decode(data))
            spent["tail"] += middle - start
            spent["archive"] += time.perf_counter() - middle
        start = time.perf_counter()
        renderer.drain()
        middle = time.perf_counter()
        writer.roll_all()
        spent["tail"] += middle - start
        spent["archive"] += time.perf_counter() - middle
    parquet = sum(p.stat().st_size for p in archive.rglob("*.parquet"))
    return {
        "jsonl": jsonl,
        "archive": archive,
        "jsonl_bytes": jsonl.stat().st_size,
        "archive_bytes": parquet,
        "files": writer.stats.files,
        "spent": spent,
    }


def _answers(built: dict[str, Any], jq: bool) -> dict[str, dict[str, int]]:
    """Each reader's answer, to check they agree before anything is timed."""
    env = dict(os.environ)
    query = subprocess.run(
        [*TWILIO_ES, "query", GROUP_BY, "--dir", str(built["archive"]), "--json"],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    answers = {"query": {r["status"]: r["events"] for r in json.loads(query.stdout)}}
    sql = JSONL_QUERY.format(path=_literal(built["jsonl"]))
    duck = subprocess.run(
        [sys.executable, "-c", DUCKDB_JSONL, sql], capture_output=True, text=True, check=True
    )
    answers["duckdb-jsonl"] = json.loads(duck.stdout)
    if jq:
        out = subprocess.run(
            ["jq", "-n", "-c", JQ, str(built["jsonl"])], capture_output=True, text=True, check=True
        )
        answers["jq"] = json.loads(out.stdout)
    return answers


def query_part(count: int, rounds: int) -> None:
    byte_compile()
    jq = shutil.which("jq") is not None
    if not jq:
        print("jq is NOT installed: the jq baseline is skipped (apt-get install -y jq)")
    with tempfile.TemporaryDirectory(prefix="bench-analytics-") as tmp:
        work = Path(tmp)
        print(f"building {count:,} events as tail's JSONL and as an archive ...")
        built = build(count, work)
        ratio = built["archive_bytes"] / built["jsonl_bytes"]
        jsonl_mb, archive_mb = built["jsonl_bytes"] / 1e6, built["archive_bytes"] / 1e6
        print(
            f"JSONL {jsonl_mb:,.1f} MB; archive {archive_mb:,.1f} MB in {built['files']} "
            f"files = {ratio:.3f} of the JSONL (target <= 0.25)"
        )
        spent = built["spent"]
        print(
            f"in-process, one core: tail's decode + render {count / spent['tail']:,.0f} ev/s, "
            f"archive's decode + write {count / spent['archive']:,.0f} ev/s"
        )
        answers = _answers(built, jq)
        first = answers["query"]
        for name, answer in answers.items():
            if answer != first:
                raise SystemExit(f"{name} answered {answer}, query answered {first}")
        print(f"every reader answers {first}")
        argvs = {
            "query": [*TWILIO_ES, "query", GROUP_BY, "--dir", str(built["archive"]), "--json"],
            "duckdb-jsonl": [
                sys.executable,
                "-c",
                DUCKDB_JSONL,
                JSONL_QUERY.format(path=_literal(built["jsonl"])),
            ],
        }
        if jq:
            argvs["jq"] = ["jq", "-n", "-c", JQ, str(built["jsonl"])]
        runs: dict[str, list[Run]] = {key: [] for key in argvs}
        for _ in range(rounds):
            for key, argv in argvs.items():
                if key == "jq" and len(runs["jq"]) >= max(1, rounds // 3):
                    continue  # jq takes a minute a run: fewer rounds of it
                runs[key].append(_timed_to(argv, dict(os.environ), Path(os.devnull)))
        inproc = _in_process(built, rounds)
    _print_query(count, runs, inproc)


def _in_process(built: dict[str, Any], rounds: int) -> dict[str, float]:
    """The archive's query and the JSONL one in one DuckDB process (start-up excluded)."""
    from twilio_es_cli.analytics.engine import connect, open_archive

    archive_con = open_archive(built["archive"])
    jsonl_con = connect()
    jsonl_sql = JSONL_QUERY.format(path=_literal(built["jsonl"]))
    times: dict[str, list[float]] = {"archive": [], "jsonl": []}
    for _ in range(rounds):
        for key, con, sql in (
            ("archive", archive_con, GROUP_BY),
            ("jsonl", jsonl_con, jsonl_sql),
        ):
            start = time.perf_counter()
            con.execute(sql).fetchall()
            times[key].append(time.perf_counter() - start)
    return {key: median(values) for key, values in times.items()}


def _print_query(count: int, runs: dict[str, list[Run]], inproc: dict[str, float]) -> None:
    wall = {key: median([r.seconds for r in rs]) for key, rs in runs.items()}
    print(f"\ngroup-by over {count:,} events, whole processes (medians):")
    print(f"{'reader':60} {'seconds':>8} {'peak MB':>8} {'query x':>8}")
    labels = {
        "query": "twilio-es query (Parquet archive, DuckDB)",
        "duckdb-jsonl": "DuckDB reading tail's JSONL (same query, same engine)",
        "jq": "jq over tail's JSONL (reduce by status; removes no repeats)",
    }
    for key, label in labels.items():
        if key in wall:
            peak = median([r.max_rss_mb for r in runs[key]])
            print(f"{label:60} {wall[key]:>8.2f} {peak:>8.0f} {wall[key] / wall['query']:>8.1f}")
    print(
        f"in-process (one DuckDB, start-up excluded): archive {inproc['archive']:.3f}s, JSONL "
        f"{inproc['jsonl']:.3f}s = {inproc['jsonl'] / inproc['archive']:.1f}x"
    )
    if "jq" in wall:
        print(f"query vs jq: {wall['jq'] / wall['query']:.0f}x (target >= 50x)")
    print(
        f"query vs DuckDB on JSONL: {wall['duckdb-jsonl'] / wall['query']:.1f}x whole process,"
        f" {inproc['jsonl'] / inproc['archive']:.1f}x in-process (target >= 3x)"
    )


# --- part 3: the Parquet writer ---------------------------------------------------------------


def writers_part(count: int, rounds: int) -> None:
    """CPU per event of the two ways to write the same rows as Parquet."""
    from twilio_es_cli.analytics import writer as w
    from twilio_es_cli.analytics.engine import connect
    from twilio_es_cli.tail.decode import decode
    from twilio_es_cli.tail.records import KinesisRecord

    arrival = datetime(2026, 1, 3, tzinfo=timezone.utc)
    records = [
        KinesisRecord(f"s{n % 4}", str(10**20 + n), "pk", arrival, data)
        for n, data in enumerate(events(count))
    ]
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        pyarrow_ok = False
        print("pyarrow is NOT installed: only DuckDB's writer is measured (pip install pyarrow)")
    else:
        pyarrow_ok = True
    con = connect(threads=1)
    for _ in range(rounds):
        with tempfile.TemporaryDirectory() as tmp:
            spool, target = Path(tmp) / "spool.jsonl", Path(tmp) / "out.parquet"
            decoded = [decode(r.data) for r in records]  # the same for both, outside the timing
            before = _cpu()
            _spool(w, records, decoded, spool)
            middle = _cpu()
            con.execute(
                f"COPY (SELECT {w._EVENT_SELECT} FROM read_json({_literal(spool)}, "
                f"format = 'newline_delimited', columns = {w._struct(w._EVENT_COLUMNS)})) "
                f"TO {_literal(target)} (FORMAT parquet, COMPRESSION zstd, COMPRESSION_LEVEL "
                f"{w.ZSTD_LEVEL}, ROW_GROUP_SIZE {w.ROW_GROUP}, ROW_GROUP_SIZE_BYTES "
                f"{w.ROW_GROUP_BYTES})"
            )
            after = _cpu()
            line = (
                f"DuckDB: rows {(middle - before) / count * 1e6:.1f} + convert "
                f"{(after - middle) / count * 1e6:.1f} = {(after - before) / count * 1e6:.1f} us "
                f"CPU/event, {target.stat().st_size / 1e6:.1f} MB"
            )
            if pyarrow_ok:
                decoded = [decode(r.data) for r in records]
                line += " | " + _pyarrow(w, records, decoded, Path(tmp) / "arrow.parquet", count)
            print(line)
    print(f"installed: duckdb {_installed('duckdb')} MB; pyarrow {_installed('pyarrow')} MB")


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _spool(w: Any, records: list[Any], decoded: list[Any], path: Path) -> None:
    dump, arrival = w._Dumper(), w._Arrival()
    with open(path, "wb", buffering=w.SPOOL_BUFFER) as out:
        for record, event in zip(records, decoded, strict=True):
            text, _ = w.event_time(event.attrs.get("time"))
            out.write(dump(w._event_row(record, event.attrs, text, arrival(record.arrival)[0])))


def _pyarrow(w: Any, records: list[Any], decoded: list[Any], path: Path, count: int) -> str:
    import orjson
    import pyarrow as pa
    import pyarrow.parquet as pq

    pa.set_cpu_count(1)
    names = [name for name in w._EVENT_COLUMNS.replace(",", "").split()[::2]]
    before = _cpu()
    columns: list[list[Any]] = [[] for _ in names]
    appends = [c.append for c in columns]
    arrival = w._Arrival()
    for record, event in zip(records, decoded, strict=True):
        attrs = event.attrs
        text, _ = w.event_time(attrs.get("time"))
        data = attrs.get("data")
        values = (
            attrs["id"], attrs["source"], attrs["specversion"], text,
            attrs.get("datacontenttype"), attrs.get("dataschema"), attrs.get("subject"),
            None if data is None else orjson.dumps(data).decode(), None, record.shard_id,
            record.sequence_number, record.subsequence, record.partition_key,
            arrival(record.arrival)[0],
        )  # fmt: skip
        for append, value in zip(appends, values, strict=True):
            append(value)
    middle = _cpu()
    table = pa.table(
        {
            name: pa.array(values, type=pa.int32() if name == "subsequence" else pa.string())
            for name, values in zip(names, columns, strict=True)
        }
    )
    pq.write_table(table, path, compression="zstd")
    after = _cpu()
    return (
        f"pyarrow: columns {(middle - before) / count * 1e6:.1f} + write "
        f"{(after - middle) / count * 1e6:.1f} = {(after - before) / count * 1e6:.1f} us "
        f"CPU/event, {path.stat().st_size / 1e6:.1f} MB"
    )


def _installed(name: str) -> str:
    import importlib.util

    spec = importlib.util.find_spec(name)
    if spec is None or spec.origin is None:
        return "(not installed)"
    folder = Path(spec.origin).parent
    total = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    extra = folder.parent.glob(f"_{name}*.so")  # duckdb keeps its engine beside the package
    total += sum(p.stat().st_size for p in extra)
    return f"{total / 1e6:.0f}"


def _fill(endpoint: str, stream: str, count: int, shards: int = 4) -> float:
    """Create ``stream`` and put ``count`` events of the mix; their mean size in bytes."""
    from emulators import client

    kinesis = client(endpoint)
    kinesis.create_stream(StreamName=stream, ShardCount=shards)
    kinesis.get_waiter("stream_exists").wait(StreamName=stream, WaiterConfig={"Delay": 1})
    size, batch = 0, []
    for n, data in enumerate(events(count, seed=7)):
        size += len(data)
        batch.append({"Data": data, "PartitionKey": f"k{n % 64}"})
        if len(batch) == 500:
            kinesis.put_records(StreamName=stream, Records=batch)  # type: ignore[arg-type]
            batch = []
    if batch:
        kinesis.put_records(StreamName=stream, Records=batch)  # type: ignore[arg-type]
    return size / max(1, count)


# Starts the measured command from a small process of its own and reports that command's
# rusage: on Linux a child's ru_maxrss includes its parent's RSS when it was spawned (exec
# keeps the larger of the two), so a command spawned straight from this script, which holds
# its emulator client (and in part 1 a million events), showed this script's peak, not its own.
# Its wall time is taken there too, so the launcher's own start is not counted.
_LAUNCH = """
import os, sys, time
start = time.perf_counter()
pid = os.fork()
if pid == 0:
    os.execvp(sys.argv[1], sys.argv[1:])
_, status, usage = os.wait4(pid, 0)
took = time.perf_counter() - start
cpu = usage.ru_utime + usage.ru_stime
sys.stderr.write(f"\\n@rusage {cpu} {usage.ru_maxrss} {took}\\n")
sys.exit(os.waitstatus_to_exitcode(status))
"""


def _timed_to(argv: list[str], env: dict[str, str], out: Path) -> Run:
    """Like emulators.timed, with stdout to a file (``tail -o jsonl > file``), and the peak
    RSS of the command itself (see _LAUNCH)."""
    with open(out, "wb") as stdout, tempfile.TemporaryFile() as err:
        launch = [sys.executable, "-S", "-c", _LAUNCH, *argv]
        proc = subprocess.Popen(launch, stdout=stdout, stderr=err, env=env)
        _, status, _usage = os.wait4(proc.pid, 0)
        err.seek(0)
        text = err.read().decode("utf-8", "replace")
    text, _, tail = text.rpartition("\n@rusage ")
    if os.waitstatus_to_exitcode(status) != 0 or not tail:
        raise SystemExit(f"`{' '.join(argv[2:6])} ...` failed: {text[-2000:]}")
    cpu, maxrss, elapsed = tail.split()
    return Run(float(elapsed), float(cpu), int(maxrss) / 1024, text)


def archive_part(count: int, rounds: int) -> None:
    """Whole processes on one ministack: tail -o jsonl > file against archive, same events."""
    from emulators import bench_env, emulator

    small = max(1, count // 2)
    with emulator("ministack") as endpoint, tempfile.TemporaryDirectory() as tmp:
        env = bench_env(endpoint)
        size = _fill(endpoint, "bench-archive", count)
        _fill(endpoint, "bench-archive-small", small)
        print(f"\nministack: {count:,} events of {size:,.0f} bytes on 4 shards at {endpoint}")
        work = Path(tmp)
        runs: dict[str, list[Run]] = {"tail": [], "archive": []}
        for n in range(rounds):
            tail = [*TWILIO_ES, "tail", "bench-archive", "--from", "trim-horizon"]
            tail += ["--no-follow", "-o", "jsonl"]
            archive = [*TWILIO_ES, "archive", "bench-archive", "--from", "trim-horizon"]
            archive += ["--no-follow", "--dir", str(work / f"archive-{n}")]
            order = [("tail", tail), ("archive", archive)]
            for key, argv in order if n % 2 == 0 else order[::-1]:
                run = _timed_to(argv, env, work / f"{key}-{n}.out")
                said = f"{count} events from 4 shards" if key == "tail" else f"{count:,} events"
                if said not in run.stderr:
                    raise SystemExit(f"{key} did not read every event: {run.stderr[-800:]}")
                runs[key].append(run)
            shutil.rmtree(work / f"archive-{n}")
        argv = [*TWILIO_ES, "archive", "bench-archive-small", "--from", "trim-horizon"]
        argv += ["--no-follow", "--dir", str(work / "small")]
        few = _timed_to(argv, env, work / "small.out")
    wall = {key: median([r.seconds for r in rs]) for key, rs in runs.items()}
    cpu = {key: median([r.cpu for r in rs]) for key, rs in runs.items()}
    peak = {key: median([r.max_rss_mb for r in rs]) for key, rs in runs.items()}
    print(f"{'reader':58} {'seconds':>8} {'events/s':>9} {'CPU us/ev':>10} {'peak MB':>8}")
    labels = {
        "tail": "twilio-es tail --no-follow -o jsonl > file",
        "archive": "twilio-es archive --no-follow --dir D (Parquet)",
    }
    for key, label in labels.items():
        print(
            f"{label:58} {wall[key]:>8.2f} {count / wall[key]:>9,.0f} "
            f"{cpu[key] / count * 1e6:>10.1f} {peak[key]:>8.0f}"
        )
    print(
        f"archive speed vs tail: {wall['tail'] / wall['archive']:.2f}x (target >= 0.8x); peak RSS "
        f"{few.max_rss_mb:.0f} MB over {small:,} events, {peak['archive']:.0f} MB over "
        f"{count:,} (flat once its buffers fill, ~100k events: see --memory-curve)"
    )


def memory_part(counts: list[int]) -> None:
    """Peak RSS of ``archive`` over growing streams (one ministack): flat once its bounds are
    reached (spools, row groups, the reader's queue, the checkpoint's records in waiting)."""
    from emulators import bench_env, emulator

    with emulator("ministack") as endpoint, tempfile.TemporaryDirectory() as tmp:
        env = bench_env(endpoint)
        for count in counts:
            _fill(endpoint, f"bench-memory-{count}", count)
        print(f"\n{'events':>9} {'archive peak MB':>16} {'seconds':>8}")
        for count in counts:
            argv = [*TWILIO_ES, "archive", f"bench-memory-{count}", "--from", "trim-horizon"]
            argv += ["--no-follow", "--dir", str(Path(tmp) / f"a{count}")]
            run = _timed_to(argv, env, Path(tmp) / f"{count}.out")
            print(f"{count:>9,} {run.max_rss_mb:>16.0f} {run.seconds:>8.1f}", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000, help="events for the query")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds")
    parser.add_argument("--query-only", action="store_true")
    parser.add_argument("--archive-only", action="store_true")
    parser.add_argument("--archive-events", type=int, default=200_000)
    parser.add_argument("--writers", action="store_true", help="only the writer comparison")
    parser.add_argument("--writer-events", type=int, default=200_000)
    parser.add_argument(
        "--memory-curve",
        metavar="N,N,...",
        help="only archive's peak RSS over streams of these sizes, e.g. 50000,100000,200000,300000",
    )
    args = parser.parse_args(argv)
    print(f"{machine()} (at the start)", flush=True)
    try:
        _run(args)
    finally:
        print(f"{machine()} (at the end)")
    return 0


def _run(args: argparse.Namespace) -> int:
    if args.memory_curve:
        memory_part([int(n) for n in args.memory_curve.split(",")])
        return 0
    if args.writers:
        writers_part(args.writer_events, args.rounds)
        return 0
    if not args.archive_only:
        query_part(args.events, args.rounds)
    if not args.query_only:
        archive_part(args.archive_events, args.rounds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
