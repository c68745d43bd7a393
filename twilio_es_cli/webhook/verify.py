"""Is a webhook request signed by Twilio, and if not, exactly why (``webhook verify``, ``listen``).

"Signature mismatch" alone helps nobody. The usual causes, each checked here and named:

- the handler rebuilt a different URL than Twilio requested: proxies and tunnels change the
  scheme (https -> http), add or drop the port, frameworks add or drop a trailing slash, some
  libraries reorder the query or drop ``bodySHA256``. Every combination of those variants is
  signed and compared; the one that matches says what to fix;
- the body was changed before checking it (a JSON body parser re-serialised it, a newline was
  added): the ``bodySHA256`` in the URL no longer matches, and common re-serialisations are
  tried to say so;
- the wrong secret: an API key SID (``SK...``) or API key secret instead of the account's auth
  token (32 lowercase hex characters), or another (sub)account's token.

Pure functions over :class:`~twilio_es_cli.webhook.capture.CapturedRequest`; no I/O.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from itertools import permutations, product
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from twilio_es_cli.signing import (
    BODY_HASH_PARAM,
    SIGNATURE_HEADER,
    body_sha256,
    compute_signature,
    signatures_match,
)
from twilio_es_cli.webhook.capture import CapturedRequest

_AUTH_TOKEN = re.compile(r"^[0-9a-f]{32}$")
_DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True)
class Attempt:
    """One URL variant that was signed and compared."""

    label: str
    url: str
    matched: bool


@dataclass
class Diagnosis:
    """The verdict on one request: ``valid``, or ``reason`` + ``fix`` saying why not.

    ``cause`` is the most likely cause when nothing pins one down (no URL variant matched):
    the token is named only when nothing else explains the mismatch.
    """

    valid: bool
    reason: str
    fix: str | None = None
    body_hash: str = "absent"  # "match" | "mismatch" | "absent"
    matched_url: str | None = None
    attempts: list[Attempt] = field(default_factory=list)
    token_notes: list[str] = field(default_factory=list)
    cause: str | None = None

    def to_json(self) -> dict[str, object]:
        return {
            "valid": self.valid,
            "reason": self.reason,
            "cause": self.cause,
            "fix": self.fix,
            "body_hash": self.body_hash,
            "matched_url": self.matched_url,
            "token_notes": self.token_notes,
            "tried": [
                {"variant": a.label, "url": a.url, "matched": a.matched} for a in self.attempts
            ],
        }


def token_notes(token: str) -> list[str]:
    """What is wrong with the shape of ``token`` as an auth token (empty when it looks right)."""
    stripped = token.strip()
    if stripped != token:
        return ["the token has leading/trailing whitespace (copied with a newline?)"]
    if token.startswith("SK") and len(token) == 34:
        return [
            "the token is an API key SID (SK...), not a secret: Twilio signs webhooks with "
            "the account's auth token"
        ]
    if token.startswith("AC") and len(token) == 34:
        return ["the token is an account SID (AC...); use that account's auth token"]
    if not _AUTH_TOKEN.match(token):
        if len(token) == 32 and token.isalnum():
            return [
                "the token looks like an API key secret (mixed case), not an auth token "
                "(32 lowercase hex): Twilio signs webhooks with the auth token"
            ]
        return [
            "the token is not shaped like an auth token (32 lowercase hex; "
            f"got {len(token)} characters)"
        ]
    return []


def quick_check(request: CapturedRequest, token: str) -> bool:
    """The fast path (the listener's per-request check): the exact URL and body, nothing else."""
    signature = request.signature
    if not signature:
        return False
    query = dict(parse_qsl(urlsplit(request.url).query, keep_blank_values=True))
    expected_hash = query.get(BODY_HASH_PARAM)
    if expected_hash is not None and expected_hash != body_sha256(request.body):
        return False
    params = form_params(request) if expected_hash is None else None
    return signatures_match(compute_signature(token, request.url, params), signature)


def form_params(request: CapturedRequest) -> dict[str, str] | None:
    """A form-encoded body's fields (signed as parameters, as Twilio's other webhooks are)."""
    content_type = (request.header("Content-Type") or "").lower()
    if "application/x-www-form-urlencoded" not in content_type:
        return None
    return dict(parse_qsl(request.body.decode("utf-8", "replace"), keep_blank_values=True))


def diagnose(request: CapturedRequest, token: str) -> Diagnosis:
    """The full verdict on ``request`` signed with ``token`` (see the module docstring)."""
    signature = request.signature
    notes = token_notes(token)
    if not signature:
        return Diagnosis(
            False,
            f"the request has no {SIGNATURE_HEADER} header",
            fix="Twilio always sends it: the request did not come from Twilio, or a proxy "
            "dropped the header; pass it through.",
            token_notes=notes,
        )
    body_state, body_reason = _body_hash_state(request)
    attempts = _attempts(request, token, signature)
    exact = attempts[0]
    diag = Diagnosis(False, "", body_hash=body_state, attempts=attempts, token_notes=notes)
    if exact.matched and body_state != "mismatch":
        diag.valid, diag.matched_url = True, exact.url
        diag.reason = "the signature matches the URL and the body is the one Twilio hashed"
        if body_state == "absent":
            diag.reason = "the signature matches the URL (no bodySHA256 in it)"
        return diag
    if exact.matched:  # signed URL fine, but the body is not the one Twilio hashed
        diag.reason, diag.fix = body_reason or "body changed", _BODY_FIX
        diag.matched_url = exact.url
        return diag
    other = next((a for a in attempts if a.matched), None)
    if other is not None:
        diag.matched_url = other.url
        diag.reason = f"the signature is for {other.url} ({other.label}), not {request.url}"
        diag.fix = _variant_fix(other.label)
        if body_state == "mismatch":
            diag.reason += f"; and {body_reason}"
        return diag
    diag.reason = f"no URL variant matched the signature ({len(attempts)} tried)"
    diag.cause, diag.fix = _likely_cause(request, signature, notes)
    if body_state == "mismatch":  # certain, and a second problem: say it first
        diag.reason += f"; and {body_reason}"
        diag.fix = f"{_BODY_FIX} Then: {diag.fix}"
    return diag


_SIGNATURE = re.compile(r"^[A-Za-z0-9+/]{27}=$")  # base64 of an HMAC-SHA1 (20 bytes)
_FORWARDED = ("X-Forwarded-Host", "X-Original-Host", "X-Forwarded-Server", "Forwarded")


def _likely_cause(request: CapturedRequest, signature: str, notes: list[str]) -> tuple[str, str]:
    """(cause, fix) when no URL variant matched, most likely first: a signature that is not
    one, a token of the wrong kind, a request that reached a local or proxied address (the
    URL Twilio signed is the public one), and only then the token itself."""
    if not _SIGNATURE.match(signature.strip()):
        return (
            f"the {SIGNATURE_HEADER} value is not a Twilio signature (28 base64 characters, "
            f"got {len(signature)}): it was cut or changed on the way",
            "Pass the header through unchanged (check what your proxy or logger does to it).",
        )
    if notes:
        return notes[0], _TOKEN_SHAPE_FIX
    host = (urlsplit(request.url).hostname or "").lower()
    proxied = next((h for h in _FORWARDED if request.header(h)), None)
    tried_forwarded = forwarded_url(request) is not None  # its variants did not match either
    if not tried_forwarded and (proxied is not None or _is_local(host)):
        seen = f"the {proxied} header" if proxied else f"the host {host}"
        return (
            f"the request went through a proxy or tunnel ({seen}): Twilio signed the public "
            f"URL it called, not {request.url}",
            "Verify with the public URL (`webhook verify --url https://PUBLIC/PATH?...`), or "
            "build it from X-Forwarded-Host/-Proto in your handler; `webhook listen "
            "--public-url` does this for you.",
        )
    return (
        "the auth token is not the one that signed this request (another account or "
        "subaccount, or a rotated token), or the URL was rewritten beyond scheme, port, "
        "slash and query order",
        _WRONG_TOKEN_FIX,
    )


def _is_local(host: str) -> bool:
    """A host Twilio cannot reach: the request arrived through a tunnel or a proxy."""
    import ipaddress

    if host in ("localhost", "") or host.endswith((".local", ".internal", ".localhost")):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_private or address.is_loopback or address.is_link_local


_BODY_FIX = (
    "Check the signature against the raw request body, before any JSON parsing "
    "(Express: express.raw(); Flask: request.get_data(); Django: request.body)."
)
_TOKEN_SHAPE_FIX = (
    "Validate with the auth token of the account (or subaccount) that owns the sink: 32 "
    "lowercase hex characters, in the Console under Account > API keys & tokens; API keys "
    "authenticate your calls to Twilio but never sign Twilio's webhooks."
)
_WRONG_TOKEN_FIX = (
    "Use the auth token of the account (or subaccount) that owns the sink (after a rotation, "
    "try the secondary token), and the exact destination URL of the sink."
)


def _variant_fix(label: str) -> str:
    """What the handler should change, given the variant of the URL that matched."""
    fixes = []
    if "forwarded host" in label:
        fixes.append(
            "build the URL from the X-Forwarded-Host and X-Forwarded-Proto headers your proxy "
            "or tunnel adds (the public URL Twilio called)"
        )
    if "scheme" in label:
        fixes.append(
            "build the URL with the scheme Twilio used (behind a proxy or tunnel: honour "
            "X-Forwarded-Proto, or configure the public URL)"
        )
    if "port" in label:
        fixes.append("use the host and port exactly as in the sink's destination URL")
    if "slash" in label:
        fixes.append("keep the path exactly as configured (trailing slash included or not)")
    if "query" in label:
        fixes.append("use the query string as received, in its original order")
    if BODY_HASH_PARAM in label:
        fixes.append(f"keep the {BODY_HASH_PARAM} query parameter in the URL you validate")
    text = "; ".join(fixes)
    return text[:1].upper() + text[1:] + "." if fixes else "Validate against that URL."


def _body_hash_state(request: CapturedRequest) -> tuple[str, str | None]:
    """("match"|"mismatch"|"absent", reason when mismatched)."""
    query = dict(parse_qsl(urlsplit(request.url).query, keep_blank_values=True))
    expected = query.get(BODY_HASH_PARAM)
    if expected is None:
        return "absent", None
    if expected == body_sha256(request.body):
        return "match", None
    for name, transform in _REWRITES:
        changed = transform(request.body)
        if changed is not None and changed != request.body and body_sha256(changed) == expected:
            return "mismatch", f"the body was changed after it was sent ({name})"
    for name, transform in _REWRITES:  # the reverse: our copy is the rewritten one
        original = transform(request.body)
        if original is not None and body_sha256(original) == expected:
            return "mismatch", f"the body differs from what was hashed ({name})"
    return (
        "mismatch",
        f"the body's SHA-256 does not match {BODY_HASH_PARAM} (body altered or truncated)",
    )


def _json_rewrite(
    *, separators: tuple[str, str] | None = None, ensure_ascii: bool = True, sort_keys: bool = False
) -> Callable[[bytes], bytes | None]:
    """A re-serialisation some proxy or framework may have applied (json.dumps' defaults)."""

    def rewrite(body: bytes) -> bytes | None:
        try:
            text = json.dumps(
                json.loads(body),
                separators=separators,
                ensure_ascii=ensure_ascii,
                sort_keys=sort_keys,
            )
            return text.encode("utf-8")
        except (ValueError, UnicodeDecodeError, RecursionError):  # not JSON, or too deep to read
            return None

    return rewrite


_REWRITES: list[tuple[str, Callable[[bytes], bytes | None]]] = [
    ("JSON re-serialised compactly", _json_rewrite(separators=(",", ":"))),
    ("JSON re-serialised with spaces", _json_rewrite()),
    (
        "JSON re-serialised with escaped non-ASCII",
        _json_rewrite(ensure_ascii=True, separators=(",", ":")),
    ),
    ("JSON re-serialised with sorted keys", _json_rewrite(sort_keys=True, separators=(",", ":"))),
    ("a trailing newline added or removed", lambda b: b[:-1] if b.endswith(b"\n") else b + b"\n"),
    ("whitespace trimmed", lambda b: b.strip()),
]


def _attempts(request: CapturedRequest, token: str, signature: str) -> list[Attempt]:
    """Every URL variant signed and compared; the exact URL first, then the URL a proxy's
    X-Forwarded-Host/-Proto headers say was called (and its variants)."""
    params = form_params(request)
    seen: set[str] = set()
    attempts = []
    bases = [("", request.url)]
    forwarded = forwarded_url(request)
    if forwarded is not None:
        bases.append(("forwarded host", forwarded))
    for prefix, base in bases:
        for label, url in url_variants(base, request.body):
            if url in seen:
                continue
            seen.add(url)
            uses_hash = BODY_HASH_PARAM in dict(parse_qsl(urlsplit(url).query))
            expected = compute_signature(token, url, None if uses_hash else params)
            name = ", ".join(p for p in (prefix, "" if label == "as received" else label) if p)
            attempts.append(Attempt(name or label, url, signatures_match(expected, signature)))
    return attempts


def forwarded_url(request: CapturedRequest) -> str | None:
    """The URL the sender called, per a proxy's X-Forwarded-Host (and -Proto), when it
    differs from the URL the handler saw; None without such a header."""
    host = (request.header("X-Forwarded-Host") or "").split(",")[0].strip()
    if not host:
        return None
    parts = urlsplit(request.url)
    scheme = (request.header("X-Forwarded-Proto") or "").split(",")[0].strip() or "https"
    userinfo = parts.netloc.rpartition("@")[0]
    url = urlunsplit(
        parts._replace(scheme=scheme, netloc=(f"{userinfo}@" if userinfo else "") + host)
    )
    return None if url == request.url else url


def url_variants(url: str, body: bytes) -> Iterator[tuple[str, str]]:
    """(label, URL) for the URL as given and every rewrite proxies and frameworks make."""
    queries = _query_options(url)
    for options in product(_hash_options(url, body), _SCHEMES, _PORTS, _SLASHES, queries):
        current = url
        labels = []
        for name, transform in options:
            changed = transform(current)
            if changed is None:
                break
            if changed != current:
                labels.append(name)
            current = changed
        else:
            yield (", ".join(labels) or "as received"), current


Rewrite = tuple[str, Callable[[str], str | None]]


def _hash_options(url: str, body: bytes) -> list[Rewrite]:
    query = parse_qsl(urlsplit(url).query, keep_blank_values=True)
    has_hash = any(k == BODY_HASH_PARAM for k, _ in query)
    if has_hash:
        return [("", _same), (f"without {BODY_HASH_PARAM}", _without_hash)]
    return [("", _same), (f"with {BODY_HASH_PARAM} added", lambda u: _with_hash(u, body))]


def _same(url: str) -> str:
    return url


def _replace_query(url: str, pairs: list[tuple[str, str]]) -> str:
    return urlunsplit(urlsplit(url)._replace(query=urlencode(pairs)))


def _without_hash(url: str) -> str:
    pairs = parse_qsl(urlsplit(url).query, keep_blank_values=True)
    return _replace_query(url, [(k, v) for k, v in pairs if k != BODY_HASH_PARAM])


def _with_hash(url: str, body: bytes) -> str:
    pairs = parse_qsl(urlsplit(url).query, keep_blank_values=True)
    return _replace_query(url, [*pairs, (BODY_HASH_PARAM, body_sha256(body))])


def _swap_scheme(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(scheme="http" if parts.scheme == "https" else "https"))


def _toggle_port(url: str) -> str | None:
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:  # IPv6 literal: keep it simple, do not rewrite
        return None
    userinfo = parts.netloc.rpartition("@")[0]
    prefix = f"{userinfo}@" if userinfo else ""
    if parts.port is not None:
        return urlunsplit(parts._replace(netloc=prefix + host))
    default = _DEFAULT_PORTS.get(parts.scheme)
    return urlunsplit(parts._replace(netloc=f"{prefix}{host}:{default}")) if default else None


def _toggle_slash(url: str) -> str:
    parts = urlsplit(url)
    path = parts.path or "/"
    path = path[:-1] if path.endswith("/") and len(path) > 1 else path + "/"
    return urlunsplit(parts._replace(path=path))


def _sort_query(url: str) -> str:
    pairs = parse_qsl(urlsplit(url).query, keep_blank_values=True)
    return _replace_query(url, sorted(pairs))


_SCHEMES: list[Rewrite] = [("", _same), ("other scheme", _swap_scheme)]
_PORTS: list[Rewrite] = [("", _same), ("port added/removed", _toggle_port)]
_SLASHES: list[Rewrite] = [("", _same), ("trailing slash toggled", _toggle_slash)]


def _query_options(url: str) -> list[Rewrite]:
    """As received, sorted, and (for up to 4 parameters) every other order, bodySHA256 last.

    Twilio appends bodySHA256 to the sink's query as configured; a framework that rebuilt the
    query may have changed the order, which cannot be undone without trying the orders.
    """
    options: list[Rewrite] = [("", _same), ("query sorted", _sort_query)]
    pairs = parse_qsl(urlsplit(url).query, keep_blank_values=True)
    others = [p for p in pairs if p[0] != BODY_HASH_PARAM]
    if 1 < len(others) <= 4:
        for order in permutations(range(len(others))):
            options.append(("query reordered", partial(_reorder, order=order)))
    return options


def _reorder(url: str, order: tuple[int, ...]) -> str:
    pairs = parse_qsl(urlsplit(url).query, keep_blank_values=True)
    others = [p for p in pairs if p[0] != BODY_HASH_PARAM]
    if len(others) != len(order):  # the hash option removed/added nothing else: same count
        return url
    hashes = [p for p in pairs if p[0] == BODY_HASH_PARAM]
    return _replace_query(url, [others[i] for i in order] + hashes)
