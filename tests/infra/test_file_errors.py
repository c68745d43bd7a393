"""Bad files: exit 2 with FILE:LINE, before any remote call.

Without credentials in the environment any remote call would end in exit 3 (configuration), so
exit 2 with the located message proves the file was refused before anything was asked.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fixture_types import CliRunner, EventsEmulator, FileWriter

GOOD_SINK = """
version: 1
streams:
  events:
    shards: 1
sinks:
  main:
    type: kinesis
    stream: events
subscriptions:
  msgs:
    sink: main
    types:
      - com.twilio.messaging.message.delivered:2
"""


@pytest.mark.parametrize(
    ("text", "line", "message", "hint"),
    [
        (
            GOOD_SINK.replace("    shards: 1", "    shrads: 1"),
            4,
            "streams.events.shrads: unknown key 'shrads'",
            "Did you mean 'shards'?",
        ),
        (
            GOOD_SINK.replace("    stream: events", "    stream: events\n    descripton: x"),
            9,
            "sinks.main.descripton: unknown key",
            "Did you mean 'description'?",
        ),
        (
            GOOD_SINK.replace("shards: 1", "shards: one"),
            4,
            "streams.events.shards: Input should be a valid integer",
            None,
        ),
        (
            GOOD_SINK.replace("stream: events", "stream: evnts"),
            8,
            "sinks.main.stream: stream 'evnts' is not declared under streams",
            "Did you mean 'events'?",
        ),
        (
            GOOD_SINK.replace("    sink: main", "    sink: mian"),
            11,
            "subscriptions.msgs.sink: sink 'mian' is not declared under sinks",
            "Did you mean 'main'?",
        ),
        (
            GOOD_SINK.replace("type: kinesis", "type: kafka"),
            7,
            "sinks.main.type: type must be kinesis, webhook or segment",
            None,
        ),
        (
            GOOD_SINK + "sinks:\n  other:\n    type: segment\n    write_key: k\n",
            14,
            "sinks: duplicate key (first at line 5)",
            None,
        ),
        (
            GOOD_SINK.replace("delivered:2", "delivered:0"),
            13,
            "subscriptions.msgs.types.0: ",
            None,
        ),
        (
            GOOD_SINK.replace("version: 1", "version: 2"),
            1,
            "version: version must be 1",
            None,
        ),
        (
            GOOD_SINK.replace("    stream: events", "    stream: events\n    arn: x"),
            6,
            "give either stream or arn/role_arn/external_id, not both",
            None,
        ),
        (
            "version: 1\nsinks:\n  s:\n    type: segment\n    write_key: ${env:NO_SUCH_KEY}\n",
            5,
            "sinks.s.write_key: ${env:NO_SUCH_KEY} is not set",
            "export NO_SUCH_KEY=",
        ),
        ("version: 1\nsinks: [a\n", 3, "not valid YAML", None),
    ],
)
def test_bad_file_is_exit_2_with_line(
    cli: CliRunner, write_file: FileWriter, text: str, line: int, message: str, hint: str | None
) -> None:
    path = write_file(text)
    result = cli("plan", "-f", path)
    assert result.exit_code == 2, result.stderr
    assert f"{path}:{line}: " in result.stderr
    assert message in result.stderr
    if hint is not None:
        assert hint in result.stderr


def test_detailed_exitcode_reports_a_bad_file_as_1(cli: CliRunner, write_file: FileWriter) -> None:
    path = write_file(GOOD_SINK.replace("shards: 1", "shards: 0"))
    result = cli("plan", "-f", path, "--detailed-exitcode")
    assert result.exit_code == 1  # 2 would read as "changes" to CI
    assert f"{path}:4: streams.events.shards" in result.stderr


def test_too_many_sinks_for_the_account(cli: CliRunner, write_file: FileWriter) -> None:
    sinks = "".join(
        f"  s{i}:\n    type: webhook\n    destination: https://example.com/{i}\n"
        for i in range(101)
    )
    path = write_file(f"version: 1\nsinks:\n{sinks}")
    result = cli("plan", "-f", path)
    assert result.exit_code == 2
    assert f"{path}:2: sinks: 101 sinks declared; a Twilio account may have at most 100" in (
        result.stderr
    )


def test_missing_file_says_how_to_start(
    cli: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = cli("plan")
    assert result.exit_code == 2
    assert "twilio-es.yaml does not exist" in result.stderr
    assert "twilio-es export" in result.stderr


@pytest.mark.parametrize(
    ("types", "message", "hint"),
    [
        (
            "com.twilio.messaging.message.delivred",
            "Unknown event type 'com.twilio.messaging.message.delivred'",
            "Did you mean com.twilio.messaging.message.delivered",
        ),
        (
            "com.twilio.conversations.delivery.updated",
            "is discontinued",
            None,
        ),
        (
            "com.twilio.messaging.message.delivered:9",
            "has no schema version 9",
            None,
        ),
    ],
)
def test_catalogue_problems_are_located(
    twilio_env: EventsEmulator,
    cli: CliRunner,
    write_file: FileWriter,
    types: str,
    message: str,
    hint: str | None,
) -> None:
    text = f"""
    version: 1
    sinks:
      h:
        type: webhook
        destination: https://example.com/x
    subscriptions:
      s:
        sink: h
        types:
          - com.twilio.messaging.message.sent
          - {types}
    """
    path = write_file(text)
    result = cli("plan", "-f", path)
    assert result.exit_code == 2, result.stderr
    assert f"{path}:11: subscriptions.s.types.1: " in result.stderr
    assert message in result.stderr
    if hint:
        assert hint in result.stderr
    assert events_sinks_count(twilio_env) == 0


def events_sinks_count(emulator: EventsEmulator) -> int:
    from tests.conftest import events_client

    return len(events_client().events.v1.sinks.list())
