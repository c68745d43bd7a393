"""The pruned command tree (cli/_tree.py) answers exactly as the full one would."""

from __future__ import annotations

from typing import Any

import pytest
import typer.main

import twilio_es_cli.cli as cli_module
from twilio_es_cli.cli import _tree, app, run


def _every_path() -> list[list[str]]:
    paths: list[list[str]] = []

    def walk(command: Any, path: list[str]) -> None:
        for name, sub in sorted(getattr(command, "commands", {}).items()):
            paths.append([*path, name])
            walk(sub, [*path, name])

    walk(typer.main.get_command(app), [])
    return paths


def _answer(
    args: list[str], full: bool, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> tuple[int, str, str]:
    builder = (lambda _app, _args: typer.main.get_command(_app)) if full else _tree.command_for
    monkeypatch.setattr(cli_module, "_command_for", builder)
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
]


@pytest.mark.parametrize("args", ODD_ARGS, ids=repr)
def test_same_answer_as_the_full_tree(
    args: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert _answer(args, False, capsys, monkeypatch) == _answer(args, True, capsys, monkeypatch)


def test_every_help_same_as_the_full_tree(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    paths = _every_path()
    assert len(paths) > 30
    for path in paths:
        args = [*path, "--help"]
        pruned = _answer(args, False, capsys, monkeypatch)
        assert pruned[0] == 0 and "Usage" in pruned[1], path
        assert pruned == _answer(args, True, capsys, monkeypatch), path


def test_a_named_command_builds_only_its_branch() -> None:
    command = _tree.command_for(app, ["--region", "eu-west-1", "stream", "list"])
    assert list(getattr(command, "commands", {})) == ["stream"]
    assert list(getattr(command, "commands", {})["stream"].commands) == ["list"]
    hollow = _tree.command_for(app, ["--help"])
    assert {"stream", "sink", "tail", "version"} <= set(getattr(hollow, "commands", {}))
    assert getattr(getattr(hollow, "commands", {})["stream"], "commands", None) == {}
    full = _tree.command_for(app, ["strem", "list"])
    assert "create" in getattr(getattr(full, "commands", {})["stream"], "commands", {})
