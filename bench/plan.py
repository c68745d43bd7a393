"""Plan benchmark: `plan` on 100 sinks + 100 subscriptions against the raw list calls (the floor).

Starts moto's server and the Events v1 emulator in-process on 127.0.0.1, creates 100 webhook
sinks and 100 subscriptions (two types each) carrying twilio-es markers, writes the matching
file, then times in the same run, interleaved round by round so background load hits both:

- ``plan``: load + check the file, resolve types against the catalogue, read the account and
  diff (``twilio_es_cli.infra.run.plan``), exactly what ``twilio-es plan`` does after start-up;
- the floor: the list calls any script needs to know the same: list sinks, list subscriptions,
  and list the subscribed events of each subscription (the API has no cheaper way).

Target: plan at most 2x the floor.

    .venv/bin/python bench/plan.py              # 5 rounds
    .venv/bin/python bench/plan.py --rounds 9 --json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
REGION = "us-east-1"
TYPES = ("com.twilio.messaging.message.delivered", "com.twilio.messaging.message.sent")


def start() -> tuple[Any, Any]:
    from moto.server import ThreadedMotoServer

    from twilio_es_cli.local.emulator import EventsEmulator

    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    moto.start()
    host, port = moto.get_host_and_port()
    emulator = EventsEmulator(aws_endpoint_url=f"http://{host}:{port}", region=REGION)
    emulator.start()
    os.environ.update(
        AWS_ENDPOINT_URL=f"http://{host}:{port}",
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_REGION=REGION,
        TWILIO_ACCOUNT_SID=emulator.account_sid,
        TWILIO_AUTH_TOKEN=emulator.auth_token,
        TWILIO_ES_API_URL=emulator.url,
    )
    return moto, emulator


def populate(client: Any, count: int) -> str:
    """``count`` marked sinks with one subscription each; returns the matching file's text."""
    lines = ["version: 1", "project: bench", "sinks:"]
    subs = ["subscriptions:"]
    for n in range(count):
        name = f"hook{n:03d}"
        sink = client.events.v1.sinks.create(
            description=f"{name} [twilio-es:bench/{name}]",
            sink_configuration={"destination": f"http://127.0.0.1:9/{n}", "method": "POST"},
            sink_type="webhook",
        )
        client.events.v1.subscriptions.create(
            description=f"sub{n:03d} [twilio-es:bench/sub{n:03d}]",
            sink_sid=sink.sid,
            types=[{"type": t, "schema_version": 2} for t in TYPES],
        )
        lines.append(f"  {name}: {{type: webhook, destination: 'http://127.0.0.1:9/{n}'}}")
        subs.append(f"  sub{n:03d}: {{sink: {name}, types: [{TYPES[0]}:2, {TYPES[1]}:2]}}")
    return "\n".join([*lines, *subs]) + "\n"


def floor(client: Any) -> int:
    """The raw list calls: sinks, subscriptions, and each subscription's types."""
    sinks = list(client.events.v1.sinks.stream())
    subs = list(client.events.v1.subscriptions.stream())
    types = 0
    for sub in subs:
        types += len(list(client.events.v1.subscriptions(sub.sid).subscribed_events.stream()))
    return len(sinks) + len(subs) + types


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100, help="sinks (and subscriptions)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    moto, emulator = start()
    try:
        from twilio_es_cli.clients import Clients
        from twilio_es_cli.config import resolve_settings
        from twilio_es_cli.infra import run
        from twilio_es_cli.infra.loader import load
        from twilio_es_cli.twilio_api import make_client

        settings = resolve_settings()
        client = make_client(settings)
        text = populate(client, args.count)
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "twilio-es.yaml"
            path.write_text(text, encoding="utf-8")
            plan_times, floor_times = [], []
            for round_number in range(args.rounds + 1):  # round 0 warms up both
                started = time.perf_counter()
                planned = run.plan(Clients(settings), load(str(path)))  # fresh clients, as a run
                plan_s = time.perf_counter() - started
                assert not planned.plan.pending, "the benchmark file should plan no changes"
                started = time.perf_counter()
                floor(make_client(settings))
                floor_s = time.perf_counter() - started
                if round_number:
                    plan_times.append(plan_s)
                    floor_times.append(floor_s)
    finally:
        emulator.stop()
        moto.stop()
    plan_median = statistics.median(plan_times)
    floor_median = statistics.median(floor_times)
    result = {
        "sinks": args.count,
        "subscriptions": args.count,
        "rounds": args.rounds,
        "plan_median_s": round(plan_median, 3),
        "floor_median_s": round(floor_median, 3),
        "ratio": round(plan_median / floor_median, 2),
        "target_ratio": 2.0,
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"plan  {plan_median:.3f} s (median of {args.rounds})")
        print(f"floor {floor_median:.3f} s (raw list calls)")
        print(f"ratio {result['ratio']}x (target <= 2x)")
    sys.exit(0 if result["ratio"] <= 2.0 else 1)


if __name__ == "__main__":
    main()
