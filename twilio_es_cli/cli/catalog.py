"""`twilio-es types` and `twilio-es schema`: the Event Streams catalogue."""

from __future__ import annotations

import typer

types_app = typer.Typer(
    name="types", help="Browse the event types you can subscribe to.", no_args_is_help=True
)
schema_app = typer.Typer(
    name="schema", help="Show event schemas and their versions.", no_args_is_help=True
)


def register(root: typer.Typer) -> None:
    """Attach this module's commands to the root app."""
    root.add_typer(types_app)
    root.add_typer(schema_app)
