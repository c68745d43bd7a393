"""The one retry classification of AWS failures the readers (reader.py, efo.py) share."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from twilio_es_cli.aws import OUTAGE, REFUSED, THROTTLED, classify, stream_not_found
from twilio_es_cli.errors import ExitCode


def _error(code: str, status: int) -> ClientError:
    # Shaped as botocore's (its stubs require every ResponseMetadata key).
    return ClientError(
        {
            "Error": {"Code": code, "Message": "m"},
            "ResponseMetadata": {
                "HTTPStatusCode": status,
                "RequestId": "r",
                "HostId": "",
                "HTTPHeaders": {},
                "RetryAttempts": 0,
            },
        },
        "GetRecords",
    )


@pytest.mark.parametrize(
    ("exc", "kind"),
    [
        (_error("ProvisionedThroughputExceededException", 400), THROTTLED),
        (_error("LimitExceededException", 400), THROTTLED),
        (_error("InternalFailure", 500), OUTAGE),
        (_error("SomethingNew", 503), OUTAGE),
        (EndpointConnectionError(endpoint_url="http://127.0.0.1:9"), OUTAGE),
        (_error("ResourceNotFoundException", 400), REFUSED),
        (_error("AccessDeniedException", 400), REFUSED),
        (_error("ExpiredIteratorException", 400), REFUSED),
    ],
)
def test_classify(exc: BaseException, kind: str) -> None:
    assert classify(exc) == kind


def test_stream_not_found_names_the_stream_of_a_name_or_arn() -> None:
    by_arn = stream_not_found("arn:aws:kinesis:us-east-1:123456789012:stream/orders")
    assert by_arn.message == "Kinesis stream 'orders' was not found"
    assert by_arn.exit_code == ExitCode.NOT_FOUND
    assert stream_not_found("orders").hint == by_arn.hint
