"""Start-up benchmark: whole-process wall time of `twilio-es --help` beside its peers.

A CLI that imports boto3, twilio and pydantic before parsing arguments takes about as long as
`aws --version` to print its help. twilio-es imports them lazily; this measures the result in
one run, beside the interpreter's own floor (`python -c pass`) and awscli, and checks the
budget: `twilio-es --help` must take at most half of `aws --version`.

Runs are interleaved (one of each command per round) so background load hits all of them
alike; the median of the measured rounds is reported after warm-up rounds.

    .venv/bin/python bench/startup.py            # 2 warm-up rounds, 15 measured
    .venv/bin/python bench/startup.py --runs 30 --json
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

BUDGET = 0.5  # twilio-es --help <= BUDGET x aws --version


def _tool(name: str) -> str | None:
    """Prefer the tool installed next to this interpreter (the project's venv)."""
    beside = Path(sys.executable).parent / name
    return str(beside) if beside.exists() else shutil.which(name)


def _time_once(argv: list[str]) -> float:
    start = time.perf_counter()
    proc = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"`{' '.join(argv)}` exited {proc.returncode}")
    return elapsed


def measure(commands: dict[str, list[str]], runs: int, warmup: int) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {label: [] for label in commands}
    for round_no in range(warmup + runs):
        for label, argv in commands.items():
            elapsed = _time_once(argv)
            if round_no >= warmup:
                times[label].append(elapsed)
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="measured rounds (default 15)")
    parser.add_argument("--warmup", type=int, default=2, help="unmeasured rounds (default 2)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args(argv)
    if args.runs < 1 or args.warmup < 0:
        parser.error("--runs must be >= 1 and --warmup >= 0")

    twilio_es, aws = _tool("twilio-es"), _tool("aws")
    if twilio_es is None:
        print("twilio-es is not installed: pip install -e .", file=sys.stderr)
        return 2
    if aws is None:
        print("awscli is not installed: pip install -e '.[bench]'", file=sys.stderr)
        return 2
    commands = {
        "twilio-es --help": [twilio_es, "--help"],
        "twilio-es stream --help": [twilio_es, "stream", "--help"],
        "python -c pass": [sys.executable, "-c", "pass"],
        "aws --version": [aws, "--version"],
    }
    os.environ.setdefault("NO_COLOR", "1")
    times = measure(commands, args.runs, args.warmup)
    medians = {label: statistics.median(values) for label, values in times.items()}
    reference = medians["aws --version"]
    ratio = medians["twilio-es --help"] / reference
    within = ratio <= BUDGET
    result = {
        "runs": args.runs,
        "warmup": args.warmup,
        "python": sys.version.split()[0],
        "median_ms": {k: round(v * 1000, 1) for k, v in medians.items()},
        "min_ms": {k: round(min(v) * 1000, 1) for k, v in times.items()},
        "ratio_vs_aws": {k: round(v / reference, 3) for k, v in medians.items()},
        "budget": f"twilio-es --help <= {BUDGET} x aws --version",
        "within_budget": within,
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"Start-up, median of {args.runs} runs after {args.warmup} warm-up(s):\n")
        print(f"{'command':<26}{'median ms':>10}{'min ms':>9}{'x aws':>8}")
        for label in commands:
            print(
                f"{label:<26}{medians[label] * 1000:>10.1f}"
                f"{min(times[label]) * 1000:>9.1f}{medians[label] / reference:>8.2f}"
            )
        verdict = "within" if within else "OVER"
        print(f"\nbudget {result['budget']}: {ratio:.2f} -> {verdict} budget")
    return 0 if within else 1


if __name__ == "__main__":
    sys.exit(main())
