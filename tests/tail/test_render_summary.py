"""The pretty line's data summary shows what tells events apart, not envelope repeats."""

from __future__ import annotations

from twilio_es_cli.render_events import format_lag, short_source, short_time, summarise

MESSAGE_STATUS = {
    "accountSid": "AC00000000000000000000000000000000",
    "apiVersion": "2010-04-01",
    "eventName": "com.twilio.messaging.message.delivered",
    "from": "+15550001111",
    "to": "+15552223333",
    "messageSid": "SM00000000000000000000000000000001",
    "messageStatus": "DELIVERED",
    "timestamp": "2026-11-23T05:00:00.000Z",
}


def test_status_and_parties_come_first_and_envelope_repeats_are_dropped() -> None:
    line = summarise(MESSAGE_STATUS, width=80)
    assert line.startswith("messageStatus=DELIVERED from=+15550001111 to=+15552223333")
    assert "messageSid=SM" in line
    for noise in ("accountSid", "apiVersion", "eventName", "timestamp"):
        assert noise not in line


def test_width_is_respected_and_non_objects_are_shown_as_json() -> None:
    assert len(summarise(MESSAGE_STATUS, width=30)) <= 30
    assert summarise([1, 2]) == "[1, 2]"
    assert summarise(None) == ""
    assert summarise({"test_id": "abc", "nested": {"a": 1}}) == "test_id=abc"


def test_source_loses_only_the_account_prefix() -> None:
    account = "AC" + "0" * 32
    assert short_source(f"/v1/Accounts/{account}/Messaging.MessageStatus") == (
        "Messaging.MessageStatus"
    )
    assert short_source(f"/2010-04-01/Accounts/{account}/Messages/SM1") == "Messages/SM1"
    assert short_source("/v1/Sinks/DG1") == "/v1/Sinks/DG1"
    assert short_source("Sink") == "Sink"


def test_lag_and_time_stay_short() -> None:
    assert [format_lag(x) for x in (0.25, -0.4, 42, 720, 5400, 90 * 86400)] == [
        "0.2s",
        "-0.4s",
        "42.0s",
        "12m",
        "1.5h",
        "90d",
    ]
    assert short_time("2026-11-23T05:42:01.231Z", "2026-11-23") == "05:42:01.231Z"
    assert short_time("2026-11-22T05:42:01.231Z", "2026-11-23") == "2026-11-22 05:42:01.231Z"
