"""Twilio credentials where users keep them: twilio-cli's ~/.twilio-cli/config.json.

Each test writes the file twilio-cli would write (``twilio login``) into the test's private
HOME and runs the CLI against an Events API emulator that accepts one API key, the way
Twilio does. The environment comes first, a profile named on the command line wins over
both, a keychain-era profile gets a message naming the fix, and no secret is ever printed.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import REGION, Result
from tests.fixture_types import CliRunner, SubprocessRunner
from twilio_es_cli.config import resolve_settings
from twilio_es_cli.errors import ConfigError

ACCOUNT = "AC" + "1" * 32
KEY = "SK" + "2" * 32
SECRET = "s3cr3t-" + "9" * 25  # what must never reach a terminal or a log


@pytest.fixture
def keyed_emulator(moto_server: str) -> Iterator[str]:
    """An Events API emulator that accepts the API key KEY:SECRET; yields its URL."""
    from twilio_es_cli.local.emulator import EventsEmulator

    emulator = EventsEmulator(
        aws_endpoint_url=moto_server,
        region=REGION,
        account_sid=ACCOUNT,
        api_key_sid=KEY,
        api_key_secret=SECRET,
    )
    emulator.start()
    yield emulator.url
    emulator.stop()


def write_config(config: dict[str, object]) -> Path:
    path = Path(os.environ["HOME"]) / ".twilio-cli" / "config.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(config))
    return path


def profile(key: str = KEY, secret: str = SECRET) -> dict[str, str]:
    return {"accountSid": ACCOUNT, "apiKey": key, "apiSecret": secret}


def current_format() -> dict[str, object]:
    """What twilio-cli 3+ saves: ``profiles`` by id, the active one as ``activeProject``."""
    return {
        "edge": None,
        "email": {},
        "prompts": {},
        "projects": [],
        "profiles": {"dev": profile(), "broken": profile(secret="wrong-" + "0" * 26)},
        "activeProject": "dev",
    }


def test_the_active_profile_is_used_when_the_environment_has_none(
    keyed_emulator: str, cli_subprocess: SubprocessRunner
) -> None:
    write_config(current_format())
    result: Result = cli_subprocess(
        "--debug", "--twilio-api-url", keyed_emulator, "sink", "list", "--json"
    )
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == []
    assert "Twilio credentials from twilio-cli profile 'dev'" in result.stderr
    assert SECRET not in result.stderr + result.stdout


def test_twilio_profile_option_and_variable_pick_a_profile(
    keyed_emulator: str, cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_config(current_format())
    chosen: Result = cli(
        "--twilio-profile", "broken", "--twilio-api-url", keyed_emulator, "sink", "list"
    )
    assert chosen.exit_code == 3, chosen.stderr  # its secret is wrong: Twilio says 401
    monkeypatch.setenv("TWILIO_PROFILE", "broken")
    named: Result = cli("--twilio-api-url", keyed_emulator, "sink", "list")
    assert named.exit_code == 3, named.stderr
    flag_wins: Result = cli(
        "--twilio-profile", "dev", "--twilio-api-url", keyed_emulator, "sink", "list", "--json"
    )
    assert flag_wins.exit_code == 0, flag_wins.stderr


def test_the_environment_comes_before_the_active_profile(
    keyed_emulator: str, cli_subprocess: SubprocessRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = current_format()
    config["activeProject"] = "broken"
    write_config(config)
    for name, value in {
        "TWILIO_ACCOUNT_SID": ACCOUNT,
        "TWILIO_API_KEY": KEY,
        "TWILIO_API_SECRET": SECRET,
    }.items():
        monkeypatch.setenv(name, value)
    result: Result = cli_subprocess(
        "--debug", "--twilio-api-url", keyed_emulator, "sink", "list", "--json"
    )
    assert result.exit_code == 0, result.stderr
    assert "Twilio credentials from the environment" in result.stderr
    assert SECRET not in result.stderr


def test_a_keychain_profile_names_the_fix(cli: CliRunner) -> None:
    write_config({"projects": [{"id": "old", "accountSid": ACCOUNT}], "activeProject": "old"})
    result: Result = cli("sink", "list")
    assert result.exit_code == 3
    assert "keychain" in result.stderr
    assert "twilio profiles:create old" in result.stderr
    assert "TWILIO_API_KEY" in result.stderr


def test_an_unknown_profile_lists_the_ones_there(cli: CliRunner) -> None:
    write_config(current_format())
    result: Result = cli("--twilio-profile", "prod", "sink", "list")
    assert result.exit_code == 3
    assert "'prod' was not found" in result.stderr
    assert "broken, dev" in result.stderr


def test_no_environment_and_no_file_says_how_to_log_in(cli: CliRunner) -> None:
    result: Result = cli("sink", "list")
    assert result.exit_code == 3
    assert "Twilio credentials are not set" in result.stderr
    assert "twilio login" in result.stderr


def test_region_and_edge_come_from_the_profile() -> None:
    write_config(
        {
            "profiles": {"au": {**profile(), "region": "au1", "edge": "sydney"}},
            "activeProject": "au",
        }
    )
    creds = resolve_settings().twilio_credentials()
    assert (creds.username, creds.region, creds.edge) == (KEY, "au1", "sydney")
    assert SECRET not in repr(creds)


def test_what_needs_the_auth_token_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    write_config(current_format())
    settings = resolve_settings()
    with pytest.raises(ConfigError) as caught:
        settings.twilio_auth_token("check webhook signatures")
    assert "To check webhook signatures" in caught.value.message
    assert "auth token" in caught.value.message and "API key" in caught.value.message
    assert caught.value.hint is not None and "TWILIO_AUTH_TOKEN" in caught.value.hint
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "t" * 32)
    assert resolve_settings().twilio_auth_token("check webhook signatures") == "t" * 32


def test_a_lone_account_sid_in_the_environment_falls_back_to_the_profile(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    write_config(current_format())
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", ACCOUNT)  # exported, but no secret beside it
    creds = resolve_settings().twilio_credentials()
    assert (creds.username, creds.source.startswith("twilio-cli profile 'dev'")) == (KEY, True)
