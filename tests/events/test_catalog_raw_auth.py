"""The raw schema document lives on Twilio's public schema host: no credentials go there."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest


@pytest.fixture
def schema_host() -> Iterator[tuple[str, list[dict[str, str]]]]:
    seen: list[dict[str, str]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append({"path": self.path, **{k.lower(): v for k, v in self.headers.items()}})
            body = json.dumps({"$id": "X", "type": "object"}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", seen
    server.shutdown()
    server.server_close()


def test_raw_schema_is_fetched_without_credentials(
    schema_host: tuple[str, list[dict[str, str]]],
) -> None:
    from twilio_es_cli.catalog import Catalog, SchemaVersion
    from twilio_es_cli.config import resolve_settings
    from twilio_es_cli.twilio_api import make_client

    url, seen = schema_host
    env = {"TWILIO_ACCOUNT_SID": "AC" + "1" * 32, "TWILIO_AUTH_TOKEN": "secret-token"}
    catalog = Catalog(make_client(resolve_settings(twilio_api_url=url, env=env)))
    version = SchemaVersion(
        id="Messaging.MessageStatus",
        schema_version=4,
        date_created=None,
        raw="https://events-schemas.twilio.com/Messaging.MessageStatus/4",
    )
    assert catalog.raw_schema(version) == {"$id": "X", "type": "object"}
    assert [request["path"] for request in seen] == ["/Messaging.MessageStatus/4"]
    assert "authorization" not in seen[0]
