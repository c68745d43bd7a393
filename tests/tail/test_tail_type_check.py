"""`tail --type` checked against the catalogue (issue 23 item 4): a glob that matches no known
type is said, with what it probably meant, and tail still reads (custom and newer types exist).
The catalogue comes from the Events API: without Twilio credentials tail says nothing, and
when the API does not answer it says the check was skipped; it never fails for it."""

from __future__ import annotations

import socket

import pytest

from tests.conftest import boto_client
from tests.fixture_types import CliRunner, EventsEmulator
from tests.tail.tail_support import create_stream, put_events

DELIVERED = "com.twilio.messaging.message.delivered"


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("com.twilio.messaging.message.delivred", DELIVERED),
        ("com.twilio.mesaging.*", "com.twilio.messaging.*"),
    ],
)
def test_a_type_the_catalogue_lacks_is_said_with_what_was_meant(
    twilio_env: EventsEmulator,
    aws_env: str,
    unique_name: str,
    cli: CliRunner,
    typed: str,
    meant: str,
) -> None:
    create_stream(boto_client("kinesis", aws_env), unique_name, 1)
    result = cli("tail", unique_name, "--type", typed, "--no-follow")
    assert result.exit_code == 0, result.stderr
    assert f"--type '{typed}' matches no event type in the catalogue" in result.stderr
    assert f"did you mean '{meant}'" in result.stderr
    assert "reading anyway" in result.stderr


def test_known_types_and_globs_are_not_warned_about(
    twilio_env: EventsEmulator, aws_env: str, unique_name: str, cli: CliRunner
) -> None:
    create_stream(boto_client("kinesis", aws_env), unique_name, 1)
    args = ["--type", DELIVERED, "--type", "com.twilio.messaging.*", "--type", "*.test-event"]
    result = cli("tail", unique_name, *args, "--no-follow")
    assert result.exit_code == 0, result.stderr
    assert "matches no event type" not in result.stderr
    assert "not checked" not in result.stderr


def test_without_twilio_credentials_tail_reads_and_says_nothing(
    aws_env: str, unique_name: str, cli: CliRunner
) -> None:
    kinesis = boto_client("kinesis", aws_env)
    create_stream(kinesis, unique_name, 1)
    put_events(kinesis, unique_name, range(3))
    result = cli("tail", unique_name, "--type", "custom.*", "--from", "trim-horizon", "--no-follow")
    assert result.exit_code == 0, result.stderr
    assert "catalogue" not in result.stderr


def test_an_unreachable_events_api_skips_the_check_in_one_note(
    aws_env: str, unique_name: str, cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]
    monkeypatch.setenv("TWILIO_ES_API_URL", f"http://127.0.0.1:{closed}")
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", "AC" + "0" * 32)
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "x" * 32)
    create_stream(boto_client("kinesis", aws_env), unique_name, 1)
    result = cli("tail", unique_name, "--type", "com.twilio.nope.*", "--no-follow")
    assert result.exit_code == 0, result.stderr
    assert "note: --type not checked against the catalogue (" in result.stderr
    assert "matches no event type" not in result.stderr
