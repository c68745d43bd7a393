"""Faults no emulator produces on its own: throttling, expired iterators, dropped connections.

Throttling and expiry are injected with a botocore ``before-send`` hook on the reader's own
client (the request never leaves; botocore parses our AWS-shaped 400 reply exactly as it would
a real one). Connection loss goes through a small TCP proxy in front of moto that slams every
connection shut for a while. In every case each event must come out exactly once.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

from tests.conftest import aws_response, boto_client
from tests.tail.tail_support import CallCounter, create_stream, put_events, reader_client
from twilio_es_cli.progress import Collect

if TYPE_CHECKING:
    from mypy_boto3_kinesis import KinesisClient

STREAM = "faulty"
TOTAL = 600


@pytest.fixture
def kinesis(aws_env: str) -> KinesisClient:
    client = boto_client("kinesis", aws_env)
    create_stream(client, STREAM, 4)
    put_events(client, STREAM, range(TOTAL), keys=29)
    return client


class _Body:
    def __init__(self, payload: bytes) -> None:
        self.payload = payload

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self.payload


class FaultInjector:
    """Answers chosen GetRecords calls (1-based) with an AWS error instead of sending them."""

    def __init__(self, client: Any, schedule: dict[int, str]) -> None:
        self.schedule = schedule
        self.calls = 0
        self.injected: list[str] = []
        self._lock = threading.Lock()
        client.meta.events.register("before-send.kinesis.GetRecords", self)

    def __call__(self, request: Any, **_: Any) -> Any:
        with self._lock:
            self.calls += 1
            code = self.schedule.get(self.calls)
            if code is None:
                return None  # send it for real
            self.injected.append(code)
        body = json.dumps({"__type": code, "message": f"injected {code}"}).encode()
        headers = {"Content-Type": "application/x-amz-json-1.1", "x-amzn-ErrorType": code}
        return aws_response(request.url, 400, headers, _Body(body))


def _numbers(records: list[Any]) -> list[int]:
    return [json.loads(json.loads(r.data)["data"])["n"] for r in records]


def test_throttling_and_expired_iterators_lose_and_repeat_nothing(kinesis: KinesisClient) -> None:
    from twilio_es_cli.tail.positions import StartPosition
    from twilio_es_cli.tail.reader import read_stream

    client = reader_client()
    throttle, expired = "ProvisionedThroughputExceededException", "ExpiredIteratorException"
    schedule = {1: expired, 2: throttle, 3: throttle, 4: throttle, 7: expired, 8: expired}
    schedule.update({12: throttle, 15: expired, 20: expired, 21: throttle})
    faults = FaultInjector(client, schedule)
    records = list(
        read_stream(
            client,
            STREAM,
            StartPosition.trim_horizon(),
            follow=False,
            batch_limit=25,
            report=Collect(),
        )
    )
    assert faults.injected == [schedule[k] for k in sorted(schedule)]  # all of them fired
    assert sorted(_numbers(records)) == list(range(TOTAL))


def test_throttled_get_shard_iterator_is_retried(kinesis: KinesisClient) -> None:
    from twilio_es_cli.tail.positions import StartPosition
    from twilio_es_cli.tail.reader import read_stream

    client = reader_client()
    opened = CallCounter(client, "GetShardIterator")
    fails = {"n": 0}

    def throttle_first_three(request: Any, **_: Any) -> Any:
        if fails["n"] >= 3:
            return None
        fails["n"] += 1
        code = "ProvisionedThroughputExceededException"
        body = json.dumps({"__type": code, "message": "slow down"}).encode()
        return aws_response(request.url, 400, {"x-amzn-ErrorType": code}, _Body(body))

    client.meta.events.register("before-send.kinesis.GetShardIterator", throttle_first_three)
    records = list(read_stream(client, STREAM, StartPosition.trim_horizon(), follow=False))
    assert fails["n"] == 3 and opened.count == 4
    assert sorted(_numbers(records)) == list(range(TOTAL))


def test_a_response_cut_short_is_asked_again_not_taken_as_the_shard_end(
    kinesis: KinesisClient,
) -> None:
    # A connection dropped mid-body: botocore parses the truncated 200 into a response with
    # no Records and no NextShardIterator, which looked like "shard closed and drained".
    from twilio_es_cli.tail.positions import StartPosition
    from twilio_es_cli.tail.reader import read_stream

    client = reader_client()
    cut = {"n": 0}

    def truncate_some(request: Any, **_: Any) -> Any:
        cut["n"] += 1
        if cut["n"] % 3:
            return None
        body = _Body(b'{"Records":[{"Data":"eyJ')
        return aws_response(request.url, 200, {"Content-Type": "application/x-amz-json-1.1"}, body)

    client.meta.events.register("before-send.kinesis.GetRecords", truncate_some)
    records = list(
        read_stream(client, STREAM, StartPosition.trim_horizon(), follow=False, batch_limit=50)
    )
    assert sorted(_numbers(records)) == list(range(TOTAL))
    assert cut["n"] > 10  # many answers really were cut short


class DroppingProxy:
    """A TCP proxy to ``upstream`` that can cut every connection and refuse new ones."""

    def __init__(self, upstream: str) -> None:
        host, port = upstream.removeprefix("http://").split(":")
        self.upstream = (host, int(port))
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.dropping = threading.Event()
        self.drops = 0
        self.sockets: set[socket.socket] = set()
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if self.dropping.is_set():
                self.drops += 1
                client.close()
                continue
            upstream = socket.create_connection(self.upstream)
            with self.lock:
                self.sockets.update((client, upstream))
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while chunk := source.recv(65536):
                sink.sendall(chunk)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def cut(self, seconds: float) -> None:
        """Drop every open connection and refuse new ones for ``seconds``."""
        self.dropping.set()
        with self.lock:
            for s in self.sockets:
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
            self.sockets.clear()
        time.sleep(seconds)
        self.dropping.clear()

    def close(self) -> None:
        self.listener.close()


@pytest.mark.slow
def test_dropped_connections_are_retried_and_resume(kinesis: KinesisClient, aws_env: str) -> None:
    from twilio_es_cli.tail.positions import StartPosition
    from twilio_es_cli.tail.reader import read_stream

    proxy = DroppingProxy(aws_env)
    try:
        client = reader_client(endpoint_url=proxy.url)
        calls = CallCounter(client, "GetRecords")
        report = Collect()

        def cut_after_six_calls() -> None:
            calls.wait_for(6)
            proxy.cut(1.5)

        outage = threading.Thread(target=cut_after_six_calls, daemon=True)
        outage.start()
        records = list(
            read_stream(
                client,
                STREAM,
                StartPosition.trim_horizon(),
                follow=False,
                batch_limit=25,
                report=report,
            )
        )
        outage.join(30)
    finally:
        proxy.close()
    assert proxy.drops > 0  # connections really were refused while reading
    assert sorted(_numbers(records)) == list(range(TOTAL))
    assert any("lost connection to Kinesis" in m for m in report.warnings)
    assert any("reconnected" in m for m in report.warnings)


def test_iterator_expiring_before_any_read_at_latest_keeps_new_events(
    kinesis: KinesisClient,
) -> None:
    """Reopening at LATEST again would skip what arrived meanwhile; the reader must not."""
    from twilio_es_cli.tail.positions import StartPosition
    from twilio_es_cli.tail.reader import read_stream

    client = reader_client()
    opened = CallCounter(client, "GetShardIterator")
    faults = FaultInjector(client, {})
    got: list[Any] = []

    def consume() -> None:
        for record in read_stream(
            client, STREAM, StartPosition.latest(), deadline=time.monotonic() + 60
        ):
            got.append(record)
            if len(got) == 40:
                return

    thread = threading.Thread(target=consume)
    thread.start()
    opened.wait_for(4)
    with faults._lock:  # every shard's next polls find their iterator expired
        faults.schedule.update({faults.calls + i: "ExpiredIteratorException" for i in range(1, 9)})
    put_events(kinesis, STREAM, range(TOTAL, TOTAL + 40), keys=7)
    thread.join(60)
    assert len(faults.injected) == 8
    assert sorted(_numbers(got)) == list(range(TOTAL, TOTAL + 40))
