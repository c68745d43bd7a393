"""Passwords in URLs (``https://user:pass@host/...``) are secrets: never shown unless asked.

A webhook sink's destination may carry Basic-auth credentials (Twilio supports them). Every
place that shows a sink hides the password the way the external id and write key are hidden
(``--show-secrets`` shows it); ``export`` writes it as a ``${env:NAME}`` reference and names
the variable; a password in an --endpoint-url / --twilio-api-url / --forward-to never comes
back in an error, a warning or a ``--debug`` log or traceback.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import events_client
from tests.fixture_types import CliRunner, EventsEmulator, SubprocessRunner
from twilio_es_cli.safe_text import redact_urls, url_secret

PASSWORD = "s3cret-Pass"
DESTINATION = f"https://alice:{PASSWORD}@hooks.example.com/events?x=1"


def _sink() -> str:
    sink: Any = events_client().events.v1.sinks.create(
        description="hook with basic auth",
        sink_configuration={"destination": DESTINATION, "method": "POST"},
        sink_type="webhook",
    )
    return str(sink.sid)


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("https://alice:pw@host/x", "https://alice:****@host/x"),
        ("see 'http://u:p@ss@host:1/a?b=c' now", "see 'http://u:****@host:1/a?b=c' now"),
        ("https://token@host/", "https://****@host/"),
        ("https://host/a@b", "https://host/a@b"),  # an "@" in the path is no userinfo
        ("http://u:p@[::1", "http://u:****@[::1"),  # malformed URLs too
        ("no url here: a@b", "no url here: a@b"),
    ],
)
def test_redact_urls(text: str, shown: str) -> None:
    assert redact_urls(text) == shown
    assert redact_urls(shown) == shown


def test_url_secret_spans_what_is_hidden() -> None:
    url = "https://alice:p@ss@host/x"
    start, end = url_secret(url) or (0, 0)
    assert url[start:end] == "p@ss"
    assert url_secret("https://host/x") is None


def test_sink_views_hide_the_password(twilio_env: EventsEmulator, cli: CliRunner) -> None:
    sid = _sink()
    runs = [
        cli("sink", "list"),
        cli("sink", "list", "--json"),
        cli("sink", "show", sid),
        cli("sink", "show", sid, "--json"),
        cli("status"),
        cli("status", "--json"),
    ]
    for result in runs:
        assert result.exit_code in (0, 5), result.stderr
        assert PASSWORD not in result.stdout + result.stderr
    assert "https://alice:****@hooks.example.com/events?x=1" in runs[1].stdout
    shown = cli("sink", "show", sid, "--json", "--show-secrets")
    assert shown.json()["sink_configuration"]["destination"] == DESTINATION  # when asked


def test_sink_create_hides_the_password(twilio_env: EventsEmulator, cli: CliRunner) -> None:
    for args in ([], ["--json"]):
        created = cli("sink", "create", "webhook", "--destination", DESTINATION, *args)
        assert created.exit_code == 0, created.stderr
        assert PASSWORD not in created.stdout + created.stderr
        assert "alice:****@hooks.example.com" in created.stdout


def test_export_writes_a_reference_and_plan_reads_it(
    twilio_env: EventsEmulator, cli: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sid = _sink()
    out = tmp_path / "twilio-es.yaml"
    exported = cli("export", "-o", str(out))
    assert exported.exit_code == 0, exported.stderr
    text = out.read_text(encoding="utf-8")
    assert PASSWORD not in text + exported.stderr
    variable = "TWILIO_ES_HOOKS_EXAMPLE_COM_DESTINATION_PASSWORD"
    assert f"https://alice:${{env:{variable}}}@hooks.example.com/events?x=1" in text
    assert f"set {variable} (the password in its destination URL" in exported.stderr
    assert f"sink show {sid} --show-secrets" in exported.stderr
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o644  # shareable: no secret inside

    monkeypatch.setenv(variable, PASSWORD)
    same = cli("plan", "-f", str(out), "--detailed-exitcode")
    assert same.exit_code == 0, same.stdout + same.stderr
    monkeypatch.setenv(variable, "another-password")
    changed = cli("plan", "-f", str(out), "--json")
    assert changed.exit_code == 0, changed.stderr
    assert "destination password differs" in changed.stdout
    assert "another-password" not in changed.stdout and PASSWORD not in changed.stdout


def test_plan_shows_a_changed_url_without_its_password(
    twilio_env: EventsEmulator, cli: CliRunner, tmp_path: Path
) -> None:
    _sink()
    path = tmp_path / "f.yaml"
    path.write_text(
        "version: 1\nproject: p\nsinks:\n  h:\n    type: webhook\n"
        f"    destination: https://bob:{PASSWORD}2@other.example.com/e\n",
        encoding="utf-8",
    )
    planned = cli("plan", "-f", str(path), "--prune")
    assert planned.exit_code == 0, planned.stderr
    assert PASSWORD not in planned.stdout


@pytest.mark.parametrize(
    ("args", "quoted"),
    [
        (["--twilio-api-url", f"http://bob:{PASSWORD}@[::1", "sink", "list"], True),
        (["--twilio-api-url", f"http://bob:{PASSWORD}@127.0.0.1:1", "sink", "list"], True),
        (["--endpoint-url", f"http://bob:{PASSWORD}@127.0.0.1:1", "stream", "list"], True),
        (["--endpoint-url", f"http://bob:{PASSWORD}@127.0.0.1:99999", "stream", "list"], True),
        (["sink", "create", "webhook", "--destination", f"http://bob:{PASSWORD}@[::1"], False),
        (["sink", "create", "webhook", "--destination", f"ftp://bob:{PASSWORD}@x/"], False),
        (["sink", "create", "webhook", "--destination", f"http://bob:{PASSWORD}@h:99999/"], False),
        (
            ["webhook", "listen", "--port", "0", "--forward-to", f"http://bob:{PASSWORD}@[::1"],
            False,
        ),
    ],
)
@pytest.mark.parametrize("debug", [False, True])
def test_errors_and_debug_logs_never_echo_a_url_password(
    twilio_env: EventsEmulator,
    cli_subprocess: SubprocessRunner,
    args: list[str],
    quoted: bool,
    debug: bool,
) -> None:
    """``quoted``: the error quotes the URL (so it must show it without the password)."""
    result = cli_subprocess(*(["--debug"] if debug else []), *args, timeout=60)
    assert result.exit_code in (1, 2, 3), result.stderr
    assert PASSWORD not in result.stdout + result.stderr
    if quoted:
        assert "bob:****@" in result.stderr
    if not debug:
        assert "Traceback" not in result.stderr
        assert "unexpected" not in result.stderr
