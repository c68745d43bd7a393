"""`twilio-es doctor` (top-level command): why are events not arriving?

Thin: pick the diagnosis from the options, run it (:mod:`twilio_es_cli.doctor`) with the
invocation's client factory (``_common.clients(ctx)``), render one row per check, exit 5 when
any check failed.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from twilio_es_cli.cli._common import JqOption, JsonOption, clients, settings

_STATUS_LABEL = {"ok": "ok", "fail": "FAIL", "skip": "skip", "warn": "warn"}


def doctor(
    ctx: typer.Context,
    sink: Annotated[
        str | None, typer.Option("--sink", help="Check everything one sink depends on (DG...).")
    ] = None,
    stream: Annotated[
        str | None,
        typer.Option("--stream", help="Check a stream and the role twilio-es made for it."),
    ] = None,
    role_arn: Annotated[
        str | None,
        typer.Option("--role-arn", help="With --stream: the role to check (default: find it)."),
    ] = None,
    archive: Annotated[
        bool,
        typer.Option(
            "--archive",
            help="Check the archive: block of twilio-es.yaml (Firehose, its role, the Glue "
            "table, the files in S3, the Athena workgroup).",
        ),
    ] = False,
    file: Annotated[
        str | None,
        typer.Option(
            "--file",
            "-f",
            metavar="FILE",
            help="With --archive: the file (default: twilio-es.yaml).",
            show_default=False,
        ),
    ] = None,
    as_json: JsonOption = False,
    jq: JqOption = None,
) -> None:
    """Diagnose "events are not arriving": one line per check, with a fix.

    With --sink: Twilio and AWS credentials, the stream in the sink's ARN exists and is ACTIVE
    (in the ARN's region), the role exists, its trust policy names Twilio's principal and the
    sink's external id (compared, never printed), its policies allow PutRecord/PutRecords on
    the stream and ListShards/DescribeLimits, and the sink is active. Each failure names the
    Twilio Debugger error it causes: 93101 write failed, 93102 assume-role failed, 93103 shard
    count failed, 93104 stream not found (events dropped).

    With --stream: the stream and its role, before any sink exists. With neither: both
    credentials and a list of your sinks with their status (a sink that is not active is a
    warning naming the --sink check to run).

    With --archive: the archive at scale of the file's archive: block: the delivery stream is
    ACTIVE and reads the stream, its role trusts Firehose and may read the stream, write the
    prefixes and read the table, the table projects its partitions on type and date (every
    type that arrives), the newest file and its age, and records in the error prefix.

    Exit codes: 0 every check passed, 5 a check failed, 2 bad options.

    \b
    Examples:
      twilio-es doctor --sink DGxxxxxxxx
      twilio-es doctor --stream twilio-events --json
      twilio-es doctor --archive
      twilio-es doctor
    """
    from twilio_es_cli import doctor as core
    from twilio_es_cli.errors import CheckFailed

    _check_options(sink, stream, role_arn)
    if file is not None and not archive:
        from twilio_es_cli.errors import UsageError

        raise UsageError("--file goes with --archive")
    if archive and (sink is not None or stream is not None):
        from twilio_es_cli.errors import UsageError

        raise UsageError("Give --archive alone", hint="The file's archive: block names the stream.")

    factory = clients(ctx)
    principal = settings(ctx).twilio_principal
    if archive:
        report = _archive_report(factory, file)
    elif sink is not None:
        report = core.diagnose_sink(factory, sink.strip(), principal)
    elif stream is not None:
        report = core.diagnose_stream(factory, stream, principal, role_arn)
    else:
        report = core.diagnose_credentials(factory)
    _render(report, as_json=as_json)
    failed = report.failed
    if failed:
        first = failed[0]
        code = f" (Twilio error {first.code})" if first.code else ""
        raise CheckFailed(
            f"{len(failed)} of {len(report.checks)} checks failed; first: {first.name}{code}",
            hint=first.fix,
        )


def _archive_report(factory: Any, file: str | None) -> Any:
    from twilio_es_cli.errors import UsageError
    from twilio_es_cli.infra.archive.checks import diagnose
    from twilio_es_cli.infra.archive.target import DEFAULT_FILE, block

    found = block(file)
    if found is None:
        raise UsageError(
            f"{file or DEFAULT_FILE} has no archive: block",
            hint="Declare one (docs/as-code.md), or name the file with --file.",
        )
    return diagnose(factory.aws(), found)


def _check_options(sink: str | None, stream: str | None, role_arn: str | None) -> None:
    """Exit 2 for options no check could use, before any call; a given-but-empty value counts.

    ``--stream 'bad name!'`` used to run the checks and fail them (exit 5) with a fix that
    printed a broken command; an empty ``--sink ''`` silently ran the no-option diagnosis.
    """
    from twilio_es_cli import arns
    from twilio_es_cli.errors import UsageError, shown

    if sink is not None and stream is not None:
        raise UsageError("Give --sink or --stream, not both", hint="A sink names its stream.")
    if role_arn is not None and stream is None:
        raise UsageError("--role-arn goes with --stream", hint="A sink names its own role.")
    if sink is not None:
        from twilio_es_cli.sinks import check_sid as check_sink_sid

        check_sink_sid(sink)
    if stream is not None:
        from twilio_es_cli.streams import validate_stream_name

        validate_stream_name(stream)
    if role_arn is not None and arns.role_name(role_arn) is None:
        raise UsageError(
            f"--role-arn {shown(role_arn)} is not an IAM role ARN",
            hint="It looks like arn:aws:iam::123456789012:role/NAME.",
        )


def _render(report: Any, *, as_json: bool) -> None:
    from twilio_es_cli import output

    if as_json:
        output.print_json(report.to_dict())
        return
    checks = report.checks
    cut = output.print_table(
        [
            output.Column("STATUS"),
            output.Column("CHECK", identifier=True),
            output.Column("ERROR", priority=1),
            output.Column("DETAIL", shorten=True),
            output.Column("FIX", shorten=True, priority=2),
        ],
        [
            (
                _STATUS_LABEL.get(c.status, c.status),
                c.name,
                c.code,
                c.detail,
                c.fix if c.status in ("fail", "warn") else None,
            )
            for c in checks
        ],
        title="Checks",
    )
    _whole_lines(checks, cut)
    if report.sinks is not None:
        output.print_table(
            [
                output.Column("SID", identifier=True),
                output.Column("TYPE"),
                output.Column("STATUS"),
                output.Column("DESCRIPTION", priority=1),
            ],
            [(s["sid"], s["sink_type"], s["status"], s["description"]) for s in report.sinks],
            title="Sinks",
        )
    warned = [c for c in report.checks if c.status == "warn"]
    if report.ok and warned:
        output.warn(f"No check failed, but {len(warned)} warning(s) above")
    elif report.ok:
        output.success("All checks passed")


def _whole_lines(checks: Any, cut: set[str]) -> None:
    """One line per check keeps the table readable at 80 columns; what it cut from a failing
    or warning check (the detail that says why, the fix) follows in full, once."""
    from twilio_es_cli import output

    if not cut & {"DETAIL", "FIX"}:
        return
    for check in checks:
        if check.status not in ("fail", "warn"):
            continue
        output.info(f"{check.name}: {check.detail}")
        if check.fix:
            output.info(f"  fix: {check.fix}")


def register(root: typer.Typer) -> None:
    """Attach `doctor` to the root app."""
    root.command("doctor")(doctor)
