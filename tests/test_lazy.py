"""The lazy command tree (cli/_lazy.py) answers exactly as typer's eagerly built one would.

typer's ``typer.main.get_command(app)`` builds every command up front; the CLI builds each
one when it is looked up. Every help, and a set of odd argument lists (typos, ``--``,
combined flags, values that name other groups), must come out the same from both; and a run
must build only the branch its arguments name.
"""

from __future__ import annotations

from typing import Any

import pytest
import typer.main

import twilio_es_cli.cli as cli_module
from twilio_es_cli.cli import _lazy, app, run


def _every_path() -> list[list[str]]:
    paths: list[list[str]] = []

    def walk(command: Any, path: list[str]) -> None:
        for name, sub in sorted(getattr(command, "commands", {}).items()):
            paths.append([*path, name])
            walk(sub, [*path, name])

    walk(typer.main.get_command(app), [])
    return paths


def _fresh_lazy_root() -> _lazy.LazyGroup:
    return _lazy.lazy_root(app, cli_module._late_global)


def _answer(
    args: list[str], lazy: bool, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> tuple[int, str, str]:
    tree: Any = _fresh_lazy_root() if lazy else typer.main.get_command(app)
    monkeypatch.setattr(cli_module, "root_command", lambda: tree)
    code = run(args)
    out, err = capsys.readouterr()
    return code, out, err


ODD_ARGS = [
    [],
    ["--help"],
    ["--region", "eu-west-1"],
    ["-q", "--", "stream", "--help"],
    ["-qh"],
    ["-h", "stream"],
    ["strem", "list"],
    ["--region", "eu-west-1", "stream", "--help"],
    ["--region=eu-west-1", "-q", "stream", "create", "--help"],
    ["--profile", "stream", "sink", "--help"],  # a value that names another group
    ["--debug", "--quiet", "tail", "--help"],
    ["--no-such-option", "stream", "--help"],
    ["version", "--json"],
    ["stream"],
    ["stream", "-h", "create"],
    ["stream", "creat"],
    ["stream", "--", "create", "--help"],
    ["--region", "x", "stream", "tail", "--help"],
    ["local", "--help"],
    ["stream", "create", "x", "many"],
    ["schema", "show", "--version"],  # the command's own --version, missing its value
    ["stream", "list", "--no-such-option"],
]


@pytest.mark.parametrize("args", ODD_ARGS, ids=repr)
def test_same_answer_as_the_eager_tree(
    args: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert _answer(args, True, capsys, monkeypatch) == _answer(args, False, capsys, monkeypatch)


@pytest.mark.slow
def test_every_help_same_as_the_eager_tree(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    paths = _every_path()
    assert len(paths) > 30
    for path in paths:
        args = [*path, "--help"]
        lazy = _answer(args, True, capsys, monkeypatch)
        assert lazy[0] == 0 and "Usage" in lazy[1], path
        assert lazy == _answer(args, False, capsys, monkeypatch), path


def _built(group: Any) -> list[str]:
    commands = group.commands
    assert isinstance(commands, _lazy.LazyCommands)
    return commands.built()


def test_a_named_command_builds_only_its_branch(monkeypatch: pytest.MonkeyPatch) -> None:
    root = _fresh_lazy_root()
    monkeypatch.setattr(cli_module, "root_command", lambda: root)
    assert run(["--region", "eu-west-1", "stream", "list", "--help"]) == 0
    assert _built(root) == ["stream"]
    assert _built(root.commands["stream"]) == ["list"]


def test_the_root_help_reads_no_command_signature(monkeypatch: pytest.MonkeyPatch) -> None:
    """Its listing needs names and one-line helps: groups are built (without children),
    commands are listed from stand-ins, never built."""
    root = _fresh_lazy_root()
    monkeypatch.setattr(cli_module, "root_command", lambda: root)
    assert run(["--help"]) == 0
    built = _built(root)
    assert {"stream", "sink", "local"} <= set(built)
    assert all(isinstance(root.commands[name], _lazy.LazyGroup) for name in built)
    assert all(_built(root.commands[name]) == [] for name in built)
    assert not {"tail", "quickstart", "version"} & set(built)


def test_every_name_is_known_before_anything_is_built() -> None:
    """typer's "Did you mean" and shell completion read the names: all of them, unbuilt."""
    root = _fresh_lazy_root()
    eager = typer.main.get_command(app)
    assert list(root.commands) == list(getattr(eager, "commands", {}))
    assert "stream" in root.commands and "nosuch" not in root.commands
    assert _built(root) == []
