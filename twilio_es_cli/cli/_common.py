"""Small helpers shared by the command modules: settings access, common options, confirmation.

Light imports only (typer, stdlib, our light modules): this module is loaded for ``--help``.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import typer

from twilio_es_cli.config import Settings
from twilio_es_cli.errors import ExitCode, UsageError

if TYPE_CHECKING:
    from twilio_es_cli.clients import Clients

_CLIENTS = "twilio_es.clients"  # key in the root context's meta


_JQ = "twilio_es.jq"  # set in the root context's meta when --jq was given


def _jq_given(ctx: typer.Context, expression: str | None) -> str | None:
    """--jq: compile the expression before anything runs (a bad one is exit 2 at once) and
    filter this command's :func:`~twilio_es_cli.output.print_json` with it, until it ends."""
    if expression is not None:
        from twilio_es_cli import output

        output.use_jq(output.compile_jq(expression))
        ctx.find_root().meta[_JQ] = True
        ctx.call_on_close(lambda: output.use_jq(None))
    return expression


def _json_wanted(ctx: typer.Context, value: bool) -> bool:
    """--json, or --jq (which filters the JSON, so it implies it; --jq is eager: seen first)."""
    return value or bool(ctx.find_root().meta.get(_JQ))


JsonOption = Annotated[
    bool,
    typer.Option(
        "--json",
        help="Print one JSON document on stdout (for scripts and jq).",
        callback=_json_wanted,
    ),
]
JqOption = Annotated[
    str | None,
    typer.Option(
        "--jq",
        metavar="EXPR",
        help="Filter the JSON output with a jq expression, as gh does (implies --json; "
        "strings print without quotes).",
        is_eager=True,
        callback=_jq_given,
        show_default=False,
    ),
]
YesOption = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")]
# tail's and archive's STREAM: both read the stream a Kinesis sink config names by default.
StreamReadArgument = Annotated[
    str | None,
    typer.Argument(
        help="Stream name or ARN (default: the arn in ./twilio-sink.json).",
        show_default=False,
        metavar="STREAM",
    ),
]


def settings(ctx: typer.Context) -> Settings:
    """The :class:`Settings` the root callback resolved for this invocation."""
    root = ctx.find_root()
    obj = root.obj
    if not isinstance(obj, Settings):  # a sub-app invoked on its own (tests): resolve now
        from twilio_es_cli.config import resolve_settings

        obj = resolve_settings()
        root.obj = obj
    return obj


def clients(ctx: typer.Context) -> Clients:
    """The invocation's client factory: built from the settings on first use, then shared."""
    meta = ctx.find_root().meta
    found = meta.get(_CLIENTS)
    if found is None:
        from twilio_es_cli.clients import Clients

        found = meta[_CLIENTS] = Clients(settings(ctx))
    return found


def use_clients(ctx: typer.Context, factory: Clients) -> None:
    """Make every command in this invocation reach services through ``factory`` (tests)."""
    ctx.find_root().meta[_CLIENTS] = factory


def confirm(question: str, *, yes: bool) -> None:
    """Ask before a destructive step; refuse (exit 2) when no one can answer and no --yes.

    Answering "no" is a decision, not an interruption: it says nothing changed and exits 1
    (as click's own confirmation does), where Ctrl-C stays 130.
    """
    if yes:
        return
    if not sys.stdin.isatty():
        raise UsageError(
            f"{question} Refusing without confirmation: stdin is not a terminal",
            hint="Pass --yes to confirm.",
        )
    if not typer.confirm(question, default=False, err=True):
        from twilio_es_cli import output

        output.info("Cancelled; nothing was changed.")
        raise typer.Exit(int(ExitCode.FAILURE))
