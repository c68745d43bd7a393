"""`twilio-es subscription` command group."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="subscription",
    help="List, show and change subscriptions (which event types go to which sink).",
    no_args_is_help=True,
    rich_markup_mode=None,
)


def register(root: typer.Typer) -> None:
    """Attach this module's commands to the root app."""
    root.add_typer(app)
