"""Fixtures for the `stream` tests: boto3 clients behind the CLI's back, and fault injection.

Faults are injected at the wire boundary, not by mocking our code: the CLI builds its
``AwsClients`` through ``twilio_es_cli.aws.AwsClients``, and ``inject_faults`` swaps in a
subclass whose botocore clients get a ``before-call`` hook answering the named operations with
an AWS error response. Every other call still goes over HTTP to moto.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest

from tests.conftest import aws_response, boto_client

if TYPE_CHECKING:
    from mypy_boto3_iam import IAMClient
    from mypy_boto3_kinesis import KinesisClient


@pytest.fixture
def iam_client(aws_env: str) -> IAMClient:
    return boto_client("iam", aws_env)


@pytest.fixture
def kinesis_client(aws_env: str) -> KinesisClient:
    return boto_client("kinesis", aws_env)


def _failing(code: str) -> Callable[..., Any]:
    def handler(**_: Any) -> Any:
        body = {
            "Error": {"Code": code, "Message": "injected failure"},
            "ResponseMetadata": {"HTTPStatusCode": 500},
        }
        return aws_response("http://127.0.0.1/", 500, {}, None), body

    return handler


@pytest.fixture
def inject_faults(monkeypatch: pytest.MonkeyPatch) -> Callable[..., None]:
    """``inject_faults(("iam", "PutRolePolicy"), ...)``: those calls fail with ServiceFailure.

    A third element names another AWS error code: ``("iam", "DeleteRole", "NoSuchEntity")``.
    """
    from twilio_es_cli import aws

    def install(*operations: tuple[str, ...]) -> None:
        class FaultyClients(aws.AwsClients):
            def client(self, service: aws.Service) -> Any:
                fresh = service not in self._clients
                client = super().client(service)
                if fresh:
                    for svc, operation, *code in operations:
                        if svc == service:
                            client.meta.events.register(
                                f"before-call.{svc}.{operation}",
                                _failing(code[0] if code else "ServiceFailure"),
                            )
                return client

        monkeypatch.setattr(aws, "AwsClients", FaultyClients)

    return install
