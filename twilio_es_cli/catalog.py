"""The Event Streams catalogue: event types, schemas, schema versions, and type-spec resolution.

Two halves, on purpose:

- :class:`Catalog` is the only place that reads ``/v1/Types`` and ``/v1/Schemas`` through the
  twilio SDK client (from :func:`twilio_es_cli.twilio_api.make_client`); every SDK call sits in
  :func:`~twilio_es_cli.twilio_api.twilio_errors`.
- Everything else here is pure: parsing ``TYPE[:VERSION]``, expanding globs, "did you mean"
  suggestions, and :func:`resolve_specs`, which turns what a user typed into exact
  ``(type, schema_version)`` pairs. Pure code is where the rules live (unknown -> error with
  close matches, discontinued -> error, glob -> matching usable types, no version -> latest,
  stated explicitly), so they are unit-tested without any server.

Why resolve "latest" ourselves instead of omitting the version: the API then tracks the latest
silently, and a later schema release changes the payload under a consumer (USERS.md). We pin the
version that is latest *now* and say so.
"""

from __future__ import annotations

import difflib
import fnmatch
import json
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any

from twilio_es_cli.errors import ApiError, NotFoundError, UsageError, shown

# Statuses the catalogue uses (spec: available, deprecated, restricted, discontinued).
AVAILABLE = "available"
DEPRECATED = "deprecated"
RESTRICTED = "restricted"
DISCONTINUED = "discontinued"
# What a glob may pick: types one can still subscribe to without special access.
GLOB_STATUSES = frozenset({AVAILABLE, DEPRECATED})
_GLOB_CHARS = frozenset("*?[")
RAW_TIMEOUT_SECONDS = 30.0


@dataclass(frozen=True)
class EventType:
    """One catalogue entry (``GET /v1/Types``)."""

    type: str
    schema_id: str | None
    status: str | None
    description: str | None = None
    documentation_url: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class SchemaVersion:
    """One version of a schema (``GET /v1/Schemas/{Id}/Versions``); ``raw`` is the document URL."""

    id: str
    schema_version: int
    date_created: str | None
    raw: str | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class TypeSpec:
    """What a user typed: a type name or glob, and an optional schema version."""

    pattern: str
    version: int | None = None

    @property
    def is_glob(self) -> bool:
        return any(ch in _GLOB_CHARS for ch in self.pattern)


@dataclass(frozen=True)
class ResolvedType:
    """An exact type and the schema version to subscribe it with.

    ``latest`` says the version was not given and we picked the latest one; ``from_pattern`` is
    the glob that produced it (None for an exact name), for telling the user what happened.
    """

    type: str
    schema_version: int
    latest: bool = False
    from_pattern: str | None = None
    status: str | None = None

    def form_value(self) -> dict[str, Any]:
        """The JSON object the API expects in one ``Types`` form field."""
        return {"type": self.type, "schema_version": self.schema_version}

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "schema_version": self.schema_version,
            "version_source": "latest" if self.latest else "requested",
        }


@dataclass
class Resolution:
    """The outcome of :func:`resolve_specs`: the pairs plus what is worth showing a person.

    The two kinds of note are kept apart, so a caller that shows the version choice elsewhere
    (``quickstart`` step 4) picks the glob expansions without matching words in the text.
    """

    types: list[ResolvedType] = field(default_factory=list)
    expansions: list[str] = field(default_factory=list)  # one line per glob: what it matched
    unpinned: str | None = None  # the versions chosen as "latest", and how to pin them
    warnings: list[str] = field(default_factory=list)

    @property
    def notes(self) -> list[str]:
        """Every note, in the order a person reads them."""
        return [*self.expansions, *([self.unpinned] if self.unpinned else [])]


# What Twilio's type names and schema ids are made of (com.twilio.voice.insights.call-summary
# .complete, Messaging.MessageStatus); anything else could never be found, and '/' or '?' would
# change the API path it is put into. Long values are refused before they reach a URL (HTTP 414).
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
_PATTERN = re.compile(r"[A-Za-z0-9_.*?\[\]-]+")
MAX_TYPE_LENGTH = 256
MAX_SCHEMA_ID_LENGTH = 128


def check_type_name(text: str, what: str = "TYPE") -> str:
    """An exact event type name, stripped, or exit 2 naming ``what`` (the argument or flag)."""
    return _check_name(text, what, "an event type name", MAX_TYPE_LENGTH, _NAME)


def check_schema_id(text: str, what: str = "SCHEMA_ID") -> str:
    """A schema id (``Messaging.MessageStatus``), stripped, or exit 2 naming ``what``."""
    return _check_name(text, what, "a schema id", MAX_SCHEMA_ID_LENGTH, _NAME)


def _check_name(text: str, what: str, kind: str, limit: int, rule: re.Pattern[str]) -> str:
    value = text.strip()
    if not value:
        raise UsageError(f"{what} is empty", hint=f"Give {kind}; see `twilio-es types list`.")
    if len(value) > limit:
        raise UsageError(
            f"{what} {shown(value)} is too long for {kind} (at most {limit} characters)",
            hint="See `twilio-es types list` for the names.",
        )
    if not rule.fullmatch(value):
        raise UsageError(
            f"{what} {shown(value)} is not {kind} (letters, digits, '.', '_' and '-')",
            hint="See `twilio-es types list` for the names.",
        )
    return value


def parse_type_spec(text: str) -> TypeSpec:
    """Parse ``TYPE[:VERSION]``; reject empty names and non-positive or non-numeric versions.

    >>> parse_type_spec("com.twilio.messaging.message.delivered:3")
    TypeSpec(pattern='com.twilio.messaging.message.delivered', version=3)
    """
    raw = text.strip()
    name, sep, version_text = raw.partition(":")
    name = name.strip()
    if not name:
        raise UsageError(
            f"Event type {shown(text)} is empty",
            hint="Give a type such as com.twilio.messaging.message.delivered[:VERSION].",
        )
    if any(ch.isspace() for ch in name):
        raise UsageError(f"Event type {shown(name)} contains whitespace", hint=_spec_hint())
    if len(name) > MAX_TYPE_LENGTH or not _PATTERN.fullmatch(name):
        raise UsageError(
            f"Event type {shown(name)} is not a type name or glob "
            f"(at most {MAX_TYPE_LENGTH} letters, digits and . _ - * ? [ ])",
            hint=_spec_hint(),
        )
    if not sep:
        return TypeSpec(name)
    return TypeSpec(name, _version_number(version_text.strip(), f" in {shown(text, 80)}"))


def _version_number(text: str, where: str = "") -> int:
    """A positive whole number of at most 9 digits (no schema has a billion versions)."""
    if not text.isascii() or not text.isdigit() or len(text) > 9 or int(text) < 1:
        raise UsageError(
            f"Schema version {shown(text)}{where} is not a positive whole number",
            hint=_spec_hint()
            if where
            else "See the versions with `twilio-es schema versions SCHEMA_ID`.",
        )
    return int(text)


def _spec_hint() -> str:
    return (
        "Write TYPE or TYPE:VERSION, e.g. com.twilio.messaging.message.delivered:4; "
        "see `twilio-es types list`."
    )


def parse_version(text: str) -> int:
    """A schema version given on its own (``set-version``, ``schema show --version``)."""
    return _version_number(text.strip())


def suggest(name: str, candidates: Iterable[str], *, limit: int = 3) -> list[str]:
    """Close matches for a mistyped type name (difflib ratio, then shared-suffix fallback)."""
    pool = sorted(set(candidates))
    matches = difflib.get_close_matches(name, pool, n=limit, cutoff=0.6)
    if matches:
        return matches
    # "message.delivered" or "delivered" alone: suggest full names that end with it.
    tail = name.lower().strip(".")
    return [c for c in pool if c.lower().endswith("." + tail)][:limit]


def unmatched_globs(patterns: Iterable[str], names: Iterable[str]) -> list[tuple[str, list[str]]]:
    """``tail --type`` patterns that match no type in ``names``, each with close matches.

    A glob's suggestions are globs too (``com.twilio.mesaging.*`` -> ``com.twilio.messaging.*``):
    every dotted prefix of a known type, ended with ``.*``, is a candidate.
    """
    known = set(names)
    globs = {".".join(n.split(".")[:i]) + ".*" for n in known for i in range(1, n.count(".") + 1)}
    missing = []
    for pattern in patterns:
        if any(fnmatch.fnmatchcase(name, pattern) for name in known):
            continue
        is_glob = any(ch in _GLOB_CHARS for ch in pattern)
        missing.append((pattern, suggest(pattern, globs if is_glob else known)))
    return missing


def expand_glob(pattern: str, types: Sequence[EventType]) -> list[EventType]:
    """Usable types (available or deprecated) whose name matches ``pattern`` (case-sensitive)."""
    return [t for t in types if t.status in GLOB_STATUSES and fnmatch.fnmatchcase(t.type, pattern)]


def same_schema_alternatives(entry: EventType, types: Sequence[EventType]) -> list[str]:
    """Usable types sharing ``entry``'s schema: what to look at instead of a discontinued one.

    The catalogue has no "replaced by" field, so we do not claim a replacement; we list the
    living siblings, closest name first.
    """
    siblings = [
        t.type
        for t in types
        if t.schema_id == entry.schema_id and t.type != entry.type and t.status in GLOB_STATUSES
    ]
    return sorted(
        siblings,
        key=lambda s: -difflib.SequenceMatcher(None, s, entry.type).ratio(),
    )[:3]


def filter_types(
    types: Sequence[EventType], *, search: str | None = None, schema_id: str | None = None
) -> list[EventType]:
    """Types whose name, description or schema id contains ``search`` (case-insensitive)."""
    result = list(types)
    if schema_id:
        result = [t for t in result if t.schema_id == schema_id]
    if search:
        needle = search.lower()
        result = [
            t
            for t in result
            if needle in t.type.lower()
            or needle in (t.description or "").lower()
            or needle in (t.schema_id or "").lower()
        ]
    return result


def resolve_specs(
    specs: Sequence[TypeSpec],
    types: Sequence[EventType],
    latest_version: Callable[[str], int],
) -> Resolution:
    """Turn user specs into exact ``(type, version)`` pairs, or raise a one-line error.

    Exit codes follow one rule (docs/output.md): a name or version the catalogue does not have
    is exit 4 (:class:`NotFoundError`, as ``types show`` and ``schema show`` say it); a choice
    that exists but cannot be made (discontinued, two versions of one type) is exit 2.

    ``latest_version(schema_id)`` is asked once per schema. Rules: a version above the latest is
    an error; an unknown name is an error
    with close matches; a discontinued one is an error naming usable types of the same schema;
    a glob expands to usable types (none -> error); a restricted or deprecated type is allowed
    with a warning; a type named twice is kept once (an explicit version wins over a glob's
    latest; two different explicit versions are an error).
    """
    by_name = {t.type: t for t in types}
    latest_cache: dict[str, int] = {}
    resolution = Resolution()
    chosen: dict[str, ResolvedType] = {}

    def version_for(entry: EventType, spec: TypeSpec) -> tuple[int, bool]:
        if not entry.schema_id:
            raise ApiError(f"The catalogue gives no schema for {entry.type}")
        if entry.schema_id not in latest_cache:
            latest_cache[entry.schema_id] = latest_version(entry.schema_id)
        return _checked_version(entry, spec, latest_cache[entry.schema_id])

    for spec in specs:
        if spec.is_glob:
            entries = _glob_entries(spec, types, by_name, resolution)
        else:
            entries = [(_named_entry(spec, types, by_name), None)]
        for entry, pattern in entries:
            version, latest = version_for(entry, spec)
            _choose(chosen, ResolvedType(entry.type, version, latest, pattern, entry.status))

    resolution.types = list(chosen.values())
    _add_status_warnings(resolution)
    _add_unpinned_note(resolution)
    return resolution


def _checked_version(entry: EventType, spec: TypeSpec, latest: int) -> tuple[int, bool]:
    """The version a spec asks for and whether it is the implicit latest; above latest is exit 4."""
    if spec.version is None:
        return latest, True
    if spec.version > latest:
        raise NotFoundError(
            f"{entry.type} has no schema version {spec.version} "
            f"(schema {entry.schema_id} has versions 1 to {latest})",
            hint=f"See `twilio-es schema versions {entry.schema_id}`.",
        )
    return spec.version, False


def _glob_entries(
    spec: TypeSpec,
    types: Sequence[EventType],
    by_name: dict[str, EventType],
    resolution: Resolution,
) -> list[tuple[EventType, str | None]]:
    """Expand a glob to usable types, noting what matched and what was left out."""
    matched = expand_glob(spec.pattern, types)
    # Say which matches were left out, or a glob silently subscribes to less than the
    # user sees in `types list`.
    skipped = [
        t.type
        for t in types
        if t.status == DISCONTINUED and fnmatch.fnmatchcase(t.type, spec.pattern)
    ]
    if not matched:
        close = suggest(spec.pattern.rstrip("*?.[]"), by_name, limit=3)
        only = f" (only discontinued ones: {', '.join(skipped)})" if skipped else ""
        # Nothing there is exit 4 (like an unknown name); only discontinued ones is
        # a refused choice, exit 2 (like naming a discontinued type).
        refused = UsageError if skipped else NotFoundError
        raise refused(
            f"No subscribable event type matches {shown(spec.pattern, 80)}{only}",
            hint=(f"Did you mean {', '.join(close)}? " if close else "")
            + "See `twilio-es types list --search TEXT`.",
        )
    names = ", ".join(e.type for e in matched)
    left_out = f" (left out, discontinued: {', '.join(skipped)})" if skipped else ""
    resolution.expansions.append(
        f"{spec.pattern} matched {len(matched)} type(s): {names}{left_out}"
    )
    return [(e, spec.pattern) for e in matched]


def _named_entry(
    spec: TypeSpec, types: Sequence[EventType], by_name: dict[str, EventType]
) -> EventType:
    """The catalogue entry a plain name means: unknown is exit 4, discontinued exit 2."""
    entry = by_name.get(spec.pattern)
    if entry is None:
        close = suggest(spec.pattern, by_name)
        raise NotFoundError(
            f"Unknown event type {shown(spec.pattern, 80)}",
            hint=(f"Did you mean {' or '.join(close)}? " if close else "")
            + "See `twilio-es types list --search TEXT`.",
        )
    if entry.status == DISCONTINUED:
        others = same_schema_alternatives(entry, types)
        raise UsageError(
            f"Event type {entry.type!r} is discontinued and cannot be subscribed to",
            hint=(
                f"Types of the same schema ({entry.schema_id}) still available: "
                f"{', '.join(others)}."
                if others
                else "See `twilio-es types list` for available types."
            ),
        )
    return entry


def refuse_restricted(types: Iterable[ResolvedType], what: str) -> None:
    """Exit 2 when ``what`` (a new subscription, an added type) would use a restricted type.

    Twilio's Event Types Lifecycle page: a restricted type keeps delivering to subscriptions
    that have it, but "you cannot use it to create new subscriptions or add it to existing
    subscriptions".
    """
    restricted = [r.type for r in types if r.status == RESTRICTED]
    if restricted:
        raise UsageError(
            f"{', '.join(restricted)} is restricted: Twilio refuses it in {what}",
            hint="Restricted types only keep working in subscriptions that already have them; "
            "see `twilio-es types show TYPE` for its documentation and alternatives.",
        )


def _choose(chosen: dict[str, ResolvedType], candidate: ResolvedType) -> None:
    """Keep a type once: an explicit version beats a glob's latest; two explicit ones clash."""
    previous = chosen.get(candidate.type)
    if previous is None or (previous.latest and not candidate.latest):
        chosen[candidate.type] = candidate
    elif (
        not previous.latest
        and not candidate.latest
        and previous.schema_version != candidate.schema_version
    ):
        raise UsageError(
            f"{candidate.type} is given with two schema versions "
            f"({previous.schema_version} and {candidate.schema_version})",
            hint="Name each type once.",
        )


def _add_status_warnings(resolution: Resolution) -> None:
    """Warn about deprecated and restricted types: they work, but a person should know."""
    for resolved in resolution.types:
        if resolved.status == DEPRECATED:
            resolution.warnings.append(f"{resolved.type} is deprecated; it still works for now")
        elif resolved.status == RESTRICTED:
            resolution.warnings.append(
                f"{resolved.type} is restricted: subscriptions that have it keep receiving it, "
                "but Twilio refuses it in a new subscription or as an added type"
            )


def _add_unpinned_note(resolution: Resolution) -> None:
    """One note naming the versions chosen implicitly, with how to pin them."""
    unpinned = [r for r in resolution.types if r.latest]
    if not unpinned:
        return
    # One line, not one per type: a glob can match dozens, and the point is the warning.
    by_version: dict[int, list[str]] = {}
    for resolved in unpinned:
        by_version.setdefault(resolved.schema_version, []).append(resolved.type)
    chosen_text = "; ".join(
        f"schema version {version} for {', '.join(names)}"
        for version, names in sorted(by_version.items())
    )
    first = unpinned[0]
    resolution.unpinned = (
        f"No version given, so using the latest: {chosen_text} "
        f"(pin with TYPE:VERSION, e.g. {first.type}:{first.schema_version})"
    )


def _event_type(instance: Any) -> EventType:
    return EventType(
        type=str(instance.type),
        schema_id=instance.schema_id,
        status=instance.status,
        description=instance.description,
        documentation_url=instance.documentation_url,
    )


def _iso(value: Any) -> str | None:
    if value is None:
        return None
    iso = getattr(value, "isoformat", None)
    return str(iso()) if callable(iso) else str(value)


def _schema_version(instance: Any) -> SchemaVersion:
    return SchemaVersion(
        id=str(instance.id),
        schema_version=int(instance.schema_version),
        date_created=_iso(instance.date_created),
        raw=instance.raw,
    )


class Catalog:
    """Reads the catalogue through a twilio ``Client``; one instance caches the type list."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self._types: list[EventType] | None = None

    @property
    def _v1(self) -> Any:
        return self._client.events.v1

    def types(self, schema_id: str | None = None) -> list[EventType]:
        """Every event type (all pages), optionally only those of ``schema_id``."""
        from twilio_es_cli.twilio_api import twilio_errors

        if schema_id:
            with twilio_errors(f"list event types of schema {schema_id}"):
                return [_event_type(i) for i in self._v1.event_types.stream(schema_id=schema_id)]
        if self._types is None:
            with twilio_errors("list event types"):
                self._types = [_event_type(i) for i in self._v1.event_types.stream(page_size=1000)]
        return self._types

    def type(self, name: str) -> EventType:
        """One event type; an unknown name is exit 4 with close matches."""
        from twilio_es_cli.twilio_api import twilio_errors

        try:
            with twilio_errors(f"fetch event type {name}"):
                return _event_type(self._v1.event_types(name).fetch())
        except NotFoundError as exc:
            close = suggest(name, (t.type for t in self.types()))
            raise NotFoundError(
                f"Unknown event type {name!r}",
                hint=(f"Did you mean {' or '.join(close)}? " if close else "")
                + "See `twilio-es types list --search TEXT`.",
            ) from exc

    def latest_version(self, schema_id: str) -> int:
        """The schema's latest version number (``GET /v1/Schemas/{Id}``)."""
        from twilio_es_cli.twilio_api import twilio_errors

        with self._schema_not_found(schema_id), twilio_errors(f"fetch schema {schema_id}"):
            schema = self._v1.schemas(schema_id).fetch()
        if schema.latest_version is None:
            raise ApiError(f"Schema {schema_id} reports no latest version")
        return int(schema.latest_version)

    def versions(self, schema_id: str) -> list[SchemaVersion]:
        """All versions of a schema, oldest first; an unknown schema id is exit 4."""
        from twilio_es_cli.twilio_api import twilio_errors

        with (
            self._schema_not_found(schema_id),
            twilio_errors(f"list versions of schema {schema_id}"),
        ):
            found = [_schema_version(v) for v in self._v1.schemas(schema_id).versions.stream()]
        return sorted(found, key=lambda v: v.schema_version)

    def version(self, schema_id: str, version: int | None = None) -> SchemaVersion:
        """One schema version (the latest when ``version`` is None)."""
        from twilio_es_cli.twilio_api import twilio_errors

        number = self.latest_version(schema_id) if version is None else version
        with (
            self._schema_not_found(schema_id, number),
            twilio_errors(f"fetch version {number} of schema {schema_id}"),
        ):
            return _schema_version(self._v1.schemas(schema_id).versions(number).fetch())

    @contextmanager
    def _schema_not_found(self, schema_id: str, version: int | None = None) -> Iterator[None]:
        """Re-word a 404 from the schema endpoints: name the schema, and point at the right id
        (a close match, or the schema of an event type given in its place), never back at
        the id that was just refused."""
        try:
            yield
        except NotFoundError as exc:
            known = {t.schema_id for t in self.types() if t.schema_id}
            if version is not None and schema_id in known:
                raise NotFoundError(
                    f"Schema {schema_id!r} has no version {version}",
                    hint=f"See its versions: `twilio-es schema versions {schema_id}`.",
                ) from exc
            raise self.unknown_schema(schema_id, known) from exc

    def unknown_schema(self, schema_id: str, known: set[str]) -> NotFoundError:
        """The error for a schema id that does not exist, with where to go instead."""
        entry = next((t for t in self.types() if t.type == schema_id), None)
        if entry is not None and entry.schema_id:
            return NotFoundError(
                f"{schema_id!r} is an event type, not a schema id; its schema is {entry.schema_id}",
                hint=f"Run `twilio-es schema show {entry.schema_id}` (or `twilio-es types show "
                f"{schema_id}`).",
            )
        close = suggest(schema_id, known)
        if close:
            return NotFoundError(
                f"Schema {schema_id!r} is unknown",
                hint=f"Did you mean {' or '.join(close)}? "
                f"`twilio-es schema versions {close[0]}` lists its versions.",
            )
        return NotFoundError(
            f"Schema {schema_id!r} is unknown",
            hint="Schema ids are listed by `twilio-es types list` (column SCHEMA).",
        )

    def raw_schema(self, schema_version: SchemaVersion) -> Any:
        """The JSON Schema document behind a version's ``raw`` URL, parsed.

        Fetched through the SDK's HTTP client so the same host rewrite (emulator, tests) and
        timeouts apply, but WITHOUT credentials: the document lives on Twilio's public schema
        host, which needs none, and our auth token has no business travelling there.
        """
        from twilio_es_cli.twilio_api import twilio_errors

        if not schema_version.raw:
            raise ApiError(
                f"Version {schema_version.schema_version} of {schema_version.id} has no raw URL"
            )
        action = f"download schema {schema_version.id} version {schema_version.schema_version}"
        with twilio_errors(action):
            response = self._client.http_client.request(
                "GET", schema_version.raw, timeout=RAW_TIMEOUT_SECONDS
            )
        status = int(response.status_code)
        if status == 404:
            raise NotFoundError(f"The schema document at {schema_version.raw} does not exist")
        if not 200 <= status < 300:
            raise ApiError(f"Could not {action}: HTTP {status}")
        try:
            return json.loads(response.text)
        except (ValueError, RecursionError) as exc:
            raise ApiError(f"The schema document at {schema_version.raw} is not JSON") from exc
