"""`twilio-es types` and `twilio-es schema`: the Event Streams catalogue.

Thin: parse, call :class:`twilio_es_cli.catalog.Catalog`, render with :mod:`twilio_es_cli.output`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from twilio_es_cli.cli._common import JqOption, JsonOption, clients

if TYPE_CHECKING:
    from twilio_es_cli.catalog import Catalog

types_app = typer.Typer(
    name="types",
    help="Browse the event types you can subscribe to.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
schema_app = typer.Typer(
    name="schema",
    help="Show event schemas, their versions, and the raw JSON Schema documents.",
    no_args_is_help=True,
    rich_markup_mode=None,
)

SchemaIdArg = Annotated[
    str, typer.Argument(metavar="SCHEMA_ID", help="Schema id, e.g. Messaging.MessageStatus.")
]


def _catalog(ctx: typer.Context) -> Catalog:
    from twilio_es_cli.catalog import Catalog

    return Catalog(clients(ctx).twilio())


@types_app.command("list")
def types_list(
    ctx: typer.Context,
    search: Annotated[
        str | None,
        typer.Option("--search", "-s", help="Only types whose name/description/schema has TEXT."),
    ] = None,
    schema: Annotated[
        str | None, typer.Option("--schema", help="Only types of this schema id.")
    ] = None,
    as_json: JsonOption = False,
    jq: JqOption = None,
) -> None:
    """List event types with their schema and status (available, deprecated, discontinued...).

    \b
    Examples:
      twilio-es types list --search message
      twilio-es types list --schema Messaging.MessageStatus --json
    """
    from twilio_es_cli import output
    from twilio_es_cli.catalog import check_schema_id, filter_types

    schema_id = check_schema_id(schema, "--schema") if schema is not None else None
    catalog = _catalog(ctx)
    found = filter_types(catalog.types(schema_id), search=search)
    output.emit(
        [t.to_dict() for t in found],
        as_json=as_json,
        columns=[
            output.Column("TYPE", identifier=True),
            output.Column("SCHEMA", identifier=True, priority=1),
            output.Column("STATUS", priority=2),
            output.Column("DESCRIPTION", priority=3),
        ],
        rows=[(t.type, t.schema_id, t.status, t.description) for t in found],
        title="Event types",
    )


@types_app.command("show")
def types_show(
    ctx: typer.Context,
    type_name: Annotated[str, typer.Argument(metavar="TYPE", help="The event type name.")],
    as_json: JsonOption = False,
    jq: JqOption = None,
) -> None:
    """Show one event type, its schema and the schema's latest version.

    \b
    Example:
      twilio-es types show com.twilio.messaging.message.delivered
    """
    from twilio_es_cli import output
    from twilio_es_cli.catalog import check_type_name

    name = check_type_name(type_name)
    catalog = _catalog(ctx)
    entry = catalog.type(name)
    data = entry.to_dict()
    data["latest_schema_version"] = (
        catalog.latest_version(entry.schema_id) if entry.schema_id else None
    )
    output.emit(data, as_json=as_json, fields=data, title=entry.type)


@schema_app.command("versions")
def schema_versions(
    ctx: typer.Context,
    schema_id: SchemaIdArg,
    as_json: JsonOption = False,
    jq: JqOption = None,
) -> None:
    """List the versions of a schema, oldest first.

    \b
    Example:
      twilio-es schema versions Messaging.MessageStatus
    """
    from twilio_es_cli import output
    from twilio_es_cli.catalog import check_schema_id

    schema_id = check_schema_id(schema_id)
    found = _catalog(ctx).versions(schema_id)
    output.emit(
        [v.to_dict() for v in found],
        as_json=as_json,
        columns=[
            output.Column("VERSION", identifier=True),
            output.Column("CREATED"),
            output.Column("RAW", identifier=True, priority=1),
        ],
        rows=[(v.schema_version, v.date_created, v.raw) for v in found],
        title=f"Versions of {schema_id}",
    )


@schema_app.command("show")
def schema_show(
    ctx: typer.Context,
    schema_id: SchemaIdArg,
    version: Annotated[
        str | None, typer.Option("--version", help="Schema version (default: the latest).")
    ] = None,
) -> None:
    """Print a schema version's raw JSON Schema document on stdout (the latest by default).

    \b
    Examples:
      twilio-es schema show Messaging.MessageStatus
      twilio-es schema show Messaging.MessageStatus --version 3 > status-v3.json
    """
    from twilio_es_cli import output
    from twilio_es_cli.catalog import check_schema_id, parse_version

    schema_id = check_schema_id(schema_id)
    number = parse_version(version) if version is not None else None
    catalog = _catalog(ctx)
    found = catalog.version(schema_id, number)
    output.info(f"{found.id} version {found.schema_version} ({found.raw})")
    output.print_json(catalog.raw_schema(found))


def register(root: typer.Typer) -> None:
    """Attach this module's commands to the root app."""
    root.add_typer(types_app)
    root.add_typer(schema_app)
