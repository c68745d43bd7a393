"""A failure at each step of apply stops the run, says what was done and not, and a re-run
converges: the same end state as an apply that never failed, and then a plan with no changes.

The failure is injected at the executor's step announcement (the seam between steps), and
inside a step (a sink whose delivery cannot be proven is deleted again).
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import events_client
from tests.fixture_types import CliRunner, EventsEmulator, FileWriter
from twilio_es_cli.errors import ApiError, CheckFailed

BEFORE = """
version: 1
project: p
sinks:
  hook: {type: webhook, destination: "http://127.0.0.1:9/a"}
  gone: {type: webhook, destination: "http://127.0.0.1:9/g"}
  other: {type: webhook, destination: "http://127.0.0.1:9/o"}
subscriptions:
  s1: {sink: hook, types: [com.twilio.messaging.message.delivered:1]}
  s2: {sink: gone, types: [com.twilio.messaging.message.sent:1]}
  s4: {sink: other, types: [com.twilio.messaging.message.read:1]}
"""

AFTER = """
version: 1
project: p
streams:
  st: {shards: 1}
sinks:
  hook: {type: webhook, destination: "http://127.0.0.1:9/b"}
  kin: {type: kinesis, stream: st}
  other: {type: webhook, destination: "http://127.0.0.1:9/o", description: renamed}
subscriptions:
  s1: {sink: hook, types: [com.twilio.messaging.message.delivered:1]}
  s4:
    sink: other
    types: [com.twilio.messaging.message.read:1, com.twilio.messaging.message.sent:1]
  s5: {sink: kin, types: [com.twilio.messaging.message.sent:2]}
"""

STEPS = [
    "create stream st and its IAM role",
    "create new sink for hook and prove delivery",
    "create sink kin and prove delivery",
    "update sink other (description changes)",
    "create subscription s1 on the new sink",
    "create subscription s5",
    "update subscription s4",
    "delete old subscription s1",
    "delete subscription s2",
    "delete old sink hook",
    "delete sink gone",
]


def _state() -> tuple[list[tuple[str, str]], list[tuple[str, tuple[str, ...]]]]:
    client: Any = events_client()
    sinks = {s.sid: s for s in client.events.v1.sinks.list()}
    sink_view = sorted(
        (s.description, s.sink_configuration.get("destination") or "kinesis")
        for s in sinks.values()
    )
    subs = sorted(
        (
            s.description + " on " + sinks[s.sink_sid].description,
            tuple(sorted(f"{e.type}:{e.schema_version}" for e in s.subscribed_events.list())),
        )
        for s in client.events.v1.subscriptions.list()
    )
    return sink_view, subs


EXPECTED = (
    [
        ("hook [twilio-es:p/hook]", "http://127.0.0.1:9/b"),
        ("kin [twilio-es:p/kin]", "kinesis"),
        ("renamed [twilio-es:p/other]", "http://127.0.0.1:9/o"),
    ],
    [
        (
            "s1 [twilio-es:p/s1] on hook [twilio-es:p/hook]",
            ("com.twilio.messaging.message.delivered:1",),
        ),
        (
            "s4 [twilio-es:p/s4] on renamed [twilio-es:p/other]",
            ("com.twilio.messaging.message.read:1", "com.twilio.messaging.message.sent:1"),
        ),
        ("s5 [twilio-es:p/s5] on kin [twilio-es:p/kin]", ("com.twilio.messaging.message.sent:2",)),
    ],
)


@pytest.mark.parametrize("fail_at", range(1, len(STEPS) + 1))
def test_failure_at_each_step_then_rerun_converges(
    twilio_env: EventsEmulator,
    cli: CliRunner,
    write_file: FileWriter,
    monkeypatch: pytest.MonkeyPatch,
    fail_at: int,
) -> None:
    from twilio_es_cli.infra.executor import Executor

    assert cli("apply", "-f", write_file(BEFORE, "before.yaml"), "--yes").exit_code == 0
    after = write_file(AFTER, "after.yaml")
    original = Executor.announce

    def failing(self: Executor, number: int, total: int, step: Any) -> None:
        assert total == len(STEPS)
        assert step.text.startswith(STEPS[number - 1]), step.text
        if number == fail_at:
            raise ApiError("injected failure")
        original(self, number, total, step)

    monkeypatch.setattr(Executor, "announce", failing)
    failed = cli("apply", "-f", after, "--yes", "--timeout", "30")
    assert failed.exit_code == 1
    assert f"step {fail_at} of {len(STEPS)} failed" in failed.stderr
    for text in STEPS[: fail_at - 1]:
        assert f"done: {text}" in failed.stderr
    for text in STEPS[fail_at - 1 :]:
        assert f"not done: {text}" in failed.stderr
    assert "run `twilio-es apply` again to continue" in failed.stderr

    monkeypatch.setattr(Executor, "announce", original)
    rerun = cli("apply", "-f", after, "--yes", "--timeout", "30")
    assert rerun.exit_code == 0, rerun.stderr
    assert _state() == EXPECTED
    replan = cli("plan", "-f", after, "--detailed-exitcode")
    assert replan.exit_code == 0, replan.stdout


def test_unproven_new_sink_is_deleted_again(
    twilio_env: EventsEmulator,
    cli: CliRunner,
    write_file: FileWriter,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from twilio_es_cli.infra import executor

    def cannot_prove(env: Any, sink: Any, **kwargs: Any) -> str:
        raise CheckFailed("no test event arrived")

    original = executor.prove
    monkeypatch.setattr(executor, "prove", cannot_prove)
    path = write_file(AFTER)
    failed = cli("apply", "-f", path, "--yes")
    assert failed.exit_code == 5
    assert "could not be proven: no test event arrived" in failed.stderr
    assert "deleted the new sink" in failed.stderr
    client: Any = events_client()
    assert client.events.v1.sinks.list() == []  # nothing half-made
    assert "done: create stream st and its IAM role" in failed.stderr
    monkeypatch.setattr(executor, "prove", original)
    assert cli("apply", "-f", path, "--yes", "--timeout", "30").exit_code == 0
    assert _state() == EXPECTED
