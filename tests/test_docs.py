"""The docs are part of the interface: the reference is generated and every command has help."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from types import ModuleType
from typing import Protocol, runtime_checkable

import typer
from typer._click import Command, Context

ROOT = Path(__file__).resolve().parent.parent


def _load_generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "gen_reference", ROOT / "docs" / "gen_reference.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_reference_matches_the_code() -> None:
    generated = _load_generator().generate()
    committed = (ROOT / "docs" / "reference.md").read_text(encoding="utf-8")
    assert committed == generated, "docs/reference.md is stale: run `python docs/gen_reference.py`"


@runtime_checkable
class _Group(Protocol):
    """A command with sub-commands: anything that lists them, as typer's groups do."""

    def list_commands(self, ctx: Context) -> list[str]: ...

    def get_command(self, ctx: Context, name: str) -> Command | None: ...


def _leaf_commands() -> list[tuple[str, object]]:
    from twilio_es_cli.cli import app

    root = typer.main.get_command(app)
    ctx = root.make_context("twilio-es", ["--help"], resilient_parsing=True)
    found: list[tuple[str, object]] = []

    def walk(command: Command, ctx: Context, path: str) -> None:
        group = command if isinstance(command, _Group) else None
        names = group.list_commands(ctx) if group else []
        if not names:
            found.append((path, command))
        for name in names:
            assert group is not None
            sub = group.get_command(ctx, name)
            assert sub is not None, f"{path} lists {name} but has no such command"
            walk(
                sub,
                sub.make_context(name, ["--help"], parent=ctx, resilient_parsing=True),
                f"{path} {name}",
            )

    walk(root, ctx, "twilio-es")
    return found


def test_every_command_has_help_with_an_example() -> None:
    for path, command in _leaf_commands():
        text = (getattr(command, "help", None) or "").strip()
        assert len(text) > 10, f"{path} has no help text"
        examples = text.split("Example", 1)[1] if "Example" in text else ""
        # `stream tail` is `tail` under the stream group: its examples may use either path.
        name = path.split()[-1]
        words = re.split(r"\s+", examples)
        assert f"twilio-es {name}" in examples or any(
            " ".join(words[i : i + len(path.split())]) == path for i in range(len(words))
        ), f"{path}: no example"


def test_docs_name_only_commands_that_exist() -> None:
    """Every `twilio-es <command>` in the README's and guides' code is a real command."""
    leaves = {path.split(" ", 1)[1] for path, _ in _leaf_commands()}
    groups = {leaf.split()[0] for leaf in leaves if " " in leaf}
    pattern = re.compile(r"twilio-es((?: [a-z][a-z-]*)+)")
    for doc in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        if doc.name == "reference.md":
            continue
        text = doc.read_text(encoding="utf-8")
        code = re.findall(r"```.*?```", text, re.S) + re.findall(r"`[^`\n]+`", text)
        for snippet in code:
            for match in pattern.finditer(snippet):
                words = match.group(1).split()
                first = words[0]
                if first in groups and len(words) > 1:
                    assert f"{first} {words[1]}" in leaves, f"{doc.name}: {match.group(0)!r}"
                else:
                    assert first in leaves or first in groups, f"{doc.name}: {match.group(0)!r}"
