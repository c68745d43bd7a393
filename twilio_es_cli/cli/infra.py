"""`twilio-es plan / apply / export / status`: Event Streams as code (core in twilio_es_cli.infra).

Thin: parse -> core -> render. The file is loaded and checked (exit 2 with FILE:LINE) before
any client is built; heavy modules load inside the commands.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from twilio_es_cli.cli._common import JqOption, JsonOption, YesOption, clients, confirm

if TYPE_CHECKING:
    from twilio_es_cli.infra.exporter import Exported

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
    jq: JqOption = None,
) -> int:
    """Show what `apply` would change: create, update, replace, delete, with reasons.

    Nothing is changed. Resources are matched by the marker twilio-es records in their
    description (or an adopted sid:), never by guesswork; resources without a marker are left
    alone unless --prune. With --detailed-exitcode: 0 no changes, 2 changes, 1 any error
    (a bad file included, which is otherwise exit 2).

    \b
    Examples:
      twilio-es plan
      twilio-es plan -f prod.yaml --detailed-exitcode --json > plan.json
    """
    from twilio_es_cli import output
    from twilio_es_cli.errors import ExitCode, TwilioEsError
    from twilio_es_cli.infra import run
    from twilio_es_cli.infra.loader import load

    try:
        desired = load(file)
        planned = run.plan(clients(ctx), desired, prune=prune)
    except TwilioEsError as exc:
        if detailed_exitcode:  # like Terraform's: 2 means "changes", so every error is 1
            exc.exit_code = ExitCode.FAILURE
        raise
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
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Show what would change (as `plan` does), change nothing."),
    ] = False,
    as_json: JsonOption = False,
    jq: JqOption = None,
) -> None:
    """Make the account match the file: in dependency order, proving each new sink.

    Streams and roles first, then the archive: block's resources (bucket, Glue database and
    table, Firehose role, Athena workgroup, delivery stream), then new sinks (each proven: a
    test event is read back from its stream and the sink validated), then subscriptions; old
    subscriptions and sinks are deleted last, so a replacement never leaves a gap. On failure
    it says what was done and what not; run it again to continue. Like `terraform apply`, it
    shows the plan and asks before it creates, updates, replaces or deletes anything; --yes
    (-y) approves in advance, and without a terminal to ask on, --yes is required (exit 2
    otherwise, nothing changed); --dry-run shows the plan and stops.

    \b
    Examples:
      twilio-es apply
      twilio-es apply --dry-run
      twilio-es apply -f prod.yaml --yes
    """
    from twilio_es_cli import output
    from twilio_es_cli.errors import UsageError
    from twilio_es_cli.infra import run
    from twilio_es_cli.infra.executor import ApplyResult
    from twilio_es_cli.infra.loader import load
    from twilio_es_cli.infra.planner import CREATE, DELETE, REPLACE, UPDATE

    if not timeout > 0:
        raise UsageError("--timeout must be a positive number of seconds")
    desired = load(file)
    planned = run.plan(clients(ctx), desired, prune=prune)
    planned.env.proof_timeout = timeout
    the_plan = planned.plan
    if dry_run:
        if as_json:
            output.print_json(the_plan.to_dict())
        else:
            for line in run.plan_lines(the_plan):
                typer.echo(line)
        return
    if not the_plan.pending:
        output.success(f"No changes: the account already matches {the_plan.source}.")
        if as_json:
            output.print_json(run.summary(ApplyResult(), the_plan))
        return
    for line in run.plan_lines(the_plan, show_unchanged=False):
        output.info(line)
    # As Terraform: every change is confirmed, on a terminal by a person; without one, --yes
    # is the approval (a script that forgot it fails with exit 2 before anything changed).
    counts = the_plan.counts()
    summary = ", ".join(
        f"{counts[action]} to {action}"
        for action in (CREATE, UPDATE, REPLACE, DELETE)
        if counts[action]
    )
    confirm(f"Apply these {len(the_plan.pending)} change(s) ({summary})?", yes=yes)
    outcome = run.apply(planned)
    output.success(
        f"Applied {len(outcome.done)} step(s); run `twilio-es plan` to see nothing is left."
    )
    for warning in outcome.warnings:
        output.warn(warning)
    if as_json:
        output.print_json(run.summary(outcome, the_plan))


def export(
    ctx: typer.Context,
    stream: Annotated[
        list[str] | None,
        typer.Option(
            "--stream", metavar="NAME", help="Only sinks writing to this stream (repeatable)."
        ),
    ] = None,
    project: Annotated[
        str | None,
        typer.Option("--project", help="Project of the markers (default: the one in use)."),
    ] = None,
    out: Annotated[
        str | None,
        typer.Option("--output", "-o", metavar="FILE", help="Write here instead of stdout."),
    ] = None,
) -> None:
    """Write the file for what exists today (the way in from a hand-built setup).

    Sinks and subscriptions twilio-es did not create are adopted by sid:; secrets (external
    ids, write keys, passwords in webhook URLs) become ${env:NAME} references whose names are
    printed; `plan` on the
    result shows no changes once those variables are set.

    \b
    Examples:
      twilio-es export > twilio-es.yaml
      twilio-es export --stream twilio-events -o prod.yaml
    """

    from twilio_es_cli import output
    from twilio_es_cli.errors import UsageError
    from twilio_es_cli.infra.exporter import export as run_export

    if project is not None:
        import re

        if not re.match(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$", project):
            raise UsageError(f"--project {project!r} must be 1-64 letters, digits, _ . -")
    if any(not name.strip() for name in stream or ()):
        raise UsageError("--stream was given an empty value", hint="Name a stream: --stream NAME.")
    if out is not None:
        from twilio_es_cli.files import check_writable

        check_writable(out, "--output", example="twilio-es.yaml")
    made = clients(ctx)
    exported = run_export(
        made.aws(), made.twilio(), made.settings, project=project, streams=stream or []
    )
    if out is None:
        typer.echo(exported.text, nl=False)
    else:
        from twilio_es_cli.files import write_private_atomic

        # Secrets are ${env:...} references, so the file may be shared and committed: 0644.
        write_private_atomic(out, exported.text.encode("utf-8"), mode=0o644)
    _say_what_was_exported(exported, out, asked=project)  # names what was left out
    for item in exported.skipped:
        output.warn(f"left out: {item}")
    for variable, sid in sorted(exported.env.items()):
        what = "the password in its destination URL, " if variable in exported.passwords else ""
        output.info(
            f"set {variable} ({what}from `twilio-es sink show {sid} --show-secrets`) "
            "before planning"
        )


def _say_what_was_exported(exported: Exported, out: str | None, *, asked: str | None) -> None:
    """Which project the file holds, what it declares, and every other project in the
    account with the command that exports it: a file holds one project, and an account
    shared by teams holds several."""
    import shlex

    from twilio_es_cli import output

    where = out or "stdout"
    output.success(f"wrote project {exported.project} to {where}: {exported.counts()}")
    if asked is not None and asked not in exported.projects:
        output.warn(
            f"no sink or subscription carries project {asked}'s marker: the file holds only "
            "what twilio-es did not create (adopted by sid:)"
        )
    others = exported.others()
    if not others:
        return
    names = ", ".join(
        f"{name} ({sinks} sink(s), {subs} subscription(s))"
        for name, (sinks, subs) in others.items()
    )
    output.warn(f"left out of this file, the account's other projects: {names}; export each:")
    for name in others:
        target = shlex.quote(f"{name}.yaml")
        output.info(f"  twilio-es export --project {shlex.quote(name)} -o {target}")


def status(
    ctx: typer.Context,
    check: Annotated[
        bool, typer.Option("--check", help="Exit 5 when there is any problem (for CI).")
    ] = False,
    as_json: JsonOption = False,
    jq: JqOption = None,
) -> int:
    """The inventory in one screen: subscription -> sink -> stream -> role, and problems.

    Problems: sinks no subscription uses, subscriptions on sinks that are not active, roles
    whose trust or permissions no longer match the sink, streams with a twilio-es role that no
    sink writes to, and counts against Twilio's 100 sinks / 100 subscriptions. The archives
    apply made (Firehose to S3, from an archive: block) are listed below, with their state.

    \b
    Examples:
      twilio-es status
      twilio-es status --check --json > inventory.json
    """
    from twilio_es_cli import output
    from twilio_es_cli.infra.inventory import ARCHIVE_COLUMNS, COLUMNS, inventory

    made = clients(ctx)
    found = inventory(made.aws(), made.twilio(), made.settings.twilio_principal)
    if as_json:
        output.print_json(found.to_dict())
    else:
        output.print_table(COLUMNS, found.table(), title="Event Streams")
        if found.archives:
            output.print_table(ARCHIVE_COLUMNS, found.archive_table(), title="Archive (Firehose)")
        counts = found.counts
        typer.echo(f"sinks {counts['sinks']}, subscriptions {counts['subscriptions']}")
        if found.problems:
            typer.echo(f"{len(found.problems)} problem(s):")
            for problem in found.problems:
                output.print_prose(problem, first="  - ", indent="    ")
        else:
            typer.echo("No problems found.")
    return 5 if check and found.problems else 0


def register(root: typer.Typer) -> None:
    """Attach plan, apply, export and status to the root app."""
    root.command("plan")(plan)
    root.command("apply")(apply)
    root.command("export")(export)
    root.command("status")(status)
