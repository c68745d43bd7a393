"""`tail --forward-to`: Twilio's delivery semantics against real handlers on 127.0.0.1.

The stream is moto's (over HTTP); the handler validates each request with the twilio SDK's
RequestValidator, as a user's production handler would.
"""

from __future__ import annotations

import io
import json
import os
import signal
import socket
import subprocess
import sys
import threading
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from tests.fixture_types import CliRunner
from tests.webhook.hook_support import TOKEN, Handler, create_stream, event, put_events
from twilio_es_cli.tail.decode import decode
from twilio_es_cli.tail.records import KinesisRecord
from twilio_es_cli.webhook.forward import Forwarder, ForwardOptions
from twilio_es_cli.webhook.listen import Listener, ListenOptions


def kinesis_client(endpoint: str) -> Any:
    import boto3

    return boto3.client("kinesis", endpoint_url=endpoint, region_name="us-east-1")


def forward(cli: CliRunner, stream: str, url: str, *extra: str) -> Any:
    result = cli(
        "tail",
        stream,
        "--from",
        "trim-horizon",
        "--no-follow",
        "--forward-to",
        url,
        "-o",
        "jsonl",
        *extra,
    )
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    return result, lines


def test_every_event_is_delivered_signed_and_accepted_by_the_sdk(
    aws_env: str, cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", TOKEN)
    kinesis = kinesis_client(aws_env)
    create_stream(kinesis, "hooks", 2)
    put_events(kinesis, "hooks", range(40))
    handler = Handler()
    try:
        result, lines = forward(cli, "hooks", handler.url, "-H", "X-Env: test")
    finally:
        handler.close()
    assert result.exit_code == 0, result.stderr
    assert len(handler.received) == 40 and all(r.valid for r in handler.received)
    assert sorted(handler.ids()) == [f"EZ{n:032d}" for n in range(40)]
    first = handler.received[0]
    assert "bodySHA256=" in first.path and first.headers["X-Env"] == "test"
    assert first.headers["Content-Type"].startswith("application/json")
    assert first.headers["I-Twilio-Idempotency-Token"] == first.events()[0]["id"]
    assert isinstance(first.events()[0]["data"], dict)  # data as an object, as webhooks get it
    # batch_events false (Twilio's default): one CloudEvent object per request, no array.
    assert not any(r.batched() for r in handler.received)
    assert {line["outcome"] for line in lines} == {"delivered"} and len(lines) == 40
    assert "40 delivered" in result.stderr


def test_retries_on_429_and_5xx_and_drops_other_4xx_and_3xx(
    aws_env: str, cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", TOKEN)
    kinesis = kinesis_client(aws_env)
    create_stream(kinesis, "faults", 1)
    put_events(kinesis, "faults", range(5), keys=1)
    # requests: e0 -> 429, e0 -> 503, e0 -> 200, e1 -> 404, e2 -> 301, e3 -> 500, e3 -> 200, e4
    answers = [429, 503, 200, 404, 301, 500, 200, 200]
    handler = Handler(script=lambda n: answers[n] if n < len(answers) else 200)
    try:
        result, lines = forward(cli, "faults", handler.url)
    finally:
        handler.close()
    assert result.exit_code == 0, result.stderr
    outcomes = [(line["status"], line["outcome"]) for line in lines]
    assert outcomes == [
        (429, "retrying"),
        (503, "retrying"),
        (200, "delivered"),
        (404, "dropped"),
        (301, "dropped"),
        (500, "retrying"),
        (200, "delivered"),
        (200, "delivered"),
    ]
    redirect = lines[4]
    assert "redirect not followed" in redirect["error"]
    assert [line["id"] for line in lines if line["outcome"] != "retrying"] == [
        f"EZ{n:032d}" for n in range(5)
    ]
    assert "3 delivered, 2 dropped, 3 retries" in result.stderr


def _record(n: int, key: str) -> tuple[KinesisRecord, Any]:
    from datetime import datetime, timezone

    data = event(n, key=key)
    return KinesisRecord("shardId-0", str(n), key, datetime.now(timezone.utc), data), decode(data)


def test_connection_refused_is_retried_until_the_handler_is_up() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    out = io.StringIO()
    options = ForwardOptions(
        f"http://127.0.0.1:{port}/twilio/events", TOKEN, output="jsonl", base_backoff=0.05
    )
    forwarder = Forwarder(options, out)
    forwarder.write(*_record(1, "k"))
    while out.getvalue().count("connection refused") < 3:  # a few refused attempts first
        threading.Event().wait(0.05)
    handler = Handler(port=port)
    try:
        assert forwarder.flush() is True
        forwarder.close()
    finally:
        handler.close()
    assert handler.ids() == [f"EZ{1:032d}"] and handler.received[0].valid
    assert forwarder.summary.delivered == 1 and forwarder.summary.retries >= 3


def test_a_hanging_handler_times_out_and_is_retried() -> None:
    answers = iter([0.0])
    handler = Handler()
    handler.delay = 1.0  # hangs past the (shortened) timeout on the first request only
    out = io.StringIO()
    options = ForwardOptions(handler.url, TOKEN, output="jsonl", timeout=0.3, base_backoff=0.05)
    forwarder = Forwarder(options, out)
    try:
        forwarder.write(*_record(1, "k"))
        handler.wait_for(1)
        handler.delay = next(answers)
        assert forwarder.flush() is True
        forwarder.close()
    finally:
        handler.close()
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert lines[0]["outcome"] == "retrying" and "timeout" in lines[0]["error"]
    assert lines[-1]["outcome"] == "delivered"


def test_stop_during_retries_abandons_so_the_checkpoint_stays() -> None:
    handler = Handler(script=lambda n: 503)
    stop = threading.Event()
    forwarder = Forwarder(
        ForwardOptions(handler.url, TOKEN, output="jsonl", base_backoff=0.05),
        io.StringIO(),
        stop=stop,
    )
    try:
        forwarder.write(*_record(1, "k"))
        handler.wait_for(2)
        stop.set()
        assert forwarder.flush() is False  # run_tail then keeps the previous checkpoint
        forwarder.close()
    finally:
        handler.close()
    assert forwarder.summary.abandoned == 1 and forwarder.summary.delivered == 0


def test_concurrency_keeps_order_per_partition_key(
    aws_env: str, cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", TOKEN)
    kinesis = kinesis_client(aws_env)
    create_stream(kinesis, "order", 1)
    put_events(kinesis, "order", range(120), keys=6)
    handler = Handler(script=lambda n: 503 if n % 7 == 3 else 200)  # retries mixed in
    try:
        result, _ = forward(cli, "order", handler.url, "--concurrency", "4", "--rate", "500")
    finally:
        handler.close()
    assert result.exit_code == 0, result.stderr
    per_key: dict[str, list[int]] = defaultdict(list)
    for received in handler.received:
        if received.valid:
            for doc in received.events():
                per_key[doc["data"]["key"]].append(doc["data"]["n"])
    delivered = {n for ns in per_key.values() for n in ns}
    assert delivered == set(range(120))
    for key, numbers in per_key.items():  # retries repeat an event, never reorder a key
        firsts = list(dict.fromkeys(numbers))
        assert firsts == sorted(firsts), key


def test_batches_and_the_listener_end_to_end(
    aws_env: str, cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", TOKEN)
    kinesis = kinesis_client(aws_env)
    create_stream(kinesis, "batch", 1)
    put_events(kinesis, "batch", range(25), keys=1)
    out = io.StringIO()
    listener = Listener(ListenOptions(TOKEN, port=0, output="jsonl"), out)
    listener.start()
    host, port = listener.address
    try:
        result, lines = forward(cli, "batch", f"http://{host}:{port}/events", "--batch", "10")
    finally:
        listener.close()
    assert result.exit_code == 0, result.stderr
    assert [line["events"] for line in lines] == [10, 10, 5]
    assert listener.counts == {"accepted": 3, "rejected": 0}
    received = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [doc["data"]["n"] for doc in received] == list(range(25))
    assert {doc["webhook"]["signature"] for doc in received} == {"valid"}


def test_bad_forwarding_input(
    aws_env: str, cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    no_token = cli("tail", "s", "--forward-to", "http://127.0.0.1:9/x")
    assert no_token.exit_code == 3 and "TWILIO_AUTH_TOKEN" in no_token.stderr
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", TOKEN)
    assert cli("tail", "s", "--forward-to", "ftp://x/y").exit_code == 2
    assert cli("tail", "s", "--rate", "5").exit_code == 2  # without --forward-to
    assert cli("tail", "s", "--forward-to", "http://a/b", "-H", "nocolon").exit_code == 2
    raw = cli("tail", "s", "--forward-to", "http://a/b", "-o", "raw")
    assert raw.exit_code == 2 and "Traceback" not in raw.stderr


def test_kill_9_and_resume_loses_nothing(aws_env: str, tmp_path: Path) -> None:
    kinesis = kinesis_client(aws_env)
    create_stream(kinesis, "crash", 2)
    put_events(kinesis, "crash", range(300))
    handler = Handler(delay=0.01)
    checkpoint = tmp_path / "fwd.json"
    env = {**os.environ, "TWILIO_AUTH_TOKEN": TOKEN}
    base = [
        sys.executable,
        "-m",
        "twilio_es_cli",
        "tail",
        "crash",
        "--checkpoint",
        str(checkpoint),
        "--forward-to",
        handler.url,
        "-o",
        "jsonl",
    ]
    try:
        first = subprocess.Popen(
            [*base, "--from", "trim-horizon"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            handler.wait_for(150)
        finally:
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=30)
        before = len(handler.received)
        second = subprocess.run(
            [*base, "--no-follow"], env=env, capture_output=True, text=True, timeout=120
        )
        assert second.returncode == 0, second.stderr
    finally:
        handler.close()
    assert before < 300  # the first run really was cut short
    ids = handler.ids()
    assert set(ids) == {f"EZ{n:032d}" for n in range(300)}  # at least once, none lost
    assert all(r.valid for r in handler.received)


def test_requests_are_signed_exactly_as_the_signing_module_signs() -> None:
    from urllib.parse import urlsplit

    from twilio_es_cli.signing import sign_json_request
    from twilio_es_cli.webhook.forward import _Item, webhook_body

    _, decoded = _record(3, "k")
    item = _Item(webhook_body(decoded) or b"", "t", "EZ3")
    for url in (
        "http://127.0.0.1:9/events",
        "http://127.0.0.1:9",
        "https://user:pw@hooks.example/a/b?z=1&a=%2F&c=",
        "https://hooks.example/x?bodySHA256=stale&k=v",
    ):
        single = Forwarder(ForwardOptions(url, TOKEN), io.StringIO())
        _, one, _ = single.request([item])
        single.close()
        assert json.loads(one)["data"] == {"n": 3, "key": "k", "status": "delivered"}
        forwarder = Forwarder(ForwardOptions(url, TOKEN, batch=2), io.StringIO())
        path, body, headers = forwarder.request([item, item])
        forwarder.close()
        signed_url, signature = sign_json_request(TOKEN, forwarder.target.url, body)
        parts = urlsplit(signed_url)
        assert headers["X-Twilio-Signature"] == signature, url
        assert path == f"{parts.path or '/'}?{parts.query}", url
        assert json.loads(body)[1]["data"] == {"n": 3, "key": "k", "status": "delivered"}


def test_a_closed_output_ends_the_tail_instead_of_hanging() -> None:
    handler = Handler()

    class ClosedPipe(io.StringIO):
        def write(self, text: str) -> int:
            raise BrokenPipeError(32, "Broken pipe")

    forwarder = Forwarder(ForwardOptions(handler.url, TOKEN, output="jsonl"), ClosedPipe())
    try:
        forwarder.write(*_record(1, "k"))
        assert forwarder.flush() is False  # the line could not be written: keep the checkpoint
        try:
            forwarder.write(*_record(2, "k"))
        except BrokenPipeError:
            pass
        else:
            raise AssertionError("the worker's BrokenPipeError was not raised to the tail")
        forwarder.close()
    finally:
        handler.close()
    assert handler.ids() == [f"EZ{1:032d}"]
