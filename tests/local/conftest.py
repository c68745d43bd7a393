"""Fixtures for the Events v1 emulator tests.

``api`` is plain HTTP (requests) and ``sdk`` is the real twilio SDK through the project's
adapter; both validate EVERY response against the official OpenAPI spec as it arrives.
``kinesis_target`` creates a stream and a sink role in moto with a trust policy of the test's
choosing, the way ``stream create`` would.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests

from tests.conftest import REGION, boto_client
from tests.fixture_types import EventsEmulator
from tests.local.spec_check import SpecChecker
from twilio_es_cli.config import DEFAULT_TWILIO_PRINCIPAL
from twilio_es_cli.iam import trust_policy


@pytest.fixture(scope="session")
def spec_checker() -> SpecChecker:
    return SpecChecker()


def _hook(checker: SpecChecker) -> Callable[..., None]:
    def check(response: requests.Response, *args: Any, **kwargs: Any) -> None:
        checker.check(
            str(response.request.method), response.url, response.status_code, response.content
        )

    return check


class Api:
    """Plain HTTP against the emulator; every response is checked against the spec."""

    def __init__(self, base: str, auth: tuple[str, str], checker: SpecChecker) -> None:
        self.base = base
        self.session = requests.Session()
        self.session.auth = auth
        self.session.hooks["response"].append(_hook(checker))

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        url = path if path.startswith("http") else f"{self.base}{path}"
        return self.session.request(method, url, timeout=30, **kwargs)

    def get(self, path: str, **params: Any) -> requests.Response:
        return self.request("GET", path, params=params or None)

    def post(self, path: str, data: Any = None) -> requests.Response:
        return self.request("POST", path, data=data)

    def delete(self, path: str) -> requests.Response:
        return self.request("DELETE", path)


@pytest.fixture
def legacy(twilio_env: EventsEmulator) -> EventsEmulator:
    """The session emulator in the old validation flow for this test (``reset`` undoes it)."""
    twilio_env.legacy_validation = True
    return twilio_env


@pytest.fixture
def api(twilio_env: EventsEmulator, spec_checker: SpecChecker) -> Api:
    return Api(twilio_env.url, (twilio_env.account_sid, twilio_env.auth_token), spec_checker)


@pytest.fixture
def sdk(twilio_env: EventsEmulator, spec_checker: SpecChecker) -> Any:
    """The twilio SDK's Events v1 domain via ``twilio_api.make_client`` (env from twilio_env)."""
    from twilio_es_cli.config import resolve_settings
    from twilio_es_cli.twilio_api import make_client

    client = make_client(resolve_settings())
    client.http_client.session.hooks["response"].append(_hook(spec_checker))
    return client.events.v1


@dataclass
class KinesisTarget:
    stream: str
    arn: str
    role_arn: str
    external_id: str

    def config(self, **override: str) -> dict[str, str]:
        return {
            "arn": self.arn,
            "role_arn": self.role_arn,
            "external_id": self.external_id,
            **override,
        }


@pytest.fixture
def kinesis_target(aws_env: str) -> Callable[..., KinesisTarget]:
    """``kinesis_target(principal=..., create_stream=True)`` -> stream + role in moto."""

    def make(
        principal: str = DEFAULT_TWILIO_PRINCIPAL,
        external_id: str | None = None,
        create_stream: bool = True,
    ) -> KinesisTarget:
        name = f"twilio-events-{uuid.uuid4().hex[:8]}"
        external_id = external_id or uuid.uuid4().hex * 2
        kinesis = boto_client("kinesis", aws_env)
        iam = boto_client("iam", aws_env)
        arn = f"arn:aws:kinesis:{REGION}:123456789012:stream/{name}"
        if create_stream:
            kinesis.create_stream(StreamName=name, ShardCount=1)
            kinesis.get_waiter("stream_exists").wait(StreamName=name)
            arn = kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"][
                "StreamARN"
            ]
        role = iam.create_role(
            RoleName=f"{name}-role",
            AssumeRolePolicyDocument=json.dumps(trust_policy(principal, external_id)),
        )["Role"]
        return KinesisTarget(name, arn, role["Arn"], external_id)

    return make


def read_stream(aws_url: str, stream: str) -> list[dict[str, Any]]:
    """Every record of every shard, from the start: the decoded CloudEvents."""
    kinesis = boto_client("kinesis", aws_url)
    events: list[dict[str, Any]] = []
    for shard in kinesis.list_shards(StreamName=stream)["Shards"]:
        iterator = kinesis.get_shard_iterator(
            StreamName=stream, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        while iterator:
            page = kinesis.get_records(ShardIterator=iterator, Limit=1000)
            events.extend(json.loads(record["Data"]) for record in page["Records"])
            if not page["Records"]:
                break
            iterator = page.get("NextShardIterator")
    return events


@dataclass
class Receiver:
    """A webhook destination on 127.0.0.1 that records what it receives."""

    url: str
    received: list[tuple[str, Any]]

    def test_ids(self) -> list[str]:
        bodies = [body for _, body in self.received]
        flat = [item for body in bodies for item in (body if isinstance(body, list) else [body])]
        return [
            json.loads(event["data"])["test_id"]
            for event in flat
            if event and event.get("type") == "com.twilio.eventstreams.test-event"
        ]


@pytest.fixture
def webhook_receiver() -> Iterator[Receiver]:
    received: list[tuple[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def _record(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            received.append((self.command, json.loads(body) if body else None))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_POST = do_GET = _record

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield Receiver(f"http://127.0.0.1:{server.server_address[1]}/events", received)
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)
