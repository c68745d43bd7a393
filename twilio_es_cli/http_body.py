"""Reading a request's body in our own HTTP servers (``webhook listen``, the Events emulator).

Why one helper: ``int(headers["Content-Length"])`` and ``rfile.read(n)`` trust the client.
A non-number, a negative or a 20-digit length, two lengths that disagree, or a chunked body
(http.server does not decode it) made both servers drop the connection with a traceback on the
operator's terminal. Each of those is the client's mistake and deserves an HTTP answer: the
status and reason come from here, so both servers say the same thing (stdlib only: the
emulator is imported by tests and the sandbox without the CLI's dependencies).
"""

from __future__ import annotations

from collections.abc import Callable
from email.message import Message


class BadRequest(Exception):
    """The request cannot be read: answer ``status`` with ``reason`` and close the connection."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


class ClientGone(Exception):
    """The client closed the connection before its body arrived: nobody is left to answer."""


def content_length(headers: Message, limit: int) -> int:
    """The body's length in bytes (0 when absent), or :class:`BadRequest`.

    411 for ``Transfer-Encoding`` (only ``Content-Length`` bodies are read), 400 for a length
    that is not a plain decimal number or for several that disagree, 413 above ``limit``.
    """
    if headers.get("Transfer-Encoding"):
        raise BadRequest(411, "Transfer-Encoding is not supported: send Content-Length")
    values = {value.strip() for value in headers.get_all("Content-Length") or []}
    if not values:
        return 0
    if len(values) > 1:
        raise BadRequest(400, "conflicting Content-Length headers")
    value = values.pop()
    if not value.isascii() or not value.isdigit():
        shown = value[:40] + ("…" if len(value) > 40 else "")
        raise BadRequest(400, f"Content-Length {shown!r} is not a number of bytes")
    if len(value) > 18 or int(value) > limit:
        raise BadRequest(413, f"body over {limit} bytes")
    return int(value)


def read_body(read: Callable[[int], bytes], length: int) -> bytes:
    """Exactly ``length`` bytes from ``read`` (a handler's ``rfile.read``), or
    :class:`ClientGone` when the client stopped sending.

    A read that times out (the server's socket timeout) is :class:`BadRequest` 408.
    """
    if not length:
        return b""
    try:
        body = read(length)
    except TimeoutError:
        raise BadRequest(408, "the body did not arrive in time") from None
    except ConnectionError as exc:
        raise ClientGone(str(exc)) from None
    if len(body) < length:
        raise ClientGone(f"sent {len(body)} of {length} bytes, then closed")
    return body
