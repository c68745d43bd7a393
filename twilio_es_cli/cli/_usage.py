"""Usage errors (unknown option, missing or malformed argument) in the tool's own words.

The framework prints a multi-line block (``Usage: ...`` / ``Try ...`` / ``Error: ...``) with the
validation library's phrasing (``Input should be a valid integer, unable to parse string as an
integer``). docs/output.md promises one ``error:`` line and a ``hint:`` line instead, exit 2:
this module turns the framework's exception into that pair. Light imports only (stdlib): it is
loaded on every error path, including the fast ``--help`` one.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from twilio_es_cli.errors import SHOWN_LIMIT, shown

# pydantic error types (what typer coerces option values with) -> what the value must be.
_EXPECTED = {
    "int_parsing": "a whole number",
    "int_type": "a whole number",
    "int_from_float": "a whole number",
    "float_parsing": "a number",
    "float_type": "a number",
    "finite_number": "a finite number",
    "bool_parsing": "true or false",
    "bool_type": "true or false",
}
_MESSAGE_LIMIT = 300


def describe(exc: Any, argv: Sequence[str]) -> tuple[str, str]:
    """The one-line message and the hint for the framework's usage error ``exc``."""
    ctx = getattr(exc, "ctx", None)
    path = str(ctx.command_path) if ctx is not None else _walk(argv)
    see = f"see '{path} --help'"
    name = type(exc).__name__
    if name == "NoSuchOption":
        return _no_such_option(exc, see)
    if name in ("BadParameter", "MissingParameter"):
        message = _bad_parameter(exc)
        param = getattr(exc, "param", None)
        if ctx is not None and getattr(param, "param_type_name", "") == "argument":
            return message, f"usage: {_usage_line(ctx)}; {see}"
        return message, see
    return _clip(_message(exc)), see


def _walk(argv: Sequence[str]) -> str:
    """The command path ``argv`` names (for errors the framework raises without a context)."""
    from twilio_es_cli.cli import root_command

    command: Any = root_command()
    path = ["twilio-es"]
    for arg in argv:
        commands = getattr(command, "commands", None)
        if not isinstance(commands, Mapping):
            break
        if arg in commands:
            command = commands[arg]
            path.append(arg)
    return " ".join(path)


def _message(exc: Any) -> str:
    format_message = getattr(exc, "format_message", None)
    text = format_message() if callable(format_message) else str(exc)
    return str(text).strip().rstrip(".")


_LONG_QUOTE = re.compile("'([^']{" + str(SHOWN_LIMIT + 1) + ",})'")


def _clip(text: str) -> str:
    """At most a few hundred characters: the framework quotes what was typed, whole."""
    text = _LONG_QUOTE.sub(lambda m: shown(m.group(1)), " ".join(text.split()))
    if len(text) <= _MESSAGE_LIMIT:
        return text
    return f"{text[:_MESSAGE_LIMIT]}… ({len(text)} characters)"


def _usage_line(ctx: Any) -> str:
    """``twilio-es stream create [OPTIONS] NAME [SHARDS]``: typer's ``{NAME}`` braces (its
    mark for "required") read like a placeholder to fill in, so they go."""
    usage = " ".join(str(ctx.get_usage()).removeprefix("Usage:").split())
    return usage.replace("{", "").replace("}", "")


def _no_such_option(exc: Any, see: str) -> tuple[str, str]:
    option = str(getattr(exc, "option_name", ""))
    message = f"no such option: {shown(option)}"
    if option.lstrip("-").replace(".", "", 1).isdigit():
        return message, f"a value starting with '-' is read as an option; {see}"
    possible = sorted(getattr(exc, "possibilities", None) or ())
    if possible:
        return message, f"did you mean {' or '.join(possible[:3])}? {see}"
    return message, see


def _bad_parameter(exc: Any) -> str:
    """``SHARDS must be a whole number, not 'twilio-events'`` instead of pydantic's sentence."""
    param = getattr(exc, "param", None)
    label = _label(param, getattr(exc, "param_hint", None))
    if type(exc).__name__ == "MissingParameter":
        kind = "argument" if getattr(param, "param_type_name", "") == "argument" else "option"
        if label:
            return f"missing {kind} {label}"
        return _clip(_message(exc))
    cause = exc.__cause__
    errors = getattr(cause, "errors", None)
    if callable(errors):
        first = (errors() or [{}])[0]
        expected = _EXPECTED.get(str(first.get("type", "")))
        value = first.get("input")
        got = f", not {shown(value)}" if isinstance(value, str) else ""
        if expected:
            return f"{label or 'a value'} must be {expected}{got}"
        text = str(first.get("msg", "")).replace("Input should be", "must be")
        return _clip(f"{label or 'a value'} {text}{got}")
    message = str(getattr(exc, "message", "") or _message(exc))
    return _clip(f"{label}: {message}" if label else message)


def _label(param: Any, param_hint: Any) -> str:
    """How the user knows the parameter: its metavar for an argument, its flag for an option."""
    if param is None:
        return str(param_hint or "")
    if getattr(param, "param_type_name", "") == "argument":
        metavar = getattr(param, "metavar", None) or str(getattr(param, "name", "")).upper()
        return str(metavar)
    opts = [o for o in (getattr(param, "opts", None) or []) if o.startswith("--")]
    return opts[0] if opts else str(getattr(param, "name", ""))
