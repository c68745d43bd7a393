"""`twilio-es sink` command group."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="sink",
    help="Create, list, show, test, validate and delete Event Streams sinks.",
    no_args_is_help=True,
    rich_markup_mode=None,
)


def register(root: typer.Typer) -> None:
    """Attach this module's commands to the root app."""
    root.add_typer(app)
