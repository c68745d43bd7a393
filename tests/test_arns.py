"""The accepted ARN forms, decided once in arns.py and used by every command."""

from __future__ import annotations

import pytest

from twilio_es_cli import arns
from twilio_es_cli.models import KinesisSinkConfig, StreamRef, parse_config

STREAMS = {
    "arn:aws:kinesis:us-east-1:123456789012:stream/twilio-events": ("us-east-1", "twilio-events"),
    "arn:aws-cn:kinesis:cn-north-1:123456789012:stream/a.b_c-d": ("cn-north-1", "a.b_c-d"),
    "arn:aws-us-gov:kinesis:us-gov-west-1:123456789012:stream/x": ("us-gov-west-1", "x"),
    # The region local Kinesis servers write into their ARNs.
    "arn:aws:kinesis:local:000000000000:stream/x": ("local", "x"),
}
NOT_STREAMS = [
    "arn:aws:kinesis:us-east-1:12345678901:stream/x",  # 11-digit account
    "arn:aws:kinesis:us-east-1:123456789012:stream/",  # no name
    "arn:aws:kinesis:us-east-1:123456789012:stream/a/b",  # '/' is not in Kinesis names
    "arn:aws:kinesis:us-east-1:123456789012:stream/" + "x" * 129,  # name too long
    "arn:aws:kinesis:US-EAST-1:123456789012:stream/x",
    "arn:aws:kinesis::123456789012:stream/x",  # no region
    "arn:aws:sqs:us-east-1:123456789012:stream/x",
    "arn:gcp:kinesis:us-east-1:123456789012:stream/x",
    "arn:aws:kinesis:us-east-1:123456789012:stream/x/consumer/c:1",  # a consumer, not a stream
    "twilio-events",
    "",
]


@pytest.mark.parametrize(("arn", "parts"), STREAMS.items())
def test_stream_arns_accepted_everywhere(arn: str, parts: tuple[str, str]) -> None:
    region, name = parts
    parsed = arns.parse_stream(f"  {arn}\n")
    assert parsed is not None
    assert (parsed.arn, parsed.region, parsed.account_id, parsed.name) == (
        arn,
        region,
        arn.split(":")[4],
        name,
    )
    assert arns.region_of(arn) == region
    assert arns.stream_name(arn) == name
    # The same answer from every place that used to parse on its own.
    assert StreamRef.parse(arn) == parsed
    config = parse_config(
        KinesisSinkConfig,
        {"arn": arn, "role_arn": "arn:aws:iam::123456789012:role/r", "external_id": "abc123"},
        source="test",
    )
    assert (config.region, config.stream_name) == (region, name)
    assert (
        arns.stream_arn(
            name, region=region, account_id=parsed.account_id, partition=parsed.partition
        )
        == arn
    )


@pytest.mark.parametrize("text", NOT_STREAMS)
def test_not_stream_arns_refused_everywhere(text: str) -> None:
    assert arns.parse_stream(text) is None
    assert StreamRef.parse(text) is None
    assert arns.region_of(text) is None


def test_names_are_not_arns() -> None:
    assert not arns.is_arn("twilio-events")
    assert arns.stream_name("twilio-events") == "twilio-events"
    assert arns.region_of("twilio-events") is None


@pytest.mark.parametrize(
    ("arn", "name", "path"),
    [
        ("arn:aws:iam::123456789012:role/plain", "plain", "/"),
        ("arn:aws:iam::123456789012:role/twilio-es/r-1", "r-1", "/twilio-es/"),
        ("arn:aws-cn:iam::123456789012:role/a/b/c+=,.@_-", "c+=,.@_-", "/a/b/"),
    ],
)
def test_role_arns(arn: str, name: str, path: str) -> None:
    parsed = arns.parse_role(arn)
    assert parsed is not None
    assert (parsed.name, parsed.path, parsed.account_id) == (name, path, "123456789012")
    assert arns.role_name(arn) == name
    assert (
        arns.role_arn(name, account_id="123456789012", path=path, partition=parsed.partition) == arn
    )


@pytest.mark.parametrize(
    "text",
    [
        "arn:aws:iam::123456789012:user/plain",
        "arn:aws:iam::123456789012:role/",
        "arn:aws:iam::123456789012:role/" + "r" * 65,  # a role name is at most 64
        "arn:aws:iam:us-east-1:123456789012:role/r",  # IAM ARNs have no region
        "arn:aws:iam::123456789012:role/has space",
        "arn:aws:kinesis:us-east-1:123456789012:stream/x",
    ],
)
def test_not_role_arns(text: str) -> None:
    assert arns.parse_role(text) is None
    assert arns.role_name(text) is None


def test_account_of_principal() -> None:
    assert arns.account_of("arn:aws:iam::177261743968:root") == "177261743968"
    assert arns.account_of("177261743968") == "177261743968"
