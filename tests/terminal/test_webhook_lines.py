"""`webhook listen` and `tail --forward-to` on a terminal: one screen line per event or
delivery, like tail's pretty lines (issue 23 item 8); piped, every field stays."""

from __future__ import annotations

import re

import pytest

from tests.conftest import boto_client
from tests.terminal.pty_session import PtySession
from tests.terminal.test_layout import screen
from tests.webhook.hook_support import TOKEN, Handler, create_stream, put_events
from tests.webhook.test_listen import send_signed
from twilio_es_cli.webhook.render import Delivery, fit


def _wait_lines(session: PtySession, pattern: str, count: int) -> list[str]:
    session.wait_for(lambda t: len(re.findall(pattern, t)) >= count)
    return screen(session.text)


@pytest.mark.parametrize("columns", [80, 120])
def test_listen_lines_fit_the_terminal(columns: int, monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", TOKEN)
    session = PtySession(["webhook", "listen", "--port", str(port), "--max", "3"], columns=columns)
    try:
        session.wait_for(lambda t: "Listening on" in t)
        base = f"http://127.0.0.1:{port}"
        assert send_signed(base)[0] == 200
        assert send_signed(base, token="f" * 32)[0] == 403  # the longest: REJECTED and why
        assert send_signed(base)[0] == 200
        assert session.finish() == 0
    finally:
        session.close()
    lines = screen(session.text)
    shown = [line for line in lines if "valid" in line or "REJECTED" in line]
    assert len(shown) == 3, lines
    assert all(len(line) <= columns for line in shown), "\n".join(shown)
    assert any("REJECTED: no URL variant matched" in line for line in shown), shown


@pytest.mark.parametrize("columns", [80, 120])
def test_forward_to_lines_fit_the_terminal(
    aws_env: str, unique_name: str, columns: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", TOKEN)
    kinesis = boto_client("kinesis", aws_env)
    create_stream(kinesis, unique_name, 1)
    put_events(kinesis, unique_name, range(3))
    handler = Handler(script=lambda n: 500 if n == 0 else 200)  # one retry, then delivered
    try:
        args = ["tail", unique_name, "--from", "trim-horizon", "--no-follow"]
        session = PtySession([*args, "--forward-to", handler.url], columns=columns)
        try:
            assert session.finish() == 0
        finally:
            session.close()
    finally:
        handler.close()
    lines = [line for line in screen(session.text) if re.match(r"^\d\d:\d\d:\d\d", line)]
    assert len(lines) >= 4, screen(session.text)  # 3 delivered + 1 retrying
    assert all(len(line) <= columns for line in lines), "\n".join(lines)
    assert any(" 500 " in line and "retry 2 in" in line for line in lines), lines


def test_a_delivery_line_keeps_what_happens_next_over_the_id() -> None:
    from datetime import datetime, timezone

    today = datetime.now(timezone.utc).strftime("%Y-%m-%d")  # of another day, it is dated
    delivery = Delivery(
        types=["com.twilio.messaging.message.delivered"],
        ids=["EZ" + "0" * 32],
        status=None,
        latency=0.002,
        attempt=2,
        outcome="retrying",
        error="connection refused by 127.0.0.1:3000 (is your app running?)",
        retry_in=1.5,
        time=f"{today}T21:21:10.746Z",
    )
    narrow = delivery.fitted(80)
    assert len(narrow) <= 80
    assert narrow.startswith("21:21:10Z  message.delivered  ---  2ms  retry 3 in 1.5s: conn")
    assert "EZ" not in narrow
    wide = delivery.fitted(200)
    assert "EZ" + "0" * 32 in wide and wide.endswith("(is your app running?)")
    assert delivery.pretty().startswith(f"{today}T21:21:10.746Z  messaging.message.delivered")


def test_fit_adds_optional_pieces_only_whole_and_cuts_with_an_ellipsis() -> None:
    assert fit(["a", "b"], 10, optional=("source",)) == "a  b"
    assert fit(["a", "b"], 20, optional=("source",)) == "a  b  source"
    assert fit(["x" * 30], 10) == "x" * 9 + "…"
