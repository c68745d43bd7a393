"""Subscriptions: which event types (at which schema versions) go to which sink.

Written against the twilio SDK client from :func:`twilio_es_cli.twilio_api.make_client` and a
:class:`~twilio_es_cli.catalog.Catalog`; every SDK call is inside ``twilio_errors``, and every
write of a subscription in the package is here (``subscribe`` and friends for the commands;
:meth:`Subscriptions.create`, :meth:`Subscriptions.change` and :meth:`Subscriptions.delete`
for ``apply`` and ``sink rotate``, which decided what to write already), as
:class:`~twilio_es_cli.sinks.SinkService` owns every sink write. The rules a user trips over
are enforced here before the API is asked to create anything:

- the sink must exist and be ``active`` (the API refuses otherwise, with a message that does not
  say the fix is to validate the sink), exit 5 with a ``sink validate`` hint;
- every type is checked against the catalogue and pinned to an explicit schema version
  (see :func:`twilio_es_cli.catalog.resolve_specs`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from twilio_es_cli.catalog import (
    Catalog,
    Resolution,
    ResolvedType,
    TypeSpec,
    refuse_restricted,
    resolve_specs,
)
from twilio_es_cli.errors import CheckFailed, NotFoundError, UsageError, shown

SUBSCRIPTION_SID = re.compile(r"^DF[0-9a-fA-F]{32}$")
DEFAULT_DESCRIPTION = "twilio-es subscription"
ACTIVE = "active"


@dataclass(frozen=True)
class SubscribedEvent:
    """One type of a subscription and its pinned schema version."""

    type: str
    schema_version: int | None

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, "schema_version": self.schema_version}


@dataclass
class Subscription:
    """A subscription with its subscribed events (the view ``list``/``show`` render)."""

    sid: str
    description: str | None
    sink_sid: str | None
    date_created: str | None
    date_updated: str | None
    types: list[SubscribedEvent] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "sid": self.sid,
            "description": self.description,
            "sink_sid": self.sink_sid,
            "date_created": self.date_created,
            "date_updated": self.date_updated,
            "types": [t.to_dict() for t in self.types],
        }


def check_subscription_sid(sid: str) -> str:
    """Reject a malformed subscription SID before any remote call (exit 2)."""
    if not SUBSCRIPTION_SID.fullmatch(sid):
        raise UsageError(
            f"{shown(sid)} is not a subscription SID (DF followed by 32 hex characters)",
            hint="See your subscriptions with `twilio-es subscription list`.",
        )
    return sid


def _iso(value: Any) -> str | None:
    if value is None:
        return None
    iso = getattr(value, "isoformat", None)
    return str(iso()) if callable(iso) else str(value)


def _version(value: Any) -> int | None:
    return None if value is None else int(value)


def covered_types(
    subscriptions: Sequence[Subscription], wanted: Sequence[ResolvedType]
) -> dict[str, tuple[int | None, str]]:
    """Wanted types some subscription already delivers: type -> (its version, subscription).

    A type the user pinned must have that version; one resolved to "latest" matches any
    version (an earlier run pinned the latest of its day, and that is still what was asked).
    """

    def fits(sub: Subscription, resolved: ResolvedType) -> bool:
        have = {t.type: t.schema_version for t in sub.types}
        return resolved.type in have and (
            resolved.latest or have[resolved.type] == resolved.schema_version
        )

    # The subscription delivering most of the wanted types first: one that has them all is
    # named alone rather than mixed with partial ones.
    ranked = sorted(subscriptions, key=lambda sub: -sum(fits(sub, r) for r in wanted))
    covered: dict[str, tuple[int | None, str]] = {}
    for sub in ranked:
        have = {t.type: t.schema_version for t in sub.types}
        for resolved in wanted:
            if resolved.type not in covered and fits(sub, resolved):
                covered[resolved.type] = (have[resolved.type], sub.sid)
    return covered


def refuse_other_versions(
    existing: Sequence[Subscription], missing: Sequence[ResolvedType]
) -> None:
    """A pinned type the sink already gets at another version would arrive twice: refuse."""
    for resolved in missing:
        for sub in existing:
            for event in sub.types:
                if event.type == resolved.type:
                    raise UsageError(
                        f"sink {sub.sink_sid} already receives {event.type} at schema version "
                        f"{event.schema_version} (subscription {sub.sid}), not "
                        f"{resolved.schema_version}",
                        hint=f"Change it with `twilio-es subscription set-version {sub.sid} "
                        f"{event.type} {resolved.schema_version}`, or re-run with "
                        f"--type {event.type}:{event.schema_version}.",
                    )


@dataclass(frozen=True)
class Subscribed:
    """What ``subscribe`` did: a new subscription of the types not delivered yet, or nothing
    (``created`` False) when the sink already receives every one of them."""

    subscription: Subscription  # the new one, the one types joined, or the one delivering most
    resolution: Resolution
    created: bool
    already: dict[str, tuple[int | None, str]]  # type -> (its version, subscription sid)
    added: tuple[str, ...] = ()  # types that joined the sink's existing subscription


class Subscriptions:
    """Subscription operations over a twilio ``Client``."""

    def __init__(self, client: Any, catalog: Catalog | None = None) -> None:
        self._client = client
        self.catalog = catalog or Catalog(client)

    @property
    def _v1(self) -> Any:
        return self._client.events.v1

    # -- sinks ---------------------------------------------------------------------------
    def require_active_sink(self, sink_sid: str) -> Any:
        """The sink, if it exists and is active; else exit 4 (missing) or 5 (not active)."""
        from twilio_es_cli.twilio_api import twilio_errors

        try:
            with twilio_errors(f"fetch sink {sink_sid}"):
                sink = self._v1.sinks(sink_sid).fetch()
        except NotFoundError as exc:
            raise NotFoundError(
                f"Sink {sink_sid} does not exist", hint="See your sinks with `twilio-es sink list`."
            ) from exc
        if sink.status != ACTIVE:
            raise CheckFailed(
                f"Sink {sink_sid} is {sink.status}, not active: "
                "a subscription needs an active sink",
                hint=f"Validate it first: twilio-es sink validate {sink_sid}",
            )
        return sink

    def require_free_sink(self, sink_sid: str) -> None:
        """Twilio takes one subscription per sink; a second is refused ("Sink with SID ... is in
        use", live-tested): say so before asking, with the way to add types instead (exit 2)."""
        holders = self.sids_on_sink(sink_sid)
        if holders:
            raise UsageError(
                f"Sink {sink_sid} already has subscription {holders[0]}; Twilio allows one "
                "subscription per sink",
                hint=f"Add the types to it: twilio-es subscription add-type {holders[0]} TYPE..., "
                "or create another sink for a separate subscription.",
            )

    # -- subscriptions -------------------------------------------------------------------
    def resolve(self, specs: Sequence[TypeSpec]) -> Resolution:
        """Check ``specs`` against the catalogue and pin versions (no subscription is touched)."""
        return resolve_specs(specs, self.catalog.types(), self.catalog.latest_version)

    def subscribe(
        self, sink_sid: str, specs: Sequence[TypeSpec], description: str | None = None
    ) -> tuple[Subscription, Resolution]:
        """Create a subscription of ``specs`` on an active sink; returns it and what was resolved.

        Types are resolved first so a typo is reported (exit 2) even when the sink is not ready.
        """

        resolution = self.resolve(specs)
        refuse_restricted(resolution.types, "a new subscription")
        self.require_active_sink(sink_sid)
        self.require_free_sink(sink_sid)
        sid = self.create(
            sink_sid,
            [(r.type, r.schema_version) for r in resolution.types],
            description or DEFAULT_DESCRIPTION,
        )
        return self.get(sid), resolution

    def subscribe_once(
        self, sink_sid: str, specs: Sequence[TypeSpec], description: str | None = None
    ) -> Subscribed:
        """``subscribe`` that never makes a duplicate: types the sink already receives (by
        any subscription on it) are not subscribed again, since each event would then arrive
        twice; when it receives all of them nothing changes. New types on a sink that has a
        subscription join it (Twilio allows one per sink). A type it receives at another
        pinned version is refused (exit 2) with the command that changes the version."""
        resolution = self.resolve(specs)
        self.require_active_sink(sink_sid)
        existing = self.list(sink_sid)
        already = covered_types(existing, resolution.types)
        missing = [r for r in resolution.types if r.type not in already]
        refuse_other_versions(existing, missing)
        if not missing:
            first = next(iter(already.values()))[1]
            primary = next(s for s in existing if s.sid == first)
            return Subscribed(primary, resolution, created=False, already=already)
        refuse_restricted(missing, "a new subscription")
        if existing:
            # Twilio keeps one subscription per sink (a second is refused: "Sink with SID ... is
            # in use"), so the new types join the one it has, as quickstart does.
            joined, _ = self.add_types(
                existing[0].sid, [TypeSpec(r.type, r.schema_version) for r in missing]
            )
            added = tuple(r.type for r in missing)
            return Subscribed(joined, resolution, created=False, already=already, added=added)
        sid = self.create(
            sink_sid,
            [(r.type, r.schema_version) for r in missing],
            description or DEFAULT_DESCRIPTION,
        )
        return Subscribed(self.get(sid), resolution, created=True, already=already)

    # -- writes as decided (apply, sink rotate): no resolution, no extra reads ------------
    def create(
        self, sink_sid: str, types: Sequence[tuple[str, int | None]], description: str
    ) -> str:
        """Create a subscription of ``types`` in one call; its SID. A type without a version
        (a copy of an unpinned one) stays unpinned."""
        from twilio_es_cli.twilio_api import twilio_errors

        forms = [{"type": t} if v is None else {"type": t, "schema_version": v} for t, v in types]
        with twilio_errors(f"create a subscription on sink {sink_sid}"):
            created = self._v1.subscriptions.create(
                description=description, sink_sid=sink_sid, types=forms
            )
        return str(created.sid)

    def change(
        self,
        sid: str,
        *,
        add: Sequence[tuple[str, int | None]] = (),
        pin: Sequence[tuple[str, int]] = (),
        remove: Sequence[str] = (),
        description: str | None = None,
    ) -> None:
        """Add types (first, so the subscription is never left empty), re-pin versions,
        remove types, then set the description."""
        from twilio_es_cli.twilio_api import twilio_errors

        handle = self._v1.subscriptions(sid)
        for type_name, version in add:
            with twilio_errors(f"add {type_name} to subscription {sid}"):
                handle.subscribed_events.create(type=type_name, schema_version=version)
        for type_name, version in pin:
            with twilio_errors(f"pin {type_name} to version {version} in subscription {sid}"):
                handle.subscribed_events(type_name).update(schema_version=version)
        for type_name in remove:
            with twilio_errors(f"remove {type_name} from subscription {sid}"):
                handle.subscribed_events(type_name).delete()
        if description is not None:
            with twilio_errors(f"update subscription {sid}"):
                handle.update(description=description)

    def sids_on_sink(self, sink_sid: str) -> list[str]:
        """The SIDs of the subscriptions that deliver to ``sink_sid`` (one list call)."""
        from twilio_es_cli.twilio_api import twilio_errors

        with twilio_errors(f"list the subscriptions of sink {sink_sid}"):
            return [str(s.sid) for s in self._v1.subscriptions.stream(sink_sid=sink_sid)]

    def _events(self, sid: str) -> list[SubscribedEvent]:
        from twilio_es_cli.twilio_api import twilio_errors

        with twilio_errors(f"list the types of subscription {sid}"):
            return [
                SubscribedEvent(str(e.type), _version(e.schema_version))
                for e in self._v1.subscriptions(sid).subscribed_events.stream()
            ]

    def _view(self, instance: Any) -> Subscription:
        sid = str(instance.sid)
        return Subscription(
            sid=sid,
            description=instance.description,
            sink_sid=instance.sink_sid,
            date_created=_iso(instance.date_created),
            date_updated=_iso(instance.date_updated),
            types=self._events(sid),
        )

    def list(self, sink_sid: str | None = None) -> list[Subscription]:
        """Every subscription (optionally of one sink), each with its types."""
        from twilio_es_cli.twilio_api import twilio_errors

        what = f"list subscriptions of sink {sink_sid}" if sink_sid else "list subscriptions"
        with twilio_errors(what):
            if sink_sid:
                found = list(self._v1.subscriptions.stream(sink_sid=sink_sid))
            else:
                found = list(self._v1.subscriptions.stream())
        return [self._view(i) for i in found]

    def get(self, sid: str) -> Subscription:
        """One subscription with its types; a missing one is exit 4."""
        from twilio_es_cli.twilio_api import twilio_errors

        with _subscription_not_found(sid), twilio_errors(f"fetch subscription {sid}"):
            instance = self._v1.subscriptions(sid).fetch()
        return self._view(instance)

    def delete(self, sid: str) -> None:
        from twilio_es_cli.twilio_api import twilio_errors

        with _subscription_not_found(sid), twilio_errors(f"delete subscription {sid}"):
            self._v1.subscriptions(sid).delete()

    def update_description(self, sid: str, description: str) -> Subscription:
        with _subscription_not_found(sid):
            self.change(sid, description=description)
        return self.get(sid)

    # -- one type at a time ----------------------------------------------------------------
    def add_types(self, sid: str, specs: Sequence[TypeSpec]) -> tuple[Subscription, Resolution]:
        """Add types (names or globs, checked and pinned like ``subscribe``) to a subscription.

        A type already in the subscription is an error when named exactly (use ``set-version``)
        and silently skipped when a glob matched it.
        """

        current = {e.type for e in self.get(sid).types}
        resolution = self.resolve(specs)
        clash = [r.type for r in resolution.types if r.type in current and not r.from_pattern]
        if clash:
            raise UsageError(
                f"Subscription {sid} already has {', '.join(clash)}",
                hint=f"Change its version with `twilio-es subscription set-version {sid} "
                f"{clash[0]} VERSION`.",
            )
        added = [r for r in resolution.types if r.type not in current]
        refuse_restricted(added, f"subscription {sid} as an added type")
        if not added:
            raise UsageError(
                f"Subscription {sid} already has every type that matched",
                hint=f"See it with `twilio-es subscription show {sid}`.",
            )
        resolution.types = added
        self.change(sid, add=[(r.type, r.schema_version) for r in added])
        return self.get(sid), resolution

    def _require_type(self, sid: str, type_name: str) -> Subscription:
        subscription = self.get(sid)
        names = [e.type for e in subscription.types]
        if type_name not in names:
            raise NotFoundError(
                f"Subscription {sid} does not include {type_name}",
                hint=f"It includes: {', '.join(names) or 'nothing'}.",
            )
        return subscription

    def remove_type(self, sid: str, type_name: str) -> Subscription:
        """Remove one type; removing the last one is refused (delete the subscription instead)."""

        subscription = self._require_type(sid, type_name)
        if len(subscription.types) == 1:
            raise UsageError(
                f"{type_name} is the only type of subscription {sid}",
                hint=f"Delete the subscription instead: twilio-es subscription delete {sid}",
            )
        self.change(sid, remove=[type_name])
        return self.get(sid)

    def set_version(self, sid: str, type_name: str, version: int) -> Subscription:
        """Re-pin one type of a subscription to ``version`` (checked against the schema)."""

        self._require_type(sid, type_name)
        entry = self.catalog.type(type_name)
        if entry.schema_id:
            latest = self.catalog.latest_version(entry.schema_id)
            if version > latest:
                raise NotFoundError(
                    f"{type_name} has no schema version {version} "
                    f"(schema {entry.schema_id} has versions 1 to {latest})",
                    hint=f"See `twilio-es schema versions {entry.schema_id}`.",
                )
        self.change(sid, pin=[(type_name, version)])
        return self.get(sid)


@contextmanager
def _subscription_not_found(sid: str) -> Iterator[None]:
    """Re-word a 404 so it names the subscription and points at the list."""
    try:
        yield
    except NotFoundError as exc:
        raise NotFoundError(
            f"Subscription {sid} does not exist",
            hint="See your subscriptions with `twilio-es subscription list`.",
        ) from exc
