"""`twilio-es sink` command group: thin parse -> core (sinks.py, validation.py) -> render.

Inputs are validated (pydantic models, SID shapes) before a client is even built, so a bad
value is exit 2 with the field named, never a round trip. Heavy modules load inside commands.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from twilio_es_cli.cli._common import JqOption, JsonOption, YesOption, clients, confirm

if TYPE_CHECKING:
    from twilio_es_cli.models import Sink, StreamRef
    from twilio_es_cli.output import Column
    from twilio_es_cli.sinks import SinkService
    from twilio_es_cli.tail.reader import ReadFn

app = typer.Typer(
    name="sink",
    help="Create, list, show, test, validate, rotate and delete Event Streams sinks.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
SidArgument = Annotated[
    str, typer.Argument(metavar="SID", help="The sink SID (DG...).", show_default=False)
]
DescriptionOption = Annotated[
    str | None,
    typer.Option(
        "--description",
        "-d",
        help="Human-readable description, no PII (default: derived from the target).",
    ),
]
ShowSecretsOption = Annotated[
    bool,
    typer.Option(
        "--show-secrets",
        help="Show external ids, write keys and passwords in webhook URLs in full.",
    ),
]


def _service(ctx: typer.Context) -> SinkService:
    """The core service on a twilio client; built only after the input has been checked."""
    from twilio_es_cli.sinks import SinkService

    return SinkService(clients(ctx).twilio())


def _check_sid(sid: str) -> str:
    from twilio_es_cli.sinks import check_sid

    return check_sid(sid)


def _render(sink: Sink, *, as_json: bool, show_secrets: bool = False) -> None:
    from twilio_es_cli import output

    output.emit(
        sink.view(show_secrets=show_secrets),
        as_json=as_json,
        fields=sink.fields(show_secrets=show_secrets),
    )


def _kinesis_config(
    config_file: str | None, arn: str | None, role_arn: str | None, external_id: str | None
) -> Any:
    from twilio_es_cli.errors import UsageError
    from twilio_es_cli.models import (
        KinesisSinkConfig,
        load_kinesis_config,
        parse_config,
        read_config_file,
    )

    flags = {"arn": arn, "role_arn": role_arn, "external_id": external_id}
    given = {k: v for k, v in flags.items() if v is not None}
    if config_file is not None:
        if given:
            raise UsageError("use either --config or --arn/--role-arn/--external-id, not both")
        text, source = read_config_file(config_file)
        return load_kinesis_config(text, source=source)
    if given:
        return parse_config(KinesisSinkConfig, given)
    raise UsageError(
        "a kinesis sink needs --config FILE (or --arn, --role-arn and --external-id)",
        hint="Create the stream and role first: "
        "`twilio-es stream create twilio-events 1 > twilio-sink.json`.",
    )


_OPTIONS_OF = {
    "kinesis": {"--config", "--arn", "--role-arn", "--external-id"},
    "webhook": {"--destination", "--method", "--batch-events"},
    "segment": {"--write-key"},
}


@app.command("create")
def create(
    ctx: typer.Context,
    sink_type: Annotated[
        str,
        typer.Argument(metavar="TYPE", help="kinesis, webhook or segment.", show_default=False),
    ],
    config_file: Annotated[
        str | None,
        typer.Option(
            "--config",
            "-c",
            help="kinesis: twilio-sink.json from `stream create` or the quickstart script "
            "(- reads stdin).",
        ),
    ] = None,
    arn: Annotated[str | None, typer.Option("--arn", help="kinesis: stream ARN.")] = None,
    role_arn: Annotated[
        str | None, typer.Option("--role-arn", help="kinesis: IAM role ARN Twilio assumes.")
    ] = None,
    external_id: Annotated[
        str | None, typer.Option("--external-id", help="kinesis: the role's sts:ExternalId.")
    ] = None,
    destination: Annotated[
        str | None,
        typer.Option("--destination", help="webhook: http(s) URL Twilio delivers events to."),
    ] = None,
    method: Annotated[
        str | None, typer.Option("--method", help="webhook: POST (default) or GET.")
    ] = None,
    batch_events: Annotated[
        bool | None,
        typer.Option(
            "--batch-events/--no-batch-events",
            help="webhook: deliver events in batches (default: one per request).",
            show_default=False,
        ),
    ] = None,
    write_key: Annotated[
        str | None, typer.Option("--write-key", help="segment: your source's write key.")
    ] = None,
    description: DescriptionOption = None,
    as_json: JsonOption = False,
    jq: JqOption = None,
) -> None:
    """Create a kinesis, webhook or segment sink; then make it active with `sink validate`.

    Everything is checked before any call: a malformed ARN, URL or empty key is exit 2 naming
    the field. Without --description one is derived from the target.

    \b
    Examples:
      twilio-es stream create twilio-events 1 > twilio-sink.json
      twilio-es sink create kinesis --config twilio-sink.json
      twilio-es stream create twilio-events 1 | twilio-es sink create kinesis --config -
      twilio-es sink create webhook --destination https://example.com/events --batch-events
      twilio-es sink create segment --write-key "$SEGMENT_WRITE_KEY"
    """
    from twilio_es_cli import output
    from twilio_es_cli.errors import UsageError, shown
    from twilio_es_cli.models import SegmentSinkConfig, WebhookSinkConfig, parse_config
    from twilio_es_cli.sinks import check_description

    kind = sink_type.strip().lower()
    if kind not in _OPTIONS_OF:
        raise UsageError(f"TYPE must be kinesis, webhook or segment (got {shown(sink_type)})")
    given = {
        "--config": config_file,
        "--arn": arn,
        "--role-arn": role_arn,
        "--external-id": external_id,
        "--destination": destination,
        "--method": method,
        "--batch-events": batch_events,
        "--write-key": write_key,
    }
    stray = [flag for flag, v in given.items() if v is not None and flag not in _OPTIONS_OF[kind]]
    if stray:
        raise UsageError(f"{', '.join(stray)} does not apply to a {kind} sink")
    config: Any
    if kind == "kinesis":
        config = _kinesis_config(config_file, arn, role_arn, external_id)
    elif kind == "webhook":
        if destination is None:
            raise UsageError("a webhook sink needs --destination URL")
        # `--method ''` is a mistake to name, not a request for the default.
        values: dict[str, Any] = {
            "destination": destination,
            "method": "POST" if method is None else method,
        }
        values["batch_events"] = bool(batch_events)
        config = parse_config(WebhookSinkConfig, values)
    else:
        if write_key is None:
            raise UsageError("a segment sink needs --write-key KEY")
        config = parse_config(SegmentSinkConfig, {"write_key": write_key})
    description = check_description(description)

    sink = _service(ctx).create(config, description)
    output.success(f"created {sink.sink_type} sink {sink.sid} ({sink.status})")
    _render(sink, as_json=as_json)
    if sink.status != "active":
        output.info(f"Next: twilio-es sink validate {sink.sid}")


@app.command("list")
def list_sinks(
    ctx: typer.Context,
    status: Annotated[
        str | None,
        typer.Option(
            "--status", help="Only sinks in this status: initialized, validating, active or failed."
        ),
    ] = None,
    in_use: Annotated[
        bool | None,
        typer.Option(
            "--in-use/--not-in-use",
            help="Only sinks used (or not used) by a subscription.",
            show_default=False,
        ),
    ] = None,
    show_secrets: ShowSecretsOption = False,
    as_json: JsonOption = False,
    jq: JqOption = None,
) -> None:
    """List sinks (secrets in their configuration are redacted).

    \b
    Examples:
      twilio-es sink list
      twilio-es sink list --status active --not-in-use --json | jq -r '.[].sid'
    """
    from twilio_es_cli import output
    from twilio_es_cli.sinks import check_status

    status = check_status(status)
    sinks = _service(ctx).list(status=status, in_use=in_use)
    output.emit(
        [s.view(show_secrets=show_secrets) for s in sinks],
        as_json=as_json,
        columns=_sink_columns(),
        rows=[_sink_row(s) for s in sinks],
        title="Sinks",
    )


@app.command("show")
def show(
    ctx: typer.Context,
    sid: SidArgument,
    show_secrets: ShowSecretsOption = False,
    as_json: JsonOption = False,
    jq: JqOption = None,
) -> None:
    """Show one sink; external id, write key, URL password are redacted unless --show-secrets.

    \b
    Example:
      twilio-es sink show DGxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx --json | jq -r .status
    """
    sid = _check_sid(sid)
    _render(_service(ctx).get(sid), as_json=as_json, show_secrets=show_secrets)


@app.command("update")
def update(
    ctx: typer.Context,
    sid: SidArgument,
    description: Annotated[
        str, typer.Option("--description", "-d", help="The new description (no PII).")
    ],
    as_json: JsonOption = False,
    jq: JqOption = None,
) -> None:
    """Change a sink's description (the only mutable field: other changes need a new sink).

    \b
    Example:
      twilio-es sink update DGxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx --description "prod events"
    """
    from twilio_es_cli import output
    from twilio_es_cli.sinks import check_description

    sid = _check_sid(sid)
    text = check_description(description) or ""
    sink = _service(ctx).update(sid, text)
    output.success(f"updated sink {sink.sid}")
    _render(sink, as_json=as_json)


@app.command("delete")
def delete(
    ctx: typer.Context,
    sid: SidArgument,
    cascade: Annotated[
        bool,
        typer.Option(
            "--cascade",
            help="Delete the sink's subscriptions first, after one confirmation for all.",
        ),
    ] = False,
    yes: YesOption = False,
) -> None:
    """Delete a sink (asks first unless --yes; a sink used by a subscription cannot go).

    With --cascade its subscriptions are deleted first (the question names them), then the
    sink: no event is delivered to it any more from the first deletion on.

    \b
    Examples:
      twilio-es sink delete DGxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx --yes
      twilio-es sink delete DGxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx --cascade
    """
    from twilio_es_cli import output

    sid = _check_sid(sid)
    service = _service(ctx)
    if not cascade:
        confirm(f"Delete sink {sid}?", yes=yes)
        service.delete(sid)
        output.success(f"deleted sink {sid}")
        return
    from twilio_es_cli.subscriptions import Subscriptions

    service.get(sid)  # a missing sink is exit 4 before anyone is asked anything
    subscriptions = Subscriptions(clients(ctx).twilio())
    users = subscriptions.list(sid)
    named = ", ".join(f"{s.sid} ({len(s.types)} type(s))" for s in users)
    confirm(
        f"Delete sink {sid} and its {len(users)} subscription(s){': ' + named if users else ''}?",
        yes=yes,
    )
    for index, user in enumerate(users):
        try:
            subscriptions.delete(user.sid)
        except BaseException:
            left = [u.sid for u in users[index:]]
            output.warn(f"stopped: subscription(s) {', '.join(left)} and sink {sid} are left")
            raise
        output.success(f"deleted subscription {user.sid}")
    service.delete(sid)
    output.success(f"deleted sink {sid}")


@app.command("test")
def test(
    ctx: typer.Context, sid: SidArgument, as_json: JsonOption = False, jq: JqOption = None
) -> None:
    """Ask Twilio to send a test event to the sink, and say how to validate with it.

    \b
    Example:
      twilio-es sink test DGxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
    """
    from twilio_es_cli import output

    sid = _check_sid(sid)
    service = _service(ctx)
    sink = service.get(sid)
    result = service.test(sid)
    output.emit(
        {"sid": sid, "result": result}, as_json=as_json, fields={"sid": sid, "result": result}
    )
    stream = sink.kinesis_stream()
    if sink.status == "active":
        # Nothing to activate: the test is only a delivery check (`sink validate` does it all).
        where = (
            f"look for it with `twilio-es tail {stream.arn} --since 5m "
            f"--type com.twilio.eventstreams.test-event`"
            if stream is not None
            else f"it goes to {sink.sink_configuration.get('destination') or 'the sink'}"
        )
        output.info(f"Sink {sid} is already active, so this test only checks delivery: {where}.")
    elif sink.sink_type == "kinesis":
        output.info(
            f"Next: `twilio-es sink validate {sid}` sends its own test, reads it from the "
            f"stream and validates; or read data.test_id with `twilio-es tail` and run "
            f"`twilio-es sink validate {sid} --test-id ID`. A newer test invalidates this one."
        )
    else:
        target = sink.sink_configuration.get("destination") or "the sink's destination"
        output.info(
            f"The test event goes to {target}: read data.test_id from it, then run "
            f"`twilio-es sink validate {sid} --test-id ID` (with `twilio-es webhook listen` "
            f"there, `twilio-es sink validate {sid}` alone does all of it)."
        )


@app.command("validate")
def validate(
    ctx: typer.Context,
    sid: SidArgument,
    test_id: Annotated[
        str | None,
        typer.Option("--test-id", help="Validate with this test id (read it yourself)."),
    ] = None,
    timeout: Annotated[
        float,
        typer.Option("--timeout", help="Seconds to wait for the test event in the stream."),
    ] = 120.0,
    force: Annotated[
        bool, typer.Option("--force", help="Test and validate even if already active.")
    ] = False,
    listener: Annotated[
        str | None,
        typer.Option(
            "--listener",
            metavar="URL",
            help="webhook: read the test event back from this `twilio-es webhook listen` "
            "(default: the sink's destination when it is on this machine).",
            show_default=False,
        ),
    ] = None,
    as_json: JsonOption = False,
    jq: JqOption = None,
) -> None:
    """Prove a sink delivers (and make it active): Test -> find the event -> Validate -> wait.

    For a kinesis sink this sends a test event, reads the sink's stream (with your AWS
    credentials, in the region of the stream ARN) across all shards until the event arrives,
    validates with its test_id and waits until the sink is active. Twilio now creates sinks
    active; on an active sink the same steps still run and prove delivery end to end. A
    webhook sink gets the same steps when its test event can be read back from a `twilio-es
    webhook listen`: at its destination when that is on this machine (the sandbox), or at
    --listener (your listener behind a tunnel); the proof then includes the signature check.
    For any other webhook endpoint read the test_id there and pass --test-id. Exit 5 names
    the failed step and its cause.

    \b
    Examples:
      twilio-es sink validate DGxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
      twilio-es sink validate DGxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx --listener http://127.0.0.1:7410
      twilio-es sink validate DGxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx --test-id 95001c1e-...
    """
    from twilio_es_cli import output
    from twilio_es_cli.errors import UsageError
    from twilio_es_cli.progress import TERMINAL
    from twilio_es_cli.sink_validation import Validator
    from twilio_es_cli.sinks import check_test_id

    sid = _check_sid(sid)
    if test_id is not None:
        test_id = check_test_id(test_id)
    if not timeout > 0:
        raise UsageError("--timeout must be a positive number of seconds")
    if listener is not None:
        listener = _check_listener(listener, test_id)
    validator = Validator(_service(ctx), TERMINAL)
    outcome = validator.run(
        sid,
        lambda stream: _stream_reader(ctx, stream),
        test_id=test_id,
        force=force,
        timeout=timeout,
        listener=listener,
    )
    data = outcome.as_dict()
    output.emit(data, as_json=as_json, fields={k: v for k, v in data.items() if v is not None})


@app.command("rotate")
def rotate(
    ctx: typer.Context,
    sid: SidArgument,
    timeout: Annotated[
        float,
        typer.Option("--timeout", help="Seconds to wait for the new sink's test event."),
    ] = 120.0,
    yes: YesOption = False,
    as_json: JsonOption = False,
    jq: JqOption = None,
) -> None:
    """Replace a sink by a new one with no gap: new sink, proven, subscriptions moved, old gone.

    A kinesis sink gets a fresh external id on the same role (the trust accepts both until the
    old sink is gone). Subscriptions are copied to the new sink before the old ones are
    deleted, so events may arrive twice for a moment, never not at all. If anything fails
    before the move, this run's work is undone.

    \b
    Example:
      twilio-es sink rotate DGxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx --yes
    """
    from twilio_es_cli import output
    from twilio_es_cli.errors import UsageError
    from twilio_es_cli.infra.rotate import rotate as rotate_sink
    from twilio_es_cli.infra.run import make_env

    sid = _check_sid(sid)
    if not timeout > 0:
        raise UsageError("--timeout must be a positive number of seconds")
    confirm(f"Replace sink {sid} by a new one and delete it?", yes=yes)
    env = make_env(clients(ctx), None)
    env.proof_timeout = timeout
    rotation = rotate_sink(env, sid)
    output.success(f"sink {sid} replaced by {rotation.new_sid}")
    data = rotation.to_dict()
    output.emit(data, as_json=as_json, fields={k: v for k, v in data.items() if v})


def _check_listener(url: str, test_id: str | None) -> str:
    """``--listener``: an http URL of a listener on this machine (its log answers only there)."""
    from urllib.parse import urlsplit

    from twilio_es_cli.config import is_loopback_url
    from twilio_es_cli.errors import UsageError, shown

    if test_id is not None:
        raise UsageError("give either --test-id or --listener, not both")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (raises ValueError for a port out of range or not a number)
    except ValueError:  # "Invalid IPv6 URL" (an unclosed [), a bad port: same answer
        parts = urlsplit("")
    if parts.scheme != "http" or not parts.hostname or not is_loopback_url(url):
        raise UsageError(
            f"--listener {shown(url)} is not the http:// address of a listener on this machine",
            hint="For example --listener http://127.0.0.1:7410 (where `twilio-es webhook "
            "listen` runs; its event log answers only local requests).",
        )
    return f"{parts.scheme}://{parts.netloc}"


def _stream_reader(ctx: typer.Context, stream: StreamRef) -> ReadFn:
    """Read the sink's stream with the user's AWS credentials, in the stream's region."""
    return clients(ctx).stream_reader(stream)


def register(root: typer.Typer) -> None:
    """Attach this module's commands to the root app."""
    root.add_typer(app)


def _sink_columns() -> tuple[Column, ...]:
    """``sink list``'s columns; what gives way at 80 columns: CREATED, then TARGET (whole,
    never wrapped), then DESCRIPTION."""
    from twilio_es_cli.output import Column

    return (
        Column("SID", identifier=True),
        Column("TYPE"),
        Column("STATUS"),
        Column("TARGET", identifier=True, priority=2),
        Column("DESCRIPTION", priority=1),
        Column("CREATED", priority=3),
    )


def _sink_row(sink: Sink) -> tuple[Any, ...]:
    """One table row for ``sink list`` (never shows configuration secrets)."""
    return (
        sink.sid,
        sink.sink_type,
        sink.status,
        sink.target,
        sink.description,
        sink.date_created.strftime("%Y-%m-%d %H:%M") if sink.date_created else None,
    )
