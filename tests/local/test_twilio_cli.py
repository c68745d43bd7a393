"""twilio-cli (npm ``twilio-cli``, pinned in package.json), a client nobody here wrote, against
the sandbox as it would talk to Twilio: through ``HTTP_PROXY`` and a TLS tunnel it believes
leads to events.twilio.com (tests/local/tls_support.py). What it shows a user is checked:
Event Streams' error codes and the live service's words, a sink in use, an omitted method read
back as ``post``, and paging that follows ``next_page_url`` through a TLS-terminating proxy,
with ``Forwarded`` only or, when the proxy says nothing, with the sandbox's public URL.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT
from tests.fixture_types import EventsEmulator
from tests.local.tls_support import ConnectProxy, passthrough, self_signed

TWILIO = ROOT / "node_modules" / ".bin" / "twilio"
DELIVERED = "com.twilio.messaging.message.delivered"


@dataclass
class TwilioCli:
    """Runs ``twilio ARGS`` against ``state["upstream"]`` through the proxy."""

    env: dict[str, str]
    state: dict[str, str]
    proxy: ConnectProxy

    def __call__(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(TWILIO), *args], env=self.env, capture_output=True, text=True, timeout=180
        )

    def json(self, *args: str) -> Any:
        done = self(*args, "-o", "json")
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)


@pytest.fixture
def twilio_cli(tmp_path: Path, twilio_env: EventsEmulator) -> Iterator[TwilioCli]:
    cert, key = self_signed(tmp_path, dns="events.twilio.com")
    state = {"upstream": twilio_env.url, "mode": "forwarded"}
    proxy = ConnectProxy(cert, key, passthrough(lambda: state["upstream"], lambda: state["mode"]))
    home = tmp_path / "twilio-cli-home"  # twilio-cli keeps its config under HOME
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TWILIO_", "AWS_"))} | {
        "HTTP_PROXY": proxy.url,
        "NODE_EXTRA_CA_CERTS": str(cert),
        "TWILIO_ACCOUNT_SID": twilio_env.account_sid,
        "TWILIO_AUTH_TOKEN": twilio_env.auth_token,
        "HOME": str(home),
    }
    yield TwilioCli(env, state, proxy)
    proxy.close()


def _webhook_sinks(emulator: EventsEmulator, count: int) -> list[str]:
    config = json.dumps({"destination": "http://127.0.0.1:9/events"})
    return [emulator.service.create_sink(f"s{n}", "webhook", config).sid for n in range(count)]


def test_paging_follows_next_page_url_through_a_proxy_sending_only_forwarded(
    twilio_cli: TwilioCli, twilio_env: EventsEmulator
) -> None:
    sids = _webhook_sinks(twilio_env, 3)
    listed = twilio_cli.json("api:events:v1:sinks:list", "--page-size", "1")
    assert [s["sid"] for s in listed] == sids
    assert listed[0]["url"].startswith("https://events.twilio.com/v1/Sinks/")
    assert any("CONNECT events.twilio.com:443" in t for t in twilio_cli.proxy.tunnels)


def test_a_silent_proxy_needs_the_sandboxs_public_url(
    twilio_cli: TwilioCli, moto_server: str
) -> None:
    from twilio_es_cli.local.emulator import EventsEmulator as Emulator

    twilio_cli.state["mode"] = "silent"
    with Emulator(aws_endpoint_url=moto_server) as plain:
        twilio_cli.state["upstream"] = plain.url
        _webhook_sinks(plain, 2)
        broken = twilio_cli("api:events:v1:sinks:list", "--page-size", "1", "-o", "json")
        assert broken.returncode != 0  # next_page_url said http:// and the tunnel is https
    with Emulator(aws_endpoint_url=moto_server, public_url="https://events.twilio.com") as emu:
        twilio_cli.state["upstream"] = emu.url
        sids = _webhook_sinks(emu, 2)
        listed = twilio_cli.json("api:events:v1:sinks:list", "--page-size", "1")
        assert [s["sid"] for s in listed] == sids


def test_event_streams_errors_as_twilio_cli_shows_them(
    twilio_cli: TwilioCli, twilio_env: EventsEmulator
) -> None:
    (sink,) = twilio_cli.json(
        "api:events:v1:sinks:create",
        "--description",
        "hook",
        "--sink-type",
        "webhook",
        "--sink-configuration",
        json.dumps({"destination": "http://127.0.0.1:9/events"}),
    )
    assert sink["sinkConfiguration"]["method"] == "post"  # omitted: lowercase, as live
    sid = sink["sid"]
    create = (
        "api:events:v1:subscriptions:create",
        "--sink-sid",
        sid,
        "--description",
        "one",
        "--types",
        json.dumps({"type": DELIVERED}),
    )
    (sub,) = twilio_cli.json(*create)
    second = twilio_cli(*create)
    assert second.returncode != 0
    assert f"Error code 91101 from Twilio: Sink with SID {sid} is in use" in second.stderr
    removing = twilio_cli("api:events:v1:sinks:remove", "--sid", sid)
    assert removing.returncode != 0  # the sink still has its subscription
    assert f"is in use by subscription {sub['sid']}" in removing.stderr
    assert twilio_cli("api:events:v1:subscriptions:remove", "--sid", sub["sid"]).returncode == 0
    assert twilio_cli("api:events:v1:sinks:remove", "--sid", sid).returncode == 0
    missing = twilio_cli("api:events:v1:sinks:fetch", "--sid", sid)
    assert "Error code 91001 from Twilio" in missing.stderr
    bad = twilio_cli(
        "api:events:v1:sinks:create",
        "--description",
        "x",
        "--sink-type",
        "fax",
        "--sink-configuration",
        "{}",
    )
    assert "Error code 91000 from Twilio: Sink could not be created" in bad.stderr


def test_restricted_types_are_refused_to_twilio_cli(
    twilio_cli: TwilioCli, twilio_env: EventsEmulator
) -> None:
    (sid,) = _webhook_sinks(twilio_env, 1)
    refused = twilio_cli(
        "api:events:v1:subscriptions:create",
        "--sink-sid",
        sid,
        "--description",
        "r",
        "--types",
        json.dumps({"type": "com.twilio.accountsecurity.verify.attempt-dlr.read"}),
    )
    assert refused.returncode != 0
    assert "Type is restricted" in refused.stderr
    types = twilio_cli.json("api:events:v1:types:list", "--page-size", "50")
    assert {t["type"]: t["status"] for t in types}[
        "com.twilio.accountsecurity.verify.attempt-dlr.read"
    ] == "restricted"
