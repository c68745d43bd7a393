"""`twilio-es subscribe` and the `twilio-es subscription` command group.

Thin: parse and check input (exit 2 before any remote call), call
:mod:`twilio_es_cli.subscriptions`, render with :mod:`twilio_es_cli.output`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from twilio_es_cli.cli._common import JqOption, JsonOption, YesOption, clients, confirm

if TYPE_CHECKING:
    from twilio_es_cli.catalog import Resolution
    from twilio_es_cli.subscriptions import Subscription, Subscriptions

app = typer.Typer(
    name="subscription",
    help="List, show and change subscriptions (which event types go to which sink).",
    no_args_is_help=True,
    rich_markup_mode=None,
)

SidArg = Annotated[str, typer.Argument(metavar="SID", help="Subscription SID (DF...).")]


def _core(ctx: typer.Context) -> Subscriptions:
    from twilio_es_cli.subscriptions import Subscriptions

    return Subscriptions(clients(ctx).twilio())


def _render(
    subscription: Subscription, *, as_json: bool, extra: dict[str, Any] | None = None
) -> None:
    from twilio_es_cli import output

    if as_json:
        output.print_json({**subscription.to_dict(), **(extra or {})})
        return
    output.print_fields(
        {
            "sid": subscription.sid,
            "description": subscription.description,
            "sink": subscription.sink_sid,
            "created": subscription.date_created,
            "updated": subscription.date_updated,
        },
        title=f"Subscription {subscription.sid}",
    )
    output.print_table(
        [output.Column("TYPE", identifier=True), output.Column("SCHEMA VERSION")],
        [(t.type, t.schema_version) for t in subscription.types],
        title="Subscribed events",
    )


def _tell(resolution: Resolution) -> None:
    from twilio_es_cli import output

    for note in resolution.notes:
        output.info(note)
    for warning in resolution.warnings:
        output.warn(warning)


def _specs(types: list[str]) -> list[Any]:
    from twilio_es_cli.catalog import parse_type_spec

    return [parse_type_spec(t) for t in types]


def subscribe(
    ctx: typer.Context,
    sink: Annotated[str, typer.Option("--sink", help="SID of an active sink (DG...).")],
    types: Annotated[
        list[str],
        typer.Option(
            "--type",
            "-t",
            metavar="TYPE[:VERSION]",
            help="Event type, optionally with a schema version; globs allowed. Repeatable.",
        ),
    ],
    description: Annotated[
        str | None,
        typer.Option("--description", help="Description (default: 'twilio-es subscription')."),
    ] = None,
    as_json: JsonOption = False,
    jq: JqOption = None,
) -> None:
    """Subscribe a sink to event types.

    Each type is checked against the catalogue: unknown names are refused with close matches,
    discontinued types are refused, globs expand to the matching available types, and a type
    given without :VERSION is pinned to the schema's current latest version (said on stderr),
    so a later schema release does not change your payloads silently. Types the sink already
    receives are not subscribed twice (each event would arrive twice): when it receives all
    of them nothing changes and it says "already subscribed" (--json: "created": false).
    Twilio allows one subscription per sink: new types on a sink that has one join it
    (--json: "added").

    Exit codes: 2 a malformed or discontinued type, 4 no such sink, type or schema version,
    5 the sink is not active yet (validate it with `twilio-es sink validate SID`).

    \b
    Examples:
      twilio-es subscribe --sink DGxxxx --type com.twilio.messaging.message.delivered
      twilio-es subscribe --sink DGxxxx --type 'com.twilio.messaging.message.*'
      twilio-es subscribe --sink DGxxxx -t com.twilio.messaging.message.sent:3 --json
    """
    from twilio_es_cli import output
    from twilio_es_cli.sinks import check_sid as check_sink_sid

    sink = check_sink_sid(sink)
    specs = _specs(types)
    core = _core(ctx)
    with output.progress(f"Subscribing sink {sink}"):
        done = core.subscribe_once(sink, specs, description)
    subscription, resolution = done.subscription, done.resolution
    _tell(resolution)
    already = [
        {"type": name, "schema_version": version, "subscription_sid": sid}
        for name, (version, sid) in done.already.items()
    ]
    listed = ", ".join(
        f"{a['type']}:{a['schema_version']} (via {a['subscription_sid']})" for a in already
    )
    if done.added:
        if already:
            output.info(f"Already subscribed: {listed}")
        output.success(
            f"Added {', '.join(done.added)} to subscription {subscription.sid}, the sink's one "
            "subscription (Twilio allows one per sink)"
        )
    elif not done.created:
        output.info(f"Already subscribed: sink {sink} receives {listed}; nothing changed.")
    else:
        if already:
            output.info(
                f"Already subscribed, so not again (each event would arrive twice): {listed}"
            )
        output.success(
            f"Subscription {subscription.sid} sends {len(subscription.types)} type(s) to {sink}"
        )
    _render(
        subscription,
        as_json=as_json,
        extra={
            "resolved": [r.to_dict() for r in resolution.types],
            "created": done.created,
            "added": list(done.added),
            "already_subscribed": already,
        },
    )


@app.command("list")
def list_(
    ctx: typer.Context,
    sink: Annotated[
        str | None, typer.Option("--sink", help="Only subscriptions of this sink (DG...).")
    ] = None,
    as_json: JsonOption = False,
    jq: JqOption = None,
) -> None:
    """List subscriptions with their event types and schema versions.

    \b
    Examples:
      twilio-es subscription list
      twilio-es subscription list --sink DGxxxx --json
    """
    from twilio_es_cli import output
    from twilio_es_cli.sinks import check_sid as check_sink_sid

    if sink is not None:  # given but empty is a mistake, not "all sinks"
        sink = check_sink_sid(sink)
    found = _core(ctx).list(sink)
    output.emit(
        [s.to_dict() for s in found],
        as_json=as_json,
        columns=[
            output.Column("SID", identifier=True),
            output.Column("SINK", identifier=True, priority=1),
            output.Column("DESCRIPTION", priority=2),
            output.Column("TYPES", identifier=True),
        ],
        rows=[
            (
                s.sid,
                s.sink_sid,
                s.description,
                "\n".join(f"{t.type}:{t.schema_version}" for t in s.types) or None,
            )
            for s in found
        ],
        title="Subscriptions",
    )


@app.command("show")
def show(ctx: typer.Context, sid: SidArg, as_json: JsonOption = False, jq: JqOption = None) -> None:
    """Show one subscription and its subscribed event types with their versions.

    \b
    Example:
      twilio-es subscription show DFxxxx --json
    """
    from twilio_es_cli.subscriptions import check_subscription_sid

    check_subscription_sid(sid)
    _render(_core(ctx).get(sid), as_json=as_json)


@app.command("delete")
def delete(ctx: typer.Context, sid: SidArg, yes: YesOption = False) -> None:
    """Delete a subscription (asks first unless --yes). The sink is left alone.

    \b
    Example:
      twilio-es subscription delete DFxxxx --yes
    """
    from twilio_es_cli import output
    from twilio_es_cli.subscriptions import check_subscription_sid

    check_subscription_sid(sid)
    core = _core(ctx)
    core.get(sid)  # a missing subscription is exit 4 before anyone is asked anything
    confirm(f"Delete subscription {sid}?", yes=yes)
    core.delete(sid)
    output.success(f"Deleted subscription {sid}")


@app.command("update")
def update(
    ctx: typer.Context,
    sid: SidArg,
    description: Annotated[str, typer.Option("--description", help="The new description.")],
    as_json: JsonOption = False,
    jq: JqOption = None,
) -> None:
    """Change a subscription's description (the only field the API lets you update).

    \b
    Example:
      twilio-es subscription update DFxxxx --description "prod messaging"
    """
    from twilio_es_cli import output
    from twilio_es_cli.subscriptions import check_subscription_sid

    check_subscription_sid(sid)
    if not description.strip():
        from twilio_es_cli.errors import UsageError

        raise UsageError("The description must not be empty")
    subscription = _core(ctx).update_description(sid, description)
    output.success(f"Updated subscription {sid}")
    _render(subscription, as_json=as_json)


@app.command("add-type")
def add_type(
    ctx: typer.Context,
    sid: SidArg,
    types: Annotated[
        list[str],
        typer.Argument(metavar="TYPE[:VERSION]...", help="Types to add (globs allowed)."),
    ],
    as_json: JsonOption = False,
    jq: JqOption = None,
) -> None:
    """Add event types to a subscription, checked and pinned like `subscribe`.

    \b
    Examples:
      twilio-es subscription add-type DFxxxx com.twilio.messaging.message.read
      twilio-es subscription add-type DFxxxx com.twilio.messaging.message.sent:2
    """
    from twilio_es_cli import output
    from twilio_es_cli.subscriptions import check_subscription_sid

    check_subscription_sid(sid)
    specs = _specs(types)
    subscription, resolution = _core(ctx).add_types(sid, specs)
    _tell(resolution)
    output.success(f"Added {', '.join(r.type for r in resolution.types)} to {sid}")
    _render(subscription, as_json=as_json)


@app.command("remove-type")
def remove_type(
    ctx: typer.Context,
    sid: SidArg,
    type_name: Annotated[str, typer.Argument(metavar="TYPE", help="The type to remove.")],
    as_json: JsonOption = False,
    jq: JqOption = None,
) -> None:
    """Remove one event type from a subscription (to remove the last, delete the subscription).

    \b
    Example:
      twilio-es subscription remove-type DFxxxx com.twilio.messaging.message.read
    """
    from twilio_es_cli import output
    from twilio_es_cli.catalog import check_type_name
    from twilio_es_cli.subscriptions import check_subscription_sid

    check_subscription_sid(sid)
    type_name = check_type_name(type_name)
    subscription = _core(ctx).remove_type(sid, type_name)
    output.success(f"Removed {type_name} from {sid}")
    _render(subscription, as_json=as_json)


@app.command("set-version")
def set_version(
    ctx: typer.Context,
    sid: SidArg,
    type_name: Annotated[str, typer.Argument(metavar="TYPE", help="A type of the subscription.")],
    version: Annotated[str, typer.Argument(metavar="VERSION", help="Schema version to use.")],
    as_json: JsonOption = False,
    jq: JqOption = None,
) -> None:
    """Pin one event type of a subscription to another schema version.

    \b
    Example:
      twilio-es subscription set-version DFxxxx com.twilio.messaging.message.delivered 4
    """
    from twilio_es_cli import output
    from twilio_es_cli.catalog import check_type_name, parse_version
    from twilio_es_cli.subscriptions import check_subscription_sid

    check_subscription_sid(sid)
    type_name = check_type_name(type_name)
    number = parse_version(version)
    subscription = _core(ctx).set_version(sid, type_name, number)
    output.success(f"{type_name} in {sid} now uses schema version {number}")
    _render(subscription, as_json=as_json)


def register(root: typer.Typer) -> None:
    """Attach `subscribe` and the `subscription` group to the root app."""
    root.command("subscribe")(subscribe)
    root.add_typer(app)
