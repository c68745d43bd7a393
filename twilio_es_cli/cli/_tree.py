"""Build only the part of the command tree a run needs.

``typer.main.get_command`` turns every registered function into a click command up front:
about 80 signatures evaluated (string annotations, ``typer.Option`` objects) on every run,
~50 ms, a quarter of a sub-command's ``--help`` (issue 11). A run names at most one top-level
command or group, so :func:`command_for` builds the root with that one child when the
arguments name a known child after the root options. The root's own help (``--help``, ``-h``,
no arguments) lists only the children's names and one-line helps, so it gets a hollow tree:
groups without sub-commands, commands without parameters (their signatures are not read).
Anything else -- an unknown or misspelt name (typer suggests from the full list), arguments
the scan is unsure of, shell completion -- gets the full tree, so those behave as before.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Sequence

import typer
import typer.main
from typer._click import Command, Parameter
from typer.models import CommandInfo, DefaultPlaceholder, TyperInfo


def _group_name(info: TyperInfo) -> str | None:
    """add_typer(name=...) wins, else the sub-app's own name (as typer resolves it)."""
    if isinstance(info.name, str):
        return info.name
    own = info.typer_instance.info.name if info.typer_instance is not None else None
    return own if isinstance(own, str) else None


def _pruned(app: typer.Typer, name: str | None) -> typer.Typer:
    """A shallow copy of ``app`` whose only child is ``name`` (none when ``name`` is None)."""
    pruned = copy.copy(app)
    pruned.registered_commands = [c for c in app.registered_commands if _command_name(c) == name]
    pruned.registered_groups = [g for g in app.registered_groups if _group_name(g) == name]
    return pruned


def _signature_free(info: CommandInfo) -> CommandInfo:
    """``info`` with a parameterless stand-in callback carrying the same help (for listings)."""

    def listed() -> None:
        """Never called: only the root's help is printed from this tree."""

    listed.__doc__ = info.callback.__doc__ if info.callback is not None else None
    stand_in = copy.copy(info)
    stand_in.callback = listed
    return stand_in


def _hollow(app: typer.Typer) -> typer.Typer:
    """A shallow copy of ``app`` for its own help: commands without parameters, groups empty."""
    hollow = copy.copy(app)
    hollow.registered_commands = [_signature_free(c) for c in app.registered_commands]
    hollow.registered_groups = []
    for info in app.registered_groups:
        group = copy.copy(info)
        if info.typer_instance is not None:
            group.typer_instance = _pruned(info.typer_instance, None)
        hollow.registered_groups.append(group)
    return hollow


def _command_name(info: CommandInfo) -> str | None:
    return info.name if isinstance(info.name, str) else None


_ROOT_HELP = ""  # what _first_word answers when the run can only print a group's help
_HELP_NAMES = ("-h", "--help")


def _first_word(params: Sequence[Parameter], args: Sequence[str]) -> tuple[str | None, int]:
    """The first argument that is not one of ``params``' options or its value, and its index.

    ``_ROOT_HELP`` when a help option comes first or no word follows the options; None when
    unsure (``--``, combined short flags, an unknown option): the full tree decides then.
    """
    flags: set[str] = set()
    valued: set[str] = set()
    for param in params:
        names = [*param.opts, *param.secondary_opts]
        is_flag = bool(getattr(param, "is_flag", False) or getattr(param, "count", False))
        (flags if is_flag else valued).update(names)
    index = 0
    while index < len(args):
        word = args[index]
        if not word.startswith("-") or word == "-":
            return word, index
        if word in valued:
            index += 2
        elif word in flags or word.split("=", 1)[0] in valued:
            index += 1
        else:
            return (_ROOT_HELP if word in _HELP_NAMES else None), index
    return _ROOT_HELP, index


def _own_params(app: typer.Typer) -> list[Parameter]:
    """The options of ``app``'s own callback (none without one)."""
    callback = app.info.callback
    if isinstance(callback, DefaultPlaceholder):
        callback = callback.value
    if app.registered_callback is None and callback is None:
        return []
    return list(typer.main.get_command(_pruned(app, None)).params)


def _shape(app: typer.Typer, args: Sequence[str], params: Sequence[Parameter]) -> typer.Typer:
    """``app`` narrowed to what ``args`` run: one child per level, hollow for a help."""
    names = {_command_name(c) for c in app.registered_commands}
    names |= {_group_name(g) for g in app.registered_groups}
    if None in names:
        return app
    word, index = _first_word(params, args)
    if word == _ROOT_HELP:
        return _hollow(app)
    if word is None or word not in names:
        return app
    pruned = _pruned(app, word)
    if len(pruned.registered_groups) == 1 and not pruned.registered_commands:
        info = copy.copy(pruned.registered_groups[0])
        if info.typer_instance is not None:
            sub = info.typer_instance
            info.typer_instance = _shape(sub, args[index + 1 :], _own_params(sub))
        pruned.registered_groups = [info]
    return pruned


def command_for(app: typer.Typer, args: Sequence[str]) -> Command:
    """The click command to run ``args`` with: at each level only the child they name."""
    if any(key.endswith("_COMPLETE") for key in os.environ):
        return typer.main.get_command(app)  # completion walks the whole tree
    return typer.main.get_command(_shape(app, args, _own_params(app)))
