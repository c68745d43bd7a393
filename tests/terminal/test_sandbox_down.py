"""With the sandbox down, commands answer at once and name the sandbox, not the network.

The endpoints are loopback ports nothing listens on (bound, then closed): a refused
connection there means `twilio-es local up` is not running, so there is nothing to retry.
"""

from __future__ import annotations

import socket

import pytest

from tests.conftest import Result
from tests.fixture_types import CliRunner
from twilio_es_cli.aws import AwsClients
from twilio_es_cli.config import resolve_settings
from twilio_es_cli.errors import ApiError
from twilio_es_cli.twilio_api import make_client

SID = "AC" + "0" * 32


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def sandbox_down(monkeypatch: pytest.MonkeyPatch) -> str:
    """The environment `local up` prints, pointing at ports nothing listens on."""
    aws, events = f"http://127.0.0.1:{_closed_port()}", f"http://127.0.0.1:{_closed_port()}"
    for name, value in {
        "AWS_ENDPOINT_URL": aws,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": "us-east-1",
        "TWILIO_ES_API_URL": events,
        "TWILIO_ACCOUNT_SID": SID,
        "TWILIO_AUTH_TOKEN": "x" * 32,
    }.items():
        monkeypatch.setenv(name, value)
    return aws


@pytest.mark.parametrize("args", [["sink", "list"], ["stream", "list"], ["subscription", "list"]])
def test_commands_blame_the_sandbox(sandbox_down: str, cli: CliRunner, args: list[str]) -> None:
    result: Result = cli(*args)
    assert result.exit_code == 1, result.stderr
    assert "Is 'twilio-es local up' running?" in result.stderr, result.stderr
    assert "Check your network" not in result.stderr


def test_aws_does_not_retry_a_refused_loopback_connection(sandbox_down: str) -> None:
    kinesis = AwsClients(resolve_settings()).kinesis()
    attempts: list[str] = []
    kinesis.meta.events.register("before-send", lambda **kw: attempts.append("sent"))
    from botocore.exceptions import EndpointConnectionError

    with pytest.raises(EndpointConnectionError):
        kinesis.list_streams()
    assert attempts == ["sent"]


def test_twilio_client_does_not_retry_connections_to_loopback(sandbox_down: str) -> None:
    client = make_client(resolve_settings())
    adapter = client.http_client.session.get_adapter("http://127.0.0.1/")
    assert adapter.max_retries.connect == 0
    remote = make_client(resolve_settings(twilio_api_url="https://events.example.com"))
    assert remote.http_client.session.get_adapter("https://x/").max_retries.connect is None


def test_the_error_names_the_unreachable_endpoint(sandbox_down: str) -> None:
    from twilio_es_cli.aws import aws_errors

    with pytest.raises(ApiError) as caught, aws_errors("list streams"):
        AwsClients(resolve_settings()).kinesis().list_streams()
    assert sandbox_down in caught.value.message
