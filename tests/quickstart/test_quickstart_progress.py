"""The quickstart core with a collecting reporter, against moto and the Events v1 emulator:
what each step did is read from data, and its lines go to the reporter it is given."""

from __future__ import annotations

import pytest

from twilio_es_cli import progress
from twilio_es_cli.clients import Clients
from twilio_es_cli.config import resolve_settings
from twilio_es_cli.quickstart import ALREADY_THERE, CREATED, Quickstart, make_request

TWILIO = "arn:aws:iam::177261743968:root"


def _quickstart(report: progress.Reporter) -> Quickstart:
    return Quickstart(Clients(resolve_settings()), report, quiet_cores=True)


def test_a_glob_is_explained_and_the_latest_pins_wait_for_step_4(twilio_env: object) -> None:
    report = progress.Collect()
    request = make_request(
        "s",
        1,
        ["com.twilio.messaging.message.*"],
        description=None,
        timeout=None,
        principal=TWILIO,
    )
    types, default = _quickstart(report).resolve(request)
    assert not default and len(types) > 1
    assert len(report.notes) == 1
    assert report.notes[0].startswith(f"com.twilio.messaging.message.* matched {len(types)} type")


def test_step_1_reads_what_streams_create_made_from_its_result(
    twilio_env: object, capsys: pytest.CaptureFixture[str]
) -> None:
    request = make_request("orders", 1, [], description=None, timeout=None, principal=TWILIO)
    first, again = progress.Collect(), progress.Collect()
    config = _quickstart(first).stream_and_role(request)
    assert _quickstart(again).stream_and_role(request) == config
    role = config.role_arn.rsplit("/", 1)[-1]
    assert first.steps == [
        f"1/5 stream + role: {CREATED} (stream orders (new), IAM role {role} (new))"
    ]
    assert again.steps == [f"1/5 stream + role: {ALREADY_THERE} (stream orders, IAM role {role})"]
    # streams.create's own lines are muted under the step line; the spinner is the caller's
    assert first.lines[0] == (
        "waiting: Stream orders and its IAM role: creating or checking (up to 600 s)"
    )
    assert first.notes == [] and first.warnings == []
    assert capsys.readouterr().err == ""
