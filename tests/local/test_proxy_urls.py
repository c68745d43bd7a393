"""The sandbox behind a TLS-terminating proxy, as clients nobody here wrote meet it.

A real TLS proxy on 127.0.0.1 (a self-signed certificate the clients are told to trust) passes
requests to the Events emulator over plain HTTP. Proxies differ in what they tell the upstream:
some send RFC 7239 ``Forwarded`` only (no ``X-Forwarded-Proto``), some nothing at all. The
twilio SDK follows the absolute ``next_page_url`` it is given, so an ``http://`` URL there
breaks paging through an https-only proxy; the sandbox must honour ``Forwarded``, and take the
public URL from ``local up --public-url`` when the proxy says nothing. Schema ``raw`` URLs name
the schema host (the sandbox's own, or ``--schema-url``), never the proxy's API host.
"""

from __future__ import annotations

import json
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.fixture_types import CliRunner, EventsEmulator
from tests.local.tls_support import passthrough, self_signed


@dataclass
class TlsProxy:
    """https://127.0.0.1:PORT -> http://upstream, adding ``headers(proxy)`` to each request."""

    url: str
    cert: Path
    upstream: str = ""
    mode: str = "forwarded"  # "forwarded": RFC 7239 only; "silent": nothing


@pytest.fixture
def tls_proxy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TlsProxy]:
    cert, key = self_signed(tmp_path)
    state = TlsProxy("", cert)
    Handler = passthrough(lambda: state.upstream, lambda: state.mode)
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    state.url = f"https://127.0.0.1:{server.server_address[1]}"
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(cert))  # the clients trust the proxy
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


def _plain_sdk(base: str, emulator: EventsEmulator) -> Any:
    """The twilio SDK as a user has it (no host rewriting), its Events domain at ``base``."""
    from twilio.rest import Client

    client = Client(emulator.account_sid, emulator.auth_token)
    client.events.base_url = base
    return client.events.v1


def _three_sinks(emulator: EventsEmulator) -> list[str]:
    config = json.dumps({"write_key": "k"})
    return [emulator.service.create_sink(f"s{n}", "segment", config).sid for n in range(3)]


def test_paging_through_a_proxy_that_sends_only_forwarded(
    tls_proxy: TlsProxy, twilio_env: EventsEmulator
) -> None:
    tls_proxy.upstream, tls_proxy.mode = twilio_env.url, "forwarded"
    sids = _three_sinks(twilio_env)
    page = requests.get(
        f"{tls_proxy.url}/v1/Sinks",
        params={"PageSize": 1},
        auth=(twilio_env.account_sid, twilio_env.auth_token),
        timeout=30,
    ).json()
    assert page["meta"]["next_page_url"].startswith(f"{tls_proxy.url}/v1/Sinks?")
    assert [s.sid for s in _plain_sdk(tls_proxy.url, twilio_env).sinks.list(page_size=1)] == sids


def test_a_silent_proxy_needs_the_public_url(
    tls_proxy: TlsProxy, moto_server: str, tmp_path: Path
) -> None:
    from twilio_es_cli.local.emulator import EventsEmulator as Emulator

    tls_proxy.mode = "silent"
    with Emulator(aws_endpoint_url=moto_server) as plain:
        tls_proxy.upstream = plain.url
        _three_sinks(plain)
        meta = requests.get(
            f"{tls_proxy.url}/v1/Sinks",
            params={"PageSize": 1},
            auth=(plain.account_sid, plain.auth_token),
            timeout=30,
        ).json()["meta"]
        assert meta["next_page_url"].startswith("http://127.0.0.1")  # what breaks paging
    with Emulator(aws_endpoint_url=moto_server, public_url=tls_proxy.url + "/") as public:
        tls_proxy.upstream = public.url
        sids = _three_sinks(public)
        listed = [s.sid for s in _plain_sdk(tls_proxy.url, public).sinks.list(page_size=1)]
        assert listed == sids
        sink = _plain_sdk(tls_proxy.url, public).sinks(sids[0]).fetch()
        assert sink.url == f"{tls_proxy.url}/v1/Sinks/{sids[0]}"


def test_raw_schema_urls_name_the_schema_host_not_the_proxy(
    tls_proxy: TlsProxy, twilio_env: EventsEmulator, cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    tls_proxy.upstream, tls_proxy.mode = twilio_env.url, "forwarded"
    version = _plain_sdk(tls_proxy.url, twilio_env).schemas("Messaging.MessageStatus").versions(4)
    raw = version.fetch().raw
    assert raw == f"{twilio_env.url}/schemas/Messaging.MessageStatus/4"  # the schema host
    document = requests.get(raw, timeout=30).json()  # public: no credentials
    assert document["$id"] == "https://events-schemas.twilio.com/Messaging.MessageStatus/4"
    monkeypatch.setenv("TWILIO_ES_API_URL", tls_proxy.url)
    shown = cli("schema", "show", "Messaging.MessageStatus", "--version", "4")
    assert shown.exit_code == 0, shown.stderr
    assert json.loads(shown.stdout)["title"] == "MessageStatus"


def test_a_configured_schema_host_is_what_raw_names(moto_server: str) -> None:
    from twilio_es_cli.local.emulator import EventsEmulator as Emulator

    with Emulator(aws_endpoint_url=moto_server, schema_url="https://schemas.example.test") as emu:
        answer = requests.get(
            f"{emu.url}/v1/Schemas/Studio.FlowExecutionEvent/Versions/2",
            auth=(emu.account_sid, emu.auth_token),
            timeout=30,
        ).json()
        assert answer["raw"] == "https://schemas.example.test/Studio.FlowExecutionEvent/2"
        # The sandbox serves that layout too, for a proxy that maps the schema host onto it.
        served = requests.get(f"{emu.url}/Studio.FlowExecutionEvent/2", timeout=30)
        assert served.json()["title"] == "FlowExecutionEvent"
