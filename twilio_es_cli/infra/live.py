"""What exists: sinks, subscriptions, streams and roles, and the markers that say which are ours.

Identity, never guesswork: a sink or subscription twilio-es manages carries a marker at the
end of its description, ``[twilio-es:<project>/<name>]`` (the only field Twilio lets us set
and change), or is adopted explicitly by ``sid:`` in the file. A stream is its name (unique per
region); its role is the one tagged ``twilio-es:stream=<ARN>`` (what ``stream create`` tags).
Nothing is ever matched by destination or description text. A sink apply creates carries
``[twilio-es:<project>/<name> proving]`` until its proof of delivery finished, so even a run
killed mid-proof leaves a sink the next plan knows to prove before anything moves to it.

Reading costs what listing costs: one paginated list of sinks, one of subscriptions plus one
subscribed-events list per subscription (the API has no other way), and per declared stream a
DescribeStreamSummary and the role lookup.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from twilio_es_cli import iam as iamdoc
from twilio_es_cli.models import Sink
from twilio_es_cli.subscriptions import Subscription

if TYPE_CHECKING:
    from mypy_boto3_iam import IAMClient

    from twilio_es_cli.aws import AwsClients

_MARKER = re.compile(
    r"\s*\[twilio-es:(?P<project>[A-Za-z0-9_.-]+)/(?P<name>[A-Za-z0-9_.-]+)"
    r"(?P<proving> proving)?\]$"
)
PROVING = " proving"  # in a new sink's marker until its proof of delivery finished


def marker(project: str, name: str) -> str:
    return f"[twilio-es:{project}/{name}]"


def with_marker(description: str, project: str, name: str) -> str:
    return f"{description} {marker(project, name)}"


def proving(description: str) -> str:
    """``description`` with its marker saying "proof not finished" (a new sink's first one).

    The mark is in Twilio, not in a local file, so it survives a process killed with SIGKILL
    mid-proof: the next plan proves such a sink before anything moves to it. A description
    without a marker is returned as it is (nothing plans by it). An older twilio-es does not
    recognise the form and so never treats the sink as the file's.
    """
    match = _MARKER.search(description)
    if match is None or match["proving"]:
        return description
    return f"{description[: match.end() - 1]}{PROVING}]"


def proven(description: str) -> str:
    """``description`` with the "proof not finished" mark taken off its marker."""
    match = _MARKER.search(description)
    if match is None or not match["proving"]:
        return description
    return description[: match.start("proving")] + "]"


def is_proving(description: str | None) -> bool:
    """The resource carries a marker whose proof of delivery never finished."""
    match = _MARKER.search(description or "")
    return bool(match and match["proving"])


def parse_marker(description: str | None) -> tuple[str, str, str] | None:
    """(project, name, description without the marker), or None for an unmarked description."""
    if not description:
        return None
    match = _MARKER.search(description)
    if match is None:
        return None
    return match["project"], match["name"], description[: match.start()]


@dataclass
class LiveRole:
    name: str
    arn: str
    principals: list[str]
    external_ids: list[str]
    policy_name: str
    problems: list[str] = field(default_factory=list)  # permission drift, fixable
    trust_problems: list[str] = field(default_factory=list)


@dataclass
class LiveStream:
    name: str
    arn: str
    status: str
    mode: str  # PROVISIONED | ON_DEMAND
    open_shards: int | None
    retention_hours: int | None
    role: LiveRole | None = None
    role_error: str | None = None


@dataclass
class Live:
    """The account as it is, read once per plan."""

    sinks: list[Sink]
    subscriptions: list[Subscription]
    streams: dict[str, LiveStream | None] = field(default_factory=dict)

    def subscriptions_of(self, sink_sid: str) -> list[Subscription]:
        return [s for s in self.subscriptions if s.sink_sid == sink_sid]


def read_role(
    iam: IAMClient,
    stream_name: str,
    stream_arn: str,
    role_name: str,
    principal: str,
    *,
    search: bool,
) -> LiveRole | None:
    """The role twilio-es made for the stream, with what differs from what Twilio needs."""
    from twilio_es_cli.roles import find_role, get_role_policy, policy_name_of

    role = find_role(iam, stream_arn, role_name, search=search)
    if role is None:
        return None
    principals, external_ids = iamdoc.read_trust(role.get("AssumeRolePolicyDocument") or {})
    policy_name = policy_name_of(role, None, stream_name)
    policy = get_role_policy(iam, role["RoleName"], policy_name)
    problems = (
        [f"role has no permissions policy {policy_name}"]
        if policy is None
        else iamdoc.permission_differences(policy, stream_arn)
    )
    trust_problems = []
    if principals != [principal]:
        trust_problems.append(
            f"trust policy allows {', '.join(principals) or 'no principal'}, not {principal}"
        )
    if not external_ids:
        trust_problems.append("trust policy requires no sts:ExternalId")
    return LiveRole(
        name=role["RoleName"],
        arn=role["Arn"],
        principals=principals,
        external_ids=external_ids,
        policy_name=policy_name,
        problems=problems,
        trust_problems=trust_problems,
    )


def read_stream(
    aws: AwsClients, name: str, role_name: str | None, principal: str
) -> LiveStream | None:
    """A declared stream and its role, or None when the stream does not exist."""
    from twilio_es_cli.errors import TwilioEsError
    from twilio_es_cli.streams import stream_summary

    summary = stream_summary(aws.kinesis(), name)
    if summary is None:
        return None
    stream = LiveStream(
        name=name,
        arn=summary["StreamARN"],
        status=summary["StreamStatus"],
        mode=str(summary.get("StreamModeDetails", {}).get("StreamMode", "PROVISIONED")),
        open_shards=summary.get("OpenShardCount"),
        retention_hours=summary.get("RetentionPeriodHours"),
    )
    candidate = role_name or iamdoc.default_role_name(name, aws.region)
    try:
        stream.role = read_role(
            aws.iam(), name, stream.arn, candidate, principal, search=role_name is None
        )
    except TwilioEsError as exc:
        stream.role_error = exc.message
    return stream


def read_twilio(client: Any) -> tuple[list[Sink], list[Subscription]]:
    """Every sink and every subscription (with its types)."""
    from twilio_es_cli.sinks import SinkService
    from twilio_es_cli.subscriptions import Subscriptions

    sinks = SinkService(client).list()
    subscriptions = Subscriptions(client).list()
    return sinks, subscriptions
