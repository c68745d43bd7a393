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
from typer._click import Command
from typer.core import TyperGroup
from typer.models import CommandInfo, TyperInfo


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


_ROOT_HELP = ""  # what _first_word answers when the run can only print the root's help
_HELP_NAMES = ("-h", "--help")


def _first_word(root: TyperGroup, args: Sequence[str]) -> str | None:
    """The first argument that is not a root option or its value; None if unsure.

    ``_ROOT_HELP`` when a help option comes first or no word follows the root options.
    """
    flags: set[str] = set()
    valued: set[str] = set()
    for param in root.params:
        names = [*param.opts, *param.secondary_opts]
        is_flag = bool(getattr(param, "is_flag", False) or getattr(param, "count", False))
        (flags if is_flag else valued).update(names)
    index = 0
    while index < len(args):
        word = args[index]
        if not word.startswith("-") or word == "-":
            return word
        if word in valued:
            index += 2
        elif word in flags or word.split("=", 1)[0] in valued:
            index += 1
        elif word in _HELP_NAMES:
            return _ROOT_HELP
        else:
            return None  # --, combined short flags, unknown: the full tree decides
    return _ROOT_HELP


def command_for(app: typer.Typer, args: Sequence[str]) -> Command:
    """The click command to run ``args`` with: the root and the one child they name."""
    names = {_command_name(c) for c in app.registered_commands}
    names |= {_group_name(g) for g in app.registered_groups}
    completing = any(key.endswith("_COMPLETE") for key in os.environ)
    if None in names or completing:
        return typer.main.get_command(app)
    root = typer.main.get_command(_pruned(app, None))
    word = _first_word(root, args) if isinstance(root, TyperGroup) else None
    if word == _ROOT_HELP:
        return typer.main.get_command(_hollow(app))
    if word is None or word not in names:
        return typer.main.get_command(app)
    return typer.main.get_command(_pruned(app, word))
