"""`twilio-es local` command group."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="local",
    help="The offline sandbox: a local Kinesis and Events API emulator, no accounts needed.",
    no_args_is_help=True,
    rich_markup_mode=None,
)


def register(root: typer.Typer) -> None:
    """Attach this module's commands to the root app."""
    root.add_typer(app)
