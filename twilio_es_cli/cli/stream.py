"""`twilio-es stream` command group."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="stream",
    help="Create, scale, inspect, tail and delete the Kinesis stream Twilio writes to.",
    no_args_is_help=True,
    rich_markup_mode=None,
)


def register(root: typer.Typer) -> None:
    """Attach this module's commands to the root app."""
    root.add_typer(app)
