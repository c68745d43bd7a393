"""The reuse rules behind re-runs, as pure functions: which sink is "the same sink", which types
are already delivered, how sample events are spread. (End to end: test_quickstart_account.py.)"""

from __future__ import annotations

from twilio_es_cli.catalog import ResolvedType
from twilio_es_cli.models import KinesisSinkConfig, Sink
from twilio_es_cli.quickstart import matching_sinks, sample_plan
from twilio_es_cli.subscriptions import SubscribedEvent, Subscription, covered_types

ARN = "arn:aws:kinesis:us-east-1:123456789012:stream/twilio-events"
ROLE = "arn:aws:iam::123456789012:role/twilio-es/twilio-es-twilio-events-us-east-1"
CONFIG = KinesisSinkConfig(arn=ARN, role_arn=ROLE, external_id="e" * 80)
DELIVERED = "com.twilio.messaging.message.delivered"
UNDELIVERED = "com.twilio.messaging.message.undelivered"


def _sink(n: int, status: str, **config: str | None) -> Sink:
    conf = {"arn": ARN, "role_arn": ROLE, "external_id": CONFIG.external_id, **config}
    return Sink(
        sid=f"DG{n:032x}",
        status=status,
        sink_type="kinesis",
        sink_configuration={k: v for k, v in conf.items() if v is not None},
    )


def _sub(n: int, *types: tuple[str, int]) -> Subscription:
    return Subscription(
        sid=f"DF{n:032x}",
        description=None,
        sink_sid=f"DG{0:032x}",
        date_created=None,
        date_updated=None,
        types=[SubscribedEvent(t, v) for t, v in types],
    )


def test_same_stream_role_and_external_id_is_the_same_sink_active_first() -> None:
    sinks = [
        _sink(1, "failed"),
        _sink(2, "initialized"),
        _sink(3, "active"),
        _sink(4, "active", external_id="f" * 80),  # an older role: can never validate
        _sink(5, "active", arn=ARN.replace("twilio-events", "other")),
        _sink(6, "active", role_arn=ROLE + "-2"),
        Sink(sid=f"DG{7:032x}", status="active", sink_type="webhook", sink_configuration={}),
    ]
    assert [s.sid[-1] for s in matching_sinks(sinks, CONFIG)] == ["3", "2", "1"]


def test_a_sink_view_without_the_external_id_matches_on_stream_and_role() -> None:
    assert matching_sinks([_sink(1, "active", external_id=None)], CONFIG)


def test_latest_matches_any_version_but_a_pinned_version_must_be_equal() -> None:
    subs = [_sub(1, (DELIVERED, 3))]
    latest = ResolvedType(DELIVERED, 4, latest=True)
    pinned = ResolvedType(DELIVERED, 4, latest=False)
    assert covered_types(subs, [latest]) == {DELIVERED: (3, subs[0].sid)}
    assert covered_types(subs, [pinned]) == {}


def test_the_subscription_with_all_types_is_named_before_partial_ones() -> None:
    partial = _sub(1, (DELIVERED, 4))
    full = _sub(2, (DELIVERED, 4), (UNDELIVERED, 4))
    wanted = [ResolvedType(DELIVERED, 4, True), ResolvedType(UNDELIVERED, 4, True)]
    covered = covered_types([partial, full], wanted)
    assert {sid for _, sid in covered.values()} == {full.sid}


def test_sample_events_are_spread_round_robin() -> None:
    assert sample_plan(["a", "b"], 5) == {"a": 3, "b": 2}
    assert sample_plan(["a", "b", "c", "d", "e", "f"], 5) == {t: 1 for t in "abcde"}
