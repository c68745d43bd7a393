"""`twilio-es stream` command group: parse -> call twilio_es_cli.streams -> render.

The core (and with it boto3) is imported inside each command so `twilio-es --help` stays fast.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from twilio_es_cli.cli._common import JqOption, JsonOption, YesOption, clients, confirm, settings

if TYPE_CHECKING:
    from twilio_es_cli.aws import AwsClients

app = typer.Typer(
    name="stream",
    help="Create, scale, inspect, tail and delete the Kinesis stream Twilio writes to.",
    no_args_is_help=True,
    rich_markup_mode=None,
)

NoWaitOption = Annotated[
    bool, typer.Option("--no-wait", help="Return once AWS accepted the change; do not wait.")
]
TimeoutOption = Annotated[
    float,
    typer.Option("--timeout", metavar="SECONDS", help="Give up waiting after this many seconds."),
]
RoleNameOption = Annotated[
    str | None,
    typer.Option(
        "--role-name",
        metavar="NAME",
        help="IAM role name (default: twilio-es-STREAM-REGION, shortened to 64 characters).",
    ),
]


def _clients(ctx: typer.Context) -> AwsClients:
    """The invocation's AwsClients, from the one client factory (``_common.clients``)."""
    return clients(ctx).aws()


@app.command("create")
def create(
    ctx: typer.Context,
    name: Annotated[
        str, typer.Argument(metavar="NAME", help="Stream name (letters, digits, _ . -).")
    ],
    shards: Annotated[
        int | None,
        typer.Argument(
            metavar="SHARDS", help="Shard count for a provisioned stream (omit with --on-demand)."
        ),
    ] = None,
    on_demand: Annotated[
        bool, typer.Option("--on-demand", help="Create an on-demand stream (no SHARDS).")
    ] = False,
    role_name: RoleNameOption = None,
    policy_name: Annotated[
        str | None,
        typer.Option(
            "--policy-name",
            metavar="NAME",
            help="Inline policy name (default: twilio-es-put-STREAM).",
        ),
    ] = None,
    twilio_principal: Annotated[
        str | None,
        typer.Option(
            "--twilio-principal",
            metavar="ARN",
            help="AWS principal allowed to assume the role (TWILIO_ES_TWILIO_PRINCIPAL; "
            "default: Twilio's account arn:aws:iam::177261743968:root).",
        ),
    ] = None,
    retention_hours: Annotated[
        int | None,
        typer.Option(
            "--retention-hours", metavar="HOURS", help="Keep records this many hours (24-8760)."
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            metavar="FILE",
            help="Write the sink configuration to FILE (mode 0600) instead of stdout.",
            dir_okay=False,
        ),
    ] = None,
    no_wait: NoWaitOption = False,
    timeout: TimeoutOption = 600.0,
) -> None:
    """Create a stream plus the IAM role Twilio assumes to write into it.

    Prints the sink configuration {"arn", "role_arn", "external_id"} on stdout: it is what
    `twilio-es sink create kinesis --config FILE` takes. Safe to re-run: an existing stream
    and the role made for it are checked and the same configuration is printed; a failure
    part-way deletes what the run created.

    \b
    Examples:
      twilio-es stream create twilio-events 1 > twilio-sink.json
      twilio-es stream create twilio-events --on-demand --out twilio-sink.json
    """
    from twilio_es_cli import output, streams

    base = settings(ctx)
    if twilio_principal is not None and not twilio_principal.strip():
        from twilio_es_cli.errors import UsageError

        raise UsageError(
            "--twilio-principal was given an empty value",
            hint="Give an IAM ARN or a 12-digit account id, or leave it out to use Twilio's.",
        )
    request = streams.create_request(
        name,
        shards,
        on_demand=on_demand,
        principal=twilio_principal or base.twilio_principal,
        role_name=role_name,
        policy_name=policy_name,
        retention_hours=retention_hours,
        wait=not no_wait,
        timeout=timeout,
    )
    if out is not None:
        from twilio_es_cli.files import check_writable

        # Refused before any AWS call, so nothing is created for nothing.
        check_writable(out, "--out", example="twilio-sink.json")
    outcome = streams.create(_clients(ctx), request)
    if out is not None:
        _save_config(out, outcome.config.as_dict())
        return
    output.print_json(outcome.config.as_dict())
    if output.is_tty():
        output.info(
            "Next: save this as twilio-sink.json (or re-run with --out twilio-sink.json), "
            "then run `twilio-es sink create kinesis --config twilio-sink.json`"
        )
        return
    target = _redirect_target()
    output.info(f"Next: twilio-es sink create kinesis --config {target or 'FILE'}")
    if target is not None and target.stat().st_mode & 0o077:
        output.info(
            f"{target} holds the external id and other users can read it: "
            f"chmod 600 {target} (--out FILE writes it private)"
        )


def _save_config(out: Path, config: dict[str, Any]) -> None:
    """Write the configuration to ``out``; if that fails now, print it rather than lose it.

    The stream and role exist by then, and the external id is in no other place a user can
    read back: stdout gets the configuration and stderr says why it is there (exit 1).
    """
    from twilio_es_cli import output
    from twilio_es_cli.errors import ApiError

    text = output.to_json(config) + "\n"
    try:
        from twilio_es_cli.files import write_private_atomic

        write_private_atomic(out, text.encode("utf-8"))  # 0600: it holds the external id
    except OSError as exc:
        output.print_json(config)
        raise ApiError(
            f"The stream and role were created, but --out {out} could not be written "
            f"({exc.strerror or exc}): the sink configuration is on stdout instead",
            hint="Save it (it holds the external id), e.g. re-run the same command with "
            "> twilio-sink.json: it prints the same configuration again.",
        ) from None
    output.success(f"Sink configuration written to {out} (mode 0600)")
    output.info(f"Next: twilio-es sink create kinesis --config {out}")


def _redirect_target() -> Path | None:
    """The regular file stdout was redirected to (`> twilio-sink.json`), when we can tell.

    Linux names it under /proc/self/fd; elsewhere (or for a pipe) there is no name to give.
    """
    import stat
    import sys

    try:
        fd = sys.stdout.fileno()
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        path = Path(os.readlink(f"/proc/self/fd/{fd}"))
    except (OSError, ValueError, AttributeError):
        return None
    if not path.is_file():  # "(deleted)" or another namespace
        return None
    try:
        return path.relative_to(Path.cwd())
    except ValueError:
        return path


@app.command("scale")
def scale(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(metavar="NAME", help="Stream name.")],
    count: Annotated[int, typer.Argument(metavar="COUNT", help="Target number of open shards.")],
    scaling_type: Annotated[
        str,
        typer.Option(
            "--scaling-type", metavar="TYPE", help="AWS scaling type (only UNIFORM_SCALING exists)."
        ),
    ] = "UNIFORM_SCALING",
    no_wait: NoWaitOption = False,
    timeout: TimeoutOption = 600.0,
    as_json: JsonOption = False,
    jq: JqOption = None,
) -> None:
    """Change the shard count (AWS allows half to double the open shards per step).

    The rule is checked before calling AWS; the command waits until the stream is ACTIVE
    again and prints old -> new.

    \b
    Examples:
      twilio-es stream scale twilio-events 2
      twilio-es stream scale twilio-events 4 --no-wait --json
    """
    from twilio_es_cli import output, streams

    streams.validate_stream_name(name)
    streams.validate_shard_count(count, "COUNT")
    streams.validate_timeout(timeout)
    scaling = streams.validate_scaling_type(scaling_type)
    result = streams.scale(
        _clients(ctx),
        name,
        count,
        scaling_type=scaling,
        wait=not no_wait,
        timeout=timeout,
    )
    if result["old"] == result["new"]:
        output.info(f"Stream {name} already has {count} open shard(s); nothing to change.")
    if as_json:
        output.print_json(result)
    else:
        typer.echo(f"{name}: {result['old']} -> {result['new']} shards ({result['status']})")


def _describe_fields(view: dict[str, Any]) -> dict[str, Any]:
    role = view.get("role")
    fields: dict[str, Any] = {
        "Name": view["name"],
        "ARN": view["arn"],
        "Status": view["status"],
        "Mode": view["mode"],
        "Open shards": view["open_shards"],
        "Closed shards": view["closed_shards"],
        "Retention": f"{view['retention_hours']} h",
        "Encryption": view["encryption"],
        "Created": view["created"],
        "Consumers (EFO)": view.get("consumers_error")
        or ", ".join(f"{c['name']} ({c['status']})" for c in view.get("consumers") or [])
        or "none",
    }
    if role:
        fields["Role"] = role["arn"]
        fields["Trusted principal"] = role["principals"]
        fields["Policy"] = role["policy"]
        if "external_id" in role:
            fields["External id"] = role["external_id"]
        else:
            fields["External id"] = "set (hidden; --show-secrets shows it)"
    else:
        fields["Role"] = view.get("role_error") or "none made by twilio-es found"
    return fields


@app.command("describe")
def describe(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(metavar="NAME", help="Stream name.")],
    role_name: RoleNameOption = None,
    show_secrets: Annotated[
        bool, typer.Option("--show-secrets", help="Also show the role's external id.")
    ] = False,
    as_json: JsonOption = False,
    jq: JqOption = None,
) -> None:
    """Show status, mode, open and closed shards, retention, ARN, the role for Twilio, and
    the enhanced fan-out consumers (billed per shard hour; `tail --efo` registers one).

    \b
    Examples:
      twilio-es stream describe twilio-events
      twilio-es stream describe twilio-events --json | jq .open_shards
    """
    from twilio_es_cli import output, streams

    streams.validate_stream_name(name)
    if role_name is not None:
        from twilio_es_cli import iam

        iam.validate_role_name(role_name)
    view = streams.describe(_clients(ctx), name, role_name=role_name, show_secrets=show_secrets)
    output.emit(view, as_json=as_json, fields=_describe_fields(view), title=f"Stream {name}")


@app.command("list")
def list_(
    ctx: typer.Context,
    as_json: JsonOption = False,
    jq: JqOption = None,
    shards: Annotated[
        bool,
        typer.Option(
            "--shards",
            help="Also show each stream's open shard count (one more request per stream).",
        ),
    ] = False,
) -> None:
    """List the Kinesis streams in the region (name, status, mode, creation time).

    \b
    Examples:
      twilio-es stream list
      twilio-es stream list --shards
      twilio-es --region eu-west-1 stream list --json | jq -r '.[].name'
    """
    from twilio_es_cli import output, streams

    rows = streams.list_streams(_clients(ctx), shards=shards)
    columns = [
        output.Column("Name", identifier=True),
        output.Column("Status"),
        output.Column("Mode", priority=2),
        output.Column("Created", priority=3),
    ]
    cells = [[r["name"], r["status"], r["mode"], r["created"]] for r in rows]
    if shards:
        columns.insert(3, output.Column("Open shards", priority=1))
        cells = [[*c[:3], r["open_shards"], c[3]] for c, r in zip(cells, rows, strict=True)]
    output.emit(rows, as_json=as_json, columns=columns, rows=cells, title="Streams")


@app.command("delete")
def delete(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(metavar="NAME", help="Stream name.")],
    yes: YesOption = False,
    keep_role: Annotated[
        bool, typer.Option("--keep-role", help="Keep the IAM role made for the stream.")
    ] = False,
    role_name: RoleNameOption = None,
    no_wait: NoWaitOption = False,
    timeout: TimeoutOption = 600.0,
) -> None:
    """Delete a stream (and all its records) and the IAM role `stream create` made for it.

    Only a role tagged by twilio-es for this stream is deleted, and only if no one attached
    other policies to it. Twilio sinks pointing at the stream stop working.

    \b
    Examples:
      twilio-es stream delete twilio-events
      twilio-es stream delete twilio-events --yes --keep-role
    """
    from twilio_es_cli import output, streams

    streams.validate_stream_name(name)
    streams.validate_timeout(timeout)
    if role_name is not None:
        from twilio_es_cli import iam

        iam.validate_role_name(role_name)
    clients = _clients(ctx)
    plan = streams.plan_delete(clients, name, keep_role=keep_role, role_name=role_name)
    what = f"stream {name} and all its records"
    if plan.roles:
        names = ", ".join(role["RoleName"] for role in plan.roles)
        what += f", and IAM role{'s' if len(plan.roles) > 1 else ''} {names}"
    confirm(f"Delete {what}?", yes=yes)
    streams.delete(clients, plan, wait=not no_wait, timeout=timeout)
    if not plan.roles and not keep_role:
        output.info("No IAM role made by twilio-es for this stream was found")


def register(root: typer.Typer) -> None:
    """Attach this module's commands to the root app."""
    root.add_typer(app)
