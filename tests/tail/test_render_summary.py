"""The pretty line's data summary shows what tells events apart, not envelope repeats."""

from __future__ import annotations

from twilio_es_cli.tail.render import format_lag, short_source, short_time, summarise

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
    assert line == "DELIVERED +15550001111→+15552223333 SM00000000000000000000000000000001"
    for noise in ("accountSid", "apiVersion", "eventName", "timestamp"):
        assert noise not in line


def test_width_is_respected_and_non_objects_are_shown_as_json() -> None:
    assert len(summarise(MESSAGE_STATUS, width=30)) <= 30
    assert summarise([1, 2]) == "[1, 2]"
    assert summarise(None) == ""
    assert summarise({"test_id": "abc", "nested": {"a": 1}}) == "test_id=abc"


def test_a_sid_that_does_not_fit_is_shortened_and_other_items_are_left_out_whole() -> None:
    line = summarise(MESSAGE_STATUS, width=45)
    assert line == "DELIVERED +15550001111→+15552223333 SM000000…"
    assert summarise(MESSAGE_STATUS, width=40) == "DELIVERED +15550001111→+15552223333"
    failed = {**MESSAGE_STATUS, "messageStatus": "FAILED", "errorCode": 30003, "note": "x" * 50}
    line = summarise(failed, width=60)
    assert line == "FAILED +15550001111→+15552223333 err=30003 SM" + "0" * 14 + "…"
    assert len(line) == 60


def test_call_summary_and_taskrouter_show_what_tells_them_apart() -> None:
    call = {
        "account_sid": "AC1",
        "call_sid": "CA" + "2" * 32,
        "call_state": "completed",
        "processing_state": "complete",
        "direction": "inbound",
        "duration": 42,
        "from": {"caller": "+15550001111", "carrier": "X"},
        "to": {"callee": "+15552223333"},
    }
    line = summarise(call, 80, "com.twilio.voice.insights.call-summary.complete")
    assert line == f"completed +15550001111→+15552223333 42s inbound CA{'2' * 32}"[:79] + "…"
    task = {
        "sid": "EV1",
        "name": "task.created",
        "level": "INFO",
        "payload": {
            "eventtype": "task.created",
            "workspace_sid": "WS" + "3" * 32,
            "task_sid": "WT" + "4" * 32,
            "task_assignment_status": "pending",
            "task_queue_name": "Support",
            "worker_name": "ana",
        },
    }
    line = summarise(task, 80, "com.twilio.taskrouter.task.created")
    assert line == f"pending queue=Support worker=ana WT{'4' * 32}"


def test_control_characters_in_values_and_keys_stay_escaped() -> None:
    line = summarise({"status": "ok\x1b[2J", "note\x07": "\u202eevil"}, 80)
    assert "\x1b" not in line and "\x07" not in line and "\u202e" not in line
    assert line == "ok\\x1b[2J note\\x07=\\u202eevil"


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


def test_the_clock_drops_the_date_of_today_and_keeps_other_days_short() -> None:
    from twilio_es_cli.tail.render import clock, narrow_type

    today = "2026-11-23"
    assert clock("2026-11-23T05:42:01.231Z", today, millis=False) == "05:42:01Z"
    assert clock("2026-11-23T05:42:01.231Z", today, millis=True) == "05:42:01.231Z"
    assert clock("2026-11-22T05:42:01Z", today, millis=False) == "11-22 05:42:01Z"
    assert clock("2026-11-23T05:42:01+02:00", today, millis=False) == "05:42:01+02:00"
    assert clock("yesterday", today, millis=False) == "yesterday"
    assert narrow_type("com.twilio.messaging.message.delivered") == "message.delivered"
    assert narrow_type("com.twilio.eventstreams.test-event") == "eventstreams.test-event"
