"""`twilio-es subscription list/show/delete/update/add-type/remove-type/set-version`."""

from __future__ import annotations

from tests.conftest import active_webhook_sink
from tests.fixture_types import CliRunner, EventsEmulator

DELIVERED = "com.twilio.messaging.message.delivered"
SENT = "com.twilio.messaging.message.sent"
READ = "com.twilio.messaging.message.read"


def subscribe(cli: CliRunner, sink: str, *types: str) -> str:
    args = ["subscribe", "--sink", sink, "--json"]
    for name in types:
        args += ["--type", name]
    result = cli(*args)
    assert result.exit_code == 0, result.stderr
    return str(result.json()["sid"])


def stored(emulator: EventsEmulator, sid: str) -> dict[str, int]:
    return dict(emulator.service.subscription(sid).types)


def test_list_filters_by_sink_and_shows_versions(
    twilio_env: EventsEmulator, cli: CliRunner
) -> None:
    first, second = active_webhook_sink(), active_webhook_sink()
    a = subscribe(cli, first, f"{DELIVERED}:2")
    b = subscribe(cli, second, f"{SENT}:1", f"{READ}:3")
    everything = cli("subscription", "list", "--json")
    assert everything.exit_code == 0, everything.stderr
    assert {s["sid"] for s in everything.json()} == {a, b}
    only = cli("subscription", "list", "--sink", second, "--json")
    assert only.exit_code == 0, only.stderr
    [row] = only.json()
    assert row["sid"] == b
    assert row["sink_sid"] == second
    assert sorted((t["type"], t["schema_version"]) for t in row["types"]) == [(READ, 3), (SENT, 1)]
    table = cli("subscription", "list")
    assert f"{DELIVERED}:2" in table.stdout
    assert a in table.stdout and b in table.stdout


def test_list_empty_says_so_on_stderr(twilio_env: EventsEmulator, cli: CliRunner) -> None:
    result = cli("subscription", "list")
    assert result.exit_code == 0
    assert result.stdout == ""
    assert "No subscriptions" in result.stderr
    assert cli("subscription", "list", "--json").json() == []


def test_show_includes_subscribed_events(twilio_env: EventsEmulator, cli: CliRunner) -> None:
    sid = subscribe(cli, active_webhook_sink(), f"{DELIVERED}:4", f"{SENT}:2")
    result = cli("subscription", "show", sid, "--json")
    assert result.exit_code == 0, result.stderr
    data = result.json()
    assert data["sid"] == sid
    assert {t["type"]: t["schema_version"] for t in data["types"]} == {DELIVERED: 4, SENT: 2}
    human = cli("subscription", "show", sid)
    assert sid in human.stdout and DELIVERED in human.stdout


def test_show_missing_and_malformed(twilio_env: EventsEmulator, cli: CliRunner) -> None:
    missing = "DF" + "a" * 32
    result = cli("subscription", "show", missing)
    assert result.exit_code == 4
    assert f"Subscription {missing} does not exist" in result.stderr
    assert cli("subscription", "show", "DG" + "a" * 32).exit_code == 2


def test_update_description(twilio_env: EventsEmulator, cli: CliRunner) -> None:
    sid = subscribe(cli, active_webhook_sink(), DELIVERED)
    result = cli("subscription", "update", sid, "--description", "prod messaging", "--json")
    assert result.exit_code == 0, result.stderr
    assert result.json()["description"] == "prod messaging"
    assert twilio_env.service.subscription(sid).description == "prod messaging"
    assert cli("subscription", "update", sid, "--description", " ").exit_code == 2


def test_delete_asks_unless_yes(twilio_env: EventsEmulator, cli: CliRunner) -> None:
    sid = subscribe(cli, active_webhook_sink(), DELIVERED)
    refused = cli("subscription", "delete", sid)  # stdin is not a terminal: no one to ask
    assert refused.exit_code == 2
    assert "--yes" in refused.stderr
    assert len(twilio_env.service.list_subscriptions()) == 1
    done = cli("subscription", "delete", sid, "--yes")
    assert done.exit_code == 0, done.stderr
    assert twilio_env.service.list_subscriptions() == []
    again = cli("subscription", "delete", sid, "--yes")
    assert again.exit_code == 4


def test_add_type_checks_the_catalogue_and_pins(twilio_env: EventsEmulator, cli: CliRunner) -> None:
    sid = subscribe(cli, active_webhook_sink(), f"{DELIVERED}:2")
    result = cli("subscription", "add-type", sid, READ, f"{SENT}:3", "--json")
    assert result.exit_code == 0, result.stderr
    assert stored(twilio_env, sid) == {DELIVERED: 2, READ: 8, SENT: 3}
    assert f"using the latest: schema version 8 for {READ}" in result.stderr
    # Already there: point at set-version.
    clash = cli("subscription", "add-type", sid, DELIVERED)
    assert clash.exit_code == 2
    assert "set-version" in clash.stderr
    # Unknown: suggestion, nothing changed.
    typo = cli("subscription", "add-type", sid, "com.twilio.messaging.message.rede")
    assert typo.exit_code == 4
    assert "Did you mean" in typo.stderr
    assert stored(twilio_env, sid) == {DELIVERED: 2, READ: 8, SENT: 3}


def test_add_type_glob_skips_types_already_there(
    twilio_env: EventsEmulator, cli: CliRunner
) -> None:
    sid = subscribe(cli, active_webhook_sink(), f"{DELIVERED}:2")
    result = cli("subscription", "add-type", sid, "com.twilio.messaging.message.*")
    assert result.exit_code == 0, result.stderr
    types = stored(twilio_env, sid)
    assert types[DELIVERED] == 2  # untouched
    assert len(types) == 6


def test_remove_type(twilio_env: EventsEmulator, cli: CliRunner) -> None:
    sid = subscribe(cli, active_webhook_sink(), f"{DELIVERED}:2", f"{SENT}:1")
    result = cli("subscription", "remove-type", sid, SENT, "--json")
    assert result.exit_code == 0, result.stderr
    assert stored(twilio_env, sid) == {DELIVERED: 2}
    absent = cli("subscription", "remove-type", sid, SENT)
    assert absent.exit_code == 4
    assert f"does not include {SENT}" in absent.stderr
    last = cli("subscription", "remove-type", sid, DELIVERED)
    assert last.exit_code == 2
    assert "subscription delete" in last.stderr
    assert stored(twilio_env, sid) == {DELIVERED: 2}


def test_set_version(twilio_env: EventsEmulator, cli: CliRunner) -> None:
    sid = subscribe(cli, active_webhook_sink(), f"{DELIVERED}:2")
    result = cli("subscription", "set-version", sid, DELIVERED, "3", "--json")
    assert result.exit_code == 0, result.stderr
    assert result.json()["types"] == [{"type": DELIVERED, "schema_version": 3}]
    assert stored(twilio_env, sid) == {DELIVERED: 3}
    too_high = cli("subscription", "set-version", sid, DELIVERED, "42")
    assert too_high.exit_code == 4
    assert "has no schema version 42" in too_high.stderr
    assert cli("subscription", "set-version", sid, DELIVERED, "x").exit_code == 2
    assert cli("subscription", "set-version", sid, SENT, "1").exit_code == 4
    assert stored(twilio_env, sid) == {DELIVERED: 3}
