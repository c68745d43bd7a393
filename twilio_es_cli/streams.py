"""The Kinesis stream Twilio writes to, and the IAM role that lets it: the core of `stream`.

Written against a small :class:`Clients` protocol (what :class:`~twilio_es_cli.aws.AwsClients`
provides), so it runs unchanged against AWS, moto's server or kinesis-local. Every AWS call is
wrapped in :func:`~twilio_es_cli.aws.aws_errors`; progress goes to the
:class:`~twilio_es_cli.progress.Reporter` the caller passes (the terminal by default), so a
caller that shows its own steps (``quickstart``) mutes or nests it without a global switch.

``create`` is re-runnable: it recognises the stream and the role it made before (by tag),
checks them and prints the same configuration, and undoes what *this* run created when a later
step fails, because a half-made role/stream pair is what makes the quickstart scripts painful.
"""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol

from twilio_es_cli import iam as iamdoc
from twilio_es_cli.aws import aws_errors, error_code, polls
from twilio_es_cli.errors import (
    ApiError,
    CheckFailed,
    NotFoundError,
    TwilioEsError,
    UsageError,
    shown,
)
from twilio_es_cli.progress import TERMINAL, Reporter
from twilio_es_cli.roles import (
    delete_role,
    delete_role_command,
    find_role,
    get_role,
    get_role_policy,
    policy_name_of,
    roles_made_for,
    tags_of,
)
from twilio_es_cli.rollback import Rollback
from twilio_es_cli.shards import list_shards, open_count  # the one shard model (also tail)

if TYPE_CHECKING:
    from mypy_boto3_iam import IAMClient
    from mypy_boto3_iam.type_defs import RoleTypeDef
    from mypy_boto3_kinesis import KinesisClient
    from mypy_boto3_kinesis.type_defs import (
        CreateStreamInputTypeDef,
        ListStreamsInputTypeDef,
        StreamDescriptionSummaryTypeDef,
        StreamSummaryTypeDef,
    )

    # The sink configuration `create` returns: one type for twilio-sink.json (issue 10).
    from twilio_es_cli.models import KinesisSinkConfig as SinkConfig

STREAM_NAME = re.compile(r"^[a-zA-Z0-9_.-]{1,128}$")
MAX_SHARDS = 10_000  # far above default quotas (200/500), low enough to catch typos
MIN_RETENTION_HOURS, MAX_RETENTION_HOURS = 24, 8760
#: UpdateShardCount's ScalingType: the one value AWS has (the stubs' ScalingTypeType).
ScalingType = Literal["UNIFORM_SCALING"]
SCALING_TYPES: tuple[ScalingType, ...] = ("UNIFORM_SCALING",)
DEFAULT_TIMEOUT = 600.0
_ROLE_VISIBLE_TIMEOUT = 15.0  # IAM is eventually consistent; GetRole right after create may 404


class Clients(Protocol):
    """What the stream core needs from :class:`~twilio_es_cli.aws.AwsClients`."""

    @property
    def region(self) -> str: ...

    def kinesis(self) -> KinesisClient: ...

    def iam(self) -> IAMClient: ...


# --------------------------------------------------------------------------- input checks


def validate_stream_name(name: str) -> str:
    """Kinesis's rule: 1-128 characters from letters, digits, ``_ . -``."""
    if not STREAM_NAME.fullmatch(name):
        raise UsageError(
            f"stream name {shown(name)} is not valid",
            hint="Use 1-128 characters from letters, digits, underscore, period and hyphen.",
        )
    return name


def validate_shard_count(count: int, what: str = "SHARDS") -> int:
    if not 1 <= count <= MAX_SHARDS:
        raise UsageError(
            f"{what} must be between 1 and {MAX_SHARDS}, got {count}",
            hint="One shard takes 1 MB/s or 1,000 records/s; most Twilio accounts need 1.",
        )
    return count


def validate_retention(hours: int) -> int:
    if not MIN_RETENTION_HOURS <= hours <= MAX_RETENTION_HOURS:
        raise UsageError(
            f"--retention-hours must be between {MIN_RETENTION_HOURS} and "
            f"{MAX_RETENTION_HOURS}, got {hours}"
        )
    return hours


def validate_timeout(seconds: float) -> float:
    if not seconds > 0:
        raise UsageError(f"--timeout must be a positive number of seconds, got {seconds}")
    return seconds


def validate_scaling_type(value: str) -> ScalingType:
    """``--scaling-type`` as the value UpdateShardCount accepts (exit 2 for any other)."""
    for known in SCALING_TYPES:
        if value == known:
            return known
    raise UsageError(
        f"--scaling-type {value!r} is not supported",
        hint="Use " + ", ".join(SCALING_TYPES) + ".",
    )


def scale_bounds(open_shards: int) -> tuple[int, int]:
    """AWS's UpdateShardCount rule: at least half, at most double the open shards."""
    low = max(1, math.ceil(open_shards / 2))
    high = min(MAX_SHARDS, open_shards * 2)
    return low, high


def check_scale(name: str, current: int, target: int) -> None:
    """Refuse a target AWS would reject, naming the range it would accept."""
    low, high = scale_bounds(current)
    if not low <= target <= high:
        raise UsageError(
            f"cannot scale stream {name} from {current} to {target} shards in one step",
            hint=f"AWS allows {low} to {high} (half to double the open shards); "
            "scale in several steps.",
        )


# --------------------------------------------------------------------------- waiting


def stream_summary(kinesis: KinesisClient, name: str) -> StreamDescriptionSummaryTypeDef | None:
    """DescribeStreamSummary, or None when the stream does not exist."""
    try:
        with aws_errors(f"describe stream {name}"):
            return kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]
    except NotFoundError:
        return None


def wait_for_active(
    kinesis: KinesisClient,
    name: str,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    open_shards: int | None = None,
    sleep: Callable[[float], None] = time.sleep,
    report: Reporter | None = None,
) -> StreamDescriptionSummaryTypeDef:
    """Poll until the stream is ACTIVE (with ``open_shards`` open shards, when given).

    With ``report`` the wait is shown (what for, seconds so far, ``timeout``); callers that
    already show their own wait pass none.
    """
    if report is not None:
        with report.waiting(f"Waiting for stream {name} to become ACTIVE", timeout):
            return wait_for_active(
                kinesis, name, timeout=timeout, open_shards=open_shards, sleep=sleep
            )
    status = "unknown"
    for left in polls(timeout, sleep):
        summary = stream_summary(kinesis, name)
        if summary is None:
            raise NotFoundError(f"stream {name} disappeared while waiting for it")
        status = summary["StreamStatus"]
        count = summary.get("OpenShardCount")
        if status == "ACTIVE" and (open_shards is None or count in (None, open_shards)):
            return summary
        if status == "DELETING":
            raise ApiError(f"stream {name} is being deleted")
        if left <= 0:
            break
    raise ApiError(
        f"stream {name} is still {status} after {timeout:.0f} s",
        hint=f"It may finish later: check with `twilio-es stream describe {name}`.",
    )


def wait_for_deleted(
    kinesis: KinesisClient,
    name: str,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    sleep: Callable[[float], None],
) -> None:
    for left in polls(timeout, sleep):
        if stream_summary(kinesis, name) is None:
            return
        if left <= 0:
            break
    raise ApiError(
        f"stream {name} is still being deleted after {timeout:.0f} s",
        hint=f"It may finish later: check with `twilio-es stream describe {name}`.",
    )


# --------------------------------------------------------------------------- create


def _sink_config(arn: str, role_arn: str, external_id: str) -> SinkConfig:
    """The one sink-configuration type (models.KinesisSinkConfig), from what AWS returned.

    Built without validation, as before the types were merged: the values come from AWS, and
    pydantic is imported only here so `stream list` start-up stays light.
    """
    from twilio_es_cli.models import KinesisSinkConfig

    return KinesisSinkConfig.model_construct(arn=arn, role_arn=role_arn, external_id=external_id)


@dataclass(frozen=True)
class CreateRequest:
    """Validated input of `stream create` (see :func:`create_request`)."""

    name: str
    shards: int | None  # None: on-demand
    principal: str
    role_name: str | None = None
    policy_name: str | None = None
    retention_hours: int | None = None
    wait: bool = True
    timeout: float = DEFAULT_TIMEOUT


@dataclass
class CreateResult:
    """What `create` made or found: the sink configuration, and what this run made, as data."""

    config: SinkConfig
    stream_created: bool = False  # False: an existing stream was reused
    role_created: bool = False  # False: the role made for the stream earlier was reused
    policy_added: bool = False  # a reused role lacked its permissions policy; it was put back

    @property
    def created_any(self) -> bool:
        """Anything made by this run (empty: everything already existed and matched)."""
        return self.stream_created or self.role_created or self.policy_added


def create_request(
    name: str,
    shards: int | None,
    *,
    on_demand: bool,
    principal: str,
    role_name: str | None = None,
    policy_name: str | None = None,
    retention_hours: int | None = None,
    wait: bool = True,
    timeout: float = DEFAULT_TIMEOUT,
) -> CreateRequest:
    """Check every input before any AWS call (exit 2 on the first problem)."""
    validate_stream_name(name)
    if on_demand and shards is not None:
        raise UsageError(
            "SHARDS and --on-demand exclude each other",
            hint="On-demand streams size themselves: drop SHARDS, or drop --on-demand.",
        )
    if not on_demand:
        if shards is None:
            raise UsageError(
                "SHARDS is required for a provisioned stream",
                hint="e.g. `twilio-es stream create twilio-events 1`, or pass --on-demand.",
            )
        validate_shard_count(shards)
    if role_name is not None:
        iamdoc.validate_role_name(role_name)
    if policy_name is not None:
        iamdoc.validate_policy_name(policy_name)
    if retention_hours is not None:
        validate_retention(retention_hours)
    return CreateRequest(
        name=name,
        shards=None if on_demand else shards,
        principal=iamdoc.normalize_principal(principal),
        role_name=role_name,
        policy_name=policy_name,
        retention_hours=retention_hours,
        wait=wait or retention_hours is not None,  # retention can only change when ACTIVE
        timeout=validate_timeout(timeout),
    )


@dataclass
class _Run:
    """One `create` run: what was asked, the clients, the undo list, the clock, the channel."""

    req: CreateRequest
    kinesis: KinesisClient
    iam: IAMClient
    rollback: Rollback
    sleep: Callable[[float], None]
    report: Reporter

    @property
    def name(self) -> str:
        return self.req.name


def create(
    clients: Clients,
    req: CreateRequest,
    *,
    report: Reporter = TERMINAL,
    sleep: Callable[[float], None] = time.sleep,
) -> CreateResult:
    """Make (or recognise) the stream and its role; roll back this run's work on failure."""
    run = _Run(req, clients.kinesis(), clients.iam(), Rollback(report), sleep, report)
    role_name = req.role_name or iamdoc.default_role_name(req.name, clients.region)
    try:
        summary, stream_created = _ensure_stream(run)
        outcome = _ensure_role(run, summary["StreamARN"], role_name)
    except BaseException as exc:
        left = run.rollback.run()
        if left and isinstance(exc, TwilioEsError):
            exc.hint = "Rollback was incomplete: remove what is listed as 'left behind' above."
        raise
    outcome.stream_created = stream_created
    return outcome


def _mode(summary: Mapping[str, Any]) -> str:
    """A summary's capacity mode (DescribeStreamSummary's or a ListStreams entry's)."""
    return str(summary.get("StreamModeDetails", {}).get("StreamMode", "PROVISIONED"))


def _ensure_stream(run: _Run) -> tuple[Mapping[str, Any], bool]:
    """The stream's summary once it is usable, and whether this run created it."""
    req, name, kinesis = run.req, run.name, run.kinesis
    found = stream_summary(kinesis, name)
    created = found is None
    summary: Mapping[str, Any]
    if found is None:
        summary = _create_stream(run)
    else:
        _check_existing_stream(found, req, run.report)
        summary = found

    if req.wait and summary.get("StreamStatus") != "ACTIVE":
        with run.report.waiting(f"Waiting for stream {name} to become ACTIVE", req.timeout):
            summary = wait_for_active(kinesis, name, timeout=req.timeout, sleep=run.sleep)
        run.report.step(f"Stream {name} is ACTIVE")
    if (
        created
        and req.retention_hours
        and req.retention_hours != summary.get("RetentionPeriodHours", MIN_RETENTION_HOURS)
    ):
        with aws_errors(f"set the retention of stream {name}"):
            kinesis.increase_stream_retention_period(
                StreamName=name, RetentionPeriodHours=req.retention_hours
            )
        run.report.note(f"Retention set to {req.retention_hours} h")
    if "StreamARN" not in summary:
        summary = stream_summary(kinesis, name) or summary
    if "StreamARN" not in summary:
        raise ApiError(f"stream {name} was created but cannot be described yet")
    return summary, created


def _create_stream(run: _Run) -> Mapping[str, Any]:
    """CreateStream, registered for rollback; its summary (CREATING until described)."""
    req, name = run.req, run.name
    kwargs: CreateStreamInputTypeDef = {"StreamName": name}
    if req.shards is None:
        kwargs["StreamModeDetails"] = {"StreamMode": "ON_DEMAND"}
        what = "on-demand"
    else:
        kwargs["ShardCount"] = req.shards
        kwargs["StreamModeDetails"] = {"StreamMode": "PROVISIONED"}
        what = f"{req.shards} shard(s)"
    with aws_errors(f"create stream {name}"):
        run.kinesis.create_stream(**kwargs)
    run.rollback.add(
        f"stream {name}",
        lambda: _delete_new_stream(run),
        f"aws kinesis delete-stream --stream-name {name} --enforce-consumer-deletion",
    )
    run.report.note(f"Creating stream {name} ({what})")
    # None right after CreateStream: eventual consistency
    return stream_summary(run.kinesis, name) or {"StreamStatus": "CREATING"}


def _delete_new_stream(run: _Run) -> None:
    """Delete a stream this run created; AWS refuses while it is still CREATING, so wait."""
    kinesis, name = run.kinesis, run.name
    try:
        with aws_errors(f"delete stream {name}"):
            kinesis.delete_stream(StreamName=name, EnforceConsumerDeletion=True)
    except ApiError as exc:
        if error_code(exc.__cause__ or exc) != "ResourceInUseException":
            raise
        run.report.note(f"Stream {name} is still being created; waiting to delete it")
        wait_for_active(kinesis, name, timeout=run.req.timeout, sleep=run.sleep)
        with aws_errors(f"delete stream {name}"):
            kinesis.delete_stream(StreamName=name, EnforceConsumerDeletion=True)


def _check_existing_stream(
    summary: StreamDescriptionSummaryTypeDef, req: CreateRequest, report: Reporter
) -> None:
    """An existing stream is reused as is; say where it differs from what was asked."""
    name, status = req.name, summary.get("StreamStatus")
    if status == "DELETING":
        raise ApiError(
            f"stream {name} is being deleted",
            hint="Wait until `twilio-es stream describe` says it is gone, then re-run.",
        )
    report.note(f"Stream {name} already exists ({status}); reusing it")
    mode = _mode(summary)
    wanted = "ON_DEMAND" if req.shards is None else "PROVISIONED"
    if mode != wanted:
        report.warn(f"stream {name} is {mode}, not {wanted}; left unchanged")
    elif req.shards is not None and summary.get("OpenShardCount") not in (None, req.shards):
        report.warn(
            f"stream {name} has {summary.get('OpenShardCount')} open shard(s), not "
            f"{req.shards}; change it with `twilio-es stream scale {name} {req.shards}`"
        )
    retention = summary.get("RetentionPeriodHours")
    if req.retention_hours and retention != req.retention_hours:
        report.warn(f"stream {name} keeps data {retention} h, not {req.retention_hours} h")


def _ensure_role(run: _Run, stream_arn: str, role_name: str) -> CreateResult:
    """The role made for the stream (found, checked, repaired) or a new one."""
    req, iam = run.req, run.iam
    role = get_role(iam, role_name)
    if role is None and req.role_name is None:
        # A re-run without the --role-name used the first time must find that role, not make
        # a second one (with a new external id) beside it.
        role = find_role(iam, stream_arn, role_name, search=True)
        if role is not None:
            run.report.note(f"Found IAM role {role['RoleName']} made for {req.name}")
    if role is None:
        return CreateResult(_create_role(run, stream_arn, role_name), role_created=True)
    role_name = role["RoleName"]
    if not iamdoc.made_for(tags_of(iam, role), stream_arn):
        raise ApiError(
            f"IAM role {role_name} already exists and was not made by twilio-es for {stream_arn}",
            hint="Pass --role-name with a name of your own; twilio-es leaves that role alone.",
        )
    return _check_role(run, stream_arn, role)


def _create_role(run: _Run, stream_arn: str, role_name: str) -> SinkConfig:
    req, iam = run.req, run.iam
    policy_name = req.policy_name or iamdoc.default_policy_name(req.name)
    external_id = iamdoc.new_external_id()
    with aws_errors(f"create IAM role {role_name}"):
        role = iam.create_role(
            RoleName=role_name,
            Path=iamdoc.ROLE_PATH,
            AssumeRolePolicyDocument=json.dumps(iamdoc.trust_policy(req.principal, external_id)),
            Description=f"Lets Twilio Event Streams put records into Kinesis stream {req.name}"[
                :1000
            ],
            Tags=iamdoc.role_tags(stream_arn, policy_name),
        )["Role"]
    run.rollback.add(
        f"IAM role {role_name}",
        lambda: iam.delete_role(RoleName=role_name),
        delete_role_command(role_name, None),
    )
    _put_permissions(run, role_name, policy_name, stream_arn)
    _wait_role_visible(iam, role_name, run.sleep)
    run.report.step(f"IAM role {role_name} created for Twilio ({req.principal})")
    run.report.note(
        "IAM changes take a few seconds to reach every AWS region: Twilio's first "
        "AssumeRole may fail briefly; `twilio-es sink validate` retries."
    )
    return _sink_config(stream_arn, role["Arn"], external_id)


def _put_permissions(run: _Run, role_name: str, policy_name: str, stream_arn: str) -> None:
    """Put the permissions Twilio needs on the role, and undo it if this run fails later."""
    iam = run.iam
    with aws_errors(f"put permissions policy {policy_name} on IAM role {role_name}"):
        iam.put_role_policy(
            RoleName=role_name,
            PolicyName=policy_name,
            PolicyDocument=json.dumps(iamdoc.permissions_policy(stream_arn)),
        )
    run.rollback.add(
        f"policy {policy_name} of IAM role {role_name}",
        lambda: iam.delete_role_policy(RoleName=role_name, PolicyName=policy_name),
        delete_role_command(role_name, policy_name),
    )


def _wait_role_visible(iam: IAMClient, role_name: str, sleep: Callable[[float], None]) -> None:
    """A bounded check that the new role can be read back (IAM is eventually consistent)."""
    for left in polls(_ROLE_VISIBLE_TIMEOUT, sleep):
        if get_role(iam, role_name) is not None:
            return
        if left <= 0:
            break
    raise ApiError(
        f"IAM role {role_name} was created but is still not readable after "
        f"{_ROLE_VISIBLE_TIMEOUT:.0f} s"
    )


def _check_role(run: _Run, stream_arn: str, role: RoleTypeDef) -> CreateResult:
    """Compare a role we made earlier with what Twilio needs now; name every difference."""
    req, iam = run.req, run.iam
    role_name = role["RoleName"]
    policy_name = policy_name_of(role, req.policy_name, req.name, report=run.report)
    trust: str | Mapping[str, Any] = role.get("AssumeRolePolicyDocument") or {}
    problems = iamdoc.trust_differences(trust, req.principal)
    principals, external_ids = iamdoc.read_trust(trust)
    policy = get_role_policy(iam, role_name, policy_name)
    added = policy is None and not problems
    if added:
        _put_permissions(run, role_name, policy_name, stream_arn)
        run.report.warn(f"IAM role {role_name} had no policy {policy_name}; added it")
    elif policy is None:
        problems.append(f"role has no permissions policy {policy_name}")
    else:
        problems.extend(iamdoc.permission_differences(policy, stream_arn))
    if problems:
        hint = (
            "Fix the role in IAM, or delete it and re-run to make a fresh one (new external id:"
            f" recreate the Twilio sink): {delete_role_command(role_name, policy_name)}"
        )
        if len(principals) == 1 and principals[0] != req.principal:
            hint = f"If {principals[0]} is intended, re-run with --twilio-principal. " + hint
        raise CheckFailed(
            f"IAM role {role_name} (made for {req.name}) differs from what Twilio needs: "
            + "; ".join(problems),
            hint=hint,
        )
    run.report.note(f"IAM role {role_name} already exists and matches; unchanged")
    return CreateResult(_sink_config(stream_arn, role["Arn"], external_ids[0]), policy_added=added)


# --------------------------------------------------------------------------- scale


def scale(
    clients: Clients,
    name: str,
    target: int,
    *,
    report: Reporter = TERMINAL,
    scaling_type: ScalingType = "UNIFORM_SCALING",
    wait: bool = True,
    timeout: float = DEFAULT_TIMEOUT,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """UpdateShardCount within AWS's half-to-double rule, then wait for ACTIVE."""
    kinesis = clients.kinesis()
    summary = _require_stream(kinesis, name, clients.region)
    if _mode(summary) == "ON_DEMAND":
        raise UsageError(
            f"stream {name} is on-demand and sizes itself",
            hint="Switch it to provisioned first (aws kinesis update-stream-mode).",
        )
    if summary["StreamStatus"] != "ACTIVE":
        raise ApiError(
            f"stream {name} is {summary['StreamStatus']}; it can be scaled only when ACTIVE",
            hint=f"Wait for it (`twilio-es stream describe {name}`), then retry.",
        )
    current = summary.get("OpenShardCount")
    if current is None:
        current = open_count(list_shards(kinesis, name))
    if target == current:  # already there: nothing to do is success, like `stream create`
        return {"stream": name, "old": current, "new": target, "status": "ACTIVE"}
    check_scale(name, current, target)
    with aws_errors(f"update the shard count of stream {name}"):
        kinesis.update_shard_count(
            StreamName=name, TargetShardCount=target, ScalingType=scaling_type
        )
    status = "UPDATING"
    if wait:
        with report.waiting(f"Resharding {name} from {current} to {target} shards", timeout):
            status = wait_for_active(
                kinesis, name, timeout=timeout, open_shards=target, sleep=sleep
            )["StreamStatus"]
    return {"stream": name, "old": current, "new": target, "status": status}


# --------------------------------------------------------------------------- describe / list


def _require_stream(
    kinesis: KinesisClient, name: str, region: str
) -> StreamDescriptionSummaryTypeDef:
    summary = stream_summary(kinesis, name)
    if summary is None:
        raise NotFoundError(
            f"stream {name} does not exist in {region}",
            hint="See `twilio-es stream list`, or check --region.",
        )
    return summary


def role_view(
    iam: IAMClient, role: RoleTypeDef, stream_name: str, *, show_secrets: bool
) -> dict[str, Any]:
    principals, external_ids = iamdoc.read_trust(role.get("AssumeRolePolicyDocument") or {})
    view: dict[str, Any] = {
        "name": role["RoleName"],
        "arn": role["Arn"],
        "principals": principals,
        "policy": policy_name_of(role, None, stream_name),
        "external_id_set": bool(external_ids),
    }
    if show_secrets:
        view["external_id"] = external_ids[0] if external_ids else None
    return view


def describe(
    clients: Clients,
    name: str,
    *,
    role_name: str | None = None,
    show_secrets: bool = False,
    report: Reporter = TERMINAL,
) -> dict[str, Any]:
    """Status, mode, shards (open/closed), retention, ARN and the role made for the stream."""
    kinesis = clients.kinesis()
    summary = _require_stream(kinesis, name, clients.region)
    shards = list_shards(kinesis, name)
    view: dict[str, Any] = {
        "name": name,
        "arn": summary["StreamARN"],
        "status": summary["StreamStatus"],
        "mode": _mode(summary),
        "open_shards": open_count(shards),
        "closed_shards": len(shards) - open_count(shards),
        "shards": [s.view() for s in shards],
        "retention_hours": summary.get("RetentionPeriodHours"),
        "encryption": summary.get("EncryptionType", "NONE"),
        "created": summary.get("StreamCreationTimestamp"),
        "consumers": [],
        "role": None,
    }
    _add_consumers(view, kinesis, summary["StreamARN"], report)
    candidate = role_name or iamdoc.default_role_name(name, clients.region)
    try:
        iam = clients.iam()
        role = find_role(iam, summary["StreamARN"], candidate, search=role_name is None)
        if role is not None:
            view["role"] = role_view(iam, role, name, show_secrets=show_secrets)
    except TwilioEsError as exc:  # e.g. an endpoint with Kinesis but no IAM (kinesis-local)
        report.warn(f"could not look up the IAM role: {exc.message}")
        view["role_error"] = exc.message
    return view


def _add_consumers(
    view: dict[str, Any], kinesis: KinesisClient, stream_arn: str, report: Reporter
) -> None:
    """Enhanced fan-out consumers (each is billed per shard hour): ``tail --efo`` leftovers
    and everyone else's, so a forgotten one is seen. A server without the API only warns."""
    from twilio_es_cli.tail.efo import PREFIX, list_consumers

    try:
        found = list_consumers(kinesis, stream_arn)
    except TwilioEsError as exc:
        report.warn(f"could not list the stream's consumers: {exc.message}")
        view["consumers_error"] = exc.message
        return
    view["consumers"] = [
        {
            "name": c.name,
            "status": c.status,
            "created": c.created,
            "arn": c.arn,
            "twilio_es": c.name.startswith(PREFIX),
        }
        for c in found
    ]


def _list_pages(kinesis: KinesisClient) -> tuple[list[str], dict[str, StreamSummaryTypeDef]]:
    """Every stream name, and the ListStreams summary of each the endpoint gave one for.

    Pages with NextToken while HasMoreStreams; endpoints that answer with StreamNames only
    (older Kinesis, some emulators) page by the last name instead.
    """
    names: list[str] = []
    summaries: dict[str, StreamSummaryTypeDef] = {}
    kwargs: ListStreamsInputTypeDef = {"Limit": 100}
    last_start: str | None = None
    while True:
        with aws_errors("list streams"):
            page = kinesis.list_streams(**kwargs)
        for entry in page.get("StreamSummaries", []):
            summaries[entry["StreamName"]] = entry
        for stream_name in [*page.get("StreamNames", []), *summaries]:
            if stream_name not in names:
                names.append(stream_name)
        if not page.get("HasMoreStreams") or not names:
            return names, summaries
        if page.get("NextToken"):
            kwargs = {"NextToken": page["NextToken"], "Limit": 100}
        else:  # older endpoints page by name; stop if that makes no progress
            if names[-1] == last_start:
                return names, summaries
            last_start = names[-1]
            kwargs = {"ExclusiveStartStreamName": last_start, "Limit": 100}


def list_streams(clients: Clients, *, shards: bool = False) -> list[dict[str, Any]]:
    """Every stream in the region with ARN, status, mode and creation time.

    ListStreams' StreamSummaries carry all of those, so one request per 100 streams is all it
    takes; DescribeStreamSummary is asked only for a stream the endpoint gave no summary for,
    or for every stream with ``shards`` (the open shard count is in no list answer).
    """
    kinesis = clients.kinesis()
    names, summaries = _list_pages(kinesis)
    rows = []
    for stream_name in sorted(names):
        entry = summaries.get(stream_name)
        full = stream_summary(kinesis, stream_name) if shards or entry is None else None
        source: Mapping[str, Any] = full or entry or {}
        rows.append(
            {
                "name": stream_name,
                "arn": source.get("StreamARN"),
                "status": source.get("StreamStatus"),
                "mode": _mode(source) if source else None,
                "open_shards": full.get("OpenShardCount") if full else None,
                "created": source.get("StreamCreationTimestamp"),
            }
        )
    return rows


# --------------------------------------------------------------------------- delete


@dataclass
class DeletePlan:
    """What `delete` will remove, shown to the user before asking."""

    name: str
    arn: str
    roles: list[RoleTypeDef]  # every role twilio-es made for the stream (none: --keep-role)


def plan_delete(
    clients: Clients,
    name: str,
    *,
    keep_role: bool,
    role_name: str | None = None,
    report: Reporter = TERMINAL,
) -> DeletePlan:
    kinesis = clients.kinesis()
    summary = _require_stream(kinesis, name, clients.region)
    roles: list[RoleTypeDef] = []
    if not keep_role:
        iam = clients.iam()
        candidate = role_name or iamdoc.default_role_name(name, clients.region)
        try:
            roles = list(
                roles_made_for(iam, summary["StreamARN"], candidate, search=role_name is None)
            )
        except TwilioEsError as exc:  # no IAM rights (or an endpoint without IAM): say the way out
            exc.hint = (
                f"Nothing was deleted. To delete only the stream, re-run with --keep-role; "
                f"the role, if any, stays ({candidate})."
            )
            raise
        if not roles and role_name is not None:
            report.warn(f"IAM role {role_name} was not made by twilio-es for {name}; keeping it")
    return DeletePlan(name=name, arn=summary["StreamARN"], roles=roles)


def delete(
    clients: Clients,
    plan: DeletePlan,
    *,
    report: Reporter = TERMINAL,
    wait: bool = True,
    timeout: float = DEFAULT_TIMEOUT,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """Delete the stream, then the roles made for it (each only if nothing else uses it)."""
    kinesis = clients.kinesis()
    name = plan.name
    try:
        with aws_errors(f"delete stream {name}"):
            kinesis.delete_stream(StreamName=name, EnforceConsumerDeletion=True)
    except NotFoundError:
        report.note(f"Stream {name} was already gone")
    except ApiError as exc:
        if error_code(exc.__cause__ or exc) != "ResourceInUseException":
            raise
        report.note(f"Stream {name} is already being deleted")
    else:
        report.note(f"Deleting stream {name}")
    deleted_roles = []
    for role in plan.roles:
        policy_name = policy_name_of(role, None, name)
        deleted = delete_role(clients.iam(), role["RoleName"], policy_name, report=report)
        if deleted is not None:
            deleted_roles.append(deleted)
    if wait:
        with report.waiting(f"Waiting for stream {name} to be deleted", timeout):
            wait_for_deleted(kinesis, name, timeout=timeout, sleep=sleep)
    report.step(f"Stream {name} deleted" if wait else f"Stream {name} is being deleted")
    return {"stream": name, "roles": deleted_roles}
