"""One HTTP request with Twilio's timeout over a kept-alive connection (stdlib http.client).

Why not urllib/requests: a new connection per event would cost more than the POST itself to a
local handler, and requests is not a dependency. One :class:`Poster` belongs to one thread.
Failures that Twilio retries (refused, reset, timed out) come back as a result with
``status=None`` and an ``error`` text, never as an exception: the forwarder decides.
"""

from __future__ import annotations

import base64
import http.client
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


def _retry_after(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
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
