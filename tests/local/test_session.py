"""The sandbox session of `quickstart --local`: clients that reach the sandbox, the user's own
AWS/Twilio settings hidden while it runs, and the environment exactly as before afterwards."""

from __future__ import annotations

import os

import pytest

from twilio_es_cli import progress
from twilio_es_cli.clients import Clients
from twilio_es_cli.config import Settings
from twilio_es_cli.local.session import sandbox_environment, sandbox_session


def test_sandbox_environment_hides_the_users_settings_and_restores_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_PROFILE", "someone-elses")
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "a-real-token")
    monkeypatch.setenv("NO_PROXY", "internal.example")
    before = dict(os.environ)
    with sandbox_environment():
        assert "AWS_PROFILE" not in os.environ and "TWILIO_AUTH_TOKEN" not in os.environ
        assert os.environ["AWS_CONFIG_FILE"] == os.devnull
        assert os.environ["NO_PROXY"] == "internal.example,127.0.0.1,localhost"
        os.environ["AWS_ENDPOINT_URL"] = "http://127.0.0.1:1"  # set inside: gone afterwards
    assert dict(os.environ) == before


def test_sandbox_session_points_a_derived_factory_at_the_sandbox(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_PROFILE", "someone-elses")  # would break boto3 if it were used
    before = dict(os.environ)
    report = progress.Collect()
    user = Clients(Settings(debug=True, region="eu-west-1"))
    with sandbox_session(user, report, starting="up", stopping="down") as session:
        clients = session.clients
        assert type(clients) is Clients and clients is not user
        assert clients.settings.debug is True
        assert clients.settings.endpoint_url == session.sandbox.aws_url
        assert os.environ["AWS_ENDPOINT_URL"] == session.sandbox.aws_url
        kinesis = clients.aws().kinesis()
        kinesis.create_stream(StreamName="in-the-sandbox", ShardCount=1)
        assert "in-the-sandbox" in kinesis.list_streams()["StreamNames"]
        assert session.emulator.url == clients.settings.env["TWILIO_ES_API_URL"]
    assert report.lines == ["waiting: up", "waiting: down"]
    assert session.sandbox.emulator is None  # stopped
    assert dict(os.environ) == before
