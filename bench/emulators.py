"""What every tail benchmark shares: its own emulator process, a filled stream, timed children.

Two emulators, each started as a separate process on 127.0.0.1 and stopped at the end:

- moto's server (``moto[server]``, the `local` extra): slow per request, so it is what limits
  any reader on it;
- ministack (PyPI, pinned in the `bench` extra): a fast pure-Python Kinesis whose
  SubscribeToShard boto3 can read, so the client's own CPU shows, and ``--efo`` can run.

Nothing here needs anything beyond the `bench` extra (no farm tooling).
"""

from __future__ import annotations

import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mypy_boto3_kinesis import KinesisClient
    from mypy_boto3_kinesis.type_defs import PutRecordsRequestEntryTypeDef

ROOT = Path(__file__).resolve().parent.parent
REGION = "us-east-1"
EMULATORS = ("moto", "ministack")


def twilio_event(n: int, rng: random.Random, **extra: Any) -> tuple[bytes, str]:
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
        "n": n,
        **extra,
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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _command(kind: str, port: int) -> tuple[list[str], dict[str, str]]:
    env = dict(os.environ)
    if kind == "moto":
        return [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)], env
    if kind == "ministack":
        env.update(GATEWAY_PORT=str(port), BIND_HOST="127.0.0.1", SERVICES="kinesis")
        env.update(LOG_LEVEL="WARNING")
        return [sys.executable, "-m", "ministack"], env
    raise SystemExit(f"unknown emulator {kind!r} (choose from {', '.join(EMULATORS)})")


@contextmanager
def emulator(kind: str) -> Iterator[str]:
    """Start ``kind`` on a free loopback port, yield its URL, stop it however the block ends."""
    port = free_port()
    argv, env = _command(kind, port)
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=log)
        try:
            _wait_listening(proc, port, kind, log)
            yield f"http://127.0.0.1:{port}"
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)


def _wait_listening(proc: subprocess.Popen[bytes], port: int, kind: str, log: Any) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            log.seek(0)
            raise SystemExit(f"{kind} exited: {log.read().decode()[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"{kind} did not start within 60 s")


def byte_compile() -> None:
    """Byte-compile twilio_es_cli into its __pycache__, as ``pip install`` of the wheel does.

    Why: an editable install has no .pyc files, and with PYTHONDONTWRITEBYTECODE set (as on
    the development machine) every child would compile our ~35 modules from source again,
    about 75 ms of CPU per process that no installed copy pays. Third-party packages were
    compiled by pip already. Cheap when nothing changed (compileall checks mtimes).
    """
    import compileall

    compileall.compile_dir(str(ROOT / "twilio_es_cli"), quiet=1)


def bench_env(endpoint: str) -> dict[str, str]:
    """The environment of every child: the emulator, dummy credentials, nothing of the user's.

    Also byte-compiles our package first (:func:`byte_compile`).
    """
    byte_compile()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "TWILIO_"))}
    # An empty file, not /dev/null: some botocore versions cannot parse a character device.
    empty = Path(tempfile.gettempdir()) / "twilio-es-bench-empty-aws-config"
    empty.write_text("")
    env.update(
        AWS_ENDPOINT_URL=endpoint,
        AWS_ACCESS_KEY_ID="bench",
        AWS_SECRET_ACCESS_KEY="bench",
        AWS_REGION=REGION,
        AWS_DEFAULT_REGION=REGION,
        AWS_CONFIG_FILE=str(empty),
        AWS_SHARED_CREDENTIALS_FILE=str(empty),
        AWS_EC2_METADATA_DISABLED="true",
    )
    return env


def client(endpoint: str) -> KinesisClient:
    import boto3

    return boto3.client(
        "kinesis",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id="bench",
        aws_secret_access_key="bench",
    )


def fill(endpoint: str, stream: str, count: int, shards: int = 4, seed: int = 1) -> float:
    """Create ``stream`` with ``shards`` shards and put ``count`` events; their mean size."""
    kinesis = client(endpoint)
    kinesis.create_stream(StreamName=stream, ShardCount=shards)
    # botocore sleeps any number of seconds; boto3-stubs type Delay as int (default: 10 s).
    kinesis.get_waiter("stream_exists").wait(StreamName=stream, WaiterConfig={"Delay": 0.2})  # type: ignore[typeddict-item]
    rng = random.Random(seed)
    pool = [twilio_event(n, rng) for n in range(min(count, 2000))]  # building them is slow
    sizes = 0
    for start in range(0, count, 500):
        batch: list[PutRecordsRequestEntryTypeDef] = []
        for n in range(start, min(count, start + 500)):
            data, key = pool[n % len(pool)]
            sizes += len(data)
            batch.append({"Data": data, "PartitionKey": f"{key}-{n}"})
        response = kinesis.put_records(StreamName=stream, Records=batch)
        if response.get("FailedRecordCount", 0):
            raise SystemExit(f"PutRecords rejected {response['FailedRecordCount']} records")
    return sizes / max(1, count)


@dataclass(frozen=True)
class Run:
    """One child process: wall time, CPU it used (user + system) and its peak RSS."""

    seconds: float
    cpu: float
    max_rss_mb: float
    stderr: str


def timed(argv: list[str], env: dict[str, str]) -> Run:
    """Run ``argv`` with stdout to /dev/null; measure it alone (os.wait4: this child only)."""
    with open(os.devnull, "wb") as devnull, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=devnull, stderr=err, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        text = err.read().decode("utf-8", "replace")
    if proc.returncode != 0:
        raise SystemExit(f"`{' '.join(argv[:5])} ...` failed: {text[-2000:]}")
    return Run(elapsed, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, text)


def tail_argv(stream: str, *extra: str) -> list[str]:
    """``twilio-es tail STREAM --from trim-horizon --no-follow -o jsonl`` as a user runs it."""
    argv = [sys.executable, "-m", "twilio_es_cli", "tail", stream, "--from", "trim-horizon"]
    return [*argv, "--no-follow", "--output", "jsonl", *extra]


def median(values: list[float]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def machine() -> str:
    """Cores and load average, printed beside a bench's figures: ratios against a
    one-threaded baseline (jq) move with the load, so a figure without it cannot be read."""
    one, five, fifteen = os.getloadavg()
    return f"machine: {os.cpu_count()} cores, load average {one:.2f} / {five:.2f} / {fifteen:.2f}"
