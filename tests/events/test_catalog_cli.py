"""`twilio-es types` and `twilio-es schema` against the Events v1 emulator's catalogue."""

from __future__ import annotations

import json
import urllib.request
from base64 import b64encode
from pathlib import Path
from typing import Any

import pytest

from tests.fixture_types import CliRunner, EventsEmulator
from twilio_es_cli.local.catalog_data import EVENT_TYPES, SCHEMAS

ROOT = Path(__file__).resolve().parents[2]
REAL_SCHEMA = ROOT / "tests" / "data" / "twilio-schemas" / "Messaging.MessageStatus.4.json"
MESSAGE_STATUS = next(s for s in SCHEMAS if s.id == "Messaging.MessageStatus")


def _served(emulator: EventsEmulator, path: str) -> Any:
    """What the emulator serves at ``path``, fetched by hand (not through our code)."""
    token = b64encode(f"{emulator.account_sid}:{emulator.auth_token}".encode()).decode()
    request = urllib.request.Request(
        emulator.url + path, headers={"Authorization": f"Basic {token}"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def test_types_list_pages_through_everything(twilio_env: EventsEmulator, cli: CliRunner) -> None:
    result = cli("types", "list", "--json")
    assert result.exit_code == 0, result.stderr
    listed = result.json()
    assert [t["type"] for t in listed] == [t.type for t in EVENT_TYPES]
    delivered = next(t for t in listed if t["type"] == "com.twilio.messaging.message.delivered")
    assert delivered["schema_id"] == "Messaging.MessageStatus"
    assert delivered["status"] == "available"


def test_types_list_search_and_schema_filter(twilio_env: EventsEmulator, cli: CliRunner) -> None:
    search = cli("types", "list", "--search", "TASK", "--json")
    assert search.exit_code == 0, search.stderr
    assert {t["type"] for t in search.json()} == {
        t.type for t in EVENT_TYPES if "task" in t.type or "task" in t.description.lower()
    }
    by_schema = cli("types", "list", "--schema", "VoiceInsights.CallSummary", "--json")
    assert by_schema.exit_code == 0, by_schema.stderr
    assert {t["type"] for t in by_schema.json()} == {
        t.type for t in EVENT_TYPES if t.schema_id == "VoiceInsights.CallSummary"
    }
    human = cli("types", "list", "--search", "delivery.updated")
    assert "discontinued" in human.stdout
    nothing = cli("types", "list", "--search", "no-such-thing-at-all")
    assert nothing.exit_code == 0
    assert "No event types" in nothing.stderr


def test_types_show(twilio_env: EventsEmulator, cli: CliRunner) -> None:
    result = cli("types", "show", "com.twilio.messaging.message.delivered", "--json")
    assert result.exit_code == 0, result.stderr
    data = result.json()
    assert data["type"] == "com.twilio.messaging.message.delivered"
    assert data["schema_id"] == "Messaging.MessageStatus"
    assert data["latest_schema_version"] == MESSAGE_STATUS.latest_version
    human = cli("types", "show", "com.twilio.messaging.message.delivered")
    assert "Messaging.MessageStatus" in human.stdout


def test_types_show_unknown_suggests(twilio_env: EventsEmulator, cli: CliRunner) -> None:
    result = cli("types", "show", "com.twilio.messaging.message.deliverd")
    assert result.exit_code == 4
    assert "Did you mean com.twilio.messaging.message.delivered" in result.stderr


def test_schema_versions(twilio_env: EventsEmulator, cli: CliRunner) -> None:
    result = cli("schema", "versions", "Messaging.MessageStatus", "--json")
    assert result.exit_code == 0, result.stderr
    versions = result.json()
    assert [v["schema_version"] for v in versions] == list(
        range(1, MESSAGE_STATUS.latest_version + 1)
    )
    assert [v["date_created"][:10] for v in versions] == [
        d[:10] for d in MESSAGE_STATUS.version_dates
    ]
    assert all(v["raw"] for v in versions)
    missing = cli("schema", "versions", "No.SuchSchema")
    assert missing.exit_code == 4
    assert "Schema 'No.SuchSchema' is unknown" in missing.stderr


def test_schema_show_prints_the_served_raw_document(
    twilio_env: EventsEmulator, cli: CliRunner
) -> None:
    result = cli("schema", "show", "Messaging.MessageStatus", "--version", "2")
    assert result.exit_code == 0, result.stderr
    printed = json.loads(result.stdout)
    raw_url = _served(twilio_env, "/v1/Schemas/Messaging.MessageStatus/Versions/2")["raw"]
    assert raw_url.startswith(twilio_env.url)
    assert printed == _served(twilio_env, raw_url[len(twilio_env.url) :])
    assert isinstance(printed, dict) and printed  # a JSON Schema document, not an envelope
    assert "Messaging.MessageStatus version 2" in result.stderr


def test_schema_show_latest_is_the_real_schema(twilio_env: EventsEmulator, cli: CliRunner) -> None:
    result = cli("schema", "show", "Messaging.MessageStatus")
    assert result.exit_code == 0, result.stderr
    real = json.loads(REAL_SCHEMA.read_text(encoding="utf-8"))  # v4; v7 adds fields (i9)
    shown = json.loads(result.stdout)
    assert {k: v for k, v in shown["properties"].items() if k in real["properties"]} == real[
        "properties"
    ]
    assert shown["required"] == real["required"]
    assert f"version {MESSAGE_STATUS.latest_version}" in result.stderr


def test_schema_show_errors(twilio_env: EventsEmulator, cli: CliRunner) -> None:
    too_high = cli("schema", "show", "Messaging.MessageStatus", "--version", "99")
    assert too_high.exit_code == 4
    assert "has no version 99" in too_high.stderr
    assert cli("schema", "show", "Messaging.MessageStatus", "--version", "0").exit_code == 2
    assert cli("schema", "show", "No.SuchSchema").exit_code == 4


def test_wrong_credentials_on_a_list_call_are_exit_3(
    twilio_env: EventsEmulator, cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    # List calls fail inside the SDK's pager (not as TwilioRestException): still exit 3.
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "wrong-token")
    result = cli("types", "list")
    assert result.exit_code == 3
    assert "Twilio refused to list event types" in result.stderr
    assert "TWILIO_AUTH_TOKEN" in result.stderr
