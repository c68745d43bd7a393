"""The commands' core: load -> read the account -> plan (-> apply), and the plan as text.

Kept apart from ``cli/infra.py`` so the CLI stays parse -> core -> render, and so the
benchmark and tests can time or drive a plan without the command line.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from twilio_es_cli.infra.executor import ApplyResult, Env, Executor
from twilio_es_cli.infra.live import Live, read_stream, read_twilio
from twilio_es_cli.infra.loader import Desired
from twilio_es_cli.infra.planner import (
    CREATE,
    DELETE,
    REPLACE,
    UNCHANGED,
    UPDATE,
    Plan,
    build,
    resolve_types,
)

if TYPE_CHECKING:
    from twilio_es_cli.clients import Clients


@dataclass
class Planned:
    desired: Desired
    plan: Plan
    env: Env


def make_env(clients: Clients, desired: Desired | None) -> Env:
    """What plan/apply (and ``sink rotate``, with no desired file) work with, from the
    invocation's one client factory (``cli._common.clients(ctx)``)."""
    return Env(
        settings=clients.settings,
        aws=clients.aws(),
        client=clients.twilio(),
        desired=desired,
        stream_kinesis=clients.stream_kinesis,
        report=clients.report,
    )


def read_live(env: Env) -> Live:
    """Sinks, subscriptions, and each declared stream with its role."""
    sinks, subscriptions = read_twilio(env.client)
    live = Live(sinks=sinks, subscriptions=subscriptions)
    principal = env.settings.twilio_principal
    if env.desired.model.streams:
        for name, decl in env.desired.model.streams.items():
            live.streams[name] = read_stream(env.aws, name, decl.role_name, principal)
    return live


def plan(clients: Clients, desired: Desired, *, prune: bool = False) -> Planned:
    """Check types against the catalogue (located errors, exit 2), read, and diff."""
    from twilio_es_cli.catalog import Catalog

    env = make_env(clients, desired)
    notes: list[str] = []
    types = {}
    restricted: set[str] = set()
    if desired.model.subscriptions:
        catalog = Catalog(env.client)
        types = resolve_types(desired, catalog, notes)
        restricted = {t.type for t in catalog.types() if t.status == "restricted"}
    live = read_live(env)
    result = build(desired, live, types, prune=prune, restricted=restricted)
    if desired.model.archive is not None:
        from twilio_es_cli.infra.archive.plan import plan_archive

        plan_archive(result, desired, env.aws, live, types)
    result.notes.extend(notes)
    return Planned(desired, result, env)


def apply(planned: Planned) -> ApplyResult:
    return Executor(planned.env, planned.plan).run()


SYMBOL = {CREATE: "+", UPDATE: "~", REPLACE: "-/+", DELETE: "-", UNCHANGED: " "}


def plan_lines(plan: Plan, *, show_unchanged: bool = True) -> list[str]:
    """The plan as people read it: one line per resource, reasons indented below."""
    lines = [f"Plan for {plan.source} (project {plan.project}):"]
    for change in plan.changes:
        if change.action == UNCHANGED and not show_unchanged:
            continue
        sid = f" ({change.sid})" if change.sid else ""
        lines.append(
            f"  {SYMBOL[change.action]:>3} {change.kind} {change.name}{sid}: {change.action}"
        )
        lines.extend(f"        {reason}" for reason in change.reasons)
    if any(c.action == REPLACE and c.kind == "subscription" for c in plan.changes):
        lines.append(
            "  note: replaced subscriptions are created before the old ones are deleted: "
            "events may arrive twice meanwhile (Twilio delivers at least once anyway)"
        )
    lines.extend(f"  note: {n}" for n in plan.notes)
    lines.extend(f"  warning: {w}" for w in plan.warnings)
    counts = plan.counts()
    if plan.pending:
        lines.append(
            f"{counts[CREATE]} to create, {counts[UPDATE]} to update, {counts[REPLACE]} to "
            f"replace, {counts[DELETE]} to delete, {counts[UNCHANGED]} unchanged."
        )
    else:
        lines.append(f"No changes: the account matches {plan.source}.")
    return lines


def summary(outcome: ApplyResult, plan: Plan) -> dict[str, Any]:
    return {"plan": plan.to_dict(), **outcome.to_dict()}
