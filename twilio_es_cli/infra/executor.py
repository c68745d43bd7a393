"""Apply a :class:`~.planner.Plan`: dependency order, proof of delivery, zero-gap replacement.

Order (each phase only after the previous one finished):

1. streams and roles (create, reshard, retention, repair), waiting for ``ACTIVE``; then the
   archive block's resources (:mod:`twilio_es_cli.infra.archive.steps`: bucket, Glue, role,
   workgroup, Firehose), so Firehose reads the stream before the first event arrives;
2. new sinks (creates, and the new half of replacements), each *proven*: for a kinesis sink a
   test event is read back from its stream and the sink validated
   (:mod:`twilio_es_cli.sink_validation`);
   a new sink that cannot be proven is deleted again, so nothing is left half-made;
3. sink updates (descriptions; proving sinks that are not active);
4. new subscriptions (creates, and replacements on the new sinks): events may now arrive twice,
   once per sink, until step 6; Twilio delivers at least once, so consumers already dedupe;
5. subscription updates (types added before any is removed, versions re-pinned);
6. subscription deletions (the old half of replacements, and removed ones);
7. sink deletions (old sinks once nothing uses them, and removed ones).

On a failure the run stops and says which steps were done and which were not. Every step
leaves the account consistent, so a re-run re-plans from what exists and continues.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from twilio_es_cli.errors import NotFoundError, TwilioEsError
from twilio_es_cli.infra.planner import CREATE, DELETE, REPLACE, UPDATE, Change, Plan
from twilio_es_cli.models import Sink
from twilio_es_cli.progress import TERMINAL, Indented, Muted, Reporter

if TYPE_CHECKING:
    from mypy_boto3_iam import IAMClient
    from mypy_boto3_kinesis import KinesisClient
    from mypy_boto3_kinesis.type_defs import StreamDescriptionSummaryTypeDef

    from twilio_es_cli.aws import AwsClients
    from twilio_es_cli.config import Settings


@dataclass
class Env:
    """What apply works with: settings, AWS clients and a twilio client.

    ``stream_kinesis`` is the invocation's one reader-client factory
    (:meth:`~twilio_es_cli.clients.Clients.stream_kinesis`): the proof reads a sink's stream
    with it, in the region the stream's ARN names, as ``sink validate`` and ``tail`` do.
    """

    settings: Settings
    aws: AwsClients
    client: Any
    desired: Any  # loader.Desired
    stream_kinesis: Callable[[str], KinesisClient]
    proof_timeout: float = 120.0
    report: Reporter = TERMINAL  # where apply and rotate say what they do


@dataclass
class Step:
    text: str
    run: Callable[[], object]


@dataclass
class ApplyResult:
    done: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    sinks: dict[str, str] = field(default_factory=dict)  # sink name -> sid after apply

    def to_dict(self) -> dict[str, Any]:
        return {"done": self.done, "warnings": self.warnings, "sinks": self.sinks}


# ----------------------------------------------------------------------------- proof


def prove(env: Env, sink: Sink, *, timeout: float | None = None) -> str:
    """Prove a new or changed sink delivers; returns what was proven, in a few words.

    Kinesis: Test -> read the test event back from the stream -> Validate -> active (the
    validation flow; Validate is accepted on an already active sink, so one path serves
    today's Twilio, which activates sinks at once, and the older initialize-then-validate one).
    Webhook sinks whose destination is a ``webhook listen`` on this machine are read back from
    it; other webhook/segment sinks cannot be read by twilio-es: a test event is sent and
    that is said plainly.
    """
    from twilio_es_cli.errors import CheckFailed
    from twilio_es_cli.sink_validation import Validator
    from twilio_es_cli.sinks import SinkService
    from twilio_es_cli.tail.reader import stream_reader

    service = SinkService(env.client)
    if sink.sink_type != "kinesis":
        return _prove_elsewhere(env, service, sink, timeout or env.proof_timeout)
    stream = sink.kinesis_stream()
    if stream is None:
        raise CheckFailed(f"sink {sink.sid} has no valid stream ARN")
    read = stream_reader(env.stream_kinesis(stream.arn), stream.arn)
    limit = timeout or env.proof_timeout
    if sink.status == "active":  # today's Twilio: active at once, so prove without Validate
        # Steps 1-3 of validation (test event read back); only its warnings are said.
        validator = Validator(service, Muted(env.report, keep_waits=True))
        result = validator.read_back(sink, stream, read, timeout=limit)
    else:
        validator = Validator(service, Indented(env.report))
        result = validator.kinesis(sink, stream, read, timeout=limit)
    return f"test event read back from {stream.name} after {result.seconds_to_event:g} s; active"


def _prove_elsewhere(env: Env, service: Any, sink: Sink, timeout: float) -> str:
    """Webhook/segment sinks: read the test event back from a ``webhook listen`` on this
    machine (the sandbox, a local handler run behind the listener); otherwise only send it.

    twilio-es never reads a public destination unasked, so elsewhere it can only say plainly
    that the event was sent and where to look.
    """
    from twilio_es_cli.sink_validation import Validator, listener_base

    base = listener_base(sink, None)
    if base is not None and _listening(base):
        outcome = Validator(service, Indented(env.report)).webhook(sink, base, timeout=timeout)
        if outcome is not None:
            return f"test event read back from `webhook listen` at {base}; {outcome.status}"
    if sink.status == "active":
        service.test(sink.sid)
        return "test event sent (read it at the destination, e.g. `twilio-es webhook listen`)"
    return f"{sink.sink_type} sink is {sink.status}: validate it with the test id it receives"


def _listening(base: str) -> bool:
    """A ``webhook listen`` answers at ``base`` (a loopback destination may have none yet)."""
    from twilio_es_cli.webhook.listen import ListenerError, ListenerLog

    try:
        ListenerLog(base, timeout=2.0).read()
    except ListenerError:
        return False
    return True


def sink_config_model(sink_type: str, config: dict[str, Any]) -> Any:
    from twilio_es_cli.models import (
        KinesisSinkConfig,
        SegmentSinkConfig,
        WebhookSinkConfig,
        parse_config,
    )

    model = {"kinesis": KinesisSinkConfig, "webhook": WebhookSinkConfig}.get(
        sink_type, SegmentSinkConfig
    )
    return parse_config(model, config)  # type: ignore[arg-type]


def create_proven(env: Env, sink_type: str, config: dict[str, Any], description: str) -> Sink:
    """Create a sink and prove it; if the proof fails, delete it again and re-raise.

    A marked sink is created with its marker saying "proving" and gets its final description
    only once the proof finished: a run killed in between (SIGKILL leaves no time to undo)
    leaves a sink the next plan proves before anything moves to it (:func:`prove_unproven`).
    """
    from twilio_es_cli.infra.live import proving
    from twilio_es_cli.sinks import SinkService

    service = SinkService(env.client)
    sink = service.create(sink_config_model(sink_type, config), proving(description))
    env.report.note(f"  created {sink_type} sink {sink.sid} ({sink.status}); proving delivery")
    _prove_or_delete(env, sink, what="new sink")
    if sink.description != description:
        sink = service.update(sink.sid, description)
    return sink


def prove_unproven(env: Env, sid: str) -> Sink:
    """Prove a sink an earlier apply created but stopped proving; delete it if it fails.

    The same rule as for a new sink: nothing half-made is left, and no subscription moves to
    a sink whose delivery was not shown. Its description is the caller's to finish.
    """
    from twilio_es_cli.sinks import SinkService

    sink = SinkService(env.client).get(sid)
    env.report.note(f"  sink {sid} ({sink.status}): its proof did not finish; proving delivery")
    _prove_or_delete(env, sink, what="unproven sink")
    return sink


def _prove_or_delete(env: Env, sink: Sink, *, what: str) -> None:
    """Prove ``sink``; when that fails (or is interrupted), delete it unless it is in use."""
    from twilio_es_cli.sinks import SinkService

    try:
        proof = prove(env, sink)
    except BaseException as exc:
        try:
            users = _subscriptions(env.client).sids_on_sink(sink.sid)
            if users:
                env.report.warn(f"kept sink {sink.sid}: used by subscription(s) {', '.join(users)}")
            else:
                SinkService(env.client).delete(sink.sid)
                env.report.warn(f"deleted the {what} {sink.sid} again: it could not be proven")
        except TwilioEsError as undo:
            env.report.warn(
                f"left behind: sink {sink.sid} ({undo.message}); delete it with "
                f"`twilio-es sink delete {sink.sid} --yes`"
            )
        if isinstance(exc, TwilioEsError):
            exc.message = f"sink {sink.sid} could not be proven: {exc.message}"
        raise
    env.report.step(f"sink {sink.sid}: {proof}")


# ----------------------------------------------------------------------------- streams


def _stream_request(env: Env, name: str) -> Any:
    from twilio_es_cli.streams import create_request

    decl = env.desired.model.streams[name]
    return create_request(
        name,
        decl.shards,
        on_demand=decl.on_demand,
        principal=env.settings.twilio_principal,
        role_name=decl.role_name,
        retention_hours=decl.retention_hours,
    )


def _create_stream(env: Env, name: str) -> None:
    from twilio_es_cli import streams

    streams.create(env.aws, _stream_request(env, name), report=env.report)


def _scale_to(env: Env, name: str, target: int) -> None:
    """Reshard in as many steps as AWS's half-to-double rule needs."""
    from twilio_es_cli import streams

    kinesis = env.aws.kinesis()
    while True:
        summary = streams.wait_for_active(kinesis, name, report=env.report)
        current = summary.get("OpenShardCount") or target
        if current == target:
            return
        low, high = streams.scale_bounds(current)
        streams.scale(env.aws, name, max(low, min(high, target)), report=env.report)


def _update_stream(env: Env, change: Change) -> None:
    from twilio_es_cli import iam as iamdoc
    from twilio_es_cli import streams
    from twilio_es_cli.aws import aws_errors

    name, details = change.name, change.details
    kinesis = env.aws.kinesis()
    summary = streams.wait_for_active(kinesis, name, report=env.report)
    arn = summary["StreamARN"]
    if "mode" in details:
        with aws_errors(f"switch stream {name} to {details['mode']}"):
            kinesis.update_stream_mode(
                StreamARN=arn, StreamModeDetails={"StreamMode": details["mode"]}
            )
        streams.wait_for_active(kinesis, name, report=env.report)
    if details.get("shards"):
        _scale_to(env, name, int(details["shards"]))
    if "retention_hours" in details:
        _set_retention(kinesis, name, summary, int(details["retention_hours"]))
    if details.get("create_role"):
        streams.create(env.aws, _stream_request(env, name), report=env.report)
    iam = env.aws.iam()
    role_name = _role_name(env, name, arn)
    if details.get("repair_policy") and role_name:
        with aws_errors(f"put the permissions policy back on IAM role {role_name}"):
            iam.put_role_policy(
                RoleName=role_name,
                PolicyName=details["repair_policy"],
                PolicyDocument=json.dumps(iamdoc.permissions_policy(arn)),
            )
    if details.get("repair_trust") and role_name:
        put_trust(iam, role_name, env.settings.twilio_principal, list(details["repair_trust"]))


def _role_name(env: Env, name: str, arn: str) -> str | None:
    from twilio_es_cli import iam as iamdoc
    from twilio_es_cli.roles import find_role

    decl = env.desired.model.streams[name]
    candidate = decl.role_name or iamdoc.default_role_name(name, env.aws.region)
    role = find_role(env.aws.iam(), arn, candidate, search=decl.role_name is None)
    return None if role is None else str(role["RoleName"])


def _set_retention(
    kinesis: KinesisClient, name: str, summary: StreamDescriptionSummaryTypeDef, hours: int
) -> None:
    from twilio_es_cli import streams
    from twilio_es_cli.aws import aws_errors

    current = int(summary.get("RetentionPeriodHours") or 24)
    with aws_errors(f"set the retention of stream {name} to {hours} h"):
        if hours > current:
            kinesis.increase_stream_retention_period(StreamName=name, RetentionPeriodHours=hours)
        elif hours < current:
            kinesis.decrease_stream_retention_period(StreamName=name, RetentionPeriodHours=hours)
    streams.wait_for_active(kinesis, name)


def put_trust(iam: IAMClient, role_name: str, principal: str, external_ids: list[str]) -> None:
    """Trust ``principal`` with any of ``external_ids`` (two during a rotation)."""
    from twilio_es_cli import iam as iamdoc
    from twilio_es_cli.aws import aws_errors

    document = iamdoc.trust_policy(principal, external_ids[0])
    if len(external_ids) > 1:
        condition = document["Statement"][0]["Condition"]["StringEquals"]
        condition["sts:ExternalId"] = list(external_ids)
    with aws_errors(f"update the trust policy of IAM role {role_name}"):
        iam.update_assume_role_policy(RoleName=role_name, PolicyDocument=json.dumps(document))


def stream_config(env: Env, name: str) -> dict[str, Any]:
    """The sink configuration for a declared stream, read now (its role may be minutes old)."""
    from twilio_es_cli.errors import ApiError
    from twilio_es_cli.infra.live import read_stream

    decl = env.desired.model.streams[name]
    live = read_stream(env.aws, name, decl.role_name, env.settings.twilio_principal)
    if live is None or live.role is None or not live.role.external_ids:
        raise ApiError(f"stream {name} or its IAM role is missing; cannot create its sink")
    return {
        "arn": live.arn,
        "role_arn": live.role.arn,
        "external_id": live.role.external_ids[-1],
    }


# ----------------------------------------------------------------------------- subscriptions


def _subscriptions(client: Any) -> Any:
    """The one writer of subscriptions (:class:`~twilio_es_cli.subscriptions.Subscriptions`)."""
    from twilio_es_cli.subscriptions import Subscriptions

    return Subscriptions(client)


def create_subscription(
    client: Any, sink_sid: str, description: str, types: list[tuple[str, int | None]]
) -> str:
    """One call; a type without a version (a copy of an unpinned one) stays unpinned."""
    sid: str = _subscriptions(client).create(sink_sid, types, description)
    return sid


def _update_subscription(client: Any, change: Change) -> None:
    diff = change.details.get("diff", {})
    _subscriptions(client).change(
        change.sid,
        add=diff.get("add", []),
        pin=diff.get("set_version", []),
        remove=diff.get("remove", []),
        description=change.details.get("new_description"),
    )


def _delete_subscription(env: Env, sid: str) -> None:
    try:
        _subscriptions(env.client).delete(sid)
    except NotFoundError:
        env.report.note(f"  subscription {sid} was already gone")


def _delete_sink(env: Env, sid: str, *, replaced: bool) -> None:
    from twilio_es_cli.sinks import SinkService

    users = _subscriptions(env.client).sids_on_sink(sid)
    if users:
        what = "old sink" if replaced else "sink"
        env.report.warn(f"kept {what} {sid}: still used by subscription(s) {', '.join(users)}")
        return
    try:
        SinkService(env.client).delete(sid)
    except NotFoundError:
        env.report.note(f"  sink {sid} was already gone")


# ----------------------------------------------------------------------------- steps


class Executor:
    """Turns a plan into ordered steps and runs them, reporting done / not done on failure."""

    def __init__(self, env: Env, plan: Plan) -> None:
        self.env = env
        self.plan = plan
        self.outcome = ApplyResult()

    def announce(self, number: int, total: int, step: Step) -> None:
        """Say which step starts (also the seam tests use to inject a failure at step N)."""
        self.env.report.note(f"[{number}/{total}] {step.text}")

    def steps(self) -> list[Step]:
        steps: list[Step] = []
        changes = self.plan.pending
        for change in [c for c in changes if c.kind == "stream"]:
            steps.append(self._stream_step(change))
        steps.extend(self._archive_steps(changes))
        for change in changes:
            if change.kind == "sink" and change.action in (CREATE, REPLACE):
                steps.append(self._new_sink_step(change))
        for change in changes:
            if change.kind == "sink" and change.action == UPDATE:
                steps.append(self._sink_update_step(change))
        for change in changes:
            if change.kind == "subscription" and change.action in (CREATE, REPLACE):
                steps.append(self._new_subscription_step(change))
        for change in changes:
            if change.kind == "subscription" and change.action == UPDATE:
                steps.append(
                    Step(
                        f"update subscription {change.name} ({'; '.join(change.reasons)})",
                        lambda c=change: _update_subscription(self.env.client, c),  # type: ignore[misc]
                    )
                )
        for change in changes:
            if change.kind == "subscription" and change.action in (REPLACE, DELETE):
                old = change.sid or ""
                label = "old subscription" if change.action == REPLACE else "subscription"
                steps.append(
                    Step(
                        f"delete {label} {change.name} ({old})",
                        lambda s=old: _delete_subscription(self.env, s),  # type: ignore[misc]
                    )
                )
        for change in changes:
            if change.kind == "sink" and change.action in (REPLACE, DELETE):
                old = change.sid or ""
                replaced = change.action == REPLACE
                steps.append(
                    Step(
                        f"delete {'old ' if replaced else ''}sink {change.name} ({old})",
                        lambda s=old, r=replaced: _delete_sink(self.env, s, replaced=r),  # type: ignore[misc]
                    )
                )
        return steps

    def _archive_steps(self, changes: list[Change]) -> list[Step]:
        """The archive block's resources, after the streams and before any sink, so that
        Firehose reads the stream before Twilio writes its first event there."""
        from twilio_es_cli.infra.archive.steps import archive_steps

        return [
            Step(text, run) for text, run in archive_steps(changes, self.env.aws, self.env.report)
        ]

    def _stream_step(self, change: Change) -> Step:
        if change.action == CREATE:
            return Step(
                f"create stream {change.name} and its IAM role",
                lambda: _create_stream(self.env, change.name),
            )
        return Step(
            f"update stream {change.name} ({'; '.join(change.reasons)})",
            lambda: _update_stream(self.env, change),
        )

    def _new_sink_step(self, change: Change) -> Step:
        def run() -> None:
            details = change.details
            config = details.get("config")
            if config is None or details.get("stream"):
                config = stream_config(self.env, details["stream"])
            sink = create_proven(self.env, details["type"], config, details["description"])
            self.outcome.sinks[change.name] = sink.sid

        verb = "create new sink for" if change.action == REPLACE else "create sink"
        return Step(f"{verb} {change.name} and prove delivery", run)

    def _sink_update_step(self, change: Change) -> Step:
        def run() -> None:
            from twilio_es_cli.sinks import SinkService

            service = SinkService(self.env.client)
            sid = change.sid or ""
            # Proof first: an unproven sink's marker is the only record that it still needs
            # one, so the description (which drops that mark) changes only after it passed.
            if change.details.get("unproven"):
                prove_unproven(self.env, sid)
            elif change.details.get("validate"):
                proof = prove(self.env, service.get(sid))
                self.env.report.step(f"sink {sid}: {proof}")
            if "new_description" in change.details:
                service.update(sid, change.details["new_description"])
            self.outcome.sinks[change.name] = sid

        return Step(f"update sink {change.name} ({'; '.join(change.reasons)})", run)

    def _sink_sid(self, name: str) -> str:
        sid = self.outcome.sinks.get(name)
        if sid is None:
            sink_change = self.plan.find("sink", name)
            sid = sink_change.sid if sink_change is not None else None
        if sid is None:
            from twilio_es_cli.errors import ApiError

            raise ApiError(f"sink {name} has no SID yet")
        return sid

    def _new_subscription_step(self, change: Change) -> Step:
        def run() -> None:
            details = change.details
            sink_sid = self._sink_sid(details["sink"])
            for old in details.get("frees", []):  # one subscription per sink: make room
                _delete_subscription(self.env, old)
            sid = create_subscription(
                self.env.client, sink_sid, details["description"], details["specs"]
            )
            self.env.report.note(f"  created subscription {sid} on sink {sink_sid}")

        text = f"create subscription {change.name}"
        if change.action == REPLACE:
            text += " on the new sink (events may arrive twice until the old one is deleted)"
        return Step(text, run)

    def run(self) -> ApplyResult:
        steps = self.steps()
        for sink_change in self.plan.changes:
            if sink_change.kind == "sink" and sink_change.sid:
                self.outcome.sinks.setdefault(sink_change.name, sink_change.sid)
        for number, step in enumerate(steps, start=1):
            try:
                self.announce(number, len(steps), step)
                step.run()
            except (TwilioEsError, KeyboardInterrupt) as exc:
                self._report_failure(steps, number, exc)
                raise
            self.outcome.done.append(step.text)
        self.outcome.warnings = list(self.plan.warnings)
        return self.outcome

    def _report_failure(self, steps: list[Step], number: int, exc: BaseException) -> None:
        report = self.env.report
        report.warn(f"step {number} of {len(steps)} failed: {steps[number - 1].text}")
        for text in self.outcome.done:
            report.note(f"  done: {text}")
        for step in steps[number - 1 :]:
            report.note(f"  not done: {step.text}")
        if isinstance(exc, TwilioEsError):
            exc.hint = (
                (exc.hint + " " if exc.hint else "")
                + "Every finished step left the account consistent: fix the cause and run "
                "`twilio-es apply` again to continue from here."
            )
