"""Start-up benchmark: whole-process wall time of twilio-es's help and `stream list` beside awscli.

A CLI that imports boto3, twilio and pydantic before parsing arguments takes about as long as
`aws --version` to print its help. twilio-es imports them lazily; this measures the result in
one run, beside the interpreter's own floor (`python -c pass`) and awscli, and checks the
budgets of issue 11:

- `twilio-es --help` and every timed sub-command's `--help` at most 0.35 x `aws --version`;
- `twilio-es stream list` at most 1.0 x `aws kinesis list-streams` against the same moto
  server (started here on 127.0.0.1 with a few streams, stopped at the end).

Runs are interleaved (one of each command per round) so background load hits all of them
alike; the median of the measured rounds is reported after warm-up rounds.

    .venv/bin/python bench/startup.py            # 2 warm-up rounds, 15 measured
    .venv/bin/python bench/startup.py --runs 30 --json
    .venv/bin/python bench/startup.py --no-list  # help only (no moto server)
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
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from emulators import bench_env, byte_compile, client, emulator  # noqa: E402  (bench/ is not a package)

HELP_BUDGET = 0.35  # every twilio-es help <= HELP_BUDGET x aws --version
LIST_BUDGET = 1.0  # twilio-es stream list <= LIST_BUDGET x aws kinesis list-streams
HELPS = [
    [],
    ["stream"],
    ["stream", "create"],
    ["sink"],
    ["sink", "create"],
    ["subscription"],
    ["tail"],
    ["local"],
    ["webhook", "listen"],
    ["plan"],
]
AWS_VERSION = "aws --version"
AWS_LIST = "aws kinesis list-streams"
TW_LIST = "twilio-es stream list"


def _tool(name: str) -> str | None:
    """Prefer the tool installed next to this interpreter (the project's venv)."""
    beside = Path(sys.executable).parent / name
    return str(beside) if beside.exists() else shutil.which(name)


def _time_once(argv: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    proc = subprocess.run(
        argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, check=False
    )
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"`{' '.join(argv)}` exited {proc.returncode}: {proc.stderr[-500:]!r}")
    return elapsed


def measure(
    commands: dict[str, tuple[list[str], dict[str, str]]], runs: int, warmup: int
) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {label: [] for label in commands}
    for round_no in range(warmup + runs):
        for label, (argv, env) in commands.items():
            elapsed = _time_once(argv, env)
            if round_no >= warmup:
                times[label].append(elapsed)
    return times


@contextmanager
def _moto_with_streams(count: int) -> Iterator[dict[str, str]]:
    """A moto server holding ``count`` streams; yields the children's environment."""
    with emulator("moto") as endpoint:
        kinesis = client(endpoint)
        for n in range(count):
            kinesis.create_stream(StreamName=f"bench-{n:02d}", ShardCount=1)
        yield bench_env(endpoint)


def _commands(
    twilio_es: str, aws: str, list_env: dict[str, str] | None
) -> dict[str, tuple[list[str], dict[str, str]]]:
    plain = dict(os.environ, NO_COLOR="1")
    commands = {
        " ".join(["twilio-es", *words, "--help"]): ([twilio_es, *words, "--help"], plain)
        for words in HELPS
    }
    commands["python -c pass"] = ([sys.executable, "-c", "pass"], plain)
    commands[AWS_VERSION] = ([aws, "--version"], plain)
    if list_env is not None:
        env = dict(list_env, NO_COLOR="1")
        commands[TW_LIST] = ([twilio_es, "stream", "list"], env)
        commands[AWS_LIST] = ([aws, "kinesis", "list-streams"], env)
    return commands


def _verdicts(medians: dict[str, float]) -> dict[str, bool]:
    verdicts = {
        label: medians[label] / medians[AWS_VERSION] <= HELP_BUDGET
        for label in medians
        if label.endswith("--help")
    }
    if TW_LIST in medians:
        verdicts[TW_LIST] = medians[TW_LIST] / medians[AWS_LIST] <= LIST_BUDGET
    return verdicts


def _print_table(times: dict[str, list[float]], args: argparse.Namespace) -> None:
    medians = {label: statistics.median(values) for label, values in times.items()}
    verdicts = _verdicts(medians)
    print(f"Start-up, median of {args.runs} runs after {args.warmup} warm-up(s):\n")
    print(f"{'command':<34}{'median ms':>10}{'min ms':>9}{'x aws':>8}  budget")
    for label, values in times.items():
        reference = medians[AWS_LIST if label in (TW_LIST, AWS_LIST) else AWS_VERSION]
        budget = ""
        if label in verdicts:
            limit = LIST_BUDGET if label == TW_LIST else HELP_BUDGET
            budget = f"<= {limit:.2f} {'ok' if verdicts[label] else 'OVER'}"
        print(
            f"{label:<34}{medians[label] * 1000:>10.1f}{min(values) * 1000:>9.1f}"
            f"{medians[label] / reference:>8.2f}  {budget}"
        )
    if TW_LIST in medians:
        print(f"\n(`{TW_LIST}` and `{AWS_LIST}`: x {AWS_LIST}, {args.streams} streams on moto)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="measured rounds (default 15)")
    parser.add_argument("--warmup", type=int, default=2, help="unmeasured rounds (default 2)")
    parser.add_argument("--streams", type=int, default=3, help="streams on moto (default 3)")
    parser.add_argument("--no-list", action="store_true", help="skip `stream list` (no moto)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args(argv)
    if args.runs < 1 or args.warmup < 0 or args.streams < 0:
        parser.error("--runs must be >= 1, --warmup and --streams >= 0")

    twilio_es, aws = _tool("twilio-es"), _tool("aws")
    if twilio_es is None:
        print("twilio-es is not installed: pip install -e .", file=sys.stderr)
        return 2
    if aws is None:
        print("awscli is not installed: pip install -e '.[bench]'", file=sys.stderr)
        return 2
    byte_compile()  # as an installed copy: see bench/emulators.py
    server = nullcontext(None) if args.no_list else _moto_with_streams(args.streams)
    with server as list_env:
        times = measure(_commands(twilio_es, aws, list_env), args.runs, args.warmup)
    medians = {label: statistics.median(values) for label, values in times.items()}
    verdicts = _verdicts(medians)
    if args.json:
        result = {
            "runs": args.runs,
            "warmup": args.warmup,
            "python": sys.version.split()[0],
            "median_ms": {k: round(v * 1000, 1) for k, v in medians.items()},
            "min_ms": {k: round(min(v) * 1000, 1) for k, v in times.items()},
            "ratio_vs_aws_version": {
                k: round(v / medians[AWS_VERSION], 3) for k, v in medians.items()
            },
            "budgets": {
                "help": f"<= {HELP_BUDGET} x {AWS_VERSION}",
                "stream list": f"<= {LIST_BUDGET} x {AWS_LIST}",
            },
            "within_budget": verdicts,
        }
        if TW_LIST in medians:
            result["stream_list_vs_aws_list"] = round(medians[TW_LIST] / medians[AWS_LIST], 3)
        print(json.dumps(result, indent=2))
    else:
        _print_table(times, args)
    return 0 if all(verdicts.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
