"""The ground floor: help, version, global options, error rendering and start-up imports."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import Result
from tests.fixture_types import CliRunner, SubprocessRunner


def test_help_lists_every_group_and_example(cli: CliRunner) -> None:
    result: Result = cli("--help")
    assert result.exit_code == 0
    for group in ("stream", "sink", "subscription", "types", "schema", "local", "version"):
        assert group in result.stdout
    assert "twilio-es stream create twilio-events 1 > twilio-sink.json" in result.stdout


def test_version_plain_and_json(cli: CliRunner) -> None:
    from twilio_es_cli import __version__

    assert cli("version").stdout.strip() == f"twilio-es {__version__}"
    assert cli("version", "--json").json() == {"version": __version__}


def test_unknown_command_is_usage_error(cli: CliRunner) -> None:
    result = cli("no-such-command")
    assert result.exit_code == 2
    assert "No such command" in result.stderr
    assert "Traceback" not in result.stderr


def test_bad_twilio_api_url_is_config_error(cli: CliRunner) -> None:
    result = cli("--twilio-api-url", "ftp://x", "version")
    assert result.exit_code == 3
    assert result.stderr.startswith("error: Twilio API URL")
    assert "hint:" in result.stderr


_HEAVY = ("boto3", "botocore", "twilio", "pydantic", "moto", "rich", "duckdb", "sqlglot")

# One fresh interpreter imports the CLI (asserting that import alone stays light), lists every
# group and sub-command, and forks one child per help: each child starts from that clean state,
# prints the help and reports which heavy modules its run imported.
_EVERY_HELP = f"""
import os, sys, json
from twilio_es_cli.cli import app, run
import typer.main
heavy = lambda: sorted(m for m in {_HEAVY!r} if m in sys.modules)
assert heavy() == [], heavy()
paths = [[]]
def walk(command, path):
    for name, sub in sorted(getattr(command, "commands", {{}}).items()):
        if not getattr(sub, "hidden", False):
            paths.append([*path, name])
            walk(sub, [*path, name])
walk(typer.main.get_command(app), [])
found = {{}}
for path in paths:
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        code = run([*path, "--help"])
        os.write(write, json.dumps([code, heavy()]).encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as answer:
        found[" ".join(path)] = json.loads(answer.read())
    os.waitpid(pid, 0)
print(json.dumps(found))
"""


def test_no_help_imports_heavy_libraries() -> None:
    """Start-up budget: no group's or sub-command's --help imports pydantic, SDKs or rich.

    typer 0.29 would import pydantic for any sub-command (the root options are coerced before
    a sub-command's --help fires); cli/_coerce.py keeps it out. Covers every command, so a new
    one that imports an SDK at module top fails here.
    """
    proc = subprocess.run(
        [sys.executable, "-c", _EVERY_HELP], capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    found = json.loads(proc.stdout)
    assert {"", "stream", "stream create", "sink", "tail", "local"} <= set(found)
    assert len(found) > 30
    bad = {path: result for path, result in found.items() if result != [0, []]}
    assert bad == {}


def test_help_in_a_fresh_interpreter_prints_usage_without_heavy_imports() -> None:
    """The real entry point (``python -m twilio_es_cli``), not only ``run()``."""
    program = (
        "import sys, runpy\n"
        "sys.argv = ['twilio-es', 'stream', 'create', '--help']\n"
        "try:\n"
        "    runpy.run_module('twilio_es_cli', run_name='__main__')\n"
        "except SystemExit:\n"
        "    pass\n"
        f"heavy = sorted(m for m in {_HEAVY!r} if m in sys.modules)\n"
        "sys.stderr.write('HEAVY=' + repr(heavy))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=60
    )
    assert "Usage" in proc.stdout
    assert proc.stderr.strip().endswith("HEAVY=[]"), proc.stderr[-500:]


AC, SK = "AC" + "0123456789abcdef" * 2, "SK" + "fedcba9876543210" * 2


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, None),
        ({"TWILIO_ACCOUNT_SID": AC, "TWILIO_AUTH_TOKEN": "t"}, (AC, AC)),
        (
            {"TWILIO_ACCOUNT_SID": AC, "TWILIO_API_KEY": SK, "TWILIO_API_SECRET": "s"},
            (AC, SK),
        ),
        ({"TWILIO_API_KEY": SK, "TWILIO_API_SECRET": "s"}, None),
        # What no account can have is refused before it reaches an HTTP header.
        ({"TWILIO_ACCOUNT_SID": "AC中文", "TWILIO_AUTH_TOKEN": "t"}, None),
        ({"TWILIO_ACCOUNT_SID": "AC1", "TWILIO_AUTH_TOKEN": "t"}, None),
        ({"TWILIO_ACCOUNT_SID": AC + "\n", "TWILIO_AUTH_TOKEN": "t"}, None),
        ({"TWILIO_ACCOUNT_SID": AC, "TWILIO_AUTH_TOKEN": "tök"}, None),
        ({"TWILIO_ACCOUNT_SID": AC, "TWILIO_AUTH_TOKEN": "a b"}, None),
        ({"TWILIO_ACCOUNT_SID": AC, "TWILIO_API_KEY": "SK1", "TWILIO_API_SECRET": "s"}, None),
    ],
)
def test_twilio_credentials_resolution(env: dict[str, str], expected: object) -> None:
    from twilio_es_cli.config import twilio_credentials_from_env
    from twilio_es_cli.errors import ConfigError, ExitCode

    if expected is None:
        with pytest.raises(ConfigError) as info:
            twilio_credentials_from_env(env)
        assert info.value.exit_code == ExitCode.CONFIG
    else:
        creds = twilio_credentials_from_env(env)
        assert (creds.account_sid, creds.username) == expected
        assert "secret" not in repr(creds) or env.get("TWILIO_AUTH_TOKEN", "s") not in repr(creds)


def test_settings_precedence_flags_over_env() -> None:
    from twilio_es_cli.config import DEFAULT_TWILIO_API_URL, resolve_settings

    env = {"AWS_REGION": "eu-west-1", "TWILIO_ES_API_URL": "http://127.0.0.1:9/"}
    assert resolve_settings(env=env).region == "eu-west-1"
    assert resolve_settings(env=env).twilio_api_url == "http://127.0.0.1:9"
    assert resolve_settings(region="us-west-2", env=env).region == "us-west-2"
    assert resolve_settings(env={}).twilio_api_url == DEFAULT_TWILIO_API_URL
    assert resolve_settings(env={"AWS_DEFAULT_REGION": "ap-south-1"}).region == "ap-south-1"


def test_json_renderer_handles_dates_and_models() -> None:
    from datetime import datetime, timezone

    from twilio_es_cli.output import to_json

    value = {"when": datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc), "n": 1}
    assert json.loads(to_json(value)) == {"when": "2026-01-02T03:04:05+00:00", "n": 1}


def test_json_renderer_writes_infinity_and_nan_as_null() -> None:
    """Python's json would write Infinity and NaN, which jq, JavaScript and Go refuse."""
    import pydantic

    from twilio_es_cli.output import to_json

    value = {"rate": float("inf"), "nested": [float("nan"), {"x": -float("inf")}], "n": 1.5}

    def refuse(word: str) -> object:
        raise AssertionError(f"not JSON: {word}")

    for indent in (2, None):
        text = to_json(value, indent=indent)
        assert json.loads(text, parse_constant=refuse) == {
            "rate": None,
            "nested": [None, {"x": None}],
            "n": 1.5,
        }

    class Model(pydantic.BaseModel):  # what default= expands: a model's fields, a set
        rate: float

    text = to_json({"model": Model(rate=float("inf")), "set": {float("nan")}})
    assert json.loads(text, parse_constant=refuse) == {"model": {"rate": None}, "set": [None]}


def test_closed_stdout_pipe_ends_quietly_with_zero() -> None:
    """`twilio-es ... | head`: a reader that went away is not an error (exit 0, no traceback)."""
    import os

    read_end, write_end = os.pipe()
    os.close(read_end)  # every write now fails with EPIPE, deterministically
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "twilio_es_cli", "--help"],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
        )
    finally:
        os.close(write_end)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stderr == ""


def test_debug_logs_keep_the_external_id_out(
    aws_env: str, cli_subprocess: SubprocessRunner
) -> None:
    """--debug shows SDK logs, but not bodies holding secrets (external id in trust policies)."""
    result = cli_subprocess("--debug", "stream", "create", "debugged", "1")
    assert result.exit_code == 0, result.stderr[-2000:]
    external_id = result.json()["external_id"]
    assert "DEBUG:botocore" in result.stderr  # the debug logs are there ...
    assert external_id not in result.stderr  # ... without the secret


def test_wire_debug_is_the_explicit_way_to_see_bodies(
    aws_env: str, cli_subprocess: SubprocessRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    """TWILIO_ES_DEBUG=wire is asking for bodies: then (and only then) they are logged."""
    monkeypatch.setenv("TWILIO_ES_DEBUG", "wire")
    result = cli_subprocess("stream", "create", "wired", "1")
    assert result.exit_code == 0, result.stderr[-2000:]
    assert result.json()["external_id"] in result.stderr
