"""Help placeholders people can read: ``SID``, ``[SHARDS]``, ``--count COUNT``.

typer 0.29 writes required arguments as ``{NAME}`` on the usage line and adds the Python type
to every argument and option (``<str>``, ``<int>``, ``<list[str]>``, ``<path>``): words from
the implementation, not from the user's task. :func:`install` re-words them once, for every
command (and so for docs/reference.md): arguments show their name (``NAME``, ``[NAME]`` when
optional, ``...`` when repeatable) and options their metavar, else a capitalised word taken
from the option's own name (``--state-dir DIR``, ``--aws-port PORT``), else the choices.

Only public method names are replaced (click's ``get_usage_pieces``, typer's
``display_type_rich``) and only public attributes read (``metavar``, ``name``, ``opts``,
``nargs``; typer's ``type_descriptor`` through ``getattr``). If typer stops calling them, its
own placeholders show again (nothing breaks) and tests/test_help_placeholders.py fails.
"""

from __future__ import annotations

from typing import Any

from typer.core import TyperArgument, TyperOption


def _argument_usage(self: TyperArgument) -> str:
    name = str(self.metavar or self.name or "").upper()
    if not self.required:
        name = f"[{name}]"
    if self.nargs != 1 and not name.endswith("..."):
        name += "..."
    return name


def _argument_usage_pieces(self: TyperArgument, ctx: Any) -> list[str]:
    return [_argument_usage(self)]


def _argument_type(self: TyperArgument, ctx: Any) -> str | None:
    return None  # the name (a capitalised word) says what goes there


def option_placeholder(option: TyperOption) -> str:
    """The option's metavar, else its choices, else the last word of its longest name."""
    if option.metavar is not None:
        return str(option.metavar)
    described = getattr(option, "type_descriptor", None)
    choices = getattr(described, "choices", None) if described is not None else None
    if choices:
        return "|".join(str(getattr(c, "value", c)) for c in choices)
    longest = max(option.opts, key=len).lstrip("-")
    word = longest.rsplit("-", 1)[-1].upper() or "VALUE"
    return word + ("..." if option.nargs != 1 else "")


def _option_type(self: TyperOption, ctx: Any) -> str | None:
    return option_placeholder(self)


def install() -> None:
    """Re-word typer's placeholders (idempotent; called when the CLI is imported)."""
    # Patching typer's methods is the point (it has no hook for placeholders); mypy forbids
    # assigning to methods (method-assign) and our signatures are narrower (assignment).
    TyperArgument.get_usage_pieces = _argument_usage_pieces  # type: ignore[method-assign]
    TyperArgument.display_type_rich = _argument_type  # type: ignore[method-assign,assignment]
    TyperOption.display_type_rich = _option_type  # type: ignore[method-assign]
