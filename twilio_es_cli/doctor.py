"""`doctor`: find out why events are not arriving, one check at a time, mapped to 93101-93104.

Twilio reports a broken Kinesis sink only as Debugger errors: 93101 (write failed: the role may
not put records), 93102 (assume-role failed: role missing, wrong trust principal or external
id), 93103 (shard discovery failed: ListShards/DescribeLimits) and 93104 (stream name or region
not found: events are *dropped*). Each check below reproduces one cause from the AWS side and
says which error it explains and how to fix it.

The checks judge; they do not call the SDKs. Every read goes through the modules that own the
resource (sinks through :class:`~twilio_es_cli.sinks.SinkService`, the stream through
:mod:`~twilio_es_cli.streams`, the role and its policies through :mod:`~twilio_es_cli.roles`,
the caller identity through :class:`~twilio_es_cli.aws.AwsClients`), and the policies are
evaluated by :func:`twilio_es_cli.iam.allows`, beside the documents it evaluates. The clients
come from one :class:`~twilio_es_cli.clients.Clients` (AWS per region: a sink's stream is asked
in the region its ARN names), so tests run the checks against moto and the Events emulator. The
sink's external id is compared, never shown: the output says only "matches" or "differs".
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from twilio_es_cli import arns
from twilio_es_cli import iam as iamdoc
from twilio_es_cli.errors import NotFoundError, TwilioEsError

if TYPE_CHECKING:
    from mypy_boto3_iam.type_defs import RoleTypeDef

    from twilio_es_cli.aws import AwsClients
    from twilio_es_cli.clients import Clients
    from twilio_es_cli.models import Sink
    from twilio_es_cli.sinks import SinkService

OK, FAIL, SKIP, WARN = "ok", "fail", "skip", "warn"

# Twilio Debugger errors for Kinesis sinks.
WRITE_FAILED = 93101
ASSUME_ROLE_FAILED = 93102
SHARD_COUNT_FAILED = 93103
STREAM_NOT_FOUND = 93104

PUT_ACTIONS = iamdoc.PUT_ACTIONS
# Twilio's documented policy grants these on "*": DescribeLimits has no resource-level scope.
DISCOVERY_ACTIONS = (("kinesis:ListShards", None), ("kinesis:DescribeLimits", "*"))
# Streams keep accepting writes while resharding (UPDATING).
WRITABLE_STREAM_STATUSES = frozenset({"ACTIVE", "UPDATING"})


@dataclass
class Check:
    """One line of the report: what was checked, the result, the fix, and the Twilio error."""

    name: str
    status: str
    detail: str
    fix: str | None = None
    code: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Report:
    """Every check in order, plus the sinks found when no sink or stream was named."""

    checks: list[Check] = field(default_factory=list)
    sinks: list[dict[str, Any]] | None = None

    @property
    def ok(self) -> bool:
        return not any(c.status == FAIL for c in self.checks)

    @property
    def failed(self) -> list[Check]:
        return [c for c in self.checks if c.status == FAIL]

    def add(self, check: Check) -> Check:
        self.checks.append(check)
        return check

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"ok": self.ok, "checks": [c.to_dict() for c in self.checks]}
        if self.sinks is not None:
            data["sinks"] = self.sinks
        return data


# -- checks against real services --------------------------------------------------------------
def _fail_from(name: str, exc: TwilioEsError, code: int | None = None) -> Check:
    return Check(name, FAIL, exc.message, exc.hint, code)


def check_twilio(report: Report, clients: Clients) -> SinkService | None:
    """Twilio credentials work (one cheap authenticated call); returns the sinks or None."""
    from twilio_es_cli.sinks import SinkService

    name = "Twilio credentials"
    try:
        service = SinkService(clients.twilio())
        service.list(limit=1)
    except TwilioEsError as exc:
        report.add(_fail_from(name, exc))
        return None
    report.add(Check(name, OK, "the Events API accepted them"))
    return service


def check_aws(report: Report, aws: AwsClients) -> str | None:
    """AWS credentials work (``sts get-caller-identity``); returns the account id or None."""
    name = "AWS credentials"
    try:
        identity = aws.caller_identity()
    except TwilioEsError as exc:
        report.add(_fail_from(name, exc))
        return None
    account = str(identity.get("Account", "?"))
    report.add(Check(name, OK, f"account {account} ({identity.get('Arn', '?')})"))
    return account


def check_stream(report: Report, aws: AwsClients, stream_name: str, region: str) -> str | None:
    """The stream exists in ``region`` and accepts writes; returns its ARN or None (93104)."""
    from twilio_es_cli.streams import stream_summary

    name = "stream exists and is ACTIVE"
    try:
        description = stream_summary(aws.kinesis(), stream_name)
    except TwilioEsError as exc:
        report.add(_fail_from(name, exc, STREAM_NOT_FOUND))
        return None
    if description is None:
        report.add(
            Check(
                name,
                FAIL,
                f"stream {stream_name} does not exist in {region}: Twilio drops the events",
                f"create it in {region} (twilio-es --region {region} stream create "
                f"{stream_name} 1), or make a new sink with the right stream ARN",
                STREAM_NOT_FOUND,
            )
        )
        return None
    status = str(description.get("StreamStatus"))
    shards = description.get("OpenShardCount")
    if status not in WRITABLE_STREAM_STATUSES:
        report.add(
            Check(
                name,
                FAIL,
                f"stream {stream_name} in {region} is {status}",
                "wait for it to become ACTIVE (or recreate it if it is being deleted)",
                STREAM_NOT_FOUND,
            )
        )
        return None
    report.add(Check(name, OK, f"{stream_name} in {region} is {status}, {shards} open shard(s)"))
    return str(description.get("StreamARN"))


def check_role(report: Report, aws: AwsClients, role_arn: str) -> RoleTypeDef | None:
    """The sink's role exists (93102 otherwise); returns the IAM role."""
    from twilio_es_cli.roles import get_role

    name = "role exists"
    role_name = arns.role_name(role_arn)
    if role_name is None:
        report.add(
            Check(name, FAIL, f"{role_arn!r} is not an IAM role ARN", _new_sink_fix(), 93102)
        )
        return None
    try:
        role = get_role(aws.iam(), role_name)
    except TwilioEsError as exc:
        report.add(_fail_from(name, exc, ASSUME_ROLE_FAILED))
        return None
    if role is None:
        report.add(
            Check(
                name,
                FAIL,
                f"role {role_name} does not exist: Twilio cannot assume it",
                "re-run `twilio-es stream create NAME SHARDS` and create a new sink "
                "from its output",
                ASSUME_ROLE_FAILED,
            )
        )
        return None
    if str(role.get("Arn")) != role_arn:
        report.add(
            Check(
                name,
                FAIL,
                f"a role named {role_name} exists but its ARN is {role.get('Arn')}, not {role_arn}",
                _new_sink_fix(),
                ASSUME_ROLE_FAILED,
            )
        )
        return None
    report.add(Check(name, OK, role_arn))
    return role


def _new_sink_fix() -> str:
    return (
        "sinks are immutable: create a new sink from the stream's twilio-sink.json, "
        "prove it with `twilio-es sink validate`, and recreate the subscriptions on it "
        "(a subscription can no longer be moved to another sink)"
    )


def check_trust(
    report: Report, role: Mapping[str, Any], principal: str, external_id: str | None
) -> None:
    """The trust policy lets Twilio's principal assume the role with the sink's external id."""
    document = role.get("AssumeRolePolicyDocument") or {}
    principals, external_ids = iamdoc.read_trust(document)
    role_name = role.get("RoleName", "the role")
    if iamdoc.principal_matches(principals, principal):
        report.add(Check("trust principal is Twilio's", OK, f"{principal} may assume the role"))
    else:
        report.add(
            Check(
                "trust principal is Twilio's",
                FAIL,
                f"the trust policy allows {', '.join(principals) or 'no AWS principal'}, "
                f"not {principal}",
                f"set the Principal of {role_name}'s trust policy to {principal} "
                "(aws iam update-assume-role-policy)",
                ASSUME_ROLE_FAILED,
            )
        )
    if external_id is None:
        report.add(_external_id_required(external_ids))
    else:
        report.add(_external_id_matches(external_ids, external_id))


def _external_id_required(external_ids: list[str]) -> Check:
    """No sink to compare with (``--stream``): the trust policy must ask for some external id."""
    name = "trust requires an external id"
    if external_ids:
        return Check(
            name, OK, "an sts:ExternalId condition is present (no sink given to compare with)"
        )
    return Check(
        name,
        FAIL,
        "the trust policy has no sts:ExternalId condition",
        "add Condition StringEquals sts:ExternalId to the trust policy",
        ASSUME_ROLE_FAILED,
    )


def _external_id_matches(external_ids: list[str], external_id: str) -> Check:
    """The sink's external id is among the trust policy's, compared in constant time, never
    shown."""
    name = "trust external id matches the sink"
    if not external_ids:
        return Check(
            name,
            FAIL,
            "the trust policy has no sts:ExternalId condition",
            "add Condition StringEquals sts:ExternalId with the sink's external id",
            ASSUME_ROLE_FAILED,
        )
    if any(hmac.compare_digest(e.encode(), external_id.encode()) for e in external_ids):
        return Check(name, OK, "matches")
    return Check(
        name,
        FAIL,
        "differs: the trust policy expects another external id than the sink sends",
        "create a new sink with the external id from the stream's twilio-sink.json "
        "(or put the sink's external id into the trust policy)",
        ASSUME_ROLE_FAILED,
    )


def check_permissions(report: Report, aws: AwsClients, role_name: str, stream_arn: str) -> None:
    """The role may put records into the stream (93101) and discover its shards (93103)."""
    from twilio_es_cli.roles import role_policies

    try:
        documents = role_policies(aws.iam(), role_name)
    except TwilioEsError as exc:
        report.add(_fail_from("role policies readable", exc))
        return
    missing_puts = [a for a in PUT_ACTIONS if not iamdoc.allows(documents, a, stream_arn)]
    if missing_puts:
        report.add(
            Check(
                "role may put records",
                FAIL,
                f"the role's policies do not allow {', '.join(missing_puts)} on {stream_arn}",
                f"allow {', '.join(PUT_ACTIONS)} on {stream_arn} in {role_name}'s policy",
                WRITE_FAILED,
            )
        )
    else:
        report.add(Check("role may put records", OK, f"PutRecord and PutRecords on {stream_arn}"))
    missing = [
        action
        for action, resource in DISCOVERY_ACTIONS
        if not iamdoc.allows(documents, action, resource or stream_arn)
    ]
    if missing:
        report.add(
            Check(
                "role may list shards and limits",
                FAIL,
                f"the role's policies do not allow {', '.join(missing)}",
                f"allow {', '.join(a for a, _ in DISCOVERY_ACTIONS)} on * in {role_name}'s policy",
                SHARD_COUNT_FAILED,
            )
        )
    else:
        report.add(Check("role may list shards and limits", OK, "ListShards and DescribeLimits"))


def _sink_status_check(sink: Sink) -> Check:
    """Twilio now creates sinks ``active`` (Validate always answers ``valid``), so ``active``
    no longer means a test event ever arrived; an inactive sink means the old validation flow,
    which some accounts and scripts still meet, and then validation is required."""
    status = str(sink.status)
    if status == "active":
        proof = (
            f"; sinks are active when created now, so this does not prove delivery: "
            f"`twilio-es sink validate {sink.sid}` does (Test -> event read from the stream -> "
            "Validate)"
            if sink.sink_type == "kinesis"
            else ""
        )
        return Check("sink is active", OK, f"{sink.sid} ({sink.sink_type}) is active{proof}")
    # Only a kinesis sink's test event can be read back by twilio-es; others need the id.
    fix = (
        f"twilio-es sink validate {sink.sid}"
        if sink.sink_type == "kinesis"
        else f"twilio-es sink test {sink.sid}, read data.test_id where the event arrives, then "
        f"twilio-es sink validate {sink.sid} --test-id ID"
    )
    return Check(
        "sink is active",
        FAIL,
        f"{sink.sid} is {status}: subscriptions cannot use it until it is active (the old "
        "validation flow, still met by some accounts: Test, then Validate with the test id)",
        fix,
    )


def _skip(report: Report, *names: str, why: str) -> None:
    for name in names:
        report.add(Check(name, SKIP, why))


def _fetch_sink(report: Report, sinks: SinkService, sink_sid: str) -> Sink | None:
    """The sink, or None with the failed "sink exists" check said."""
    try:
        return sinks.get(sink_sid)
    except NotFoundError:
        report.add(
            Check(
                "sink exists",
                FAIL,
                f"sink {sink_sid} does not exist",
                "see your sinks with `twilio-es sink list`",
            )
        )
    except TwilioEsError as exc:
        report.add(_fail_from("sink exists", exc))
    return None


def _sink_stream(report: Report, sink: Sink) -> arns.StreamArn | None:
    """The stream the kinesis sink writes to, or None (93104: Twilio drops the events)."""
    arn = str(sink.sink_configuration.get("arn") or "")
    parsed = arns.parse_stream(arn)
    if parsed is None:
        report.add(
            Check(
                "sink's stream ARN",
                FAIL,
                f"{arn!r} is not a Kinesis stream ARN: Twilio drops the events",
                _new_sink_fix(),
                STREAM_NOT_FOUND,
            )
        )
    else:
        report.add(Check("sink exists", OK, f"{sink.sid} writes to {arn}"))
    return parsed


def diagnose_sink(clients: Clients, sink_sid: str, principal: str) -> Report:
    """Every check for one sink: Twilio side, AWS side, and the links between them."""
    report = Report()
    sinks = check_twilio(report, clients)
    if sinks is None:
        return report
    sink = _fetch_sink(report, sinks, sink_sid)
    if sink is None:
        return report
    if sink.sink_type != "kinesis":
        report.add(Check("sink exists", OK, f"{sink_sid} is a {sink.sink_type} sink"))
        report.add(_sink_status_check(sink))
        return report
    parsed = _sink_stream(report, sink)
    # The stream's ARN says where it lives: ask that region, whatever --region says.
    aws = clients.aws(parsed.region if parsed else None)
    account = check_aws(report, aws)
    if account is None:
        _skip(
            report,
            "stream exists and is ACTIVE",
            "role exists",
            "trust",
            "role policies",
            why="AWS credentials do not work",
        )
    else:
        _check_sink_aws(report, aws, sink, parsed, account, principal)
    report.add(_sink_status_check(sink))
    return report


def _check_sink_aws(
    report: Report,
    aws: AwsClients,
    sink: Sink,
    parsed: arns.StreamArn | None,
    account: str,
    principal: str,
) -> None:
    """The AWS side of a kinesis sink: its stream, its role, the role's trust and policies."""
    config = sink.sink_configuration
    stream_arn = None
    if parsed is not None:
        if parsed.account_id != account:
            report.add(
                Check(
                    "stream is in this AWS account",
                    WARN,
                    f"the sink's stream is in account {parsed.account_id}, your credentials "
                    f"are for {account}: the AWS checks below look at your account",
                )
            )
        stream_arn = check_stream(report, aws, parsed.name, parsed.region)
    role = check_role(report, aws, str(config.get("role_arn") or ""))
    if role is None:
        _skip(report, "trust", "role policies", why="the role is missing")
        return
    external_id = config.get("external_id")
    check_trust(report, role, principal, str(external_id) if external_id else None)
    if external_id is None:
        report.add(
            Check(
                "trust external id matches the sink",
                WARN,
                "the sink's configuration does not show its external id",
            )
        )
    arn = str(config.get("arn") or "")
    check_permissions(report, aws, str(role["RoleName"]), stream_arn or arn)


def find_stream_role(aws: AwsClients, stream_name: str, stream_arn: str) -> str | None:
    """The role `stream create` made for ``stream_arn``: its default name, else by tag."""
    from twilio_es_cli.roles import find_role

    candidate = iamdoc.default_role_name(stream_name, str(aws.region))
    role = find_role(aws.iam(), stream_arn, candidate)
    return str(role["Arn"]) if role else None


def diagnose_stream(
    clients: Clients, stream_name: str, principal: str, role_arn: str | None = None
) -> Report:
    """Checks for a stream and its role when there is no sink yet (no external id to compare)."""
    report = Report()
    aws = clients.aws()
    if check_aws(report, aws) is None:
        return report
    region = str(aws.region)
    stream_arn = check_stream(report, aws, stream_name, region)
    if stream_arn is None:
        _skip(report, "role exists", "trust", "role policies", why="the stream is missing")
        return report
    if role_arn is None:
        try:
            role_arn = find_stream_role(aws, stream_name, stream_arn)
        except TwilioEsError as exc:
            report.add(_fail_from("role exists", exc))
            return report
        if role_arn is None:
            report.add(
                Check(
                    "role exists",
                    FAIL,
                    f"no role made by twilio-es for {stream_arn} (tag {iamdoc.STREAM_TAG})",
                    f"twilio-es stream create {stream_name} SHARDS, or pass --role-arn",
                    ASSUME_ROLE_FAILED,
                )
            )
            return report
    role = check_role(report, aws, role_arn)
    if role is None:
        return report
    check_trust(report, role, principal, None)
    check_permissions(report, aws, str(role["RoleName"]), stream_arn)
    return report


def diagnose_credentials(clients: Clients) -> Report:
    """Both sets of credentials, and every sink with its status."""
    report = Report()
    service = check_twilio(report, clients)
    check_aws(report, clients.aws())
    if service is None:
        return report
    try:
        sinks = service.list()
    except TwilioEsError as exc:
        report.add(_fail_from("list sinks", exc))
        return report
    report.sinks = [
        {
            "sid": s.sid,
            "sink_type": s.sink_type,
            "status": s.status,
            "description": s.description,
        }
        for s in sinks
    ]
    idle = [s for s in report.sinks if s["status"] != "active"]
    if idle:
        # Not a failure (an unused sink may be fine), but "All checks passed" above a failed
        # sink would send people away; point at the per-sink diagnosis instead.
        first = idle[0]["sid"]
        report.add(
            Check(
                "sinks are active",
                WARN,
                ", ".join(f"{s['sid']} is {s['status']}" for s in idle),
                f"twilio-es doctor --sink {first} (then twilio-es sink validate {first})",
            )
        )
    elif report.sinks:
        report.add(Check("sinks are active", OK, f"all {len(report.sinks)} are active"))
    return report
