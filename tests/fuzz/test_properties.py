"""Property-based fuzzing of every command against the sandbox (moto over HTTP + Events emulator).

For generated arguments, environments and input files (tests/fuzz/strategies.py), whatever the
input, a user gets:

- an exit code from the contract (docs/output.md): 0, 1, 2, 3, 4 or 5;
- no ``error: unexpected ...`` and no traceback, and an ``error:`` line whenever it failed;
- for a usage error (exit 2), nothing created, changed or deleted in AWS or Twilio;
- a value the contract refuses (an infinite number, an empty profile or principal, a
  non-ASCII IAM name) is refused, never exit 0;
- a password in a URL it was given never comes back on stdout or stderr;
- the same whatever the shell hands over as standard streams (closed stdin or stdout, stdout
  on a full disk, an ASCII-only stdout) and with ``COLUMNS=0`` or a broken twilio-cli config.

Every leaf command is fuzzed, and ``tail`` three more times with ``--stats``, ``--efo`` and
``--forward-to`` always given, so those paths meet every class of input too. ``webhook
listen`` serves until stopped: here it returns as soon as it listens (its serving is tested in
tests/webhook against real clients).

The budget is bounded for CI: a fixed number of examples per command, the same ones on every
run (``TWILIO_ES_FUZZ_EXAMPLES`` and ``TWILIO_ES_FUZZ_RANDOM=1`` make a longer, random run), no
deadline (the sandbox's latency is not the property), no example database in the clone.
"""

from __future__ import annotations

import errno
import io
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import Result, boto_client
from tests.fixture_types import EventsEmulator
from tests.fuzz.strategies import SECRET_IN_URLS, Invocation, environments, invocations

CONTRACT = {0, 1, 2, 3, 4, 5}
EXAMPLES = int(os.environ.get("TWILIO_ES_FUZZ_EXAMPLES", "12"))
# CI runs the same examples every time (a red build names a reproducible input); a longer
# exploratory run: TWILIO_ES_FUZZ_RANDOM=1 TWILIO_ES_FUZZ_EXAMPLES=500 pytest tests/fuzz
RANDOM = os.environ.get("TWILIO_ES_FUZZ_RANDOM", "") == "1"
# Long-running by design (a server until Ctrl-C): fuzzing it would hang on the first valid
# input. Its port and path checks have their own tests in tests/local.
NOT_FUZZED = {("local", "up")}
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    derandomize=not RANDOM,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,  # the sandbox is shared on purpose; see _state
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
    ],
)


# Options given on every call of a command, as extra runs of it: the paths they open get the
# same inputs as the command's plain runs. `webhook listen` always gets a --port (drawn): its
# default 7410 is a fixed port, which a parallel test worker may hold.
FORCED: dict[tuple[str, ...], list[tuple[str, ...]]] = {
    ("tail",): [("--stats",), ("--efo",), ("--forward-to",)],
    ("webhook", "listen"): [],
}
ALWAYS: dict[tuple[str, ...], tuple[str, ...]] = {("webhook", "listen"): ("--port",)}


def _commands() -> list[tuple[tuple[str, ...], Any, tuple[str, ...]]]:
    """Every leaf command of the real CLI (a command added later is fuzzed too)."""
    import typer

    from twilio_es_cli.cli import app

    found: list[tuple[tuple[str, ...], Any, tuple[str, ...]]] = []

    def walk(command: Any, path: tuple[str, ...]) -> None:
        subcommands = getattr(command, "commands", None)
        if isinstance(subcommands, dict):
            for name, sub in subcommands.items():
                walk(sub, (*path, name))
        elif path not in NOT_FUZZED:
            always = ALWAYS.get(path, ())
            found.append((path, command, always))
            found.extend((path, command, always + extra) for extra in FORCED.get(path, []))

    walk(typer.main.get_command(app), ())
    return found


COMMANDS = _commands()


class Sandbox:
    """The emulator, moto's URL, a private directory, and clients to look behind the CLI."""

    def __init__(self, emulator: EventsEmulator, aws_env: str, tmp: Path) -> None:
        self.emulator, self.aws_env, self.tmp = emulator, aws_env, tmp
        self.kinesis = boto_client("kinesis", aws_env)
        self.iam = boto_client("iam", aws_env)

    def state(self) -> tuple[Any, ...]:
        """What a usage error must leave alone: streams, roles, sinks, subscriptions."""
        service = self.emulator.service
        return (
            sorted(self.kinesis.list_streams()["StreamNames"]),
            sorted(r["RoleName"] for r in self.iam.list_roles()["Roles"]),
            sorted((s.sid, s.status, s.description) for s in service.list_sinks()),
            sorted(
                (s.sid, s.description, tuple(sorted(s.types.items())))
                for s in service.list_subscriptions()
            ),
        )


@contextmanager
def _environment(changes: dict[str, str | None]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in changes}
    for key, change in changes.items():
        if change is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = change
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


class _FullDisk(io.RawIOBase):
    """A byte stream every write to which fails as /dev/full's does (until ``full`` is off)."""

    full = True

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        if self.full:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return len(data)


def run_with_stdio(argv: list[str], stdio: str) -> Result:
    """``twilio-es ARGV`` in-process with the standard streams a shell may hand over."""
    from twilio_es_cli.cli import run

    err = io.StringIO()
    raw = io.BytesIO()
    disk = _FullDisk()
    out: Any = io.StringIO()
    if stdio == "ascii-stdout":
        out = io.TextIOWrapper(raw, encoding="ascii", write_through=True)
    elif stdio == "full-stdout":
        out = io.TextIOWrapper(io.BufferedWriter(disk), encoding="utf-8")
    elif stdio == "closed-stdout":
        out = None
    saved = sys.stdin, sys.stdout, sys.stderr
    sys.stdin = None if stdio == "closed-stdin" else io.StringIO("")  # as a shell`s <&-
    sys.stdout, sys.stderr = out, err
    try:
        code = run(argv)
    finally:
        sys.stdin, sys.stdout, sys.stderr = saved
        disk.full = False  # what is still buffered may now be dropped quietly
    shown = out.getvalue() if isinstance(out, io.StringIO) else raw.getvalue().decode("latin-1")
    return Result(code, shown, err.getvalue())


def check(invocation: Invocation, sandbox: Sandbox) -> Result:
    """Run one generated invocation in-process and assert the contract on what it did."""
    argv, env = invocation.materialise(sandbox.tmp)
    before = sandbox.state()
    with _environment(env):
        result = run_with_stdio(argv, invocation.stdio)
    shown = (
        f"argv={[a[:80] for a in argv]} env={ {k: (v or '')[:80] for k, v in env.items()} } "
        f"stdio={invocation.stdio}"
    )
    err = result.stderr
    assert result.exit_code in CONTRACT, f"{shown}: exit {result.exit_code}\n{err[-3000:]}"
    assert "error: unexpected" not in err, f"{shown}\n{err[-3000:]}"
    assert "Traceback" not in err + result.stdout, f"{shown}\n{err[-3000:]}"
    assert SECRET_IN_URLS not in err + result.stdout, f"{shown}: a URL's password shown\n{err}"
    if result.exit_code != 0:
        assert "error: " in err, f"{shown}: exit {result.exit_code} without an error line"
    if result.exit_code == 2:
        assert sandbox.state() == before, f"{shown}: a usage error changed state"
    if invocation.must_fail:
        assert result.exit_code != 0, f"{shown}: accepted {invocation.must_fail}"
    return result


@pytest.fixture
def sandbox(
    twilio_env: EventsEmulator, aws_env: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Sandbox:
    """The sandbox, and a private working directory (quickstart writes files into it).

    `webhook listen` returns once it listens (see the module docstring)."""
    from twilio_es_cli.cli import webhook

    def listened(listener: Any) -> int:
        listener.close()
        return 0

    monkeypatch.setattr(webhook, "_wait", listened)
    monkeypatch.chdir(tmp_path)
    return Sandbox(twilio_env, aws_env, tmp_path)


def _id(path: tuple[str, ...], forced: tuple[str, ...]) -> str:
    return " ".join((*path, *forced))


@pytest.mark.parametrize(
    ("path", "command", "forced"), COMMANDS, ids=[_id(p, f) for p, _, f in COMMANDS]
)
def test_any_arguments_keep_the_contract(
    sandbox: Sandbox, path: tuple[str, ...], command: Any, forced: tuple[str, ...]
) -> None:
    @FUZZ
    @given(invocation=invocations(path, command, forced))
    def property_(invocation: Invocation) -> None:
        check(invocation, sandbox)

    property_()


ENV_COMMANDS = [
    ["stream", "list"],
    ["sink", "list", "--json"],
    ["types", "list"],
    ["doctor"],
    ["subscription", "list"],
    ["tail", "fz-stream", "--no-follow"],
    ["stream", "create", "fz-env", "1"],
]


@FUZZ
@given(argv=st.sampled_from(ENV_COMMANDS), env=environments())
def test_any_environment_keeps_the_contract(sandbox: Sandbox, argv: list[str], env: Any) -> None:
    check(Invocation(tuple(argv), env), sandbox)
