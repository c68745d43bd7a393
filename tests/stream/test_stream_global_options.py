"""Global options reach boto3: --profile, --region, --endpoint-url, on moto over HTTP.

Each test takes away the environment variable the option stands in for, so only the option
can be what pointed boto3 at the right place; a wrong value is exit 3 with a hint, never a
traceback. Global options work before or after the command, as in aws-cli (issue 23); a
command's own option of the same name wins. Also here: answering "no" at the delete prompt on
a real terminal.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import Result, Terminal, boto_client
from tests.fixture_types import EventsEmulator, SubprocessRunner
from twilio_es_cli import __version__

CLI = Callable[..., Result]


def _write_profile(home: Path, name: str, region: str) -> None:
    (home / "aws-config").write_text(f"[profile {name}]\nregion = {region}\n")
    (home / "aws-credentials").write_text(
        f"[{name}]\naws_access_key_id = testing\naws_secret_access_key = testing\n"
    )


def test_endpoint_url_flag_is_what_reaches_aws(
    cli: CLI, aws_env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_ENDPOINT_URL")
    result = cli("--endpoint-url", aws_env, "stream", "create", "flagged", "1")
    assert result.exit_code == 0, result.stderr
    kinesis = boto_client("kinesis", aws_env)
    assert kinesis.list_streams()["StreamNames"] == ["flagged"]


def test_region_flag_beats_the_environment(cli: CLI, aws_env: str) -> None:
    result = cli("--region", "eu-west-1", "stream", "create", "elsewhere", "1")
    assert result.exit_code == 0, result.stderr
    config = result.json()
    assert isinstance(config, dict)
    assert config["arn"].startswith("arn:aws:kinesis:eu-west-1:")
    assert config["role_arn"].endswith("/twilio-es-elsewhere-eu-west-1")
    import boto3

    def names(region: str) -> list[str]:
        client = boto3.client(
            "kinesis",
            endpoint_url=aws_env,
            region_name=region,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        return list(client.list_streams()["StreamNames"])

    assert (names("eu-west-1"), names("us-east-1")) == (["elsewhere"], [])


def test_profile_flag_and_env_supply_credentials_and_region(
    cli: CLI, aws_env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION"):
        monkeypatch.delenv(name)
    _write_profile(Path(os.environ["HOME"]), "sandbox", "ap-southeast-2")

    flagged = cli("--profile", "sandbox", "stream", "create", "from-profile", "1")
    assert flagged.exit_code == 0, flagged.stderr  # credentials came from the profile
    config = flagged.json()
    assert isinstance(config, dict)
    assert config["arn"].startswith("arn:aws:kinesis:ap-southeast-2:")  # and its region

    monkeypatch.setenv("AWS_PROFILE", "sandbox")
    listed = cli("stream", "list", "--json").json()
    assert isinstance(listed, list) and [r["name"] for r in listed] == ["from-profile"]

    monkeypatch.setenv("AWS_PROFILE", "no-such-profile")
    beaten = cli("--profile", "sandbox", "stream", "list", "--json")
    assert beaten.exit_code == 0, beaten.stderr


@pytest.mark.parametrize("how", ["flag", "env"])
def test_missing_profile_is_exit_3_with_hint(
    cli: CLI, aws_env: str, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    _write_profile(Path(os.environ["HOME"]), "sandbox", "us-east-1")
    args = ["stream", "create", "twilio-events", "1"]
    if how == "flag":
        result = cli("--profile", "no-such-profile", *args)
    else:
        monkeypatch.setenv("AWS_PROFILE", "no-such-profile")
        result = cli(*args)
    assert result.exit_code == 3, result.stderr
    assert result.stderr.startswith("error: AWS profile 'no-such-profile' was not found\n")
    assert "hint: Check --profile / AWS_PROFILE" in result.stderr
    assert "Traceback" not in result.stderr
    monkeypatch.delenv("AWS_PROFILE", raising=False)  # boto3 in this test reads it too
    kinesis = boto_client("kinesis", aws_env)
    assert kinesis.list_streams()["StreamNames"] == []


def test_per_service_endpoint_variables_are_honoured_like_the_aws_cli(
    cli: CLI, aws_env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """AWS_ENDPOINT_URL_<SERVICE> beats AWS_ENDPOINT_URL (botocore's rule), so we must not
    copy the global variable into an explicit endpoint that would override them."""
    nothing_listens = "http://127.0.0.1:9"  # discard port: connection refused at once
    monkeypatch.setenv("AWS_ENDPOINT_URL", nothing_listens)
    for service in ("KINESIS", "IAM"):
        monkeypatch.setenv(f"AWS_ENDPOINT_URL_{service}", aws_env)
    result = cli("stream", "create", "per-service", "1")
    assert result.exit_code == 0, result.stderr


@pytest.mark.parametrize(
    ("argv", "env", "message"),
    [
        (["--endpoint-url", "notaurl"], {}, "AWS endpoint URL 'notaurl' (--endpoint-url)"),
        (["--endpoint-url", "http://"], {}, "AWS endpoint URL 'http://' (--endpoint-url)"),
        ([], {"AWS_ENDPOINT_URL": "notaurl"}, "AWS endpoint URL 'notaurl' (AWS_ENDPOINT_URL)"),
        (
            [],
            {"AWS_ENDPOINT_URL_KINESIS": "ftp://x"},
            "AWS endpoint URL 'ftp://x' (AWS_ENDPOINT_URL_KINESIS)",
        ),
        (["--region", "not a region"], {}, "AWS region 'not a region' is not a valid region"),
    ],
)
def test_malformed_endpoint_or_region_is_exit_3_not_a_crash(
    cli: CLI,
    aws_env: str,
    monkeypatch: pytest.MonkeyPatch,
    argv: list[str],
    env: dict[str, str],
    message: str,
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    result = cli(*argv, "stream", "list")
    assert result.exit_code == 3, result.stderr
    assert result.stderr.startswith(f"error: {message}")
    assert "hint: " in result.stderr
    assert "unexpected" not in result.stderr


def _region_names(aws_env: str, region: str) -> list[str]:
    import boto3

    client = boto3.client(
        "kinesis",
        endpoint_url=aws_env,
        region_name=region,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    return list(client.list_streams()["StreamNames"])


@pytest.mark.parametrize(
    "argv",
    [
        ["stream", "create", "anywhere", "1", "--region", "eu-west-1"],
        ["stream", "create", "--region", "eu-west-1", "anywhere", "1"],
        ["stream", "--region", "eu-west-1", "create", "anywhere", "1"],
        ["stream", "create", "anywhere", "--region=eu-west-1", "1"],
        ["--region", "us-west-2", "stream", "create", "anywhere", "1", "--region", "eu-west-1"],
    ],
    ids=["after-all", "after-command", "after-group", "between-arguments", "last-one-wins"],
)
def test_global_option_after_the_command_is_applied(
    cli: CLI, aws_env: str, argv: list[str]
) -> None:
    result = cli(*argv)
    assert result.exit_code == 0, result.stderr
    config = result.json()
    assert isinstance(config, dict)
    assert config["arn"].startswith("arn:aws:kinesis:eu-west-1:")
    assert (_region_names(aws_env, "eu-west-1"), _region_names(aws_env, "us-east-1")) == (
        ["anywhere"],
        [],
    )


def test_endpoint_and_profile_after_the_command(
    cli: CLI, aws_env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_ENDPOINT_URL")
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION"):
        monkeypatch.delenv(name)
    _write_profile(Path(os.environ["HOME"]), "sandbox", "ap-southeast-2")
    made = cli("stream", "create", "late", "1", "--endpoint-url", aws_env, "--profile", "sandbox")
    assert made.exit_code == 0, made.stderr
    config = made.json()
    assert isinstance(config, dict) and config["arn"].startswith("arn:aws:kinesis:ap-southeast-2:")
    listed = cli("stream", "list", "--json", "--profile", "sandbox", "--endpoint-url", aws_env)
    assert listed.exit_code == 0, listed.stderr
    names = listed.json()
    assert isinstance(names, list) and [r["name"] for r in names] == ["late"]


def test_quiet_debug_and_version_after_the_command(
    aws_env: str, cli: CLI, cli_subprocess: SubprocessRunner
) -> None:
    loud = cli("stream", "create", "talkative", "1")
    assert loud.exit_code == 0 and loud.stderr, loud.stderr  # progress lines ...
    quiet = cli("stream", "create", "silent", "1", "-q")
    assert (quiet.exit_code, quiet.stderr) == (0, "")  # ... and none with -q after
    debugged = cli_subprocess("stream", "list", "--debug")
    assert debugged.exit_code == 0, debugged.stderr[-2000:]
    assert "DEBUG:botocore" in debugged.stderr
    version = cli("stream", "list", "--version")
    assert (version.exit_code, version.stdout) == (0, cli("version").stdout)


def test_bad_global_value_after_the_command_is_exit_3(cli: CLI, aws_env: str) -> None:
    result = cli("stream", "list", "--endpoint-url", "notaurl")
    assert result.exit_code == 3, result.stderr
    assert result.stderr.startswith("error: AWS endpoint URL 'notaurl' (--endpoint-url)")
    missing = cli("stream", "list", "--region")
    assert missing.exit_code == 2
    assert missing.stderr.startswith("error: Option '--region' requires an argument")


def test_after_double_dash_it_is_an_argument_not_an_option(cli: CLI, aws_env: str) -> None:
    result = cli("stream", "create", "--", "--region", "1")
    assert result.exit_code == 0, result.stderr  # a valid stream name for Kinesis
    assert _region_names(aws_env, "us-east-1") == ["--region"]


def test_a_commands_own_option_of_the_same_name_wins(twilio_env: EventsEmulator, cli: CLI) -> None:
    """`schema show --version N` is the schema's version, not the tool's."""
    result = cli("schema", "show", "Messaging.MessageStatus", "--version", "2")
    assert result.exit_code == 0, result.stderr
    assert "Messaging.MessageStatus version 2" in result.stderr
    schema = json.loads(result.stdout)  # the schema document, not `twilio-es X.Y.Z`
    assert isinstance(schema, dict) and schema


def test_answering_no_at_the_delete_prompt_changes_nothing(aws_env: str) -> None:
    """On a real terminal the prompt is asked; "n" is a decision (exit 1), not Ctrl-C (130)."""
    kinesis = boto_client("kinesis", aws_env)
    kinesis.create_stream(StreamName="keep-me", ShardCount=1)
    master, slave = os.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "twilio_es_cli", "stream", "delete", "keep-me"],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=dict(os.environ),
        close_fds=True,
    )
    os.close(slave)
    screen = Terminal(master)
    try:
        answered = screen.read_until(b"[y/N]")
        if answered:
            os.write(master, b"n\n")
            screen.read_until(None)
        code = proc.wait(timeout=60)
    finally:
        os.close(master)
        if proc.poll() is None:
            proc.kill()
    text = screen.seen.decode(errors="replace")
    assert answered, text
    assert code == 1, text
    assert "Cancelled; nothing was changed." in text
    assert "Interrupted" not in text
    assert kinesis.list_streams()["StreamNames"] == ["keep-me"]


def test_a_bad_late_global_after_jq_leaves_no_filter_behind(cli: CLI, aws_env: str) -> None:
    """--jq is taken first (eager); a bad global option after it then fails the parse, which
    skips the command's clean-up: the next run in the same process must not be filtered."""
    failed = cli("stream", "list", "--jq", "1", "--endpoint-url", "notaurl")
    assert failed.exit_code == 3, failed.stderr
    assert cli("version", "--json").json() == {"version": __version__}
