"""Pure rules behind `stream`: names, IAM documents, the differences a re-run reports."""

from __future__ import annotations

import json
import re
import urllib.parse

import pytest

from twilio_es_cli import iam, streams
from twilio_es_cli.errors import UsageError

ARN = "arn:aws:kinesis:us-east-1:123456789012:stream/twilio-events"
TWILIO = "arn:aws:iam::177261743968:root"


def test_default_names_fit_iam_limits_and_stay_distinct() -> None:
    assert (
        iam.default_role_name("twilio-events", "us-east-1") == "twilio-es-twilio-events-us-east-1"
    )
    long_a, long_b = "a" * 120 + "x", "a" * 120 + "y"
    role_a = iam.default_role_name(long_a, "us-east-1")
    role_b = iam.default_role_name(long_b, "us-east-1")
    assert len(role_a) <= 64 and len(role_b) <= 64 and role_a != role_b
    assert iam.validate_role_name(role_a) == role_a
    assert iam.default_role_name("s", "us-east-1") != iam.default_role_name("s", "eu-west-1")
    policy = iam.default_policy_name("b" * 128)
    assert len(policy) <= 128 and iam.validate_policy_name(policy) == policy


@pytest.mark.parametrize("name", ["", "a" * 129, "has space", "slash/no", "ü"])
def test_bad_stream_names_are_usage_errors(name: str) -> None:
    with pytest.raises(UsageError):
        streams.validate_stream_name(name)


@pytest.mark.parametrize("name", ["a", "A_b.c-9", "x" * 128])
def test_good_stream_names_pass(name: str) -> None:
    assert streams.validate_stream_name(name) == name


@pytest.mark.parametrize(
    ("principal", "expected"),
    [
        ("177261743968", TWILIO),
        (TWILIO, TWILIO),
        ("arn:aws:iam::111122223333:role/x", "arn:aws:iam::111122223333:role/x"),
    ],
)
def test_principal_normalised(principal: str, expected: str) -> None:
    assert iam.normalize_principal(principal) == expected


@pytest.mark.parametrize("principal", ["twilio", "1234", "arn:aws:iam::12:root", "*"])
def test_bad_principal_rejected(principal: str) -> None:
    with pytest.raises(UsageError):
        iam.normalize_principal(principal)


def test_external_id_is_40_random_bytes_hex() -> None:
    first, second = iam.new_external_id(), iam.new_external_id()
    assert re.fullmatch(r"[0-9a-f]{80}", first) and first != second


def test_trust_policy_round_trips_through_url_encoded_text() -> None:
    document = iam.trust_policy(TWILIO, "e" * 80)
    encoded = urllib.parse.quote(json.dumps(document))
    assert iam.read_trust(encoded) == ([TWILIO], ["e" * 80])
    assert iam.read_trust(json.dumps(document)) == ([TWILIO], ["e" * 80])
    assert iam.trust_differences(document, TWILIO) == []


def test_trust_differences_name_principal_and_missing_external_id() -> None:
    document = iam.trust_policy("arn:aws:iam::111111111111:root", "e")
    del document["Statement"][0]["Condition"]
    problems = iam.trust_differences(document, TWILIO)
    assert any("arn:aws:iam::111111111111:root" in p and TWILIO in p for p in problems)
    assert any("sts:ExternalId" in p for p in problems)


def test_permissions_policy_is_exactly_what_twilio_documents() -> None:
    grants = {
        (action, statement["Resource"])
        for statement in iam.permissions_policy(ARN)["Statement"]
        for action in statement["Action"]
    }
    assert grants == {
        ("kinesis:PutRecord", ARN),
        ("kinesis:PutRecords", ARN),
        ("kinesis:ListShards", "*"),
        ("kinesis:DescribeLimits", "*"),
    }
    assert iam.permission_differences(iam.permissions_policy(ARN), ARN) == []


def test_permission_differences_name_missing_and_extra_grants() -> None:
    document = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "kinesis:PutRecord", "Resource": ARN},
            {"Effect": "Allow", "Action": ["kinesis:*"], "Resource": "*"},
        ],
    }
    problems = iam.permission_differences(document, ARN)
    assert problems[0].startswith("permissions policy lacks")
    assert "kinesis:PutRecords on " + ARN in problems[0]
    assert "kinesis:ListShards on *" in problems[0]
    assert problems[1] == "permissions policy also grants kinesis:* on *"


def test_tags_mark_the_role_for_one_stream_only() -> None:
    tags = iam.role_tags(ARN, "p")
    assert iam.made_for(tags, ARN)
    assert not iam.made_for(tags, ARN.replace("us-east-1", "eu-west-1"))
    assert not iam.made_for([], ARN)


@pytest.mark.parametrize(
    ("current", "low", "high"), [(1, 1, 2), (2, 1, 4), (3, 2, 6), (5, 3, 10), (6000, 3000, 10000)]
)
def test_scale_bounds_follow_the_half_to_double_rule(current: int, low: int, high: int) -> None:
    assert streams.scale_bounds(current) == (low, high)


def test_check_scale_names_the_allowed_range() -> None:
    with pytest.raises(UsageError) as caught:
        streams.check_scale("s", 3, 7)
    assert "2 to 6" in (caught.value.hint or "")
    streams.check_scale("s", 3, 2)
    streams.check_scale("s", 3, 6)


def test_create_request_rejects_inconsistent_input() -> None:
    def make(
        name: str = "s",
        shards: int | None = 1,
        *,
        role_name: str | None = None,
        retention_hours: int | None = None,
        wait: bool = True,
    ) -> streams.CreateRequest:
        return streams.create_request(
            name,
            shards,
            on_demand=False,
            principal=TWILIO,
            role_name=role_name,
            retention_hours=retention_hours,
            wait=wait,
        )

    assert make().shards == 1
    with pytest.raises(UsageError, match="SHARDS is required"):
        make(shards=None)
    with pytest.raises(UsageError, match="between 1 and"):
        make(shards=0)
    with pytest.raises(UsageError, match="exclude each other"):
        streams.create_request("s", 1, on_demand=True, principal=TWILIO)
    assert streams.create_request("s", None, on_demand=True, principal=TWILIO).shards is None
    with pytest.raises(UsageError, match="retention"):
        make(retention_hours=23)
    with pytest.raises(UsageError, match="role name"):
        make(role_name="no spaces allowed")
    assert make(retention_hours=48, wait=False).wait  # retention can only change once ACTIVE
