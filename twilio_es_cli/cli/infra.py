"""`twilio-es plan / apply / export / status`: Event Streams as code (core in twilio_es_cli.infra).

Thin: parse -> core -> render. The file is loaded and checked (exit 2 with FILE:LINE) before
any client is built; heavy modules load inside the commands.
"""

from __future__ import annotations

from typing import Annotated

import typer

from twilio_es_cli.cli._common import JsonOption, YesOption, confirm, settings

FileOption = Annotated[
    str | None,
    typer.Option(
        "--file", "-f", metavar="FILE", help="The Event Streams file (default: twilio-es.yaml)."
    ),
]
PruneOption = Annotated[
    bool,
    typer.Option(
        "--prune",
        help="Also delete sinks and subscriptions without a twilio-es marker (asks first).",
    ),
]


def plan(
    ctx: typer.Context,
    file: FileOption = None,
    prune: PruneOption = False,
    detailed_exitcode: Annotated[
        bool,
        typer.Option(
            "--detailed-exitcode", help="Exit 0 when nothing changes, 2 when something would."
        ),
    ] = False,
    as_json: JsonOption = False,
) -> int:
    """Show what `apply` would change: create, update, replace, delete, with reasons.

    Nothing is changed. Resources are matched by the marker twilio-es records in their
    description (or an adopted sid:), never by guesswork; resources without a marker are left
    alone unless --prune. With --detailed-exitcode: 0 no changes, 2 changes, 1 error.

    \b
    Examples:
      twilio-es plan
      twilio-es plan -f prod.yaml --detailed-exitcode --json > plan.json
    """
    from twilio_es_cli import output
    from twilio_es_cli.infra import run
    from twilio_es_cli.infra.loader import load

    desired = load(file)
    planned = run.plan(settings(ctx), desired, prune=prune)
    if as_json:
        output.print_json(planned.plan.to_dict())
    else:
        for line in run.plan_lines(planned.plan):
            typer.echo(line)
    if detailed_exitcode and planned.plan.pending:
        return 2
    return 0


def apply(
    ctx: typer.Context,
    file: FileOption = None,
    prune: PruneOption = False,
    timeout: Annotated[
        float,
        typer.Option("--timeout", help="Seconds to wait for each sink's test event."),
    ] = 120.0,
    yes: YesOption = False,
    as_json: JsonOption = False,
) -> None:
    """Make the account match the file: in dependency order, proving each new sink.

    Streams and roles first, then new sinks (each proven: a test event is read back from its
    stream and the sink validated), then subscriptions; old subscriptions and sinks are deleted
    last, so a replacement never leaves a gap. On failure it says what was done and what not;
    run it again to continue. Asks before deleting anything unless --yes.

    \b
    Examples:
      twilio-es apply
      twilio-es apply -f prod.yaml --yes
    """
    from twilio_es_cli import output
    from twilio_es_cli.errors import UsageError
    from twilio_es_cli.infra import run
    from twilio_es_cli.infra.loader import load
    from twilio_es_cli.infra.planner import DELETE, REPLACE

    if not timeout > 0:
        raise UsageError("--timeout must be a positive number of seconds")
    desired = load(file)
    planned = run.plan(settings(ctx), desired, prune=prune)
    planned.env.proof_timeout = timeout
    the_plan = planned.plan
    if not the_plan.pending:
        output.success(f"No changes: the account already matches {the_plan.source}.")
        if as_json:
            output.print_json(run.summary(run.Outcome(), the_plan))
        return
    for line in run.plan_lines(the_plan, show_unchanged=False):
        output.info(line)
    destructive = [c for c in the_plan.pending if c.action in (DELETE, REPLACE)]
    if destructive:
        confirm(
            f"Apply {len(the_plan.pending)} change(s), deleting or replacing "
            f"{len(destructive)} resource(s)?",
            yes=yes,
        )
    outcome = run.apply(planned)
    output.success(
        f"Applied {len(outcome.done)} step(s); run `twilio-es plan` to see nothing is left."
    )
    for warning in outcome.warnings:
        output.warn(warning)
    if as_json:
        output.print_json(run.summary(outcome, the_plan))


def register(root: typer.Typer) -> None:
    """Attach plan/apply (and export/status) to the root app."""
    root.command("plan")(plan)
    root.command("apply")(apply)
