"""``webhook listen``: a local receiver that checks every request's signature like a handler must.

A ``ThreadingHTTPServer`` on 127.0.0.1 (``--host`` to widen it) that, for every request:

1. rebuilds the URL the sender signed (``--public-url`` replaces scheme and host when a tunnel
   or proxy sits in front: the URL Twilio signed is the public one);
2. checks ``X-Twilio-Signature`` and ``bodySHA256`` (:func:`.verify.quick_check`), and on
   failure asks :func:`.verify.diagnose` for the reason, which goes back in the 403 body and on
   the terminal;
3. shows the events like ``tail`` (pretty/json/jsonl), optionally saves the request in the
   capture format (``--save DIR``, replayable by ``webhook verify``), and
4. with ``--forward-to``, re-signs the request for the app's URL (so the app's unchanged
   validation passes) and answers with the app's status, so the sender's retry rules apply
   end to end (app down: 502, the sender retries).

Bodies over :data:`MAX_BODY` (a Kinesis record's limit, more than Twilio sends) get a 413
without being read. A request that cannot be read (a bad ``Content-Length``, a chunked body, a
body that stops arriving, JSON nested deeper than Python parses) gets its 4xx and one line on
stderr, and a client that leaves before its answer one line too: never a traceback.

A burst of deliveries is served concurrently: a thread per connection, and a listen backlog
of :data:`BACKLOG` (the kernel caps it at ``net.core.somaxconn``), so a few hundred requests
arriving at once all wait for their answer instead of being refused or left unanswered (a slow
answer becomes a duplicate: Twilio retries).

The listener also keeps the last :data:`RECENT_EVENTS` events it received (with their verdicts)
and serves them read-only at ``GET`` :data:`EVENTS_PATH` (``?after=SEQ&type=T``), so that
``sink validate`` can read a webhook sink's test event back from it, in one step, as it reads a
kinesis sink's from the stream (:class:`ListenerLog` is that reader). Why an endpoint on the
same port rather than a file: the sink's destination already says where the listener is, so
nothing more has to be configured. The events may hold personal data, so the log answers only
requests made on this machine directly: a loopback peer, a loopback ``Host`` and no proxy
headers (a tunnel to the listener connects from loopback too, but names the public host and
adds ``X-Forwarded-*``).
"""

from __future__ import annotations

import errno
import json
import sys
import threading
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import parse_qs, urlsplit

from twilio_es_cli.errors import TwilioEsError
from twilio_es_cli.http_body import BadRequest, ClientGone, content_length, read_body
from twilio_es_cli.progress import TERMINAL, Reporter
from twilio_es_cli.signing import SIGNATURE_HEADER, sign_json_request
from twilio_es_cli.webhook.capture import CapturedRequest
from twilio_es_cli.webhook.post import Poster, Target
from twilio_es_cli.webhook.render import now_iso, received_line, terminal_width
from twilio_es_cli.webhook.verify import diagnose, quick_check

DEFAULT_PORT = 7410
MAX_BODY = 1024 * 1024
EVENTS_PATH = "/__twilio-es/events"  # the read-only log of recent events (GET, loopback only)
RECENT_EVENTS = 500
BACKLOG = 1024  # connections the kernel queues before the server accepts them
MAX_JSON_DEPTH = 64  # a CloudEvent nests a handful of levels; json.dumps fails near 1000
READ_TIMEOUT = 30.0  # seconds a connection may stay silent mid-request (Twilio waits 5)
LOG_FORMAT = "twilio-es webhook listen events v1"
_LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}
_PROXY_HEADERS = {
    "forwarded",
    "x-forwarded-for",
    "x-forwarded-host",
    "x-forwarded-proto",
    "x-real-ip",
    "cf-connecting-ip",
}
_DROP_ON_FORWARD = {"host", "content-length", "connection", SIGNATURE_HEADER.lower()}


@dataclass(frozen=True)
class ListenOptions:
    token: str
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    output: str = "pretty"
    forward_to: str | None = None
    public_url: str | None = None
    save: Path | None = None
    max_requests: int | None = None
    save_credentials: bool = False  # keep Authorization/Cookie values in --save files


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes
    content_type: str = "text/plain; charset=utf-8"


class Listener:
    """The receiver; :meth:`start` binds and serves in a thread, :meth:`close` stops it."""

    def __init__(self, options: ListenOptions, out: TextIO, report: Reporter = TERMINAL) -> None:
        self.options = options
        self.out = out
        self.report = report  # one line per request that could not be read or answered
        self.target = Target.parse(options.forward_to) if options.forward_to else None
        self.counts = {"accepted": 0, "rejected": 0}
        self.done = threading.Event()  # set after --max requests
        self._lock = threading.Lock()
        self._local = threading.local()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._recent: deque[dict[str, Any]] = deque(maxlen=RECENT_EVENTS)
        self._seq = 0  # of the last event recorded
        self._answered = 0  # counted requests whose answer has been written

    @property
    def address(self) -> tuple[str, int]:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return str(host), int(port)

    def start(self) -> None:
        try:
            server = _Server((self.options.host, self.options.port), _handler_for(self), self)
        except OSError as exc:
            raise _bind_error(self.options.host, self.options.port, exc) from exc
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, name="webhook-listen", daemon=True
        )
        self._thread.start()

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    # --- one request --------------------------------------------------------------------------

    def signed_url(self, path: str, headers: dict[str, str]) -> str:
        """The URL the sender requested (what it signed)."""
        if self.options.public_url:
            parts = urlsplit(self.options.public_url)
            return f"{parts.scheme}://{parts.netloc}{path}"
        lowered = {k.lower(): v for k, v in headers.items()}
        host = lowered.get("host") or f"{self.options.host}:{self.options.port}"
        return f"http://{host}{path}"

    def unreadable(self, peer: str, request_line: str, status: int, reason: str) -> None:
        """A request answered ``status`` before it could be checked: one line, counted."""
        self.report.warn(f"{status} to {peer} for {_shown(request_line)}: {reason}")
        self._tally("rejected")

    def gone(self, peer: str, request_line: str, what: str) -> None:
        """The client left (before sending all of its body, or before its answer)."""
        self.report.warn(f"{peer} closed the connection {what} ({_shown(request_line)})")

    def _tally(self, verdict: str) -> int:
        with self._lock:
            self.counts[verdict] += 1
            return sum(self.counts.values())

    def answered(self) -> None:
        """A counted request has had its answer written. ``--max`` is reached only here, not
        when it is counted: the process exits on :attr:`done`, and an answer still being
        written would reach the sender cut short."""
        with self._lock:
            self._answered += 1
            number = self._answered
        if self.options.max_requests is not None and number >= self.options.max_requests:
            self.done.set()

    def handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Answer:
        request = CapturedRequest(self.signed_url(path, headers), body, headers, method)
        try:
            too_deep = _too_deep(_events(body), MAX_JSON_DEPTH)
        except RecursionError:
            too_deep = True
        if too_deep:  # showing, logging or forwarding it would fail further on
            raise BadRequest(400, f"JSON body nested more than {MAX_JSON_DEPTH} levels deep")
        if quick_check(request, self.options.token):
            answer, verdict, reason = self._accept(request), "valid", None
        else:
            diag = diagnose(request, self.options.token)
            reason = diag.reason
            url_problem = diag.matched_url is not None or reason.startswith("no URL variant")
            if url_problem and not self.options.public_url and diag.body_hash != "mismatch":
                reason += " (behind a tunnel or proxy? pass --public-url)"
            answer = Answer(403, f"invalid signature: {reason}\n".encode())
            verdict = "invalid"
        with self._lock:
            self._show(request, verdict, answer.status, reason)
            self._record(request, verdict, answer.status, reason)
        number = self._tally("accepted" if verdict == "valid" else "rejected")
        if self.options.save is not None:  # outside the lock: one fsync per file
            self._save(request, f"{number:05d}-{answer.status}.json")
        return answer

    def _save(self, request: CapturedRequest, name: str) -> None:
        """One capture file, private (0600: it holds personal data, and the request's Basic
        auth when ``--save-credentials`` keeps it), complete or absent after a crash."""
        from twilio_es_cli.files import write_private_atomic

        doc = request.to_json(credentials=self.options.save_credentials)
        assert self.options.save is not None
        write_private_atomic(self.options.save / name, (json.dumps(doc, indent=2) + "\n").encode())

    def _record(
        self, request: CapturedRequest, verdict: str, status: int, reason: str | None
    ) -> None:
        """Keep the request's events for :data:`EVENTS_PATH` (caller holds the lock)."""
        received = now_iso()
        path = urlsplit(request.url).path or "/"
        parsed = _events(request.body)
        events: list[dict[str, Any] | None] = list(parsed) if parsed else [None]
        for event in events:
            self._seq += 1
            self._recent.append(
                {
                    "seq": self._seq,
                    "received": received,
                    "path": path,
                    "status": status,
                    "signature": verdict,
                    "reason": reason,
                    "event": event,
                }
            )

    def recent(self, after: int = 0, event_type: str | None = None) -> dict[str, Any]:
        """The log document: events recorded after ``after``, optionally of one type."""
        with self._lock:
            items = [
                item
                for item in self._recent
                if item["seq"] > after
                and (event_type is None or (item["event"] or {}).get("type") == event_type)
            ]
            return {"format": LOG_FORMAT, "last_seq": self._seq, "events": items}

    def read_log(self, path: str, headers: dict[str, str], peer: str) -> Answer:
        """``GET /__twilio-es/events``: only for a request made directly on this machine."""
        if not _made_here(peer, headers):
            return Answer(403, b"the event log is only readable from this machine\n")
        query = parse_qs(urlsplit(path).query)
        try:
            after = int(query.get("after", ["0"])[-1])
        except ValueError:
            return Answer(400, b"after must be an integer\n")
        doc = self.recent(after, query.get("type", [None])[-1])
        return Answer(200, json.dumps(doc).encode(), "application/json")

    def _accept(self, request: CapturedRequest) -> Answer:
        if self.target is None:
            return Answer(200, b"ok\n")
        poster = getattr(self._local, "poster", None)
        if poster is None:
            poster = self._local.poster = Poster(self.target)
        signed, signature = sign_json_request(self.options.token, self.target.url, request.body)
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _DROP_ON_FORWARD}
        headers[SIGNATURE_HEADER] = signature
        parts = urlsplit(signed)
        response = poster.send(
            f"{parts.path or '/'}?{parts.query}", request.body, headers, method=request.method
        )
        if response.status is None:
            return Answer(502, f"forward to {self.target.url} failed: {response.error}\n".encode())
        content_type = dict(response.headers).get("Content-Type", "text/plain")
        return Answer(response.status, response.body, content_type)

    def _show(
        self, request: CapturedRequest, verdict: str, status: int, reason: str | None
    ) -> None:
        events = _events(request.body)
        path = urlsplit(request.url).path
        if self.options.output == "pretty":
            label = f"{status} {verdict}" if verdict == "valid" else f"{status} REJECTED: {reason}"
            width = terminal_width(self.out)  # on a terminal, lines fit it like tail's
            if events is None:
                raw = request.body.decode("utf-8", "replace")
                self.out.write(received_line(None, label, path, raw, width=width) + "\n")
            else:
                for event in events:
                    self.out.write(received_line(event, label, path, width=width) + "\n")
        else:
            meta: dict[str, Any] = {
                "received": now_iso(),
                "path": path,
                "status": status,
                "signature": verdict,
            }
            if reason:
                meta["reason"] = reason
            indent = 2 if self.options.output == "json" else None
            docs = [{**e, "webhook": meta} for e in events] if events else [{"webhook": meta}]
            for doc in docs:
                self.out.write(json.dumps(doc, indent=indent) + "\n")
        self.out.flush()


def _too_deep(value: Any, limit: int) -> bool:
    """``value`` nests lists/objects more than ``limit`` deep (walked without recursion)."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return True
        if isinstance(item, dict):
            stack.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, list):
            stack.extend((child, depth + 1) for child in item)
    return False


def _events(body: bytes) -> list[dict[str, Any]] | None:
    """The CloudEvents in a webhook body (an array, or one object); None if it is not JSON.

    RecursionError (JSON nested deeper than Python parses) is the caller's: a 400.
    """
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    items = doc if isinstance(doc, list) else [doc]
    return [item for item in items if isinstance(item, dict)] or None


def _shown(request_line: str) -> str:
    """A request line for a log line: control characters escaped, cut to a readable length."""
    from twilio_es_cli.safe_text import visible

    text = visible(request_line)
    return text if len(text) <= 120 else text[:120] + "…"


def _loopback(host: str) -> bool:
    return host in _LOOPBACK_HOSTS or host.startswith("127.")


def _made_here(peer: str, headers: dict[str, str]) -> bool:
    """A request from this machine to a loopback name, not relayed by a proxy or tunnel."""
    lowered = {k.lower(): v for k, v in headers.items()}
    host = lowered.get("host", "127.0.0.1")
    host = host if host.endswith("]") else host.rsplit(":", 1)[0]
    return _loopback(peer) and _loopback(host) and not _PROXY_HEADERS & set(lowered)


def _bind_error(host: str, port: int, exc: OSError) -> TwilioEsError:
    if exc.errno == errno.EADDRINUSE:
        return TwilioEsError(
            f"port {port} on {host} is already in use",
            hint=f"Stop what listens there, or pick another port: --port {port + 1}.",
        )
    if exc.errno == errno.EACCES:
        return TwilioEsError(
            f"not allowed to listen on {host}:{port}", hint="Use a port above 1023."
        )
    return TwilioEsError(f"cannot listen on {host}:{port}: {exc.strerror or exc}")


class _Server(ThreadingHTTPServer):
    """A thread per connection, a deep accept queue, and no tracebacks on the terminal."""

    daemon_threads = True
    request_queue_size = BACKLOG

    def __init__(
        self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler], listener: Listener
    ) -> None:
        self.listener = listener
        super().__init__(address, handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """What the handler did not answer itself: one line (a client gone is no failure)."""
        exc = sys.exc_info()[1]
        peer = ":".join(str(part) for part in client_address[:2])
        if isinstance(exc, ConnectionError | TimeoutError):
            self.listener.gone(peer, "-", f"mid-request ({type(exc).__name__})")
            return
        self.listener.report.warn(f"request from {peer} failed: {type(exc).__name__}: {exc}")


def _handler_for(listener: Listener) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as Twilio and the forwarder use it
        # Headers and body leave in two writes: with Nagle on, each answer waits for the
        # client's delayed ACK (~40 ms).
        disable_nagle_algorithm = True
        timeout = READ_TIMEOUT  # a client that stops mid-request frees its thread

        @property
        def peer(self) -> str:
            return ":".join(str(part) for part in self.client_address[:2])

        def _serve(self) -> None:
            counted = True  # every request but a read of the event log counts toward --max
            try:
                body = self._body()
                headers = dict(self.headers.items())
                if self.command == "GET" and urlsplit(self.path).path == EVENTS_PATH:
                    counted = False
                    answer = listener.read_log(self.path, headers, self.client_address[0])
                else:
                    answer = listener.handle(self.command, self.path, headers, body)
            except BadRequest as exc:
                self.close_connection = True
                listener.unreadable(self.peer, self.requestline, exc.status, exc.reason)
                answer = Answer(exc.status, f"{exc.reason}\n".encode())
            except ClientGone as exc:
                self.close_connection = True
                listener.gone(self.peer, self.requestline, f"before its body arrived: {exc}")
                return
            try:
                self._answer(answer)
            finally:
                if counted:
                    listener.answered()

        def _body(self) -> bytes:
            length = content_length(self.headers, 16 * MAX_BODY)
            if length > MAX_BODY:
                while length > 0:  # read it away so the sender sees the answer
                    chunk = read_body(self.rfile.read, min(65536, length))
                    length -= len(chunk)
                raise BadRequest(413, f"body over {MAX_BODY} bytes")
            return read_body(self.rfile.read, length)

        def _answer(self, answer: Answer) -> None:
            try:
                self.send_response(answer.status)
                self.send_header("Content-Type", answer.content_type)
                self.send_header("Content-Length", str(len(answer.body)))
                self.end_headers()
                self.wfile.write(answer.body)
            except (ConnectionError, TimeoutError):  # the client did not wait for it
                self.close_connection = True
                listener.gone(self.peer, self.requestline, f"before its answer ({answer.status})")

        do_POST = do_GET = do_PUT = _serve

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: every request is already shown as an event line."""

    return Handler


# --- reading the log from another process (`sink validate`, `quickstart --local --webhook`) ---


class ListenerError(Exception):
    """The log could not be read; ``unreachable`` when nothing answered at all."""

    def __init__(self, message: str, *, unreachable: bool) -> None:
        super().__init__(message)
        self.message = message
        self.unreachable = unreachable


class ListenerLog:
    """Reads :data:`EVENTS_PATH` of a ``webhook listen`` at ``base`` (``http://host:port``).

    No proxy is ever used (the log is only served to direct loopback requests), and each read
    is short: a listener answers from memory.
    """

    def __init__(self, base: str, *, timeout: float = 5.0) -> None:
        parts = urlsplit(base)
        self.base = f"{parts.scheme}://{parts.netloc}"
        self.url = self.base + EVENTS_PATH
        self.timeout = timeout

    def read(self, after: int = 0, event_type: str | None = None) -> dict[str, Any]:
        """The log document (``last_seq``, ``events``); :class:`ListenerError` otherwise."""
        import urllib.error
        import urllib.request
        from urllib.parse import urlencode

        query = urlencode({"after": after, **({"type": event_type} if event_type else {})})
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        try:
            with opener.open(f"{self.url}?{query}", timeout=self.timeout) as answer:
                raw = answer.read(16 * MAX_BODY)
        except urllib.error.HTTPError as exc:
            raise ListenerError(
                f"{self.url} answered {exc.code}, not a `twilio-es webhook listen` event log",
                unreachable=False,
            ) from exc
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise ListenerError(
                f"nothing answers at {self.base} ({reason})", unreachable=True
            ) from exc
        try:
            doc = json.loads(raw)
        except (ValueError, RecursionError):
            doc = None
        if not isinstance(doc, dict) or doc.get("format") != LOG_FORMAT:
            raise ListenerError(
                f"{self.url} is not a `twilio-es webhook listen` event log", unreachable=False
            )
        return doc
