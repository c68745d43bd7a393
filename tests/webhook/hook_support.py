"""Helpers for the webhook tests: a real local handler, signed requests, stream events."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any

from twilio.request_validator import RequestValidator

if TYPE_CHECKING:
    from mypy_boto3_kinesis import KinesisClient
    from mypy_boto3_kinesis.type_defs import PutRecordsRequestEntryTypeDef

TOKEN = "0123456789abcdef0123456789abcdef"
DELIVERED = "com.twilio.messaging.message.delivered"


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    valid: bool  # what the twilio SDK's RequestValidator said, as a user's handler runs it

    def events(self) -> list[dict[str, Any]]:
        """The events of the request: one object (batch_events false) or an array (true)."""
        doc = json.loads(self.body)
        return doc if isinstance(doc, list) else [doc]

    def batched(self) -> bool:
        """True when the body is a JSON array (batch_events true), False for one object."""
        return isinstance(json.loads(self.body), list)


@dataclass
class Handler:
    """A user's webhook handler on 127.0.0.1: validates with the SDK, answers per ``script``.

    ``script(n)`` gives the status for the n-th request (0-based); default 200 (403 when the
    SDK rejects the signature, as a real handler would).
    """

    token: str = TOKEN
    script: Callable[[int], int] | None = None
    delay: float = 0.0
    received: list[Received] = field(default_factory=list)
    port: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    changed: threading.Condition = field(default_factory=threading.Condition)

    def __post_init__(self) -> None:
        handler = self

        class Impl(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go in two writes

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                url = f"http://127.0.0.1:{handler.port}{self.path}"
                signature = self.headers.get("X-Twilio-Signature", "")
                valid = RequestValidator(handler.token).validate(url, body.decode(), signature)
                with handler.changed:
                    n = len(handler.received)
                    handler.received.append(Received(self.path, dict(self.headers), body, valid))
                    handler.changed.notify_all()
                if handler.delay:
                    threading.Event().wait(handler.delay)
                status = 403 if not valid else (handler.script(n) if handler.script else 200)
                payload = b"ok" if status < 300 else b"no"
                self.send_response(status)
                if 300 <= status < 400:
                    self.send_header("Location", "http://127.0.0.1:1/elsewhere")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Impl)
        self.server.daemon_threads = True
        self.port = int(self.server.server_address[1])
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/twilio/events"

    def wait_for(self, count: int, timeout: float = 60) -> None:
        with self.changed:
            assert self.changed.wait_for(lambda: len(self.received) >= count, timeout), len(
                self.received
            )

    def ids(self) -> list[str]:
        return [e["id"] for r in self.received for e in r.events()]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def event(n: int, *, key: str = "k0", data_as_string: bool = True) -> bytes:
    """A Twilio-shaped CloudEvent as a Kinesis sink stores it (data as a JSON string)."""
    data = {"n": n, "key": key, "status": "delivered"}
    doc = {
        "specversion": "1.0",
        "type": DELIVERED,
        "source": f"/2010-04-01/Accounts/AC{'0' * 32}/Messages/SM{n:032d}",
        "id": f"EZ{n:032d}",
        "datacontenttype": "application/json",
        "time": "2026-01-01T00:00:00.000Z",
        "data": json.dumps(data) if data_as_string else data,
    }
    return json.dumps(doc).encode()


def put_events(kinesis: KinesisClient, stream: str, numbers: range, keys: int = 8) -> None:
    records: list[PutRecordsRequestEntryTypeDef] = [
        {"Data": event(n, key=f"k{n % keys}"), "PartitionKey": f"k{n % keys}"} for n in numbers
    ]
    for start in range(0, len(records), 500):
        answer = kinesis.put_records(StreamName=stream, Records=records[start : start + 500])
        assert answer.get("FailedRecordCount", 0) == 0


def create_stream(kinesis: KinesisClient, name: str, shards: int = 2) -> None:
    kinesis.create_stream(StreamName=name, ShardCount=shards)
    kinesis.get_waiter("stream_exists").wait(
        StreamName=name,
        # botocore sleeps any number of seconds; boto3-stubs type Delay as int. 0.1 s keeps
        # tests fast (the default is 10 s).
        WaiterConfig={"Delay": 0.1, "MaxAttempts": 200},  # type: ignore[typeddict-item]
    )


class ListenProcess:
    """`twilio-es webhook listen --port 0` in its own interpreter, as a user starts it.

    stdout goes to a file (a burst of events must never block the listener on a full pipe);
    stderr is read line by line, so a test sees every log line. :meth:`stop` sends SIGTERM
    (exit 0) and returns (exit code, stdout, stderr).
    """

    def __init__(self, tmp_path: Path, *args: str, token: str = TOKEN) -> None:
        import os
        import queue
        import subprocess
        import sys

        self._out = (tmp_path / "listen.out").open("w+b")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "twilio_es_cli", "webhook", "listen", "--port", "0", *args],
            env={**os.environ, "TWILIO_AUTH_TOKEN": token},
            stdout=self._out,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.stderr: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        first = self.lines.get(timeout=60)
        assert "Listening on http://" in first, first
        self.base = first.split("Listening on ", 1)[1].split("/ ", 1)[0].rstrip("/")

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.stderr.append(line)
            self.lines.put(line)

    def stop(self) -> tuple[int, str, str]:
        import signal

        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=60)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
        self._reader.join(timeout=10)
        self._out.seek(0)
        out = self._out.read().decode("utf-8", "replace")
        self._out.close()
        return code, out, "".join(self.stderr)
