"""A stateful stand-in for ``https://events.twilio.com`` (Events v1) on 127.0.0.1.

It follows the official OpenAPI spec (``twilio-oai`` ``twilio_events_v1.json``): form-encoded
PascalCase parameters in, snake_case JSON out, 201 on create, 204 on delete, list envelopes
with ``meta`` and absolute page URLs, ``DG``/``DF`` SIDs, Twilio error bodies
``{code, message, more_info, status}``, HTTP Basic auth (401 / 20003). The rules live in
:mod:`.service`, delivery to Kinesis/webhooks in :mod:`.delivery`.

Besides the API it serves each schema version's ``raw`` document under ``/schemas/<Id>/<N>``
(no auth, like Twilio's public schema host ``events-schemas.twilio.com``). The ``raw`` URLs name
that schema host, never the API host a request came through: by default the emulator's own
address, or ``schema_url`` when the schemas are published elsewhere (behind a proxy). Absolute
API URLs (``url``, ``next_page_url``...) use ``public_url`` when given, else what the client
used: ``X-Forwarded-Proto``/``X-Forwarded-Host``, or RFC 7239 ``Forwarded``, or ``Host``.

Emulator-only admin endpoints a separate process can drive: ``POST /emulator/emit`` (Type,
Count, Data), ``GET /emulator/deliveries`` (the delivery queue), ``GET /emulator/debugger``,
``POST /emulator/reset`` and ``GET /emulator/health`` (no auth).

    with EventsEmulator(aws_endpoint_url="http://127.0.0.1:5000") as emu:
        ...  # point TWILIO_ES_API_URL at emu.url
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import re
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlencode, urlsplit

from twilio_es_cli.config import DEFAULT_TWILIO_PRINCIPAL
from twilio_es_cli.http_body import BadRequest, ClientGone, content_length, read_body
from twilio_es_cli.local import DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN
from twilio_es_cli.local.catalog_data import EVENT_TYPES, SCHEMAS_BY_ID, TYPES_BY_NAME
from twilio_es_cli.local.delivery import WEBHOOK_TIMEOUT_SECONDS, Deliverer
from twilio_es_cli.local.events import raw_schema
from twilio_es_cli.local.queue import Clock
from twilio_es_cli.local.service import (
    INVALID_PARAMETER,
    ApiFailure,
    EventsService,
    invalid,
    not_found,
)
from twilio_es_cli.local.state import Sink, Store, Subscription

__all__ = ["DEFAULT_ACCOUNT_SID", "DEFAULT_AUTH_TOKEN", "EventsEmulator"]

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000
AUTH_FAILED = 20003
CLIENT_GONE = 499  # in the request log only: the client closed before it could be answered
MAX_REQUEST = 10 * 1024 * 1024  # a form of 100 types is a few KB; Twilio refuses far less

Params = dict[str, list[str]]
Reply = tuple[int, Any]


def _error_body(status: int, code: int, message: str) -> dict[str, Any]:
    return {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


def _one(params: Params, name: str) -> str | None:
    values = params.get(name)
    return values[-1] if values else None


class _Views:
    """Resources rendered as the spec's snake_case JSON, with absolute URLs on ``base``."""

    def __init__(self, base: str, account_sid: str, schema_base: str) -> None:
        self.base = base
        self.account_sid = account_sid
        self.schema_base = schema_base

    def sink(self, sink: Sink) -> dict[str, Any]:
        url = f"{self.base}/v1/Sinks/{sink.sid}"
        return {
            "status": sink.status,
            "sink_configuration": sink.sink_configuration,
            "description": sink.description,
            "sid": sink.sid,
            "date_created": sink.date_created,
            "sink_type": sink.sink_type,
            "date_updated": sink.date_updated,
            "url": url,
            "links": {"sink_test": f"{url}/Test", "sink_validate": f"{url}/Validate"},
        }

    def subscription(self, sub: Subscription) -> dict[str, Any]:
        url = f"{self.base}/v1/Subscriptions/{sub.sid}"
        return {
            "account_sid": self.account_sid,
            "date_created": sub.date_created,
            "date_updated": sub.date_updated,
            "sid": sub.sid,
            "sink_sid": sub.sink_sid,
            "description": sub.description,
            "url": url,
            "links": {"subscribed_events": f"{url}/SubscribedEvents"},
        }

    def subscribed_event(self, sub_sid: str, event_type: str, version: int) -> dict[str, Any]:
        return {
            "account_sid": self.account_sid,
            "subscription_sid": sub_sid,
            "type": event_type,
            "schema_version": version,
            "url": f"{self.base}/v1/Subscriptions/{sub_sid}/SubscribedEvents/{quote(event_type)}",
        }

    def event_type(self, name: str) -> dict[str, Any]:
        spec = TYPES_BY_NAME[name]
        return {
            "date_created": spec.date_created,
            "date_updated": spec.date_created,
            "type": spec.type,
            "schema_id": spec.schema_id,
            "status": spec.status,
            "documentation_url": spec.documentation_url,
            "description": spec.description,
            "url": f"{self.base}/v1/Types/{quote(spec.type)}",
            "links": {"schema": f"{self.base}/v1/Schemas/{quote(spec.schema_id)}/Versions"},
        }

    def schema(self, schema_id: str) -> dict[str, Any]:
        spec = SCHEMAS_BY_ID[schema_id]
        url = f"{self.base}/v1/Schemas/{quote(schema_id)}"
        return {
            "id": schema_id,
            "url": url,
            "links": {"versions": f"{url}/Versions"},
            "latest_version_date_created": spec.version_dates[-1],
            "latest_version": spec.latest_version,
        }

    def schema_version(self, schema_id: str, version: int) -> dict[str, Any]:
        spec = SCHEMAS_BY_ID[schema_id]
        return {
            "id": schema_id,
            "schema_version": version,
            "date_created": spec.version_dates[version - 1],
            "url": f"{self.base}/v1/Schemas/{quote(schema_id)}/Versions/{version}",
            "raw": f"{self.schema_base}/{quote(schema_id)}/{version}",
        }

    def page(self, path: str, key: str, items: list[Any], params: Params) -> dict[str, Any]:
        """The spec's list envelope; ``Page``/``PageSize`` select, URLs keep the filters."""
        try:
            size = int(_one(params, "PageSize") or DEFAULT_PAGE_SIZE)
            number = int(_one(params, "Page") or 0)
        except ValueError as exc:
            raise invalid("PageSize and Page must be integers") from exc
        if not 1 <= size <= MAX_PAGE_SIZE or number < 0:
            raise invalid(f"PageSize must be 1-{MAX_PAGE_SIZE} and Page at least 0")
        filters = [
            (name, values[-1])
            for name, values in params.items()
            if name not in ("PageSize", "Page", "PageToken") and values
        ]

        def url(page: int) -> str:
            query = urlencode([*filters, ("PageSize", size), ("Page", page)])
            return f"{self.base}{path}?{query}"

        start = number * size
        has_next = start + size < len(items)
        return {
            key: items[start : start + size],
            "meta": {
                "page": number,
                "page_size": size,
                "first_page_url": url(0),
                "previous_page_url": url(number - 1) if number > 0 else None,
                "url": url(number),
                "next_page_url": url(number + 1) if has_next else None,
                "key": key,
            },
        }


Handler = Callable[[_Views, dict[str, str], Params], Reply]


class _Api:
    """Routes ``(method, path)`` to service calls and renders the replies."""

    def __init__(self, service: EventsService) -> None:
        self.service = service
        s = r"([^/]+)"
        self.routes: list[tuple[str, re.Pattern[str], Handler]] = [
            ("GET", re.compile(r"/v1/Sinks"), self.list_sinks),
            ("POST", re.compile(r"/v1/Sinks"), self.create_sink),
            ("GET", re.compile(rf"/v1/Sinks/{s}"), self.fetch_sink),
            ("POST", re.compile(rf"/v1/Sinks/{s}"), self.update_sink),
            ("DELETE", re.compile(rf"/v1/Sinks/{s}"), self.delete_sink),
            ("POST", re.compile(rf"/v1/Sinks/{s}/Test"), self.test_sink),
            ("POST", re.compile(rf"/v1/Sinks/{s}/Validate"), self.validate_sink),
            ("GET", re.compile(r"/v1/Subscriptions"), self.list_subscriptions),
            ("POST", re.compile(r"/v1/Subscriptions"), self.create_subscription),
            ("GET", re.compile(rf"/v1/Subscriptions/{s}"), self.fetch_subscription),
            ("POST", re.compile(rf"/v1/Subscriptions/{s}"), self.update_subscription),
            ("DELETE", re.compile(rf"/v1/Subscriptions/{s}"), self.delete_subscription),
            ("GET", re.compile(rf"/v1/Subscriptions/{s}/SubscribedEvents"), self.list_subev),
            ("POST", re.compile(rf"/v1/Subscriptions/{s}/SubscribedEvents"), self.create_subev),
            ("GET", re.compile(rf"/v1/Subscriptions/{s}/SubscribedEvents/{s}"), self.fetch_subev),
            ("POST", re.compile(rf"/v1/Subscriptions/{s}/SubscribedEvents/{s}"), self.update_subev),
            (
                "DELETE",
                re.compile(rf"/v1/Subscriptions/{s}/SubscribedEvents/{s}"),
                self.delete_subev,
            ),
            ("GET", re.compile(r"/v1/Types"), self.list_types),
            ("GET", re.compile(rf"/v1/Types/{s}"), self.fetch_type),
            ("GET", re.compile(rf"/v1/Schemas/{s}"), self.fetch_schema),
            ("GET", re.compile(rf"/v1/Schemas/{s}/Versions"), self.list_versions),
            ("GET", re.compile(rf"/v1/Schemas/{s}/Versions/{s}"), self.fetch_version),
            ("POST", re.compile(r"/emulator/emit"), self.admin_emit),
            ("GET", re.compile(r"/emulator/debugger"), self.admin_debugger),
            ("GET", re.compile(r"/emulator/deliveries"), self.admin_deliveries),
            ("POST", re.compile(r"/emulator/reset"), self.admin_reset),
        ]

    def dispatch(self, method: str, path: str, views: _Views, params: Params) -> Reply:
        known_path = False
        for route_method, pattern, handler in self.routes:
            match = pattern.fullmatch(path)
            if match is None:
                continue
            known_path = True
            if route_method == method:
                args = {str(i): _unquote(group) for i, group in enumerate(match.groups())}
                return handler(views, {"path": path, **args}, params)
        if known_path:
            raise ApiFailure(405, 20004, f"Method {method} not allowed on {path}")
        raise not_found(path)

    # -- sinks ---------------------------------------------------------------------------
    def list_sinks(self, v: _Views, a: dict[str, str], p: Params) -> Reply:
        sinks = self.service.list_sinks(_one(p, "Status"), _one(p, "InUse"))
        return 200, v.page(a["path"], "sinks", [v.sink(s) for s in sinks], p)

    def create_sink(self, v: _Views, a: dict[str, str], p: Params) -> Reply:
        sink = self.service.create_sink(
            _one(p, "Description"), _one(p, "SinkType"), _one(p, "SinkConfiguration")
        )
        return 201, v.sink(sink)

    def fetch_sink(self, v: _Views, a: dict[str, str], p: Params) -> Reply:
        return 200, v.sink(self.service.sink(a["0"]))

    def update_sink(self, v: _Views, a: dict[str, str], p: Params) -> Reply:
        return 200, v.sink(self.service.update_sink(a["0"], _one(p, "Description")))

    def delete_sink(self, v: _Views, a: dict[str, str], p: Params) -> Reply:
        self.service.delete_sink(a["0"])
        return 204, None

    def test_sink(self, v: _Views, a: dict[str, str], p: Params) -> Reply:
        self.service.test_sink(a["0"])
        return 201, {"result": "submitted"}

    def validate_sink(self, v: _Views, a: dict[str, str], p: Params) -> Reply:
        self.service.validate_sink(a["0"], _one(p, "TestId"))
        return 201, {"result": "valid"}

    # -- subscriptions -------------------------------------------------------------------
    def list_subscriptions(self, v: _Views, a: dict[str, str], p: Params) -> Reply:
        subs = self.service.list_subscriptions(_one(p, "SinkSid"))
        return 200, v.page(a["path"], "subscriptions", [v.subscription(s) for s in subs], p)

    def create_subscription(self, v: _Views, a: dict[str, str], p: Params) -> Reply:
        sub = self.service.create_subscription(
            _one(p, "Description"), _one(p, "SinkSid"), p.get("Types", [])
        )
        return 201, v.subscription(sub)

    def fetch_subscription(self, v: _Views, a: dict[str, str], p: Params) -> Reply:
        return 200, v.subscription(self.service.subscription(a["0"]))

    def update_subscription(self, v: _Views, a: dict[str, str], p: Params) -> Reply:
        sub = self.service.update_subscription(a["0"], _one(p, "Description"))
        return 200, v.subscription(sub)

    def delete_subscription(self, v: _Views, a: dict[str, str], p: Params) -> Reply:
        self.service.delete_subscription(a["0"])
        return 204, None

    def list_subev(self, v: _Views, a: dict[str, str], p: Params) -> Reply:
        sub = self.service.subscription(a["0"])
        items = [v.subscribed_event(sub.sid, t, n) for t, n in dict(sub.types).items()]
        return 200, v.page(a["path"], "types", items, p)

    def create_subev(self, v: _Views, a: dict[str, str], p: Params) -> Reply:
        created, version = self.service.add_subscribed_event(
            a["0"], _one(p, "Type"), _one(p, "SchemaVersion")
        )
        event_type = _one(p, "Type") or ""
        return (201 if created else 200), v.subscribed_event(a["0"], event_type, version)

    def fetch_subev(self, v: _Views, a: dict[str, str], p: Params) -> Reply:
        sub, version = self.service.subscribed_event(a["0"], a["1"])
        return 200, v.subscribed_event(sub.sid, a["1"], version)

    def update_subev(self, v: _Views, a: dict[str, str], p: Params) -> Reply:
        version = self.service.update_subscribed_event(a["0"], a["1"], _one(p, "SchemaVersion"))
        return 200, v.subscribed_event(a["0"], a["1"], version)

    def delete_subev(self, v: _Views, a: dict[str, str], p: Params) -> Reply:
        self.service.delete_subscribed_event(a["0"], a["1"])
        return 204, None

    # -- catalogue -----------------------------------------------------------------------
    def list_types(self, v: _Views, a: dict[str, str], p: Params) -> Reply:
        schema_id = _one(p, "SchemaId")
        names = [t.type for t in EVENT_TYPES if not schema_id or t.schema_id == schema_id]
        return 200, v.page(a["path"], "types", [v.event_type(n) for n in names], p)

    def fetch_type(self, v: _Views, a: dict[str, str], p: Params) -> Reply:
        if a["0"] not in TYPES_BY_NAME:
            raise not_found(a["path"])
        return 200, v.event_type(a["0"])

    def fetch_schema(self, v: _Views, a: dict[str, str], p: Params) -> Reply:
        if a["0"] not in SCHEMAS_BY_ID:
            raise not_found(a["path"])
        return 200, v.schema(a["0"])

    def list_versions(self, v: _Views, a: dict[str, str], p: Params) -> Reply:
        spec = SCHEMAS_BY_ID.get(a["0"])
        if spec is None:
            raise not_found(a["path"])
        items = [v.schema_version(spec.id, n) for n in range(1, spec.latest_version + 1)]
        return 200, v.page(a["path"], "schema_versions", items, p)

    def fetch_version(self, v: _Views, a: dict[str, str], p: Params) -> Reply:
        return 200, v.schema_version(*_schema_version(a["0"], a["1"], a["path"]))

    # -- emulator-only admin -------------------------------------------------------------
    def admin_emit(self, v: _Views, a: dict[str, str], p: Params) -> Reply:
        event_type = _one(p, "Type")
        if not event_type:
            raise invalid("Missing required parameter Type in the post body")
        try:
            count = int(_one(p, "Count") or 1)
            data = json.loads(_one(p, "Data") or "null")
        except ValueError as exc:
            raise invalid(f"Count must be an integer and Data a JSON object: {exc}") from exc
        if data is not None and not isinstance(data, dict):
            raise invalid("Data must be a JSON object")
        result = self.service.emit(event_type, count, data)
        return 200, {
            "type": event_type,
            "count": count,
            "deliveries": result.delivered,
            **result.to_dict(),
        }

    def admin_debugger(self, v: _Views, a: dict[str, str], p: Params) -> Reply:
        return 200, {"debugger": self.service.debugger_log()}

    def admin_deliveries(self, v: _Views, a: dict[str, str], p: Params) -> Reply:
        queue = self.service.queue
        return 200, {
            "time_scale": queue.clock.scale,
            "clock": _iso_seconds(queue.clock.now()),
            "deliveries": queue.snapshot(_one(p, "State")),
        }

    def admin_reset(self, v: _Views, a: dict[str, str], p: Params) -> Reply:
        self.service.store.reset()
        return 200, {"result": "reset"}


def _schema_version(schema_id: str, version: str, path: str) -> tuple[str, int]:
    spec = SCHEMAS_BY_ID.get(schema_id)
    if spec is None or not version.isdigit() or not 1 <= int(version) <= spec.latest_version:
        raise not_found(path)
    return schema_id, int(version)


def _schema_path(path: str) -> re.Match[str] | None:
    """``/schemas/<Id>/<N>``, or ``/<Id>/<N>`` as on Twilio's schema host (so a ``--schema-url``
    at a host root, or a client that moves raw URLs onto the API host, finds the document)."""
    found = re.fullmatch(r"/schemas/([^/]+)/([^/]+)", path)
    if found is None:
        found = re.fullmatch(r"/([^/]+)/(\d+)", path)
        if found is not None and _unquote(found.group(1)) not in SCHEMAS_BY_ID:
            return None
    return found


def _iso_seconds(moment: float) -> str:
    from datetime import datetime, timezone

    return datetime.fromtimestamp(moment, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _unquote(value: str) -> str:
    return unquote(value)


def _first(value: str | None) -> str:
    """The first entry of a comma-separated proxy header (the client-facing proxy's)."""
    return (value or "").split(",", 1)[0].strip()


def _forwarded(value: str) -> tuple[str, str]:
    """(proto, host) of the first element of an RFC 7239 ``Forwarded`` header."""
    proto = host = ""
    for pair in _first(value).split(";"):
        name, _, raw = pair.partition("=")
        raw = raw.strip().strip('"')
        if name.strip().lower() == "proto":
            proto = raw
        elif name.strip().lower() == "host":
            host = raw
    return proto, host


class _RequestHandler(BaseHTTPRequestHandler):
    """One request: auth, parse form/query, dispatch, write JSON."""

    protocol_version = "HTTP/1.1"
    # Buffer the response so headers and body leave in one write (flushed after each request
    # by BaseHTTPRequestHandler); separate small writes meet delayed ACKs, ~40 ms a request.
    wbufsize = 64 * 1024
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the emulator runs inside tests and the sandbox."""

    # The request log of `local up` (EventsEmulator.request_log): one line per request, with
    # the time from the request line to the answer and, for an error, its code and message.
    _started = 0.0
    _detail = ""

    def parse_request(self) -> bool:
        self._started, self._detail = time.monotonic(), ""
        return super().parse_request()

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        hook = self.server.emulator.request_log
        if hook is not None and isinstance(code, int):  # HTTPStatus is an int too
            millis = (time.monotonic() - self._started) * 1000
            path = urlsplit(getattr(self, "path", "") or "").path
            hook(self.command or "?", path, int(code), millis, self._detail)

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    # Methods the API has no route for still get a Twilio error body (405 on a known path),
    # not BaseHTTPRequestHandler's HTML 501 page.
    def do_PUT(self) -> None:
        self._handle("PUT")

    def do_PATCH(self) -> None:
        self._handle("PATCH")

    def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        payload = b"" if body is None else json.dumps(body).encode()
        if status >= 400 and isinstance(body, dict):
            self._detail = f"{body.get('code', status)}: {body.get('message', '')}"
        self.send_response(status)
        if body is not None:
            self.send_header("Content-Type", "application/json")
        if status != 204:  # a 204 has no body and must not announce one (RFC 9110 8.6)
            self.send_header("Content-Length", str(len(payload)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self._connection_header()
        self.end_headers()
        if payload:
            self.wfile.write(payload)

    def _connection_header(self) -> None:
        """Say whether this connection stays open, as HTTP/1.1 requires (RFC 9112 9.3, 9.6).

        A client that sent ``Connection: close`` (or an HTTP/1.0 client without keep-alive)
        gets ``Connection: close`` and the socket is closed after the answer; without the
        header Node's agents put the socket back in their pool and the next request on it dies
        with "socket hang up". An HTTP/1.0 client asking for keep-alive is told it got it.
        """
        tokens = {
            token.strip().lower()
            for token in (self.headers.get("Connection") or "").split(",")
            if token.strip()
        }
        old = self.request_version == "HTTP/1.0"
        if "close" in tokens or (old and "keep-alive" not in tokens):
            self.send_header("Connection", "close")  # also sets self.close_connection
        elif old:
            self.send_header("Connection", "keep-alive")
            self.close_connection = False

    def _base_url(self) -> str:
        """Scheme and host the client used, so absolute URLs work behind a proxy.

        The configured public URL wins (``local up --public-url``: a proxy that says nothing);
        then ``X-Forwarded-Proto``/``X-Forwarded-Host`` (first value) or RFC 7239 ``Forwarded``
        win over the Host header; without them it is ``http://`` + Host, as the client sent.
        """
        if self.server.emulator.public_url:
            return self.server.emulator.public_url
        proto, host = _forwarded(self.headers.get("Forwarded") or "")
        proto = _first(self.headers.get("X-Forwarded-Proto")) or proto or "http"
        host = _first(self.headers.get("X-Forwarded-Host")) or host
        host = host or self.headers.get("Host") or self.server.emulator.host_port
        if proto.lower() not in ("http", "https"):
            proto = "http"
        return f"{proto.lower()}://{host}"

    def _authorized(self) -> bool:
        header = self.headers.get("Authorization", "")
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic":
            return False
        try:  # ValueError: not base64, or not ASCII at all (headers arrive as latin-1)
            user, _, password = base64.b64decode(encoded).decode().partition(":")
        except (binascii.Error, ValueError):
            return False
        secret = self.server.emulator.credentials.get(user)
        # as bytes: compare_digest refuses str with non-ASCII characters (a TypeError that
        # dropped the connection), and a password may have any
        return secret is not None and hmac.compare_digest(secret.encode(), password.encode())

    def _handle(self, method: str) -> None:
        try:
            body = read_body(self.rfile.read, content_length(self.headers, MAX_REQUEST))
        except BadRequest as exc:  # the client's mistake: Twilio answers 4xx, so do we (and
            # `local up`'s request log shows it as its one line, with the reason)
            self.close_connection = True
            self._send(exc.status, _error_body(exc.status, INVALID_PARAMETER, exc.reason))
            return
        except ClientGone as exc:  # nobody to answer: the log line says so (nginx's 499)
            self.close_connection = True
            self._detail = f"client closed the connection before its body arrived ({exc})"
            self.log_request(CLIENT_GONE)
            return
        self._route(method, body.decode("utf-8", "replace"))

    def _route(self, method: str, body: str) -> None:
        parts = urlsplit(self.path)
        path = parts.path.rstrip("/") or "/"
        if method == "GET" and path == "/emulator/health":
            self._send(200, {"status": "ok"})
            return
        raw = _schema_path(path)
        if method == "GET" and raw:
            try:
                schema_id, version = _schema_version(_unquote(raw.group(1)), raw.group(2), path)
                document = raw_schema(schema_id, version)
            except ApiFailure as exc:
                self._send(exc.status, _error_body(exc.status, exc.code, exc.message))
                return
            except Exception as exc:  # a bug in the emulator: answer, do not drop the socket
                self._send(500, _error_body(500, 20500, f"Internal error: {exc!r}"))
                return
            self._send(200, document)
            return
        if not self._authorized():
            self._send(
                401,
                _error_body(401, AUTH_FAILED, "Authenticate"),
                {"WWW-Authenticate": 'Basic realm="Twilio API"'},
            )
            return
        params: Params = parse_qs(parts.query, keep_blank_values=True)
        if method == "POST" and body:
            for name, values in parse_qs(body, keep_blank_values=True).items():
                params.setdefault(name, []).extend(values)
        emulator = self.server.emulator
        views = _Views(self._base_url(), emulator.account_sid, emulator.schema_base_url)
        try:
            status, reply = self.server.emulator.api.dispatch(method, path, views, params)
            json.dumps(reply)  # what _send writes: a reply too deep to encode is the request's
        except ApiFailure as exc:
            self._send(exc.status, _error_body(exc.status, exc.code, exc.message))
            return
        except RecursionError:  # a JSON parameter nested deeper than Python parses
            self._send(
                400, _error_body(400, INVALID_PARAMETER, "Invalid parameter: nested too deeply")
            )
            return
        except Exception as exc:  # a bug in the emulator: answer like Twilio's 500
            self._send(500, _error_body(500, 20500, f"Internal error: {exc!r}"))
            return
        self._send(status, reply)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    emulator: EventsEmulator

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that went away mid-request (Ctrl-C on a command) is not the emulator's
        failure: nothing on the user's terminal. Anything else is one line, no traceback."""
        import sys

        exc = sys.exc_info()[1]
        if isinstance(exc, ConnectionError):
            return
        peer = ":".join(str(part) for part in client_address[:2])
        sys.stderr.write(f"events emulator: request from {peer} failed: {exc!r}\n")


class EventsEmulator:
    """The Events v1 emulator: start it, point the SDK/CLI at :attr:`url`, stop it."""

    def __init__(
        self,
        *,
        aws_endpoint_url: str | None,
        region: str = "us-east-1",
        host: str = "127.0.0.1",
        port: int = 0,
        account_sid: str = DEFAULT_ACCOUNT_SID,
        auth_token: str = DEFAULT_AUTH_TOKEN,
        twilio_principal: str = DEFAULT_TWILIO_PRINCIPAL,
        state_dir: Path | None = None,
        api_key_sid: str | None = None,
        api_key_secret: str | None = None,
        legacy_validation: bool = False,
        kinesis_data_as_object: bool = False,
        public_url: str | None = None,
        schema_url: str | None = None,
        time_scale: float = 1.0,
        delivery_timeout: float = WEBHOOK_TIMEOUT_SECONDS,
    ) -> None:
        self.public_url = public_url.rstrip("/") if public_url else None
        self.schema_url = schema_url.rstrip("/") if schema_url else None
        self.host = host
        self.port = port
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.credentials = {account_sid: auth_token}
        if api_key_sid and api_key_secret:
            self.credentials[api_key_sid] = api_key_secret
        self.store = Store(state_dir)
        self.deliverer = Deliverer(
            aws_endpoint_url,
            region,
            twilio_principal,
            auth_token=auth_token,
            kinesis_data_as_object=kinesis_data_as_object,
            timeout=delivery_timeout,
        )
        self.service = EventsService(
            self.store,
            self.deliverer,
            account_sid,
            legacy_validation=legacy_validation,
            clock=Clock(time_scale),
        )
        self._defaults = (legacy_validation, time_scale, delivery_timeout)
        self.api = _Api(self.service)
        # (method, path, status, milliseconds, error detail) per request: `local up`'s log
        self.request_log: Callable[[str, str, int, float, str], None] | None = None
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def host_port(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:54321`` (after :meth:`start`)."""
        return f"http://{self.host_port}"

    @property
    def schema_base_url(self) -> str:
        """Where ``raw`` schema URLs point: ``schema_url``, or this server's own schema path
        (never a proxy's host: the schema host is another service in Twilio too)."""
        return self.schema_url or f"{self.url}/schemas"

    def start(self) -> EventsEmulator:
        """Bind and serve in a daemon thread; ``port=0`` picks a free port."""
        if self._server is not None:
            return self
        self.service.queue.resume()
        server = _Server((self.host, self.port), _RequestHandler)
        server.emulator = self
        self.port = int(server.server_address[1])
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},  # so stop() returns promptly
            name="events-emulator",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self.service.queue.stop()
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._server = self._thread = None

    def serve_forever(self) -> None:
        """Run in the foreground until interrupted (``twilio-es local up``)."""
        self.start()
        assert self._thread is not None
        try:
            while self._thread.is_alive():
                self._thread.join(timeout=0.5)
        finally:
            self.stop()

    def __enter__(self) -> EventsEmulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- Python API used by tests and the sandbox -----------------------------------------
    @property
    def legacy_validation(self) -> bool:
        """True: the 2021 flow (kinesis/segment sinks ``initialized`` until Test + Validate)."""
        return self.service.legacy_validation

    @legacy_validation.setter
    def legacy_validation(self, value: bool) -> None:
        self.service.legacy_validation = value

    def reset(self) -> None:
        """Forget all sinks, subscriptions, queued deliveries and debugger entries (the
        catalogue stays).

        The validation flow, time scale and delivery timeout go back to the ones the emulator
        was started with, so a test that changed them cannot leak into the next one.
        """
        self.service.queue.clear()
        self.store.reset()
        legacy, scale, timeout = self._defaults
        self.service.legacy_validation = legacy
        self.service.queue.clock.scale = scale
        self.deliverer.timeout = timeout

    @property
    def time_scale(self) -> float:
        """How much faster than real time the delivery clock runs (retries, backoff)."""
        return self.service.queue.clock.scale

    @time_scale.setter
    def time_scale(self, value: float) -> None:
        self.service.queue.clock.scale = value

    @property
    def delivery_timeout(self) -> float:
        return self.deliverer.timeout

    @delivery_timeout.setter
    def delivery_timeout(self, value: float) -> None:
        self.deliverer.timeout = value

    def emit(self, event_type: str, count: int = 1, data: dict[str, Any] | None = None) -> int:
        """Deliver ``count`` generated events of ``event_type`` to every subscribed active sink.

        Waits for the first attempts; returns how many events were delivered by them (events x
        sinks). Failed ones are in :meth:`deliveries` and the debugger.
        """
        try:
            return self.service.emit(event_type, count, data).delivered
        except ApiFailure as exc:
            raise ValueError(exc.message) from exc

    def deliveries(self, state: str | None = None) -> list[dict[str, Any]]:
        """The delivery queue as ``twilio-es local deliveries --json`` shows it."""
        return self.service.queue.snapshot(state)

    def wait_deliveries(self, timeout: float = 30.0) -> None:
        """Wait until every delivery has had its first attempt (tests: after a sink Test)."""
        if not self.service.queue.wait_first_attempts(timeout):
            raise TimeoutError("deliveries still waiting for their first attempt")

    def debugger_log(self) -> list[dict[str, Any]]:
        """Sink errors recorded so far (codes 93101-93104), oldest first."""
        return self.service.debugger_log()
