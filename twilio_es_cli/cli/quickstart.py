"""`twilio-es quickstart` (top-level command): thin parse -> twilio_es_cli.quickstart -> render.

Steps are reported on stderr as they finish (``✓ 1/5 stream + role: created (...)``); stdout
carries data only: a summary for people, one JSON document with --json, and with --local the
sample events in the tail's formats (pretty on a terminal, jsonl when piped).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer

from twilio_es_cli.cli._common import JqOption, JsonOption, clients, settings
from twilio_es_cli.errors import ExitCode
from twilio_es_cli.progress import Terminal

if TYPE_CHECKING:
    from twilio_es_cli.models import KinesisSinkConfig as SinkConfig
    from twilio_es_cli.quickstart import Answer, LocalResult, QuickstartResult, Step, WebhookResult

DEFAULT_OUT = Path("twilio-sink.json")
# Finished steps as ✓ lines, context indented under them (stderr).
REPORTER = Terminal(note_indent="    ")
T = TypeVar("T")


def _config_writer(out: Path) -> Callable[[SinkConfig], None]:
    """Save the sink configuration (it holds the external id) with mode 0600, like `stream
    create --out`; an identical file is left alone."""

    def write(config: SinkConfig) -> None:
        from twilio_es_cli import output
        from twilio_es_cli.files import write_private_atomic

        text = output.to_json(config.as_dict()) + "\n"
        try:
            previous: str | None = out.read_text(encoding="utf-8")
        except OSError:
            previous = None
        if previous is not None and _same_config(previous, config.as_dict()):
            output.info(f"    sink configuration in {out} is up to date")
            return
        write_private_atomic(out, text.encode("utf-8"))
        output.info(f"    sink configuration written to {out} (mode 0600; it holds a secret)")
        if previous is not None:
            output.warn(f"{out} held another sink configuration; it was replaced")

    return write


def _same_config(text: str, config: dict[str, str]) -> bool:
    import json

    try:
        return bool(json.loads(text) == config)
    except (ValueError, RecursionError):
        return False


def quickstart(
    ctx: typer.Context,
    stream: Annotated[
        str, typer.Argument(metavar="STREAM", help="Kinesis stream name (created if missing).")
    ] = "twilio-events",
    shards: Annotated[int, typer.Option("--shards", help="Shard count for a new stream.")] = 1,
    types: Annotated[
        list[str] | None,
        typer.Option(
            "--type",
            "-t",
            metavar="TYPE[:VERSION]",
            help="Event type to subscribe, globs allowed; repeatable "
            "(default: message delivered/undelivered receipts).",
            show_default=False,
        ),
    ] = None,
    description: Annotated[
        str | None,
        typer.Option("--description", help="Description of the sink and subscription (no PII)."),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Save the sink configuration here, mode 0600 (default: ./twilio-sink.json; "
            "with --local only when given).",
            dir_okay=False,
            show_default=False,
        ),
    ] = None,
    timeout: Annotated[
        float | None,
        typer.Option(
            "--timeout",
            help="Seconds to wait for the stream (default 600) and for the test event "
            "(default 120).",
            show_default=False,
        ),
    ] = None,
    local: Annotated[
        bool,
        typer.Option(
            "--local",
            help="Run against a throw-away offline sandbox (no accounts, no network), then "
            "emit and show sample events.",
        ),
    ] = False,
    webhook: Annotated[
        bool,
        typer.Option(
            "--webhook",
            help="With --local: a webhook sink delivering to an in-process `twilio-es webhook "
            "listen` instead of a stream; the samples are shown with their signature verdicts.",
        ),
    ] = False,
    as_json: JsonOption = False,
    jq: JqOption = None,
) -> None:
    """Stream + IAM role, kinesis sink, validation and subscription in one command.

    Safe to re-run: each step first looks for what an earlier run made (the stream and its
    role, a sink with the same stream, role and external id, subscribed types) and says
    "already there" instead of making a duplicate, so an interrupted run continues where it
    stopped; a reused sink's delivery is proven again (nothing records an earlier proof).
    Ctrl-C says which steps are done and which not (exit 130). Types are checked against the
    catalogue before anything is created. With --local everything runs in an in-process
    sandbox that is gone afterwards; your AWS and Twilio settings are ignored. --local
    --webhook is the webhook variant: a listener, a webhook sink pointing at it, validation in
    one step (the test event is read back from the listener) and sample events arriving signed.

    \b
    Examples:
      twilio-es quickstart --local
      twilio-es quickstart --local --webhook
      twilio-es quickstart
      twilio-es quickstart twilio-events --type com.twilio.messaging.message.delivered
      twilio-es quickstart orders --shards 2 --type 'com.twilio.messaging.message.*' --json
    """
    from twilio_es_cli import output
    from twilio_es_cli import quickstart as core
    from twilio_es_cli.config import DEFAULT_TWILIO_PRINCIPAL
    from twilio_es_cli.files import check_writable

    base = settings(ctx)
    _check_webhook_flags(webhook, local=local, stream=stream, shards=shards, out=out)
    request = core.make_request(
        stream,
        shards,
        types or [],
        description=description,
        timeout=timeout,
        principal=DEFAULT_TWILIO_PRINCIPAL if local else base.twilio_principal,
    )
    target = out if (out is not None or local) else DEFAULT_OUT
    if target is not None:
        check_writable(target, "--out", example="twilio-sink.json")
    writer = _config_writer(target) if target is not None else None
    factory = clients(ctx)  # --local points a factory of the same kind at its sandbox
    log: list[Step] = []  # every finished step: where an interrupted run stopped
    samples = core.SampleOutput.to(sys.stdout, collect=as_json)  # --local only

    if webhook:
        _run_webhook(
            lambda: core.run_local_webhook(factory, request, REPORTER, samples, log=log),
            log,
            as_json=as_json,
        )
        return
    if local:
        result = _sandboxed(
            lambda: core.run_local(factory, request, REPORTER, samples, on_config=writer, log=log),
            log,
            out,
        )
        if as_json:
            data = result.as_dict()
            data["sink_config_file"] = str(target) if target else None
            output.print_json(data)
        _local_summary(result)
        return

    try:
        made = core.run(factory, request, REPORTER, on_config=writer, log=log)
    except KeyboardInterrupt:
        _interrupted(log, core.rerun_command(request, str(out) if out else None), target)
        raise typer.Exit(int(ExitCode.INTERRUPTED)) from None
    samples_sent = core.sandbox_samples(base, made)
    _next_step(made, samples_sent)
    if as_json:
        data = made.as_dict()
        data["sink_config_file"] = str(target)
        data["sample_events"] = samples_sent
        output.print_json(data)
    else:
        subscribed = made.subscribed
        output.print_fields(
            {
                "stream": made.stream_name,
                "stream arn": made.config.arn,
                "role arn": made.config.role_arn,
                "sink": f"{subscribed.sink.sid} ({subscribed.sink.status})",
                "subscription": subscribed.subscription.sid,
                "types": [f"{r.type}:{r.schema_version}" for r, _ in subscribed.types],
                "sink config": str(target),
            }
        )


def _sandboxed(
    run: Callable[[], T], log: list[Step], out: Path | None, *, webhook: bool = False
) -> T:
    """Run a --local variant; on Ctrl-C say where it stopped, then exit 130.

    `quickstart --local | head` raises BrokenPipeError after the sandbox has stopped; the
    root `run()` ends it quietly with 0.
    """
    try:
        return run()
    except KeyboardInterrupt:
        _interrupted_local(log[-1] if log else None, out, webhook=webhook)
        raise typer.Exit(int(ExitCode.INTERRUPTED)) from None


def _check_webhook_flags(
    webhook: bool, *, local: bool, stream: str, shards: int, out: Path | None
) -> None:
    """--webhook is a sandbox variant without a stream: refuse what it would ignore."""
    from twilio_es_cli.errors import UsageError
    from twilio_es_cli.quickstart import DEFAULT_STREAM

    if not webhook:
        return
    if not local:
        raise UsageError(
            "--webhook needs --local",
            hint="With a real account Twilio needs a public https URL: see docs/webhooks.md "
            "(a tunnel to `twilio-es webhook listen`, then `twilio-es sink create webhook`).",
        )
    stray = [
        name
        for name, given in (
            ("STREAM", stream != DEFAULT_STREAM),
            ("--shards", shards != 1),
            ("--out", out is not None),
        )
        if given
    ]
    if stray:
        raise UsageError(f"{', '.join(stray)} does not apply to --webhook (no stream is made)")


def _run_webhook(run: Callable[[], WebhookResult], log: list[Step], *, as_json: bool) -> None:
    """`quickstart --local --webhook`: run, then the summary (exit 5 if a signature failed)."""
    from twilio_es_cli import output

    result = _sandboxed(run, log, None, webhook=True)
    if as_json:
        output.print_json(result.as_dict())
    _webhook_summary(result)
    if result.rejected or result.received < result.deliveries:
        raise typer.Exit(int(ExitCode.CHECK_FAILED))


def _webhook_summary(result: WebhookResult) -> None:
    from twilio_es_cli import output

    emitted = sum(result.emitted.values())
    if result.received >= emitted and not result.rejected:
        output.success(
            f"Saw all {result.received} sample events arrive with valid signatures: Events API "
            f"emulator -> webhook sink {result.subscribed.sink.sid} -> twilio-es webhook listen at "
            f"{result.destination}"
        )
    else:
        output.warn(
            f"the listener received {result.received} of {emitted} sample events; "
            f"{result.valid} signature(s) valid, {result.rejected} rejected"
        )
    output.info("The sandbox and the listener lived only for this command and are gone now.")
    output.info(
        "Keep them running: `twilio-es local up --env-file .sandbox.env`; in other shells "
        "`source .sandbox.env`, then `twilio-es webhook listen --forward-to URL-of-your-app`, "
        "`twilio-es sink create webhook --destination http://127.0.0.1:7410/events`, "
        "`twilio-es sink validate SID`, `twilio-es subscribe --sink SID --type TYPE` and "
        "`twilio-es local emit TYPE` (see docs/webhooks.md)."
    )


def _interrupted_local(last: Step | None, out: Path | None, *, webhook: bool = False) -> None:
    """Ctrl-C during `quickstart --local`: say where it stopped and that nothing is left
    (run_local has already stopped the sandbox on its way out)."""
    from twilio_es_cli import output
    from twilio_es_cli.quickstart import STEPS

    if output.is_tty(sys.stderr):
        sys.stderr.write("\n")  # the terminal echoed ^C
    where = f"after step {last.number}/{STEPS} ({last.name})" if last else "before step 1"
    command = "quickstart --local --webhook" if webhook else "quickstart --local"
    output.warn(f"Interrupted: {command} stopped {where}.")
    kept = f"; the sink configuration in {out} refers to it" if out and out.exists() else ""
    started = (
        "The webhook listener and the offline sandbox it started (Events API and local "
        "Kinesis/IAM, all in memory) were"
        if webhook
        else "The offline sandbox it started (local Kinesis/IAM and Events API, all in memory) was"
    )
    output.info(
        f"{started} stopped and thrown away{kept}. Run `twilio-es {command}` again to "
        "start over, or `twilio-es local up --state-dir DIR` for a sandbox that is kept."
    )


def _interrupted(log: list[Step], again: str, config: Path | None) -> None:
    """Ctrl-C during `quickstart` on real accounts: what is done, what is not, how to go on.

    Nothing is rolled back (a finished step is what a re-run reuses), so the user must learn
    what exists now and what does not: a sink that is there but unproven, no subscription.
    """
    from twilio_es_cli import output
    from twilio_es_cli.quickstart import STEPS, UNDONE

    if output.is_tty(sys.stderr):
        sys.stderr.write("\n")  # the terminal echoed ^C
    finished = {step.number: step for step in log}
    stopped = next((n for n in UNDONE if n not in finished), STEPS)
    output.warn(f"Interrupted: quickstart stopped during step {stopped}/{STEPS}.")
    for number, (name, undone) in UNDONE.items():
        if number in finished:
            output.info(f"  done:     {finished[number].line()}")
        else:
            output.info(f"  not done: {number}/{STEPS} {name}: {undone}")
    if config is not None and 1 in finished and config.exists():
        output.info(f"The sink configuration is in {config}.")
    output.info(
        f"Nothing was rolled back. Continue with `{again}`: it reuses what exists and "
        "proves delivery before it subscribes."
    )


def _next_step(made: QuickstartResult, samples: dict[str, int] | None = None) -> None:
    from twilio_es_cli import output
    from twilio_es_cli.quickstart import STEPS

    if samples:
        output.success(
            f"sandbox: emitted {sum(samples.values())} sample events of the subscribed types "
            f"into {made.stream_name} (a sandbox has no traffic of its own; "
            "`twilio-es local emit TYPE` sends more)"
        )
        output.info(
            f"{STEPS}/{STEPS} next: twilio-es tail --from trim-horizon, or twilio-es archive "
            "--no-follow then twilio-es query delivery-status-per-hour --chart"
        )
        return
    output.info(
        f"{STEPS}/{STEPS} next: twilio-es tail {made.stream_name}   "
        "(events appear as your account produces them; add --from trim-horizon for "
        "what already arrived)"
    )


def _local_summary(result: LocalResult) -> None:
    from twilio_es_cli import output

    made = result.result
    emitted = sum(result.emitted.values())
    if result.shown >= emitted:
        output.success(
            f"Saw all {result.shown} sample events: Events API emulator -> sink "
            f"{made.subscribed.sink.sid} -> Kinesis stream {made.stream_name} -> twilio-es tail"
        )
    else:
        output.warn(f"showed {result.shown} of {emitted} sample events ({result.tail_line})")
    _answer(result.answer)
    output.info("The sandbox lived only for this command and is gone now.")
    output.info(
        "Keep one running: `twilio-es local up`, then in another shell run its export lines, "
        "`twilio-es quickstart`, `twilio-es local emit TYPE --count 10` and `twilio-es tail`."
    )
    output.info(
        "For real: configure AWS credentials (aws configure / AWS_PROFILE) and export "
        "TWILIO_ACCOUNT_SID + TWILIO_AUTH_TOKEN, then run `twilio-es quickstart`."
    )


def _answer(answer: Answer | None) -> None:
    """What the sample events answer, archived and asked as `archive` and `query` would (or
    how to get those commands)."""
    from twilio_es_cli import output

    if answer is None:
        output.info(
            "Ask your events questions in SQL: pip install 'twilio-es[analytics]', then "
            "`twilio-es archive` and `twilio-es query delivery-status --chart` (docs/analytics.md)."
        )
        return
    output.success(
        f"Archived them as Parquet ({answer.files} file{'s' if answer.files != 1 else ''}) "
        f"and asked `twilio-es query {answer.query}`:"
    )
    widths = [max(len(str(v)) for v in [name, *(row[i] for row in answer.rows)])
              for i, name in enumerate(answer.columns)]  # fmt: skip
    for row in [answer.columns, *answer.rows]:
        output.info("    " + "  ".join(str(v).ljust(w) for v, w in zip(row, widths, strict=True)))


def register(root: typer.Typer) -> None:
    """Attach this module's commands to the root app."""
    root.command("quickstart")(quickstart)
