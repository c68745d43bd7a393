"""How `twilio-es tail --no-follow -o jsonl` grows with shards and with events (ministack).

Two tables from one ministack process (127.0.0.1, started and stopped here), each row a fresh
stream read once by a fresh `tail` process (start-up included, as a user sees it):

- the same total (``--total``, default 20,000) spread over 1, 2, 4, 8 and 16 shards;
- 5,000, 20,000 and 80,000 events on 4 shards, and 320,000 with ``--big``.

Each row prints wall time, events/s, client CPU per event and tail's peak RSS, so growth in
any of them is visible.

    .venv/bin/python bench/scaling.py
    .venv/bin/python bench/scaling.py --big          # adds 320,000 events (minutes)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from emulators import bench_env, client, emulator, fill, tail_argv, timed

SHARDS = (1, 2, 4, 8, 16)
SIZES = (5_000, 20_000, 80_000)
BIG = 320_000


def measure(endpoint: str, stream: str, events: int, shards: int) -> str:
    fill(endpoint, stream, events, shards=shards)
    run = timed(tail_argv(stream), bench_env(endpoint))
    client(endpoint).delete_stream(StreamName=stream)  # the emulator keeps records in memory
    if f"{events} events from {shards} shard" not in run.stderr:
        raise SystemExit(f"tail did not read every event: {run.stderr}")
    return (
        f"{shards:>6} {events:>8,} {run.seconds:>8.2f} {events / run.seconds:>9,.0f} "
        f"{run.cpu / events * 1e6:>10.1f} {run.max_rss_mb:>8.0f}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--total", type=int, default=20_000, help="events for the shard table")
    parser.add_argument("--big", action="store_true", help=f"also {BIG:,} events")
    args = parser.parse_args(argv)
    header = f"{'shards':>6} {'events':>8} {'seconds':>8} {'events/s':>9} {'CPU us/ev':>10}"
    header += f" {'RSS MB':>8}"
    with emulator("ministack") as endpoint:
        print(f"same total, more shards (ministack at {endpoint}):")
        print(header)
        for shards in SHARDS:
            print(measure(endpoint, f"scale-shards-{shards}", args.total, shards), flush=True)
        print("\nmore events, 4 shards:")
        print(header)
        for events in (*SIZES, BIG) if args.big else SIZES:
            print(measure(endpoint, f"scale-events-{events}", events, 4), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
