"""Every ```bash block in README.md and docs/*.md is run or checked (issue 23 item 5).

The rule, visible in the docs themselves: each block carries a marker on the line before it.

- ``<!-- docs-test: sandbox -->``: run, line after line (``bash -e -o pipefail``), in an empty
  directory against a `twilio-es local up` this test started; a ``twilio-es local up`` line in
  the block is that sandbox, and its ``--env-file`` is written where the block reads it.
  The block must succeed as a person pasting it would.
- ``<!-- docs-test: not run (REASON) -->``, REASON one of :data:`NOT_RUN`: not run here (real
  accounts, a package install, a command that runs until Ctrl-C, your own handler or
  capture), but every `twilio-es` line in it must still be a command the tool has, with
  options it has: a renamed command or option fails this test instead of the reader.

A block without a marker fails: nothing is skipped silently.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import typer

from tests.sandbox_support import RunningSandbox

ROOT = Path(__file__).resolve().parent.parent
NOT_RUN = (
    "real accounts",
    "installs packages",
    "runs until stopped",
    "needs your own handler",
    "needs a captured request",
)
_MARKER = re.compile(r"^<!-- docs-test: (sandbox|not run \((?P<reason>[^)]*)\)) -->$")


@dataclass(frozen=True)
class Block:
    where: str  # FILE:LINE of the fence
    marker: str | None
    body: str

    @property
    def runnable(self) -> bool:
        return self.marker == "sandbox"


def _blocks() -> list[Block]:
    found = []
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        if path.name == "reference.md":  # generated from the code's own examples
            continue
        lines = path.read_text(encoding="utf-8").splitlines()
        for number, line in enumerate(lines):
            if line.strip() != "```bash":
                continue
            end = next(i for i in range(number + 1, len(lines)) if lines[i].strip() == "```")
            before = lines[number - 1].strip() if number else ""
            match = _MARKER.match(before)
            marker = None if match is None else match.group(1)
            body = "\n".join(lines[number + 1 : end]) + "\n"
            found.append(Block(f"{path.relative_to(ROOT)}:{number + 1}", marker, body))
    return found


BLOCKS = _blocks()


def test_every_bash_block_says_whether_it_runs() -> None:
    assert len(BLOCKS) >= 15
    for block in BLOCKS:
        assert block.marker is not None, f"{block.where}: no <!-- docs-test: ... --> marker"
        if not block.runnable:
            reason = block.marker.removeprefix("not run (").removesuffix(")")
            assert reason in NOT_RUN, f"{block.where}: unknown reason {reason!r}"
    assert sum(b.runnable for b in BLOCKS) >= 4


def _commands(body: str) -> list[list[str]]:
    """The `twilio-es` command lines of a block, as words (continuations joined, comments,
    pipes, redirections and `&` cut off, `$(...)` taken from inside)."""
    text = body.replace("\\\n", " ")
    found = []
    for line in text.splitlines():
        line = re.sub(r"\s+#.*$", "", line)
        inner = re.search(r"\$\((twilio-es [^)]*)\)", line)
        if inner:
            line = inner.group(1)
        line = re.split(r" \| | >>? |&&| &$|;", line)[0].strip()
        words = shlex.split(line) if line else []
        while words and re.match(r"^[A-Z_]+=", words[0]):
            words.pop(0)
        if words[:1] == ["twilio-es"]:
            found.append(words[1:])
    return found


def _opts(command: object) -> set[str]:
    params = getattr(command, "params", [])
    return {o for p in params for o in [*p.opts, *getattr(p, "secondary_opts", [])]}


def _check(words: list[str]) -> None:
    """The command path exists and every option word is one it (or the root) has."""
    from twilio_es_cli.cli import app

    root = typer.main.get_command(app)
    ctx = root.make_context("twilio-es", ["--help"], resilient_parsing=True)
    options = _opts(root)
    command, rest = root, list(words)
    while rest and not rest[0].startswith("-"):
        get = getattr(command, "get_command", None)
        if get is None:
            break
        sub = get(ctx, rest[0])
        if sub is None:
            break
        command = sub
        ctx = sub.make_context(rest[0], ["--help"], parent=ctx, resilient_parsing=True)
        rest.pop(0)
    if rest[:1] in (["--help"], ["--version"]):  # the tool's own help and version
        return
    assert getattr(command, "get_command", None) is None, f"not a command: {words}"
    options |= _opts(command)
    for word in rest:
        if word.startswith("-") and not re.match(r"^-\d", word):
            assert word.split("=")[0] in options, f"twilio-es {' '.join(words)}: no {word}"


@pytest.mark.parametrize("block", [b for b in BLOCKS if not b.runnable], ids=lambda b: b.where)
def test_blocks_not_run_name_commands_and_options_that_exist(block: Block) -> None:
    commands = _commands(block.body)
    if block.marker != "not run (installs packages)":
        assert commands, f"{block.where}: no twilio-es command in it"
    for words in commands:
        _check(words)


@pytest.mark.parametrize("block", [b for b in BLOCKS if b.runnable], ids=lambda b: b.where)
def test_sandbox_blocks_run_as_pasted(
    block: Block, sandbox: RunningSandbox, tmp_path: Path
) -> None:
    for words in _commands(block.body):
        _check(words)
    work = tmp_path / "work"
    work.mkdir()
    env_file = tmp_path / "sandbox.env"
    script = []
    for line in block.body.splitlines():
        up = re.match(r"^twilio-es local up(.*?)(\s+#.*)?$", line)
        if up:  # the sandbox this test started: its export lines where the block wants them
            words = shlex.split(up.group(1))
            target = words[words.index("--env-file") + 1] if "--env-file" in words else None
            if target:
                (work / target).write_text(env_file.read_text())
            continue
        script.append(line)
    if "source .sandbox.env" in block.body and not (work / ".sandbox.env").exists():
        (work / ".sandbox.env").write_text(env_file.read_text())  # written by an earlier block
    env = {**sandbox.env, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    ran = subprocess.run(
        ["bash", "-e", "-o", "pipefail", "-c", "\n".join(script)],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert ran.returncode == 0, f"{block.where}\n{ran.stdout[-3000:]}\n{ran.stderr[-3000:]}"
    if "local emit com.twilio.messaging.message.delivered --count" in block.body:
        delivered = ran.stdout.count('"type":"com.twilio.messaging.message.delivered"')
        wanted = int(re.search(r"--count (\d+)", block.body).group(1))  # type: ignore[union-attr]  # the block says it
        assert delivered == wanted, f"{block.where}: {delivered} events\n{ran.stderr[-2000:]}"
