"""Twilio webhook signatures, computed the way Twilio signs its requests.

One home for the algorithm so that the sandbox's webhook deliveries, ``tail --forward-to``,
``webhook listen``/``verify``/``sign`` and the tests all agree with each other and with the
twilio SDK's ``RequestValidator``:

- a JSON body is not signed as form parameters; instead Twilio appends
  ``bodySHA256=<hex SHA-256 of the raw body>`` to the URL it requests, and signs that URL;
- the signature is ``base64(HMAC-SHA1(auth_token, url + sorted form params))``, sent in
  ``X-Twilio-Signature``.

Standard library only (hmac, hashlib): it sits on the data path of the forwarder.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping

SIGNATURE_HEADER = "X-Twilio-Signature"
BODY_HASH_PARAM = "bodySHA256"


def body_sha256(body: bytes) -> str:
    """Hex SHA-256 of the raw request body, as Twilio puts it in ``bodySHA256``."""
    return hashlib.sha256(body).hexdigest()


def url_with_body_hash(url: str, body: bytes) -> str:
    """The URL Twilio requests for a JSON body: ``url`` as configured plus ``bodySHA256``.

    The query string is kept byte for byte (``?t=%7E&flag`` stays ``?t=%7E&flag``, never
    ``?t=~&flag=``): Twilio uses the URL as configured, and a handler validates the signature
    against the URL it was given. Only an earlier ``bodySHA256`` pair is replaced; a fragment
    is dropped, as no HTTP request carries one.
    """
    base, _, _fragment = url.partition("#")
    path, mark, query = base.partition("?")
    pairs = [
        pair
        for pair in (query.split("&") if mark else [])
        if pair.partition("=")[0] != BODY_HASH_PARAM
    ]
    pairs.append(f"{BODY_HASH_PARAM}={body_sha256(body)}")
    return f"{path}?{'&'.join(pairs)}"


def compute_signature(token: str, url: str, params: Mapping[str, str] | None = None) -> str:
    """``X-Twilio-Signature`` for a request to ``url`` (form ``params`` sorted by name)."""
    fields = params or {}
    data = url + "".join(f"{name}{fields[name]}" for name in sorted(fields))
    mac = hmac.new(token.encode("utf-8"), data.encode("utf-8"), hashlib.sha1)
    return base64.b64encode(mac.digest()).decode("ascii")


def sign_json_request(token: str, url: str, body: bytes) -> tuple[str, str]:
    """(URL to request, signature) for a JSON ``body`` POSTed to ``url``, as Twilio sends it."""
    signed_url = url_with_body_hash(url, body)
    return signed_url, compute_signature(token, signed_url)


def signatures_match(expected: str, given: str) -> bool:
    """Constant-time comparison, so a verifier does not leak how much of a guess was right."""
    return hmac.compare_digest(expected.encode("utf-8"), given.encode("utf-8"))
