"""The command tree, each command built the first time it is looked up (click's lazy group).

``typer.main.get_command`` turns every registered function into a click command up front:
about 80 signatures evaluated on every run, ~30-50 ms, a quarter of a sub-command's ``--help``
(issue 11). Click's documented answer is a group that loads sub-commands when they are named
(https://click.palletsprojects.com/en/stable/complex/#lazily-loading-subcommands; hatch does
the same): :class:`LazyGroup` is typer's own group class whose ``commands`` mapping knows every
child's name up front and builds a child on first lookup. A run builds the root, the group it
names and the command it runs; click does all the parsing, and typer's "Did you mean" still
sees every name. Only typer's public names are used (``Typer.registered_commands`` /
``registered_groups``, ``typer.main.get_command`` / ``get_group_from_info`` /
``get_command_from_info``, ``typer.core.TyperGroup``); tests/test_lazy.py checks that every
answer equals typer's eagerly built tree.

Global options anywhere (issue 23): every command and group below the root also accepts the
root's options, as hidden copies whose callback hands the value to the root (:func:`lazy_root`'s
``late``), so ``twilio-es stream list --region eu-west-1`` works as it does in aws-cli. A
command's own option of the same name wins (``schema show --version``).
"""

from __future__ import annotations

import contextlib
import copy
import functools
from collections.abc import Callable, Iterator, MutableMapping, Sequence
from typing import Any

import typer
import typer.main
from typer.core import TyperGroup
from typer.models import CommandInfo, TyperInfo

Loader = Callable[[], Any]  # builds one click command (typer vendors click: typed loosely)
LateCallback = Callable[[Any, Any, Any], Any]  # click's (ctx, param, value)

# typer's completion options are the root's alone, not global options.
_NOT_GLOBAL = frozenset({"install_completion", "show_completion"})


class LazyCommands(MutableMapping[str, Any]):
    """A group's sub-commands by name, in registration order; each built on first lookup.

    ``stand_ins`` build what a help listing needs of a command (name, one-line help, hidden)
    without reading its signature: while :meth:`listing` is active, unbuilt commands are
    looked up as those.
    """

    def __init__(self, loaders: dict[str, Loader], stand_ins: dict[str, Loader]) -> None:
        self._loaders = loaders
        self._stand_ins = stand_ins
        self._built: dict[str, Any] = {}
        self._listing = False

    def __getitem__(self, name: str) -> Any:
        if name in self._built:
            return self._built[name]
        if self._listing and name in self._stand_ins:
            return self._stand_ins[name]()
        self._built[name] = self._loaders[name]()  # KeyError: no such command
        return self._built[name]

    @contextlib.contextmanager
    def listing(self) -> Iterator[None]:
        """Lookups in this block may answer with stand-ins (for a help listing)."""
        self._listing = True
        try:
            yield
        finally:
            self._listing = False

    def __setitem__(self, name: str, command: Any) -> None:
        self._loaders.setdefault(name, lambda: command)
        self._built[name] = command

    def __delitem__(self, name: str) -> None:
        del self._loaders[name]
        self._built.pop(name, None)

    def __contains__(self, name: object) -> bool:  # Mapping's would build the command
        return name in self._loaders

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._loaders))

    def __len__(self) -> int:
        return len(self._loaders)

    def built(self) -> list[str]:
        """The names built so far (tests: a run builds only what it names)."""
        return [name for name in self._loaders if name in self._built]


class LazyGroup(TyperGroup):
    """typer's group, listing its sub-commands without building them."""

    def list_commands(self, ctx: Any) -> list[str]:
        return list(self.commands)  # typer's walks .items(), which would build every one

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        """typer's listing, from stand-ins for the commands not built yet."""
        commands = self.commands
        if not isinstance(commands, LazyCommands):
            super().format_commands(ctx, formatter)
            return
        with commands.listing():
            super().format_commands(ctx, formatter)


class _Build:
    """How the children of one tree are built: typer's settings and the global options."""

    def __init__(self, app: typer.Typer, globals_: Sequence[Any]) -> None:
        self.short = app.pretty_exceptions_short
        self.markup = app.rich_markup_mode
        self.suggest = app.suggest_commands
        self.globals = globals_

    def children(self, app: typer.Typer) -> LazyCommands:
        loaders: dict[str, Loader] = {}
        stand_ins: dict[str, Loader] = {}
        for command in app.registered_commands:
            name = _command_name(command)
            loaders[name] = functools.partial(self.command, command)
            stand_ins[name] = functools.partial(self.stand_in, command)
        for group in app.registered_groups:  # a group is built without its children: cheap
            loaders[_group_name(group)] = functools.partial(self.group, group)
        return LazyCommands(loaders, stand_ins)

    def stand_in(self, info: CommandInfo) -> Any:
        """The command as a listing shows it, built from a parameterless callback carrying
        the same docstring (typer reads the help from it as from the real one)."""

        def listed() -> None:
            """Never called: only listed in a group's help."""

        listed.__doc__ = info.callback.__doc__ if info.callback is not None else None
        shown = copy.copy(info)
        shown.callback = listed
        shown.name = _command_name(info)
        return typer.main.get_command_from_info(
            shown, pretty_exceptions_short=self.short, rich_markup_mode=self.markup
        )

    def command(self, info: CommandInfo) -> Any:
        built = typer.main.get_command_from_info(
            info, pretty_exceptions_short=self.short, rich_markup_mode=self.markup
        )
        return self._accept_globals(built)

    def group(self, info: TyperInfo) -> Any:
        app = info.typer_instance
        assert app is not None, "add_typer() registers a Typer instance"
        shell = copy.copy(info)
        shell.typer_instance = _childless(app)
        shell.cls = LazyGroup
        built = typer.main.get_group_from_info(
            shell,
            pretty_exceptions_short=self.short,
            rich_markup_mode=self.markup,
            suggest_commands=self.suggest,
        )
        built.commands = self.children(app)
        return self._accept_globals(built)

    def _accept_globals(self, command: Any) -> Any:
        """``command`` with hidden copies of the global options it does not define itself."""
        taken = {name for param in command.params for name in _names(param)}
        for option in self.globals:
            if not taken.intersection(_names(option)):
                command.params.append(option)
        return command


def lazy_root(app: typer.Typer, late: LateCallback) -> LazyGroup:
    """``app``'s click group, its sub-commands built on demand and accepting its options.

    ``app`` must be created with ``cls=LazyGroup`` and have a callback (the global options).
    ``late(ctx, param, value)`` is called for a global option given after the command.
    """
    root = typer.main.get_command(_childless(app))
    assert isinstance(root, LazyGroup), "the root app must be typer.Typer(cls=LazyGroup)"
    globals_ = [_hidden_copy(p, late) for p in root.params if p.name not in _NOT_GLOBAL]
    root.commands = _Build(app, globals_).children(app)
    return root


def _hidden_copy(option: Any, late: LateCallback) -> Any:
    """The root's ``option`` for use below it: not listed in help, not passed to the command
    function, its value handed to ``late`` (an eager option such as --version keeps its own
    callback: it prints and exits)."""
    hidden = copy.copy(option)
    hidden.hidden = True
    hidden.expose_value = False
    if not option.is_eager:
        hidden.callback = late
    return hidden


def _names(param: Any) -> set[str]:
    return {*param.opts, *param.secondary_opts}


def _childless(app: typer.Typer) -> typer.Typer:
    """A shallow copy of ``app`` without sub-commands (its callback and settings kept)."""
    shell = copy.copy(app)
    shell.registered_commands = []
    shell.registered_groups = []
    return shell


def _command_name(info: CommandInfo) -> str:
    """The name typer gives the command (``get_command_from_info``'s rule)."""
    if isinstance(info.name, str):
        return info.name
    assert info.callback is not None, "a command has a callback"
    return typer.main.get_command_name(info.callback.__name__)


def _group_name(info: TyperInfo) -> str:
    """add_typer(name=...) wins, else the sub-app's own name (typer's rule)."""
    if isinstance(info.name, str):
        return info.name
    own = info.typer_instance.info.name if info.typer_instance is not None else None
    assert isinstance(own, str), "every group is named (typer.Typer(name=...))"
    return own
