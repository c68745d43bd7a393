"""`streams.create` against moto: what it made comes back as data, its progress goes to the
reporter it is given (and nowhere else)."""

from __future__ import annotations

from typing import Any

import pytest

from twilio_es_cli import progress, streams

TWILIO = "arn:aws:iam::177261743968:root"
ROLE = "twilio-es-twilio-events-us-east-1"
POLICY = "twilio-es-put-twilio-events"


def _create(report: progress.Reporter) -> streams.CreateResult:
    from twilio_es_cli.aws import AwsClients
    from twilio_es_cli.config import resolve_settings

    request = streams.create_request("twilio-events", 1, on_demand=False, principal=TWILIO)
    return streams.create(AwsClients(resolve_settings()), request, report=report)


def test_create_returns_what_it_made_and_reports_only_to_its_reporter(
    aws_env: str, iam_client: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    first = progress.Collect()
    made = _create(first)
    assert (made.stream_created, made.role_created, made.policy_added) == (True, True, False)
    assert made.created_any
    assert "Creating stream twilio-events (1 shard(s))" in first.notes
    assert f"IAM role {ROLE} created for Twilio ({TWILIO})" in first.steps
    assert made.config.external_id not in "\n".join(first.lines)

    again = progress.Collect()
    reused = _create(again)
    assert (reused.stream_created, reused.role_created, reused.created_any) == (
        False,
        False,
        False,
    )
    assert reused.config == made.config
    assert "Stream twilio-events already exists (ACTIVE); reusing it" in again.notes

    iam_client.delete_role_policy(RoleName=ROLE, PolicyName=POLICY)
    repaired = progress.Collect()
    fixed = _create(repaired)
    assert (fixed.stream_created, fixed.role_created, fixed.policy_added) == (False, False, True)
    assert fixed.created_any
    assert repaired.warnings == [f"IAM role {ROLE} had no policy {POLICY}; added it"]
    assert capsys.readouterr().err == ""  # every line went to the reporters
