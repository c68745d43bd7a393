"""A captured webhook request and the file formats ``webhook verify`` and ``listen --save`` use.

Two formats, both what people actually have at hand when a handler rejects a request:

- JSON: ``{"method": "POST", "url": "https://...", "headers": {...}, "body": "..."}``, with
  ``body_base64`` instead of ``body`` for bytes that are not UTF-8. ``webhook listen --save``
  writes exactly this, so a rejected request can be replayed through ``webhook verify``.
- HTTP/1.1 text, as a proxy or ``nc -l`` dumps it: request line, headers, blank line, body.
  The URL is rebuilt from the ``Host`` header (and ``X-Forwarded-Proto``/``--scheme``), which is
  precisely where proxies change what was signed: ``verify`` tries the variants.

Why keep the body as bytes: the signature covers the raw bytes Twilio sent; anything that
re-serialises JSON on the way (a framework's body parser) breaks the ``bodySHA256`` check.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from twilio_es_cli.errors import UsageError
from twilio_es_cli.signing import SIGNATURE_HEADER


@dataclass(frozen=True)
class CapturedRequest:
    """One HTTP request as a webhook handler received it."""

    url: str
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)
    method: str = "POST"

    def header(self, name: str) -> str | None:
        """A header by case-insensitive name (HTTP header names are case-insensitive)."""
        lowered = name.lower()
        for key, value in self.headers.items():
            if key.lower() == lowered:
                return value
        return None

    @property
    def signature(self) -> str | None:
        return self.header(SIGNATURE_HEADER)

    def to_json(self, *, credentials: bool = True) -> dict[str, Any]:
        """The JSON capture format (``body`` as text when it is UTF-8, else ``body_base64``).

        ``credentials=False`` hides the values of :data:`CREDENTIAL_HEADERS` (the Basic auth
        Twilio sends for a ``user:pass@`` destination): a capture is for replaying the
        signature check, which never needs them.
        """
        headers = dict(self.headers)
        if not credentials:
            headers = {k: _hidden(k, v) for k, v in headers.items()}
        doc: dict[str, Any] = {"method": self.method, "url": self.url, "headers": headers}
        try:
            doc["body"] = self.body.decode("utf-8")
        except UnicodeDecodeError:
            doc["body_base64"] = base64.b64encode(self.body).decode("ascii")
        return doc


CREDENTIAL_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie"})


def _hidden(name: str, value: str) -> str:
    """A credential header's value with the secret replaced (the scheme kept: ``Basic ****``)."""
    if name.lower() not in CREDENTIAL_HEADERS:
        return value
    scheme, space, _secret = value.partition(" ")
    return f"{scheme} ****" if space and name.lower() != "cookie" else "****"


def parse_capture(
    data: bytes, *, scheme: str | None = None, source: str = "capture"
) -> CapturedRequest:
    """A :class:`CapturedRequest` from either format (JSON if it starts with ``{``)."""
    if data.lstrip()[:1] == b"{":
        return _from_json(data, source)
    return _from_http(data, scheme, source)


def _from_json(data: bytes, source: str) -> CapturedRequest:
    try:
        doc = json.loads(data)
        url = doc["url"]
        headers = {str(k): str(v) for k, v in dict(doc.get("headers") or {}).items()}
        if "body_base64" in doc:
            body = base64.b64decode(doc["body_base64"], validate=True)
        else:
            body = str(doc.get("body", "")).encode("utf-8")
    except RecursionError:
        raise UsageError(
            f"{source} is not a JSON capture (nested too deeply to read)",
            hint='Expected {"url": "https://...", "headers": {...}, "body": "..."}.',
        ) from None
    except (ValueError, KeyError, TypeError, AttributeError, binascii.Error) as exc:
        raise UsageError(
            f"{source} is not a JSON capture ({type(exc).__name__}: {exc})",
            hint='Expected {"url": "https://...", "headers": {...}, "body": "..."}.',
        ) from exc
    if not isinstance(url, str):
        raise UsageError(f"{source}: url {url!r} is not an http(s) URL")
    return CapturedRequest(
        url=checked_url(url, f"{source}: url"),
        body=body,
        headers=headers,
        method=str(doc.get("method", "POST")),
    )


def checked_url(url: str, what: str) -> str:
    """``url`` when it is an http(s) URL with a host that parses, else a one-line usage error
    (``http://[::1`` made every later step fail with ValueError)."""
    from urllib.parse import urlsplit

    from twilio_es_cli.errors import shown

    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (raises ValueError for a port out of range or not a number)
    except ValueError as exc:
        raise UsageError(f"{what} {shown(url)} is not a usable URL: {exc}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"{what} {shown(url)} is not an http(s) URL with a host")
    return url


def _from_http(data: bytes, scheme: str | None, source: str) -> CapturedRequest:
    head, sep, body = data.partition(b"\r\n\r\n")
    if not sep:
        head, sep, body = data.partition(b"\n\n")
    lines = head.decode("latin-1").splitlines()
    request_line = lines[0].split() if lines else []
    if len(request_line) != 3 or not request_line[2].startswith("HTTP/"):
        raise UsageError(
            f"{source} is neither a JSON capture nor an HTTP request",
            hint="Start the file with a request line (POST /path?query HTTP/1.1) or a JSON "
            "object; see docs/webhooks.md.",
        )
    method, target, _ = request_line
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        if colon:
            headers[name.strip()] = value.strip()
    lowered = {k.lower(): v for k, v in headers.items()}
    if target.startswith(("http://", "https://")):  # absolute form, as sent to a proxy
        url = target
    else:
        host = lowered.get("x-forwarded-host") or lowered.get("host")
        if not host:
            raise UsageError(f"{source}: the request has no Host header to rebuild its URL from")
        proto = scheme or lowered.get("x-forwarded-proto", "https").split(",")[0].strip()
        url = f"{proto}://{host}{target}"
    length = lowered.get("content-length")
    if length is not None and length.isascii() and length.isdigit():
        body = body[: int(length)]
    url = checked_url(url, f"{source}: the request's URL")
    return CapturedRequest(url=url, body=body, headers=headers, method=method)
