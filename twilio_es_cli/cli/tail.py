"""`twilio-es tail` (top-level command)."""

from __future__ import annotations

import typer


def register(root: typer.Typer) -> None:
    """Attach this module's commands to the root app."""
