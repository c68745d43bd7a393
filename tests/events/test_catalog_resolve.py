"""The pure rules behind `subscribe`: TYPE[:VERSION] parsing, globs, suggestions, resolution."""

from __future__ import annotations

import pytest

from twilio_es_cli.catalog import (
    EventType,
    TypeSpec,
    expand_glob,
    filter_types,
    parse_type_spec,
    parse_version,
    resolve_specs,
    suggest,
)
from twilio_es_cli.errors import ExitCode, NotFoundError, UsageError

MSG = "Messaging.MessageStatus"
TYPES = [
    EventType("com.twilio.messaging.message.sent", MSG, "available", "Messaging- sent"),
    EventType("com.twilio.messaging.message.delivered", MSG, "available", "Messaging- delivered"),
    EventType("com.twilio.messaging.message.failed", MSG, "deprecated", "Messaging- failed"),
    EventType("com.twilio.messaging.message.secret", MSG, "restricted", "Messaging- secret"),
    EventType("com.twilio.voice.insights.call-summary.complete", "VI.CallSummary", "available"),
    EventType(
        "com.twilio.voice.insights.call-summary.predicted-complete",
        "VI.CallSummary",
        "discontinued",
    ),
]
LATEST = {MSG: 4, "VI.CallSummary": 2}


def _resolve(*specs: str) -> tuple[dict[str, int], list[str], list[str], list[str]]:
    asked: list[str] = []

    def latest(schema_id: str) -> int:
        asked.append(schema_id)
        return LATEST[schema_id]

    result = resolve_specs([parse_type_spec(s) for s in specs], TYPES, latest)
    return (
        {r.type: r.schema_version for r in result.types},
        result.notes,
        result.warnings,
        asked,
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("com.twilio.messaging.message.sent", TypeSpec("com.twilio.messaging.message.sent")),
        ("com.twilio.messaging.message.sent:3", TypeSpec("com.twilio.messaging.message.sent", 3)),
        (" com.twilio.a.b : 12 ", TypeSpec("com.twilio.a.b", 12)),
        ("com.twilio.messaging.*", TypeSpec("com.twilio.messaging.*")),
    ],
)
def test_parse_type_spec(text: str, expected: TypeSpec) -> None:
    assert parse_type_spec(text) == expected


@pytest.mark.parametrize("text", ["", ":3", "a.b:", "a.b:0", "a.b:x", "a.b:-1", "a b"])
def test_parse_type_spec_rejects_bad_input(text: str) -> None:
    with pytest.raises(UsageError) as info:
        parse_type_spec(text)
    assert info.value.exit_code == ExitCode.USAGE
    assert info.value.hint


def test_parse_version() -> None:
    assert parse_version("7") == 7
    for bad in ("0", "x", "-2", "1.5"):
        with pytest.raises(UsageError):
            parse_version(bad)


def test_glob_detection_and_expansion_skip_unusable_types() -> None:
    assert TypeSpec("com.twilio.messaging.*").is_glob
    assert not TypeSpec("com.twilio.messaging.message.sent").is_glob
    names = [t.type for t in expand_glob("com.twilio.messaging.message.*", TYPES)]
    # restricted and discontinued types are never picked by a glob; deprecated ones are.
    assert names == [
        "com.twilio.messaging.message.sent",
        "com.twilio.messaging.message.delivered",
        "com.twilio.messaging.message.failed",
    ]
    assert [t.type for t in expand_glob("com.twilio.voice.*", TYPES)] == [
        "com.twilio.voice.insights.call-summary.complete"
    ]


def test_suggest_close_matches_and_suffixes() -> None:
    names = [t.type for t in TYPES]
    assert suggest("com.twilio.messaging.message.deliverd", names)[0] == (
        "com.twilio.messaging.message.delivered"
    )
    assert suggest("delivered", names) == ["com.twilio.messaging.message.delivered"]
    assert suggest("zzz.nothing.like.it", names) == []


def test_filter_types_by_text_and_schema() -> None:
    assert [t.type for t in filter_types(TYPES, search="DELIVERED")] == [
        "com.twilio.messaging.message.delivered"
    ]
    assert len(filter_types(TYPES, schema_id="VI.CallSummary")) == 2
    assert len(filter_types(TYPES, search="vi.callsummary")) == 2  # schema id matches too


def test_resolve_pins_latest_and_says_so() -> None:
    pinned, notes, warnings, asked = _resolve("com.twilio.messaging.message.sent")
    assert pinned == {"com.twilio.messaging.message.sent": 4}
    assert any("using the latest: schema version 4 for" in n for n in notes)
    assert warnings == []
    assert asked == [MSG]


def test_resolve_explicit_version_is_kept_and_latest_asked_once_per_schema() -> None:
    pinned, notes, _, asked = _resolve(
        "com.twilio.messaging.message.sent:2", "com.twilio.messaging.message.delivered"
    )
    assert pinned == {
        "com.twilio.messaging.message.sent": 2,
        "com.twilio.messaging.message.delivered": 4,
    }
    assert asked == [MSG]
    assert not any("message.sent" in n for n in notes)


def test_resolve_glob_dedupes_and_explicit_version_wins() -> None:
    pinned, notes, warnings, _ = _resolve(
        "com.twilio.messaging.message.*",
        "com.twilio.messaging.message.sent:3",
        "com.twilio.messaging.message.sent:3",
    )
    assert pinned == {
        "com.twilio.messaging.message.sent": 3,
        "com.twilio.messaging.message.delivered": 4,
        "com.twilio.messaging.message.failed": 4,
    }
    assert any(n.startswith("com.twilio.messaging.message.* matched 3 type(s)") for n in notes)
    assert warnings == ["com.twilio.messaging.message.failed is deprecated; it still works for now"]


def test_resolve_unknown_type_suggests() -> None:
    with pytest.raises(NotFoundError) as info:
        _resolve("com.twilio.messaging.message.deliverd")
    assert "Unknown event type" in info.value.message
    assert info.value.exit_code == ExitCode.NOT_FOUND  # as `types show` says it
    assert "Did you mean com.twilio.messaging.message.delivered" in (info.value.hint or "")


def test_resolve_discontinued_names_living_siblings() -> None:
    with pytest.raises(UsageError) as info:
        _resolve("com.twilio.voice.insights.call-summary.predicted-complete")
    assert "discontinued" in info.value.message
    assert "com.twilio.voice.insights.call-summary.complete" in (info.value.hint or "")


def test_resolve_glob_without_match_is_an_error() -> None:
    with pytest.raises(NotFoundError, match="No subscribable event type matches"):
        _resolve("com.twilio.nothing.*")
    # Matching only discontinued types is a refused choice, like naming one (exit 2).
    with pytest.raises(UsageError, match="only discontinued ones"):
        _resolve("com.twilio.voice.insights.call-summary.predicted-*")


def test_resolve_version_above_latest_and_conflicting_versions() -> None:
    with pytest.raises(NotFoundError, match="has no schema version 9"):
        _resolve("com.twilio.messaging.message.sent:9")
    with pytest.raises(UsageError, match="two schema versions"):
        _resolve("com.twilio.messaging.message.sent:1", "com.twilio.messaging.message.sent:2")


def test_restricted_type_named_exactly_is_allowed_with_a_warning() -> None:
    pinned, _, warnings, _ = _resolve("com.twilio.messaging.message.secret:1")
    assert pinned == {"com.twilio.messaging.message.secret": 1}
    assert warnings and "restricted" in warnings[0]


def test_form_value_is_what_the_api_expects() -> None:
    result = resolve_specs(
        [parse_type_spec("com.twilio.messaging.message.sent:2")], TYPES, LATEST.__getitem__
    )
    assert [r.form_value() for r in result.types] == [
        {"type": "com.twilio.messaging.message.sent", "schema_version": 2}
    ]
