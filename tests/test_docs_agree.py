"""The docs and the tool agree where a test can tell (issue 23 item 9): the commands
docs/output.md lists as exiting 4 on a mistyped event type do, and the stopped-sandbox rule
of docs/configuration.md (one try, no retry, the sandbox named) holds for `tail` too."""

from __future__ import annotations

import re
import socket
from pathlib import Path

import pytest

from tests.conftest import active_webhook_sink
from tests.fixture_types import CliRunner, EventsEmulator

DOCS = Path(__file__).resolve().parent.parent / "docs"
TYPO = "com.twilio.messaging.message.delivrd"


def _typo_commands() -> list[str]:
    text = " ".join((DOCS / "output.md").read_text(encoding="utf-8").split())
    sentence = re.search(r"a typo in an event type is 4 everywhere: (.*?) \(with", text)
    assert sentence, "docs/output.md no longer says which commands exit 4 on a typo"
    return re.findall(r"`([^`]+)`", sentence.group(1))


def _argv(command: str, sink: str, subscription: str) -> list[str]:
    return {
        "types show": ["types", "show", TYPO],
        "subscribe": ["subscribe", "--sink", sink, "--type", TYPO],
        "subscription add-type": ["subscription", "add-type", subscription, TYPO],
        "quickstart": ["quickstart", "typo-check", "--type", TYPO],
        "local emit": ["local", "emit", TYPO],
    }[command]


def test_every_command_the_docs_name_exits_4_on_a_mistyped_type(
    twilio_env: EventsEmulator, cli: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    commands = _typo_commands()
    assert "local emit" in commands and "subscribe" in commands, commands
    sink = active_webhook_sink()
    made = cli("subscribe", "--sink", sink, "--type", "com.twilio.messaging.message.sent", "--json")
    assert made.exit_code == 0, made.stderr
    for command in commands:
        result = cli(*_argv(command, sink, made.json()["sid"]))
        assert result.exit_code == 4, (command, result.stderr)
        assert "com.twilio.messaging.message.delivered" in result.stderr, (command, result.stderr)


def test_tail_with_the_sandbox_stopped_tries_once_and_names_it(
    cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = " ".join((DOCS / "configuration.md").read_text(encoding="utf-8").split())
    assert "does not retry" in text and "`tail` too" in text
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    for name, value in {
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    tries: list[object] = []
    connect = socket.socket.connect

    def counting(self: socket.socket, address: object) -> None:
        if isinstance(address, tuple) and address[1] == port:
            tries.append(address)
        connect(self, address)  # type: ignore[arg-type]  # the real call, any address kind

    monkeypatch.setattr(socket.socket, "connect", counting)
    result = cli("tail", "twilio-events", "--no-follow")
    assert result.exit_code == 1, result.stderr
    assert "Is 'twilio-es local up' running?" in result.stderr
    assert len(tries) == 1, tries
