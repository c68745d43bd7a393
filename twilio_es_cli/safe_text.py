"""Text from outside made inert before a terminal shows it: the one definition of "unsafe".

Events come from anyone who can put a record into a stream or text into an SMS body; error
messages quote what users typed and what servers answered; tables show descriptions others
wrote. None of it may drive the terminal (an ESC starts a control sequence, ``\\x9b`` is CSI
on some terminals), reorder what is shown (bidi overrides and isolates: "Trojan Source") or
add lines (line and paragraph separators). :func:`visible` shows every such character as an
escape (``\\x1b``, ``\\u202e``, ``\\n``); :func:`json_safe` writes the ones JSON leaves raw
as ``\\u`` escapes, the same JSON value. Human output calls :func:`visible` on every piece of
outside text; :mod:`twilio_es_cli.output` does it for every message, table cell and error.

Safe also means no secret: :func:`redact_urls` hides the password of every
``scheme://user:password@host`` in a text (a webhook destination's Basic auth, an
``--endpoint-url``), and output applies it to every message and error as well.

Light at import (stdlib only): the renderers of ``tail`` and the CLI both use it.
"""

from __future__ import annotations

import re

# Characters that reorder or break what is shown: the Arabic letter mark, LRM/RLM, line and
# paragraph separators, the bidi embeddings/overrides (U+202A-E) and isolates (U+2066-9).
_INVISIBLE = r"\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069"
#: C0 controls, DEL, C1 controls (a terminal may act on any of them), and :data:`_INVISIBLE`.
UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f" + _INVISIBLE + "]")
_UNSAFE_KEEPING_LINES = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f" + _INVISIBLE + "]")
_UNSAFE_IN_JSON = re.compile(r"[\x7f-\x9f" + _INVISIBLE + "]")  # JSON already escapes C0
_NAMED = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    code = ord(char)
    return _NAMED.get(char) or (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")


def visible(text: str, *, keep_lines: bool = False) -> str:
    """``text`` with every unsafe character shown as an escape (``\\x1b``, ``\\u202e``, ``\\n``).

    ``keep_lines`` leaves tab and newline as they are, for text that is lines by design (a
    raw record on a terminal, a multi-line table cell). For human output only: a backslash
    already in the text is left as it is, so this is for the eyes, not a reversible encoding
    (json output is the lossless one).
    """
    pattern = _UNSAFE_KEEPING_LINES if keep_lines else UNSAFE
    return pattern.sub(_escape, text) if pattern.search(text) else text


def json_safe(text: str) -> str:
    """JSON text with DEL, C1 and bidi characters as ``\\u`` escapes: the same JSON value, but
    ``cat events.jsonl`` on a terminal cannot be driven by an event (they only occur in strings).
    """
    if (text.isascii() and "\x7f" not in text) or not _UNSAFE_IN_JSON.search(text):
        return text  # isascii() is O(1) on CPython: most events need no regex scan
    return _UNSAFE_IN_JSON.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


# scheme://userinfo@ : the userinfo runs to the LAST "@" of the authority (as urlsplit reads
# it: a raw "@" in a password must not leave its tail showing), never past "/", "?", "#",
# whitespace, quotes or brackets around a URL in a message.
_URL_USERINFO = re.compile(
    r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.-]*://)(?P<userinfo>[^\s/?#'\"<>`]*)@"
)


def url_secret(url: str) -> tuple[int, int] | None:
    """Where the secret of ``url``'s ``user:password@`` (or lone ``token@``) is: a span.

    None when the URL carries no credentials. The same reading as :func:`redact_urls`, so
    what ``export`` moves into an environment variable is exactly what is never shown.
    """
    match = _URL_USERINFO.match(url)
    if match is None or not match["userinfo"]:
        return None
    start, end = match.span("userinfo")
    colon = match["userinfo"].find(":")
    return (start + colon + 1, end) if colon >= 0 else (start, end)


def redact_urls(text: str) -> str:
    """``text`` with the password of every ``scheme://user:password@host`` in it hidden.

    Webhook destinations carry Basic-auth credentials this way (Twilio supports it), and so
    may an --endpoint-url or --twilio-api-url: shown as ``user:****@``, the way an external
    id is shortened beyond use. A lone ``token@`` (a credential used as the user name)
    becomes ``****@``. ``--show-secrets`` is the only way to see them in full.
    """
    if "@" not in text:
        return text

    def hide(match: re.Match[str]) -> str:
        user, colon, _password = match["userinfo"].partition(":")
        kept = f"{user}:****" if colon else "****"
        return f"{match['scheme']}{kept}@"

    return _URL_USERINFO.sub(hide, text)
