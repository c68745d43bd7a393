"""Planner rules that need no server: markers, capacity at the peak, duplicates after a crash."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from twilio_es_cli.errors import UsageError
from twilio_es_cli.infra.live import Live, marker, parse_marker, with_marker
from twilio_es_cli.infra.loader import parse_text
from twilio_es_cli.infra.planner import build
from twilio_es_cli.models import Sink
from twilio_es_cli.subscriptions import SubscribedEvent, Subscription

FILE = """
version: 1
project: p
sinks:
  hook: {type: webhook, destination: "https://example.com/x"}
subscriptions:
  s: {sink: hook, types: [com.twilio.messaging.message.sent:1]}
"""
TYPES = {"s": [("com.twilio.messaging.message.sent", 1)]}


def _sink(n: int, description: str, destination: str = "https://example.com/x") -> Sink:
    return Sink(
        sid=f"DG{n:032x}",
        description=description,
        status="active",
        sink_type="webhook",
        sink_configuration={"destination": destination, "method": "POST"},
        date_created=datetime(2026, 1, 1, tzinfo=timezone.utc),
    )


def _sub(n: int, description: str, sink_sid: str) -> Subscription:
    return Subscription(
        sid=f"DF{n:032x}",
        description=description,
        sink_sid=sink_sid,
        date_created=None,
        date_updated=None,
        types=[SubscribedEvent("com.twilio.messaging.message.sent", 1)],
    )


def test_marker_round_trip() -> None:
    assert parse_marker(with_marker("prod events", "shop", "main")) == (
        "shop",
        "main",
        "prod events",
    )
    assert parse_marker("prod events") is None
    assert parse_marker(f"x {marker('a', 'b')} trailing") is None  # only at the end counts


def test_over_the_limit_at_the_peak_is_refused_before_any_change() -> None:
    strangers = [_sink(n, f"hand made {n}") for n in range(100)]
    desired = parse_text(FILE, "f.yaml", env={})
    with pytest.raises(UsageError) as caught:
        build(desired, Live(sinks=strangers, subscriptions=[]), TYPES)
    assert "needs 101 sinks at its peak (100 exist, 1 new or replacements)" in caught.value.message


def test_interrupted_replacement_keeps_the_fitting_copy_and_removes_the_other() -> None:
    """A crash after the new sink and subscription were made: two of each carry the marker."""
    old = _sink(1, with_marker("hook", "p", "hook"), destination="https://example.com/old")
    new = _sink(2, with_marker("hook", "p", "hook"))
    subs = [
        _sub(1, with_marker("s", "p", "s"), old.sid),
        _sub(2, with_marker("s", "p", "s"), new.sid),
    ]
    desired = parse_text(FILE, "f.yaml", env={})
    plan = build(desired, Live(sinks=[old, new], subscriptions=subs), TYPES)
    actions = {(c.kind, c.sid): c.action for c in plan.changes}
    assert actions == {
        ("sink", new.sid): "unchanged",
        ("subscription", subs[1].sid): "unchanged",
        ("subscription", subs[0].sid): "delete",
        ("sink", old.sid): "delete",
    }


def test_secrets_never_appear_in_the_plan() -> None:
    text = """
    version: 1
    sinks:
      seg: {type: segment, write_key: "${env:KEY}"}
    """
    import textwrap

    desired = parse_text(textwrap.dedent(text), "f.yaml", env={"KEY": "new-secret"})
    live = Sink(
        sid="DG" + "a" * 32,
        description=with_marker("seg", "default", "seg"),
        status="active",
        sink_type="segment",
        sink_configuration={"write_key": "old-secret"},
    )
    plan = build(desired, Live(sinks=[live], subscriptions=[]), {})
    rendered = repr(plan.to_dict())
    assert "write_key differs" in rendered
    assert "secret" not in rendered.replace("write_key differs", "")


def test_malformed_env_reference_is_located() -> None:
    with pytest.raises(UsageError) as caught:
        parse_text("version: 1\nproject: ${env:NOPE\n", "f.yaml", env={})
    assert caught.value.message.startswith("f.yaml:2: project:")
