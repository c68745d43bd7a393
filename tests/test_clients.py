"""The one client factory: one per invocation, replaceable through the context, right region."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
import typer.core

from twilio_es_cli.cli import _common
from twilio_es_cli.cli.stream import _clients
from twilio_es_cli.clients import Clients
from twilio_es_cli.config import Settings

ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


def _context(settings: Settings) -> typer.Context:
    # typer's own command classes: typer 0.29 runs on its vendored click, not the click package.
    root = typer.Context(typer.core.TyperGroup(name="twilio-es"), obj=settings)
    return typer.Context(typer.core.TyperCommand("list"), parent=root)


def test_one_factory_per_invocation_built_lazily() -> None:
    settings = Settings(region="eu-west-1", endpoint_url="http://127.0.0.1:9", env=ENV)
    ctx = _context(settings)
    factory = _common.clients(ctx)
    assert factory is _common.clients(ctx)  # shared by every command of the invocation
    assert factory.settings is settings
    assert factory.aws() is factory.aws()  # AWS clients built once
    assert _clients(ctx) is factory.aws()


def test_tests_replace_the_factory_through_the_context() -> None:
    ctx = _context(Settings(region="eu-west-1", env=ENV))
    other = Clients(Settings(region="ap-southeast-2", endpoint_url="http://127.0.0.1:9", env=ENV))
    _common.use_clients(ctx, other)
    assert _common.clients(ctx) is other
    assert _clients(ctx).region == "ap-southeast-2"


def test_reading_a_stream_asks_the_region_its_arn_names() -> None:
    factory = Clients(Settings(region="eu-west-1", endpoint_url="http://127.0.0.1:9", env=ENV))
    by_arn = factory.stream_kinesis("arn:aws:kinesis:us-west-2:123456789012:stream/x")
    assert by_arn.meta.region_name == "us-west-2"
    by_name = factory.stream_kinesis("x")
    assert by_name.meta.region_name == "eu-west-1"


def test_plan_apply_and_rotate_work_with_the_invocations_factory() -> None:
    from twilio_es_cli.infra.run import make_env

    twilio = {"TWILIO_ACCOUNT_SID": "AC" + "0" * 32, "TWILIO_AUTH_TOKEN": "t" * 32}
    settings = Settings(region="eu-west-1", endpoint_url="http://127.0.0.1:9", env=ENV | twilio)
    factory = Clients(settings)
    env = make_env(factory, None)  # builds clients, calls nothing
    assert env.aws is factory.aws() and env.client is factory.twilio()
    assert env.settings is settings
    assert env.stream_kinesis == factory.stream_kinesis  # the proof's reader: the one factory


def test_aws_clients_per_region_built_once_each() -> None:
    """`doctor --sink` asks the region its stream ARN names; the configured one is the default."""
    factory = Clients(Settings(region="eu-west-1", endpoint_url="http://127.0.0.1:9", env=ENV))
    assert factory.aws("eu-west-1") is factory.aws()  # the configured region is one entry
    other = factory.aws("us-west-2")
    assert other is factory.aws("us-west-2")
    assert other is not factory.aws()
    assert other.region == "us-west-2"
    assert other.kinesis().meta.region_name == "us-west-2"
    assert factory.aws().region == "eu-west-1"
    assert factory.settings.region == "eu-west-1"  # the invocation's settings stay as given


def test_sessions_share_one_model_loader_per_data_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """botocore's JSON models are parsed once per process, not once per session (an assumed
    role's session, every in-process test run); another AWS_DATA_PATH gets its own loader."""
    from twilio_es_cli import aws

    first, second = aws._botocore_session(), aws._botocore_session()
    assert first is not second
    loader = first.get_component("data_loader")
    assert second.get_component("data_loader") is loader
    assert loader.load_service_model("kinesis", "service-2") is second.get_component(
        "data_loader"
    ).load_service_model("kinesis", "service-2")
    monkeypatch.setenv("AWS_DATA_PATH", str(tmp_path))
    elsewhere = aws._botocore_session().get_component("data_loader")
    assert elsewhere is not loader
    assert str(tmp_path) in elsewhere.search_paths
