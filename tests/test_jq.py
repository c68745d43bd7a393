"""--jq EXPR on every command that has --json, as gh has (issue 23 item 10)."""

from __future__ import annotations

from typer._click import Command

from tests.conftest import active_webhook_sink
from tests.fixture_types import CliRunner, EventsEmulator
from tests.test_docs import _leaf_commands
from twilio_es_cli import __version__


def _options(command: object) -> set[str]:
    assert isinstance(command, Command)
    return {opt for param in command.params for opt in getattr(param, "opts", [])}


def test_every_command_with_json_has_jq() -> None:
    with_json = [path for path, command in _leaf_commands() if "--json" in _options(command)]
    assert len(with_json) > 25, with_json
    missing = [
        p for p, c in _leaf_commands() if "--json" in _options(c) and "--jq" not in _options(c)
    ]
    assert missing == []


def test_jq_filters_the_json_and_prints_strings_raw(
    twilio_env: EventsEmulator, cli: CliRunner
) -> None:
    sinks = [active_webhook_sink(), active_webhook_sink()]
    listed = cli("sink", "list", "--jq", ".[].sid")  # --jq implies --json
    assert listed.exit_code == 0, listed.stderr
    assert sorted(listed.stdout.split()) == sorted(sinks)
    picked = cli("sink", "list", "--json", "--jq", f'.[] | select(.sid == "{sinks[0]}") | {{sid}}')
    assert picked.exit_code == 0, picked.stderr
    assert picked.stdout == f'{{"sid":"{sinks[0]}"}}\n'
    assert cli("version", "--jq", ".version").stdout == f"{__version__}\n"


def test_a_bad_expression_is_one_line_and_exit_2_before_any_call(cli: CliRunner) -> None:
    # no credentials at all: the expression is refused before they are looked for
    bad = cli("sink", "list", "--jq", ".[")
    assert bad.exit_code == 2, bad.stderr
    assert bad.stderr.startswith("error: --jq '.[': syntax error")
    assert len(bad.stderr.splitlines()) == 1 and "Traceback" not in bad.stderr


def test_an_expression_that_does_not_fit_the_data_is_exit_2(
    twilio_env: EventsEmulator, cli: CliRunner
) -> None:
    active_webhook_sink()
    result = cli("sink", "list", "--jq", ".sid")
    assert result.exit_code == 2
    assert "error: --jq: Cannot index array with string" in result.stderr
    assert result.stdout == ""


def test_the_filter_ends_with_its_command(twilio_env: EventsEmulator, cli: CliRunner) -> None:
    assert cli("version", "--jq", ".version").exit_code == 0
    plain = cli("version", "--json")  # the next command in the same process: unfiltered
    assert plain.json() == {"version": __version__}
