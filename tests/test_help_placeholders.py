"""Every command's help, walked from the root: placeholders are words in capitals.

Usage lines and the Arguments/Options columns are what people copy from: no ``{NAME}``, no
``<str>`` or ``<list[str]>`` (Python types), and each value placeholder is a capitalised word
(``SID``, ``[SHARDS]``, ``--state-dir DIR``) or a list of choices (``pretty|jsonl``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
import typer

from tests.conftest import run_cli
from twilio_es_cli.cli import app

WORD = re.compile(r"^\[?[A-Z][A-Z0-9_]*(\[:[A-Z]+\])?(\.\.\.)?\]?(\.\.\.)?$")
CHOICES = re.compile(r"^[a-z0-9-]+(\|[a-z0-9-]+)+$")
_MOVED = (
    f"typer {typer.__version__} no longer draws placeholders through the methods cli/_help.py "
    "replaces (get_usage_pieces, display_type_rich): update cli/_help.py"
)
OPTION = re.compile(r"^\s{2}(?:-\w, )?(--[\w-]+)(?: (\S+))?(?:\s{2,}|$)")


def commands() -> Iterator[list[str]]:
    def walk(command: object, path: list[str]) -> Iterator[list[str]]:
        yield path
        subcommands = getattr(command, "commands", None)  # a group (typer vendors click)
        if isinstance(subcommands, dict):
            for name, sub in sorted(subcommands.items()):
                yield from walk(sub, [*path, name])

    yield from walk(typer.main.get_command(app), [])


def placeholders(text: str) -> list[str]:
    """Usage tokens after the command path, argument names, and option values."""
    found: list[str] = []
    section = ""
    for line in text.splitlines():
        if line.startswith("Usage:"):
            found += [t for t in line.split()[1:] if t.upper() == t and t != "[OPTIONS]"]
        elif line and not line.startswith(" "):
            section = line.rstrip(":")
        elif section == "Arguments" and line.startswith("  ") and not line.startswith("   "):
            found.append(line.split()[0])
        elif section == "Options" and (match := OPTION.match(line)) and match.group(2):
            found.append(match.group(2))
    return found


@pytest.mark.parametrize("path", list(commands()), ids=lambda p: " ".join(p) or "root")
def test_help_placeholders_are_capitalised_words(path: list[str]) -> None:
    result = run_cli([*path, "--help"])
    assert result.exit_code == 0, result.stderr
    usage = [line for line in result.stdout.splitlines() if line.startswith("Usage:")]
    assert usage, result.stdout
    for bad in ("{", "<", "[str]", "list["):
        assert not any(bad in line for line in usage), (_MOVED, usage)
    for token in placeholders(result.stdout):
        if token in ("COMMAND", "[ARGS]..."):
            continue
        assert WORD.match(token) or CHOICES.match(token), (token, result.stdout)
    columns = [
        line.split("  ")[1] if line.startswith("  ") else "" for line in result.stdout.splitlines()
    ]
    assert not any(re.search(r"<[a-z][\w\[\], ]*>", c) for c in columns), (_MOVED, result.stdout)


def test_the_walk_sees_the_commands_people_use() -> None:
    names = {" ".join(p) for p in commands()}
    assert {"sink list", "subscription add-type", "local emit", "stream create", "tail"} <= names
