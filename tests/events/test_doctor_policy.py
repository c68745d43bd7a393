"""The pure parts of `doctor`: ARNs, trust policies and the simple policy evaluation."""

from __future__ import annotations

import json
import urllib.parse

from twilio_es_cli.doctor import allows, parse_stream_arn, principal_matches, role_name_from_arn
from twilio_es_cli.iam import parse_document, read_trust

STREAM = "arn:aws:kinesis:eu-west-1:123456789012:stream/twilio-events"
TWILIO = "arn:aws:iam::177261743968:root"


def test_parse_stream_arn() -> None:
    assert parse_stream_arn(STREAM) == {
        "partition": "aws",
        "region": "eu-west-1",
        "account": "123456789012",
        "name": "twilio-events",
    }
    assert parse_stream_arn("arn:aws:kinesis:eu-west-1:123456789012:twilio-events") is None
    assert parse_stream_arn("arn:aws:sqs:eu-west-1:123456789012:stream/x") is None


def test_role_name_from_arn_handles_paths() -> None:
    assert role_name_from_arn("arn:aws:iam::123456789012:role/twilio-es/r-1") == "r-1"
    assert role_name_from_arn("arn:aws:iam::123456789012:role/plain") == "plain"
    assert role_name_from_arn("arn:aws:iam::123456789012:user/plain") is None


def test_trust_of_reads_principals_and_external_ids_even_url_encoded() -> None:
    document = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": [TWILIO, "111111111111"]},
                "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"sts:ExternalId": "abc"}},
            },
            {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "s3:*"},
        ],
    }
    encoded = urllib.parse.quote(json.dumps(document))
    assert read_trust(encoded) == ([TWILIO, "111111111111"], ["abc"])
    assert parse_document(encoded) == document


def test_principal_matches_account_id_arn_and_star() -> None:
    assert principal_matches([TWILIO], TWILIO)
    assert principal_matches(["177261743968"], TWILIO)
    assert principal_matches(["*"], TWILIO)
    assert not principal_matches(["arn:aws:iam::999999999999:root"], TWILIO)


def _policy(*statements: dict[str, object]) -> dict[str, object]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def test_allows_exact_wildcards_and_case() -> None:
    exact = _policy({"Effect": "Allow", "Action": ["kinesis:PutRecord"], "Resource": STREAM})
    assert allows([exact], "kinesis:PutRecord", STREAM)
    assert not allows([exact], "kinesis:PutRecords", STREAM)
    assert not allows([exact], "kinesis:PutRecord", STREAM.replace("twilio-events", "other"))
    wild = _policy(
        {"Effect": "Allow", "Action": "Kinesis:Put*", "Resource": "arn:aws:kinesis:*:*:stream/*"}
    )
    assert allows([wild], "kinesis:PutRecords", STREAM)
    star = _policy({"Effect": "Allow", "Action": "*", "Resource": "*"})
    assert allows([star], "kinesis:DescribeLimits", "*")


def test_deny_wins_and_not_action_is_understood() -> None:
    allow = _policy({"Effect": "Allow", "Action": "kinesis:*", "Resource": "*"})
    deny = _policy({"Effect": "Deny", "Action": "kinesis:PutRecords", "Resource": STREAM})
    assert allows([allow, deny], "kinesis:PutRecord", STREAM)
    assert not allows([allow, deny], "kinesis:PutRecords", STREAM)
    not_action = _policy({"Effect": "Allow", "NotAction": "kinesis:Delete*", "Resource": "*"})
    assert allows([not_action], "kinesis:PutRecord", STREAM)
    assert not allows([not_action], "kinesis:DeleteStream", STREAM)


def test_describe_limits_needs_star_resource() -> None:
    scoped = _policy({"Effect": "Allow", "Action": "kinesis:DescribeLimits", "Resource": STREAM})
    assert not allows([scoped], "kinesis:DescribeLimits", "*")
