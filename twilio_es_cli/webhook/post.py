"""One HTTP request with Twilio's timeout over a kept-alive connection (stdlib http.client).

Why not urllib/requests: a new connection per event would cost more than the POST itself to a
local handler, and requests is not a dependency. One :class:`Poster` belongs to one thread.
Failures that Twilio retries (refused, reset, timed out) come back as a result with
``status=None`` and an ``error`` text, never as an exception: the forwarder decides.
"""

from __future__ import annotations

import base64
import http.client
import re
import socket
import time
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from twilio_es_cli.errors import UsageError

TWILIO_TIMEOUT = 5.0  # seconds Twilio waits for a webhook to answer
MAX_RESPONSE_BYTES = 64 * 1024  # read (and drop) at most this much of an answer


@dataclass(frozen=True)
class Target:
    """Where to POST: the URL split once (scheme, host, port, path + query, Basic auth)."""

    url: str  # without user info: what is signed
    scheme: str
    host: str
    port: int
    authorization: str | None = None

    @classmethod
    def parse(cls, url: str) -> Target:
        """Split ``url``, or a one-line usage error quoting it (its password hidden)."""
        from twilio_es_cli.errors import shown

        example = "For example: --forward-to http://localhost:3000/webhooks/twilio"
        try:
            parts = urlsplit(url)
        except ValueError as exc:  # "Invalid IPv6 URL": an unclosed [
            raise UsageError(f"{shown(url)} is not a usable URL: {exc}", hint=example) from None
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise UsageError(f"{shown(url)} is not an http(s) URL", hint=example)
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:
            raise UsageError(f"{shown(url)} has an invalid port", hint=example) from None
        auth = None
        if parts.username is not None:  # Twilio sends Basic auth for user info in the URL
            pair = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
            auth = "Basic " + base64.b64encode(pair.encode()).decode("ascii")
        netloc = parts.netloc.rpartition("@")[2]
        bare = parts._replace(netloc=netloc).geturl()
        return cls(bare, parts.scheme, parts.hostname, port, auth)


@dataclass(frozen=True)
class Response:
    """What came back: a status, or ``status=None`` and why the request failed."""

    status: int | None
    latency: float
    error: str | None = None
    retry_after: float | None = None
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()


class Poster:
    """POSTs to one host over one kept-alive connection, reconnecting when needed."""

    def __init__(self, target: Target, *, timeout: float = TWILIO_TIMEOUT) -> None:
        self.target = target
        self.timeout = timeout
        self._conn: http.client.HTTPConnection | None = None

    def _connection(self) -> http.client.HTTPConnection:
        if self._conn is None:
            cls = (
                http.client.HTTPSConnection
                if self.target.scheme == "https"
                else http.client.HTTPConnection
            )
            self._conn = cls(self.target.host, self.target.port, timeout=self.timeout)
        return self._conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def send(
        self, path: str, body: bytes, headers: Mapping[str, str], *, method: str = "POST"
    ) -> Response:
        """One request; a stale kept-alive connection is retried once on a fresh one."""
        for fresh in (self._conn is None, True):
            started = time.monotonic()
            try:
                return self._exchange(path, body, headers, method, started)
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError) as exc:
                self.close()
                if fresh:
                    return Response(None, time.monotonic() - started, _describe(exc, self.timeout))
            except (OSError, http.client.HTTPException) as exc:
                self.close()
                return Response(None, time.monotonic() - started, _describe(exc, self.timeout))
        raise AssertionError("unreachable")  # pragma: no cover

    def _exchange(
        self, path: str, body: bytes, headers: Mapping[str, str], method: str, started: float
    ) -> Response:
        conn = self._connection()
        all_headers = dict(headers)
        if self.target.authorization and "Authorization" not in all_headers:
            all_headers["Authorization"] = self.target.authorization
        conn.request(method, path, body=body, headers=all_headers)
        answer = conn.getresponse()
        data = answer.read(MAX_RESPONSE_BYTES)
        # more than we keep, or the server closes: do not reuse the connection
        if answer.length or answer.will_close:
            self.close()
        return Response(
            answer.status,
            time.monotonic() - started,
            retry_after=_retry_after(answer.getheader("Retry-After")),
            body=data,
            headers=tuple(answer.getheaders()),
        )


def _retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """``Retry-After`` in seconds from now, or None when it says nothing usable.

    RFC 9110 allows two forms: delay-seconds (digits only) or an HTTP-date. Anything else
    (``-5``, ``NaN``, ``1e9``, ``1.5``, a date that does not parse) is None, and so is a wait
    of 0 or a date in the past: the sender then keeps its own backoff, so a handler cannot
    remove the pause between retries by answering ``Retry-After: 0``.
    """
    if value is None:
        return None
    text = value.strip()
    seconds: float | None
    if text.isascii() and text.isdigit():
        digits = text.lstrip("0") or "0"
        seconds = float(int(digits)) if len(digits) <= 12 else 1e12  # past any cap
    else:
        seconds = _seconds_until(text, time.time() if now is None else now)
    return seconds if seconds is not None and seconds > 0 else None


def _seconds_until(http_date: str, now: float) -> float | None:
    """Seconds from ``now`` (a Unix time) to an HTTP-date (None if it is not one)."""
    from email.utils import parsedate_to_datetime

    if not http_date or not http_date.isascii() or len(http_date) > 64:
        return None
    try:
        when = parsedate_to_datetime(http_date)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:  # "-0000": RFC 5322's "zone unknown"; HTTP dates are GMT
        from datetime import timezone

        when = when.replace(tzinfo=timezone.utc)
    return when.timestamp() - now


#: RFC 9110's token (a header name) and what a header value may hold here: printable ASCII,
#: spaces and tabs (CR, LF and NUL would end the header and inject another).
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_VALUE = re.compile(r"[\t\x20-\x7e]*")
#: Headers that frame the body: set by the request itself, a second copy breaks it.
FRAMING = frozenset({"content-length", "transfer-encoding"})


def header_problem(name: str, value: str) -> str | None:
    """Why ``name: value`` cannot be sent as an extra header (None: it can)."""
    if not _TOKEN.fullmatch(name):
        return "the name may hold only letters, digits and !#$%&'*+.^_`|~- (no spaces)"
    for char, what in (("\r", "a carriage return"), ("\n", "a line feed"), ("\x00", "a NUL")):
        if char in value:
            return f"the value holds {what}, which would end the header and start another"
    if not _VALUE.fullmatch(value):
        return "the value may hold only printable ASCII characters, spaces and tabs"
    if name.lower() in FRAMING:
        return f"{name} is set by the request itself (it frames the body)"
    return None


def _describe(exc: BaseException, timeout: float = TWILIO_TIMEOUT) -> str:
    """A short reason for a failed request, in the words people search for."""
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, socket.timeout | TimeoutError):
        return f"no answer within {timeout:g}s (timeout)"
    if isinstance(exc, http.client.RemoteDisconnected | ConnectionResetError):
        return "connection closed without an answer"
    if isinstance(exc, socket.gaierror):
        return f"host not found ({exc.strerror})"
    text = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return str(text)
