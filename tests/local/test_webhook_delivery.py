"""Webhook delivery as Twilio does it, observed by real receivers on 127.0.0.1.

Sources: Twilio's "Problems on delivery" FAQ (retries for at most four hours with backoff: 429
and 5xx retried, other 4xx dropped), its webhook sink docs (5 s to answer; ``batch_events``
false: one CloudEvent per request; "Batch limit is 64kB"), its sink resource page (method GET
or POST), live-tested behaviour (an omitted ``method`` reads back ``"post"``), and the signing
rules (``bodySHA256`` on the URL as configured, checked here with the twilio SDK's own
``RequestValidator``). The delivery clock is compressed (``time_scale``) so that retries and the
four-hour window fit in a test; nothing here asserts how long anything took.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from twilio.request_validator import RequestValidator

from tests.fixture_types import CliRunner, EventsEmulator
from tests.local.conftest import Api

DELIVERED = "com.twilio.messaging.message.delivered"


@dataclass
class Hit:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Scripted:
    """A receiver answering ``answer(n)`` to its n-th request (status, extra headers); it can
    hold requests until :attr:`release` is set."""

    answer: Callable[[int], tuple[int, dict[str, str]]] = lambda n: (200, {})
    hits: list[Hit] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)
    hold: bool = False
    arrived: threading.Event = field(default_factory=threading.Event)
    url: str = ""

    def __post_init__(self) -> None:
        me = self

        class Handler(BaseHTTPRequestHandler):
            def _any(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                index = len(me.hits)
                me.hits.append(Hit(self.command, self.path, dict(self.headers), body))
                me.arrived.set()
                if me.hold:
                    me.release.wait(60)
                status, headers = me.answer(index)
                try:
                    self.send_response(status)
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                except OSError:
                    pass  # the sender gave up waiting (the timeout test)

            do_POST = do_GET = _any

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def scripted() -> Iterator[Callable[..., Scripted]]:
    made: list[Scripted] = []

    def make(**kwargs: Any) -> Scripted:
        receiver = Scripted(**kwargs)
        made.append(receiver)
        return receiver

    yield make
    for receiver in made:
        receiver.close()


def _hook(twilio_env: EventsEmulator, destination: str, **config: Any) -> str:
    service = twilio_env.service
    sink = service.create_sink(
        "hook", "webhook", json.dumps({"destination": destination, **config})
    )
    service.create_subscription("s", sink.sid, [json.dumps({"type": DELIVERED})])
    return sink.sid


def _wait_state(twilio_env: EventsEmulator, state: str, timeout: float = 30) -> dict[str, Any]:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [d for d in twilio_env.deliveries() if d["state"] == state]
        if found:
            return found[0]
        time.sleep(0.02)
    raise AssertionError(f"no delivery reached {state}: {twilio_env.deliveries()}")


def test_sink_test_answers_before_the_destination_does(
    api: Api, twilio_env: EventsEmulator, scripted: Callable[..., Scripted]
) -> None:
    """Twilio answers Test with "submitted" and delivers later: a slow handler does not block."""
    slow = scripted(hold=True)
    sink = _hook(twilio_env, slow.url)
    answer = api.post(f"/v1/Sinks/{sink}/Test")
    assert answer.json() == {"result": "submitted"}
    assert slow.arrived.wait(30)
    assert not slow.release.is_set()  # the handler had not answered when Test returned
    assert [d["state"] for d in twilio_env.deliveries()] == ["in-flight"]
    slow.release.set()
    assert _wait_state(twilio_env, "delivered")["last_result"] == "HTTP 200"


def test_no_answer_within_the_timeout_is_retried(
    twilio_env: EventsEmulator, scripted: Callable[..., Scripted]
) -> None:
    from twilio_es_cli.local.delivery import WEBHOOK_TIMEOUT_SECONDS

    assert WEBHOOK_TIMEOUT_SECONDS == 5.0  # Twilio: answer within 5 seconds
    twilio_env.delivery_timeout = 0.3  # the same rule, on a shorter fuse for the test
    mute = scripted(hold=True)
    _hook(twilio_env, mute.url)
    twilio_env.emit(DELIVERED)
    waiting = _wait_state(twilio_env, "retrying")
    assert waiting["last_result"].endswith("no answer within 0.3s (timeout)")
    assert waiting["next_attempt_in_seconds"] > 0
    (entry,) = twilio_env.debugger_log()
    assert entry["code"] == 93101 and "first failure" in entry["message"]


def test_429_and_5xx_are_retried_with_backoff_until_delivered(
    cli: CliRunner, twilio_env: EventsEmulator, scripted: Callable[..., Scripted]
) -> None:
    flaky = scripted(answer=lambda n: ((429, 503, 200)[min(n, 2)], {}))
    _hook(twilio_env, flaky.url)
    twilio_env.time_scale = 600  # ten minutes a second: the backoff of 10 s, 20 s... flies
    assert twilio_env.emit(DELIVERED) == 0  # the first attempt got a 429
    done = _wait_state(twilio_env, "delivered")
    assert done["attempts"] == 3 and done["last_result"] == "HTTP 200"
    assert len(flaky.hits) == 3
    assert len({hit.body for hit in flaky.hits}) == 1  # the same event each time
    shown = cli("local", "deliveries", "--json")
    assert shown.exit_code == 0, shown.stderr
    (row,) = shown.json()
    assert (row["state"], row["attempts"], row["sink_type"]) == ("delivered", 3, "webhook")


def test_a_retrying_delivery_is_shown_with_its_reason(
    cli: CliRunner, twilio_env: EventsEmulator, scripted: Callable[..., Scripted]
) -> None:
    down = scripted(answer=lambda n: (503, {}))
    _hook(twilio_env, down.url)
    emitted = cli("local", "emit", DELIVERED)
    assert emitted.exit_code == 0, emitted.stderr
    assert "1 waiting for a retry" in emitted.stderr
    assert "twilio-es local deliveries" in emitted.stderr
    table = cli("local", "deliveries", "--state", "retrying")
    assert table.exit_code == 0, table.stderr
    assert "retrying" in table.stdout and "HTTP 503" in table.stdout
    bad = cli("local", "deliveries", "--state", "asleep")
    assert bad.exit_code == 2


def test_other_4xx_and_redirects_are_dropped_not_retried(
    twilio_env: EventsEmulator, scripted: Callable[..., Scripted]
) -> None:
    refused = scripted(answer=lambda n: (400, {}))
    moved = scripted(answer=lambda n: (301, {"Location": "http://127.0.0.1:9/elsewhere"}))
    _hook(twilio_env, refused.url)
    _hook(twilio_env, moved.url)
    twilio_env.time_scale = 600
    assert twilio_env.emit(DELIVERED) == 0
    states = {d["target"]: d for d in twilio_env.deliveries()}
    assert states[refused.url]["state"] == states[moved.url]["state"] == "dropped"
    assert states[refused.url]["attempts"] == states[moved.url]["attempts"] == 1
    assert "redirects are not followed" in states[moved.url]["last_result"]
    assert [hit.method for hit in moved.hits] == ["POST"]  # never followed as a GET
    assert {e["code"] for e in twilio_env.debugger_log()} == {93101}


def test_refused_connections_are_retried_and_given_up_after_four_hours(
    twilio_env: EventsEmulator,
) -> None:
    twilio_env.time_scale = 100_000  # four hours in well under a second of waiting
    _hook(twilio_env, "http://127.0.0.1:9/nobody-listens")
    twilio_env.emit(DELIVERED)
    expired = _wait_state(twilio_env, "expired", timeout=60)
    assert expired["attempts"] > 5
    assert "failed" in expired["last_result"]
    notes = [e["message"] for e in twilio_env.debugger_log()]
    assert any("first failure" in n for n in notes)
    assert any("gave up after four hours" in n for n in notes)


def test_the_destination_is_used_exactly_as_configured_and_signed_over_it(
    twilio_env: EventsEmulator, scripted: Callable[..., Scripted]
) -> None:
    receiver = scripted()
    configured = receiver.url + "?t=%7E&flag"
    _hook(twilio_env, configured)
    assert twilio_env.emit(DELIVERED) == 1
    (hit,) = receiver.hits
    assert hit.path.startswith("/hook?t=%7E&flag&bodySHA256=")  # not ?t=~&flag=
    received = configured.split("/hook")[0] + hit.path
    validator = RequestValidator(twilio_env.auth_token)
    assert validator.validate(received, hit.body.decode(), hit.headers["X-Twilio-Signature"])
    rewritten = received.replace("%7E", "~").replace("&flag&", "&flag=&")
    assert not validator.validate(rewritten, hit.body.decode(), hit.headers["X-Twilio-Signature"])


def test_basic_auth_in_the_destination_becomes_an_authorization_header(
    twilio_env: EventsEmulator, scripted: Callable[..., Scripted], cli: CliRunner
) -> None:
    receiver = scripted()
    host = receiver.url.removeprefix("http://")
    _hook(twilio_env, f"http://alice:p%40ss@{host}")
    assert twilio_env.emit(DELIVERED) == 1
    (hit,) = receiver.hits
    assert hit.headers["Authorization"] == "Basic " + base64.b64encode(b"alice:p@ss").decode()
    validator = RequestValidator(twilio_env.auth_token)
    signed = receiver.url.split("/hook")[0] + hit.path  # the URL without the credentials
    assert validator.validate(signed, hit.body.decode(), hit.headers["X-Twilio-Signature"])
    shown = cli("local", "deliveries", "--json")
    assert "p%40ss" not in shown.stdout and "alice:***@" in shown.stdout  # never the password


def test_get_sinks_are_accepted_and_method_reads_back_as_twilio_answers(
    sdk: Any, twilio_env: EventsEmulator, scripted: Callable[..., Scripted]
) -> None:
    receiver = scripted()
    default = sdk.sinks.create(
        description="d", sink_type="webhook", sink_configuration={"destination": receiver.url}
    )
    assert default.sink_configuration["method"] == "post"  # the live service's lowercase
    assert default.sink_configuration["batch_events"] is False
    get = sdk.sinks.create(
        description="g",
        sink_type="webhook",
        sink_configuration={"destination": receiver.url, "method": "GET"},
    )
    assert get.sink_configuration["method"] == "GET"
    sdk.subscriptions.create(description="g", sink_sid=get.sid, types=[{"type": DELIVERED}])
    assert twilio_env.emit(DELIVERED) == 1
    (hit,) = receiver.hits
    assert hit.method == "GET" and hit.json()["type"] == DELIVERED  # nothing lost


def test_batches_are_arrays_of_at_most_64_kilobytes(
    twilio_env: EventsEmulator, scripted: Callable[..., Scripted]
) -> None:
    receiver = scripted()
    _hook(twilio_env, receiver.url, batch_events=True)
    assert twilio_env.emit(DELIVERED, count=300) == 300
    assert len(receiver.hits) > 1
    assert all(len(hit.body) <= 64 * 1024 for hit in receiver.hits)
    assert sum(len(hit.json()) for hit in receiver.hits) == 300
    assert all(isinstance(hit.json(), list) for hit in receiver.hits)


def test_reset_forgets_the_queue(
    twilio_env: EventsEmulator, scripted: Callable[..., Scripted]
) -> None:
    down = scripted(answer=lambda n: (500, {}))
    _hook(twilio_env, down.url)
    twilio_env.emit(DELIVERED)
    assert twilio_env.deliveries()
    twilio_env.reset()
    assert twilio_env.deliveries() == []
    assert twilio_env.time_scale == 1.0
