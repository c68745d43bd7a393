"""Hostile or exotic YAML: each refused at once with exit 2 and ``FILE:LINE`` (never
"unexpected", never a run that eats memory): alias bombs, depth, size, merge keys, tags,
complex keys, non-UTF-8 bytes.

No Twilio or AWS settings are in the environment, so a remote call would end in exit 3: exit 2
with the located message proves the file was refused before anything was asked.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.fixture_types import CliRunner, SubprocessRunner
from twilio_es_cli.infra import loader

HEAD = "version: 1\nproject: p\n"


def alias_bomb(levels: int = 9, width: int = 9) -> str:
    """The "billion laughs": each level a list of ``width`` aliases of the one before."""
    text = HEAD + 'l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]\n'
    for level in range(1, levels):
        text += f"l{level}: &l{level} [{', '.join([f'*l{level - 1}'] * width)}]\n"
    return text


def _nested_block(depth: int) -> str:
    return HEAD + "x:\n" + "".join(f"{'  ' * (i + 1)}k{i}:\n" for i in range(depth))


CASES = [
    (alias_bomb(), 4, "more than 100 aliases (*name)"),
    (
        HEAD + "base: &b {type: webhook, destination: 'http://127.0.0.1:9/x'}\n"
        "sinks:\n  h:\n    <<: *b\n",
        6,
        "sinks.h: merge keys (<<) are not supported",
    ),
    ("version: 1\nproject: !!python/name:os.system p\n", 2, "tag !!python/name:os.system"),
    ("version: 1\nproject: !!python/object/apply:os.system [id]\n", 2, "is not supported"),
    (HEAD + "sinks:\n  h: !Ref hook\n", 4, "sinks.h: tag !Ref is not supported"),
    (HEAD + "sinks: !Ref\n  h: {type: webhook}\n", 3, "sinks: tag !Ref is not supported"),
    (HEAD + "sinks: !!set {a, b}\n", 3, "tag !!set is not supported"),
    (HEAD + "project2: !!binary aGk=\n", 3, "tag !!binary is not supported"),
    ("version: !!int abc\nproject: p\n", 1, "'abc' is not a valid !!int value"),
    (HEAD + "? [a, b]\n: c\n", 3, "a key must be a plain name, not a list or mapping"),
    (HEAD + "? {a: b}\n: c\n", 3, "a key must be a plain name"),
    (HEAD + "x: " + "[" * 990 + "]" * 990 + "\n", 3, "nested more than 32 levels deep"),
    (_nested_block(300), 36, "nested more than 32 levels deep"),
    (HEAD + "x: &a [1, *a]\n", 3, "an alias refers to a list or mapping it is in"),
    (HEAD + "x: [" + "1, " * 120_000 + "1]\n", 3, "expands to more than 100000 values"),
    (HEAD + "x: " + "a" * (loader.MAX_BYTES + 1) + "\n", 1, "larger than 1024 KiB"),
]


@pytest.mark.parametrize(("text", "line", "message"), CASES)
def test_hostile_yaml_is_one_located_usage_error(
    cli: CliRunner, tmp_path: Path, text: str, line: int, message: str
) -> None:
    path = tmp_path / "twilio-es.yaml"
    path.write_text(text, encoding="utf-8")
    for command in ("plan", "apply"):
        result = (
            cli(command, "-f", str(path), "--yes")
            if command == "apply"
            else cli(command, "-f", str(path))
        )
        assert result.exit_code == 2, result.stderr
        first = result.stderr.splitlines()[0]
        assert first.startswith(f"error: {path}:{line}: "), result.stderr
        assert message in first, result.stderr
        assert "unexpected" not in result.stderr


@pytest.mark.parametrize(
    ("data", "where"),
    [
        (b"version: 1\nproject: p\n# caf\xe9\n", ":3: not UTF-8 (byte 0xe9 at column 6)"),
        (b"\xff\xfeversion: 1\n", ":1: not UTF-8 (byte 0xff at column 1)"),
        (b"version: 1\nproject: p\x00\n", ":2: not valid YAML"),
    ],
)
def test_bytes_that_are_not_text_are_located(
    cli: CliRunner, tmp_path: Path, data: bytes, where: str
) -> None:
    path = tmp_path / "f.yaml"
    path.write_bytes(data)
    result = cli("plan", "-f", str(path))
    assert result.exit_code == 2, result.stderr
    assert result.stderr.startswith(f"error: {path}{where}"), result.stderr


def test_alias_bomb_ends_at_once_in_a_fresh_process(
    cli_subprocess: SubprocessRunner, tmp_path: Path
) -> None:
    """The bomb as a user meets it (a new interpreter); the timeout only stops a regression
    from hanging the suite (it ran past 60 s at 1.26 GB before), it is not a timing claim."""
    path = tmp_path / "twilio-es.yaml"
    path.write_text(alias_bomb(levels=12), encoding="utf-8")
    result = cli_subprocess("plan", "-f", str(path), timeout=60)
    assert result.exit_code == 2
    assert f"{path}:4: " in result.stderr and "aliases" in result.stderr


def test_non_utf8_and_oversized_stdin() -> None:
    def plan_stdin(data: bytes) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(
            [sys.executable, "-m", "twilio_es_cli", "plan", "-f", "-"],
            input=data,
            capture_output=True,
            timeout=60,
            check=False,
        )

    bad = plan_stdin(b"version: 1\nproject: p\xff\n")
    assert bad.returncode == 2, bad.stderr
    assert b"stdin:2: not UTF-8 (byte 0xff at column 11)" in bad.stderr
    big = plan_stdin(b"#" * (loader.MAX_BYTES + 10))
    assert big.returncode == 2 and b"stdin:1: the file is larger than" in big.stderr


def test_device_that_never_ends_is_cut_at_the_limit(cli: CliRunner) -> None:
    result = cli("plan", "-f", "/dev/zero")
    assert result.exit_code == 2
    assert "/dev/zero:1: the file is larger than 1024 KiB" in result.stderr


def test_deep_nesting_without_libyaml_names_the_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PyYAML's pure-Python composer recurses; without libyaml it is the one that meets depth."""
    import yaml

    monkeypatch.delattr(yaml, "CSafeLoader", raising=False)
    text = HEAD + "x: " + "[" * 990 + "]" * 990 + "\n"
    with pytest.raises(loader.FileError) as caught:
        loader.parse_text(text, "f.yaml", {})
    assert caught.value.message.startswith("f.yaml:3: ")
    assert "nested more than 32 levels deep" in caught.value.message


def test_aliases_within_limits_still_work(tmp_path: Path) -> None:
    """Sharing one list of types between subscriptions is ordinary YAML and stays allowed."""
    text = (
        HEAD + "sinks:\n  h: {type: webhook, destination: 'http://127.0.0.1:9/x'}\n"
        "subscriptions:\n"
        "  a: {sink: h, types: &t [com.twilio.messaging.message.delivered:1]}\n"
        "  b: {sink: h, types: *t}\n"
    )
    desired = loader.parse_text(text, "f.yaml", {})
    assert desired.model.subscriptions["b"].types == desired.model.subscriptions["a"].types
