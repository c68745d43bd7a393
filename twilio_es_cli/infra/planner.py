"""The diff between the file and the account: one :class:`Change` per resource, with reasons.

Rules (docs/as-code.md explains them to users):

- Twilio lets only a description change in place. Any other change to a sink (type, stream,
  role, external id, URL, method, batching, write key) is a *replace*: a new sink, proven,
  then the old one deleted after its subscriptions moved. A subscription on another sink is a
  replace too (create on the new sink first, then delete the old: a window of duplicates).
- Types and versions of a subscription, descriptions, stream shards/retention/mode and the
  role's permissions are *updates*.
- A sink that is not ``active`` is an update ("prove delivery and validate"), and so is one
  whose marker says its proof never finished (an apply stopped mid-proof): proven before any
  subscription moves to it.
- Resources marked for this project but no longer in the file are *deleted*; unmarked ones are
  left alone unless ``--prune``; other projects' markers are never touched.
- Two live resources with the same marker (an interrupted replacement) are resolved: keep the
  one that matches the file, delete the other after moving what it carries.

Pure apart from :func:`build`'s catalogue lookups: the live state comes in as :class:`Live`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from twilio_es_cli.errors import ApiError, NotFoundError, UsageError
from twilio_es_cli.infra.live import (
    Live,
    LiveStream,
    is_proving,
    parse_marker,
    proven,
    with_marker,
)
from twilio_es_cli.infra.loader import Desired
from twilio_es_cli.models import Sink
from twilio_es_cli.subscriptions import Subscription

CREATE, UPDATE, REPLACE, DELETE, UNCHANGED = "create", "update", "replace", "delete", "unchanged"
SECRET_FIELDS = frozenset({"external_id", "write_key"})
NEW = "(new)"


@dataclass
class Change:
    """What happens to one resource, why, and what the executor needs to do it."""

    kind: str  # stream | sink | subscription
    name: str
    action: str
    reasons: list[str] = field(default_factory=list)
    sid: str | None = None  # the live resource this change acts on (old one for replace)
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        public = {k: v for k, v in self.details.items() if k not in ("config", "specs")}
        return {
            "kind": self.kind,
            "name": self.name,
            "action": self.action,
            "reasons": self.reasons,
            "sid": self.sid,
            **({"details": public} if public else {}),
        }


@dataclass
class Plan:
    source: str
    project: str
    changes: list[Change] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def pending(self) -> list[Change]:
        return [c for c in self.changes if c.action != UNCHANGED]

    def counts(self) -> dict[str, int]:
        out = {a: 0 for a in (CREATE, UPDATE, REPLACE, DELETE, UNCHANGED)}
        for change in self.changes:
            out[change.action] += 1
        return out

    def find(self, kind: str, name: str) -> Change | None:
        return next((c for c in self.changes if c.kind == kind and c.name == name), None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.source,
            "project": self.project,
            "changes": [c.to_dict() for c in self.changes],
            "summary": self.counts(),
            "has_changes": bool(self.pending),
            "notes": self.notes,
            "warnings": self.warnings,
        }


# ----------------------------------------------------------------------------- types


def resolve_types(
    desired: Desired, catalog: Any, notes: list[str] | None = None
) -> dict[str, list[tuple[str, int]]]:
    """Each subscription's exact (type, version) pairs; a bad type or version is located.

    ``notes`` collects what a person should know: types given without a version (pinned to
    the latest at each plan, so a schema release shows up as a change), deprecated or
    restricted types.
    """
    from twilio_es_cli.catalog import resolve_specs

    # On the command line an unknown type or version is "not found" (exit 4); in the file it
    # is a mistake in the file, reported at its line (exit 2) like every other.
    problems = (UsageError, NotFoundError)

    types = catalog.types()
    cache: dict[str, int] = {}

    def latest(schema_id: str) -> int:
        if schema_id not in cache:
            cache[schema_id] = catalog.latest_version(schema_id)
        return cache[schema_id]

    out: dict[str, list[tuple[str, int]]] = {}
    for name, specs in desired.specs.items():
        for index, (spec, _line) in enumerate(specs):
            try:
                resolve_specs([spec], types, latest)
            except problems as exc:
                raise desired.error(
                    ("subscriptions", name, "types", index), exc.message, exc.hint
                ) from None
        try:
            resolution = resolve_specs([s for s, _ in specs], types, latest)
        except problems as exc:
            raise desired.error(("subscriptions", name, "types"), exc.message, exc.hint) from None
        out[name] = sorted((r.type, r.schema_version) for r in resolution.types)
        if notes is not None:
            unpinned = [f"{r.type}:{r.schema_version}" for r in resolution.types if r.latest]
            if unpinned:
                notes.append(
                    f"subscriptions.{name}: no version given, the latest is used: "
                    f"{', '.join(unpinned)} (pin them in the file to stay there)"
                )
            notes.extend(f"subscriptions.{name}: {w}" for w in resolution.warnings)
    return out


# ----------------------------------------------------------------------------- streams


def _stream_change(name: str, decl: Any, live: LiveStream | None) -> Change:
    if live is None:
        what = "on-demand" if decl.on_demand else f"{decl.shards} shard(s)"
        return Change("stream", name, CREATE, [f"does not exist: create it ({what}) and its role"])
    reasons: list[str] = []
    details: dict[str, Any] = {}
    wanted_mode = "ON_DEMAND" if decl.on_demand else "PROVISIONED"
    if live.mode != wanted_mode:
        reasons.append(f"mode {live.mode} -> {wanted_mode}")
        details["mode"] = wanted_mode
    if not decl.on_demand and live.open_shards not in (None, decl.shards):
        reasons.append(f"shards {live.open_shards} -> {decl.shards}")
        details["shards"] = decl.shards
    elif not decl.on_demand and live.mode != wanted_mode:
        details["shards"] = decl.shards
    if decl.retention_hours is not None and live.retention_hours != decl.retention_hours:
        reasons.append(f"retention {live.retention_hours} h -> {decl.retention_hours} h")
        details["retention_hours"] = decl.retention_hours
    if live.role is None:
        reasons.append("has no IAM role for Twilio: create it")
        details["create_role"] = True
    else:
        if live.role.problems:
            reasons.append("role " + "; ".join(live.role.problems) + ": put the policy back")
            details["repair_policy"] = live.role.policy_name
        if live.role.trust_problems and live.role.external_ids:
            reasons.append("role " + "; ".join(live.role.trust_problems) + ": rewrite the trust")
            details["repair_trust"] = live.role.external_ids
    if live.status != "ACTIVE":
        reasons.append(f"is {live.status}: wait for ACTIVE")
        details["wait"] = True
    action = UPDATE if details else UNCHANGED
    return Change("stream", name, action, reasons if details else [], details=details)


# ----------------------------------------------------------------------------- sinks


def _norm(key: str, value: Any) -> Any:
    if key == "batch_events":
        return str(value).lower() == "true"
    if key == "method":
        return str(value).upper()
    return value


def config_differences(live: Sink, sink_type: str, config: dict[str, Any]) -> list[str]:
    """Why a live sink cannot serve as the declared one (secret values never shown)."""
    if live.sink_type != sink_type:
        return [f"type {live.sink_type} -> {sink_type}"]
    reasons = []
    for key, wanted in config.items():
        have = live.sink_configuration.get(key)
        if key == "method" and have is None:
            have = "POST"
        if key == "batch_events" and have is None:
            have = False
        if _norm(key, have) == _norm(key, wanted):
            continue
        if key in SECRET_FIELDS:
            reasons.append(f"{key} differs")
        elif key == "destination":
            reasons.append(_destination_change(str(have), str(wanted)))
        else:
            reasons.append(f"{key} {have} -> {wanted}")
    return reasons


def _destination_change(have: str, wanted: str) -> str:
    """A webhook URL's change, its ``user:password@`` never shown (both could be secrets)."""
    from twilio_es_cli.safe_text import redact_urls

    shown_have, shown_wanted = redact_urls(have), redact_urls(wanted)
    if shown_have == shown_wanted:
        return "destination password differs"
    return f"destination {shown_have} -> {shown_wanted}"


def desired_config(decl: Any, streams: dict[str, LiveStream | None]) -> dict[str, Any] | None:
    """The sink configuration the file means; None while its stream or role does not exist."""
    if decl.type != "kinesis" or decl.stream is None:
        return dict(decl.explicit_config())
    live = streams.get(decl.stream)
    if live is None or live.role is None or not live.role.external_ids:
        return None
    return {
        "arn": live.arn,
        "role_arn": live.role.arn,
        "external_id": live.role.external_ids[-1],
    }


def _kinesis_ok(live: Sink, decl: Any, streams: dict[str, LiveStream | None]) -> bool:
    """A sink on a declared stream also matches any external id its role still trusts."""
    if decl.type != "kinesis" or decl.stream is None or live.sink_type != "kinesis":
        return False
    stream = streams.get(decl.stream)
    config = live.sink_configuration
    return bool(
        stream is not None
        and stream.role is not None
        and config.get("arn") == stream.arn
        and config.get("role_arn") == stream.role.arn
        and config.get("external_id") in stream.role.external_ids
    )


def _match(
    items: Sequence[Any], project: str, name: str, sid: str | None
) -> tuple[list[Any], bool]:
    """Live resources carrying ``name``'s marker (or, failing that, its adopted SID)."""
    marked = [i for i in items if (m := parse_marker(i.description)) and m[:2] == (project, name)]
    if marked:
        return marked, True
    return [i for i in items if sid is not None and i.sid == sid], False


@dataclass
class _Sinks:
    """Per declared sink: the live sink that stays (if any) and its plan."""

    target: dict[str, str | None] = field(default_factory=dict)  # name -> sid subs go to
    kept: set[str] = field(default_factory=set)  # live sids that stay


def _sink_description(decl: Any, project: str, name: str, *, marked: bool) -> str:
    text = decl.description or name
    return with_marker(text, project, name) if marked else text


def _keep_reasons(keep: Sink, decl: Any, details: dict[str, Any]) -> list[str]:
    """Why a live sink that fits the file still needs work: a proof that never finished (an
    apply stopped mid-proof, even by SIGKILL: its marker says so), or a kinesis sink that is
    not active. Either is proven (step 3) before any subscription moves to it (step 4)."""
    if is_proving(keep.description):
        details["validate"] = details["unproven"] = True
        return ["proof of delivery did not finish (apply was interrupted): prove it first"]
    if decl.type == "kinesis" and keep.status != "active":
        details["validate"] = True
        return [f"status {keep.status}: prove delivery and validate"]
    return []


def _plan_sink(plan: Plan, name: str, decl: Any, live: Live, state: _Sinks) -> list[Sink]:
    """Plan one declared sink; returns the live sinks it leaves behind (to delete)."""
    config = desired_config(decl, live.streams)
    found, by_marker = _match(live.sinks, plan.project, name, decl.sid)
    details: dict[str, Any] = {
        "type": decl.type,
        "config": config,
        "stream": getattr(decl, "stream", None),
        "description": _sink_description(decl, plan.project, name, marked=True),
    }

    def fits(sink: Sink) -> bool:
        if config is None:
            return False
        return not config_differences(sink, decl.type, config) or _kinesis_ok(
            sink, decl, live.streams
        )

    fitting = [s for s in found if fits(s)]
    fitting.sort(
        key=lambda s: (
            is_proving(s.description),
            s.status != "active",
            -(s.date_created.timestamp() if s.date_created else 0),
        )
    )
    if not found:
        why = "not found"
        if decl.sid:
            why = f"sink {decl.sid} (adopted by sid) does not exist"
        state.target[name] = None
        plan.changes.append(Change("sink", name, CREATE, [f"{why}: create it"], details=details))
        return []
    if not fitting:
        old = found[0]
        reasons = (
            config_differences(old, decl.type, config)
            if config is not None
            else [f"stream {details['stream']} or its role is being created"]
        )
        state.target[name] = None
        details["moves"] = [s.sid for s in live.subscriptions_of(old.sid)]
        plan.changes.append(
            Change(
                "sink",
                name,
                REPLACE,
                [*reasons, "Twilio cannot change it in place"],
                sid=old.sid,
                details=details,
            )
        )
        return found
    keep = fitting[0]
    state.target[name] = keep.sid
    state.kept.add(keep.sid)
    reasons = _keep_reasons(keep, decl, details)
    wanted = _sink_description(decl, plan.project, name, marked=by_marker)
    if not by_marker and decl.description is None:
        wanted = keep.description or name
    if keep.description != wanted:
        if proven(keep.description or "") != wanted:
            reasons.append("description changes")
        details["new_description"] = wanted
    plan.changes.append(
        Change(
            "sink", name, UPDATE if reasons else UNCHANGED, reasons, sid=keep.sid, details=details
        )
    )
    return [s for s in found if s.sid != keep.sid]


# ----------------------------------------------------------------------------- subscriptions


def _types_diff(live: Subscription, wanted: list[tuple[str, int]]) -> dict[str, Any]:
    have = {e.type: e.schema_version for e in live.types}
    want = dict(wanted)
    diff: dict[str, Any] = {}
    add = sorted((t, v) for t, v in want.items() if t not in have)
    remove = sorted(t for t in have if t not in want)
    repin = sorted((t, v) for t, v in want.items() if t in have and have[t] != v)
    if add:
        diff["add"] = add
    if remove:
        diff["remove"] = remove
    if repin:
        diff["set_version"] = repin
    return diff


def _describe_diff(diff: dict[str, Any]) -> list[str]:
    out = [f"add {t}:{v}" for t, v in diff.get("add", [])]
    out += [f"remove {t}" for t in diff.get("remove", [])]
    out += [f"pin {t} to version {v}" for t, v in diff.get("set_version", [])]
    return out


def _plan_subscription(
    plan: Plan, name: str, decl: Any, types: list[tuple[str, int]], live: Live, sinks: _Sinks
) -> list[Subscription]:
    found, by_marker = _match(live.subscriptions, plan.project, name, decl.sid)
    target = sinks.target.get(decl.sink)
    description = decl.description or name
    details: dict[str, Any] = {
        "sink": decl.sink,
        "types": [f"{t}:{v}" for t, v in types],
        "specs": types,
        "description": with_marker(description, plan.project, name),
    }
    on_target = [s for s in found if target is not None and s.sink_sid == target]
    if not found:
        plan.changes.append(
            Change("subscription", name, CREATE, ["not found: create it"], details=details)
        )
        return []
    if not on_target:
        old = found[0]
        where = f"sink {decl.sink} is new" if target is None else f"sink is now {target}"
        plan.changes.append(
            Change(
                "subscription",
                name,
                REPLACE,
                [
                    f"on sink {old.sink_sid}; {where}: create there first, then delete this one "
                    "(events may arrive twice meanwhile)"
                ],
                sid=old.sid,
                details=details,
            )
        )
        return found
    keep = on_target[0]
    diff = _types_diff(keep, types)
    reasons = _describe_diff(diff)
    wanted = (
        with_marker(description, plan.project, name)
        if by_marker
        else (decl.description or keep.description)
    )
    if keep.description != wanted:
        reasons.append("description changes")
        details["new_description"] = wanted
    details["diff"] = diff
    plan.changes.append(
        Change(
            "subscription",
            name,
            UPDATE if reasons else UNCHANGED,
            reasons,
            sid=keep.sid,
            details=details,
        )
    )
    return [s for s in found if s.sid != keep.sid]


# ----------------------------------------------------------------------------- whole plan


def _orphans(
    plan: Plan, live: Live, desired: Desired, prune: bool
) -> tuple[list[Sink], list[Subscription]]:
    """Live resources marked for this project but gone from the file; unmarked ones if pruning."""
    model = desired.model
    adopted = {s.sid for s in model.sinks.values() if s.sid} | {
        s.sid for s in model.subscriptions.values() if s.sid
    }

    def ours_gone(item: Any, names: Any) -> bool:
        mark = parse_marker(item.description)
        if mark is None:
            return prune and item.sid not in adopted
        return mark[0] == plan.project and mark[1] not in names

    sinks = [s for s in live.sinks if ours_gone(s, model.sinks)]
    subs = [s for s in live.subscriptions if ours_gone(s, model.subscriptions)]
    return sinks, subs


def _label(item: Any) -> str:
    mark = parse_marker(item.description)
    return mark[1] if mark else item.sid


def build(
    desired: Desired,
    live: Live,
    types: dict[str, list[tuple[str, int]]],
    *,
    prune: bool = False,
    restricted: set[str] | frozenset[str] = frozenset(),
) -> Plan:
    """The plan; ``types`` comes from :func:`resolve_types`; ``restricted`` names the types
    Twilio keeps delivering but refuses to add (Event Types Lifecycle page)."""
    model = desired.model
    plan = Plan(source=desired.source, project=model.project)
    for name, decl in model.streams.items():
        stream = live.streams.get(name)
        if stream is not None and stream.role_error:
            # Planning on without the role would turn every sink on the stream into a replace.
            raise ApiError(
                f"cannot read the IAM role of stream {name}: {stream.role_error}",
                hint="plan needs iam:GetRole, iam:GetRolePolicy, iam:ListRoles and "
                "iam:ListRoleTags on the roles twilio-es made (path /twilio-es/).",
            )
        plan.changes.append(_stream_change(name, decl, stream))
    sinks = _Sinks()
    old_sinks: list[Sink] = []
    for name, sink_decl in model.sinks.items():
        old_sinks += _plan_sink(plan, name, sink_decl, live, sinks)
    old_subs: list[Subscription] = []
    for name, sub in model.subscriptions.items():
        old_subs += _plan_subscription(plan, name, sub, types[name], live, sinks)
    gone_sinks, gone_subs = _orphans(plan, live, desired, prune)
    _plan_deletions(plan, live, old_sinks, old_subs, gone_sinks, gone_subs)
    _check_one_subscription_per_sink(plan, model, live, sinks)
    _check_restricted(plan, restricted)
    _check_capacity(plan, live)
    return plan


def _check_restricted(plan: Plan, restricted: set[str] | frozenset[str]) -> None:
    """A restricted type may stay in a live subscription, but never be added to one."""
    for change in plan.changes:
        if change.kind != "subscription":
            continue
        if change.action in (CREATE, REPLACE):
            adding = [t for t, _ in change.details.get("specs", [])]
        else:
            adding = [t for t, _ in change.details.get("diff", {}).get("add", [])]
        refused = sorted(set(adding) & restricted)
        if refused:
            raise UsageError(
                f"subscription {change.name} would add {', '.join(refused)}, which is "
                "restricted: Twilio refuses it in a new subscription or as an added type",
                hint="Remove it from the file; a live subscription that already has it keeps "
                "receiving it.",
            )


def _check_one_subscription_per_sink(plan: Plan, model: Any, live: Live, sinks: _Sinks) -> None:
    """Twilio takes one subscription per sink ("Sink with SID ... is in use", live-tested).

    Two declared subscriptions on one sink fail at plan time. A new subscription on a live sink
    that still has one: if this plan deletes that one, it is deleted first (a short gap in
    delivery, said in the plan); if not, planning fails, naming it.
    """
    users: dict[str, list[str]] = {}
    for name, decl in model.subscriptions.items():
        users.setdefault(decl.sink, []).append(name)
    for sink_name, names in users.items():
        if len(names) > 1:
            raise UsageError(
                f"subscriptions {', '.join(sorted(names))} all deliver to sink {sink_name}; "
                "Twilio allows one subscription per sink",
                hint="Merge their types into one subscription, or give each its own sink.",
            )
    deleted = {c.sid for c in plan.changes if c.kind == "subscription" and c.action == DELETE}
    for change in plan.changes:
        if change.kind != "subscription" or change.action not in (CREATE, REPLACE):
            continue
        target = sinks.target.get(change.details["sink"])
        if target is None:
            continue  # a new sink: nothing on it yet
        holders = [s.sid for s in live.subscriptions_of(target) if s.sid != change.sid]
        blocking = [sid for sid in holders if sid not in deleted]
        if blocking:
            raise UsageError(
                f"sink {change.details['sink']} ({target}) already has subscription "
                f"{', '.join(blocking)}, not in {plan.source}; Twilio allows one subscription "
                "per sink",
                hint="Declare that subscription in the file (sid: ...) and edit its types, "
                "delete it, or re-run with --prune.",
            )
        if holders:
            change.details["frees"] = holders
            change.reasons.append(
                f"sink {target} holds one subscription: {', '.join(holders)} is deleted first "
                "(events are not delivered in between)"
            )


def _plan_deletions(
    plan: Plan,
    live: Live,
    old_sinks: list[Sink],
    old_subs: list[Subscription],
    gone_sinks: list[Sink],
    gone_subs: list[Subscription],
) -> None:
    replaced = {c.sid for c in plan.changes if c.action == REPLACE}
    deleting_subs: dict[str, Subscription] = {}
    for sub in [*old_subs, *gone_subs]:
        if sub.sid in replaced or sub.sid in deleting_subs:
            continue
        deleting_subs[sub.sid] = sub
        why = "no longer in the file" if sub in gone_subs else "left over on an old sink"
        if parse_marker(sub.description) is None:
            why = "not managed by twilio-es (--prune)"
        plan.changes.append(Change("subscription", _label(sub), DELETE, [why], sid=sub.sid))
    moving = {c.sid for c in plan.changes if c.kind == "subscription" and c.action == REPLACE}
    for sink in {s.sid: s for s in [*old_sinks, *gone_sinks]}.values():
        if any(c.sid == sink.sid and c.action == REPLACE for c in plan.changes):
            blockers = [
                s.sid
                for s in live.subscriptions_of(sink.sid)
                if s.sid not in moving and s.sid not in deleting_subs
            ]
            if blockers:
                plan.warnings.append(
                    f"old sink {sink.sid} stays after the replacement: still used by "
                    f"subscription(s) not in the file: {', '.join(blockers)} "
                    "(move them, or --prune)"
                )
            continue
        blockers = [
            s.sid
            for s in live.subscriptions_of(sink.sid)
            if s.sid not in deleting_subs and s.sid not in moving
        ]
        if blockers:
            plan.warnings.append(
                f"sink {sink.sid} ({_label(sink)}) is no longer wanted but is used by "
                f"subscription(s) not in the file: {', '.join(blockers)}; left alone"
            )
            continue
        why = "no longer in the file" if sink in gone_sinks else "left over from a replacement"
        if parse_marker(sink.description) is None:
            why = "not managed by twilio-es (--prune)"
        plan.changes.append(Change("sink", _label(sink), DELETE, [why], sid=sink.sid))


def _check_capacity(plan: Plan, live: Live) -> None:
    """Fail at plan time when applying would pass Twilio's 100/100 limits at its peak."""
    from twilio_es_cli.infra.schema import MAX_SINKS, MAX_SUBSCRIPTIONS

    for kind, have, limit in (
        ("sink", len(live.sinks), MAX_SINKS),
        ("subscription", len(live.subscriptions), MAX_SUBSCRIPTIONS),
    ):
        new = sum(1 for c in plan.changes if c.kind == kind and c.action in (CREATE, REPLACE))
        if have + new > limit:
            raise UsageError(
                f"applying {plan.source} needs {have + new} {kind}s at its peak "
                f"({have} exist, {new} new or replacements); Twilio allows {limit}",
                hint=f"Delete unused {kind}s first (`twilio-es status` lists orphans), "
                "or apply in smaller steps.",
            )


Progress = Callable[[str], None]
