"""The trust-policy check the emulator performs before assuming a sink's role (moto does not).

Pure function, AWS semantics: the principal may be written as an account id or its root ARN,
lists are allowed, the external id condition must match when present, an explicit Deny wins.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import pytest

from twilio_es_cli.config import DEFAULT_TWILIO_PRINCIPAL as TWILIO
from twilio_es_cli.local.delivery import trust_problem


def _policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def _allow(
    principal: Any, external_id: Any = "ext", action: Any = "sts:AssumeRole"
) -> dict[str, Any]:
    statement: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": {"AWS": principal},
        "Action": action,
    }
    if external_id is not None:
        statement["Condition"] = {"StringEquals": {"sts:ExternalId": external_id}}
    return statement


@pytest.mark.parametrize(
    "policy",
    [
        _policy(_allow(TWILIO)),
        _policy(_allow("177261743968")),
        _policy(_allow(["arn:aws:iam::111122223333:root", TWILIO])),
        _policy(_allow(TWILIO, external_id=["other", "ext"])),
        _policy(_allow(TWILIO, action=["sts:TagSession", "sts:AssumeRole"])),
        _policy(_allow(TWILIO, external_id=None)),  # AWS allows a role without the condition
        _policy(_allow("arn:aws:iam::111122223333:root"), _allow(TWILIO)),
    ],
)
def test_trusted(policy: dict[str, Any]) -> None:
    assert trust_problem(policy, TWILIO, "ext") is None


@pytest.mark.parametrize(
    ("policy", "reason"),
    [
        (_policy(_allow("arn:aws:iam::111122223333:root")), "does not name"),
        (_policy(_allow("arn:aws:iam::177261743968:user/x")), "does not name"),
        (_policy(_allow(TWILIO, external_id="nope")), "external id does not match"),
        (_policy(_allow(TWILIO, action="sts:AssumeRoleWithWebIdentity")), "does not name"),
        (_policy(_allow(TWILIO), {**_allow(TWILIO), "Effect": "Deny"}), "denies"),
        (_policy(), "does not name"),
    ],
)
def test_untrusted(policy: dict[str, Any], reason: str) -> None:
    problem = trust_problem(policy, TWILIO, "ext")
    assert problem is not None and reason in problem


def test_url_encoded_document_as_iam_returns_it_raw() -> None:
    encoded = quote(json.dumps(_policy(_allow(TWILIO))))
    assert trust_problem(encoded, TWILIO, "ext") is None
    assert trust_problem(encoded, TWILIO, "other") is not None
