"""Property-based fuzzing of every command against the sandbox (moto over HTTP + Events emulator).

For generated arguments, environments and input files (tests/fuzz/strategies.py), whatever the
input, a user gets:

- an exit code from the contract (docs/output.md): 0, 1, 2, 3, 4 or 5;
- no ``error: unexpected ...`` and no traceback, and an ``error:`` line whenever it failed;
- for a usage error (exit 2), nothing created, changed or deleted in AWS or Twilio.

The budget is bounded for CI: a fixed number of examples per command, the same ones on every
run (``TWILIO_ES_FUZZ_EXAMPLES`` and ``TWILIO_ES_FUZZ_RANDOM=1`` make a longer, random run), no
deadline (the sandbox's latency is not the property), no example database in the clone.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import Result, boto_client, run_cli
from tests.fixture_types import EventsEmulator
from tests.fuzz.strategies import Invocation, environments, invocations

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


def _commands() -> list[tuple[tuple[str, ...], Any]]:
    """Every leaf command of the real CLI (a command added later is fuzzed too)."""
    import typer

    from twilio_es_cli.cli import app

    found: list[tuple[tuple[str, ...], Any]] = []

    def walk(command: Any, path: tuple[str, ...]) -> None:
        subcommands = getattr(command, "commands", None)
        if isinstance(subcommands, dict):
            for name, sub in subcommands.items():
                walk(sub, (*path, name))
        elif path not in NOT_FUZZED:
            found.append((path, command))

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
def _environment(changes: dict[str, str]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in changes}
    os.environ.update(changes)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def check(invocation: Invocation, sandbox: Sandbox) -> Result:
    """Run one generated invocation in-process and assert the contract on what it did."""
    argv, env = invocation.materialise(sandbox.tmp)
    before = sandbox.state()
    with _environment(env):
        result = run_cli(argv)
    shown = f"argv={[a[:80] for a in argv]} env={ {k: v[:80] for k, v in env.items()} }"
    err = result.stderr
    assert result.exit_code in CONTRACT, f"{shown}: exit {result.exit_code}\n{err[-3000:]}"
    assert "error: unexpected" not in err, f"{shown}\n{err[-3000:]}"
    assert "Traceback" not in err + result.stdout, f"{shown}\n{err[-3000:]}"
    if result.exit_code != 0:
        assert "error: " in err, f"{shown}: exit {result.exit_code} without an error line"
    if result.exit_code == 2:
        assert sandbox.state() == before, f"{shown}: a usage error changed state"
    return result


@pytest.fixture
def sandbox(
    twilio_env: EventsEmulator, aws_env: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Sandbox:
    """The sandbox, and a private working directory (quickstart writes files into it)."""
    monkeypatch.chdir(tmp_path)
    return Sandbox(twilio_env, aws_env, tmp_path)


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=[" ".join(p) for p, _ in COMMANDS])
def test_any_arguments_keep_the_contract(
    sandbox: Sandbox, path: tuple[str, ...], command: Any
) -> None:
    @FUZZ
    @given(invocation=invocations(path, command))
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
