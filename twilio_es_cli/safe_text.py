"""Text from outside made inert before a terminal shows it: the one definition of "unsafe".

Events come from anyone who can put a record into a stream or text into an SMS body; error
messages quote what users typed and what servers answered; tables show descriptions others
wrote. None of it may drive the terminal (an ESC starts a control sequence, ``\\x9b`` is CSI
on some terminals), reorder what is shown (bidi overrides and isolates: "Trojan Source") or
add lines (line and paragraph separators). :func:`visible` shows every such character as an
escape (``\\x1b``, ``\\u202e``, ``\\n``); :func:`json_safe` writes the ones JSON leaves raw
as ``\\u`` escapes, the same JSON value. Human output calls :func:`visible` on every piece of
outside text; :mod:`twilio_es_cli.output` does it for every message, table cell and error.

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
