"""The IAM policy evaluator (iam.allows) and trust reading that `doctor` and `status` rely on.

Pure: documents in, answers out. The ARN forms are tested once, in tests/test_arns.py.
"""

from __future__ import annotations

import json
import urllib.parse

from twilio_es_cli.iam import (
    DISCOVERY_ACTIONS,
    PUT_ACTIONS,
    allows,
    parse_document,
    permissions_policy,
    principal_matches,
    read_trust,
)

STREAM = "arn:aws:kinesis:eu-west-1:123456789012:stream/twilio-events"
TWILIO = "arn:aws:iam::177261743968:root"


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


def test_the_policy_stream_create_writes_allows_what_twilio_needs() -> None:
    """The document we put on a role passes the evaluator doctor judges roles with."""
    document = permissions_policy(STREAM)
    assert all(allows([document], action, STREAM) for action in PUT_ACTIONS)
    assert all(allows([document], action, "*") for action in DISCOVERY_ACTIONS)
    other = STREAM.replace("twilio-events", "other")
    assert not any(allows([document], action, other) for action in PUT_ACTIONS)
