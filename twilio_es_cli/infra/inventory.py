"""``twilio-es status``: subscription -> sink -> stream -> role in one screen, with problems.

What people otherwise find out one incident at a time: sinks no subscription uses (they still
count against the 100-sink limit), subscriptions on sinks that are not active (nothing is
delivered), roles whose trust or permissions no longer match what the sink presents, streams
with a twilio-es role that no sink writes to, and how close the account is to 100/100.

Reads only; every problem is a sentence that names the resource and the fix.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from twilio_es_cli import arns
from twilio_es_cli import iam as iamdoc
from twilio_es_cli.errors import TwilioEsError
from twilio_es_cli.infra.live import parse_marker, read_twilio
from twilio_es_cli.infra.schema import MAX_SINKS, MAX_SUBSCRIPTIONS
from twilio_es_cli.models import Sink

if TYPE_CHECKING:
    from twilio_es_cli.aws import AwsClients

COLUMNS = ("SUBSCRIPTION", "TYPES", "SINK", "SINK STATUS", "TARGET", "STREAM", "ROLE")


ARCHIVE_COLUMNS = ("DELIVERY STREAM", "STATUS", "STREAM", "DESTINATION", "TABLE", "PROJECT")


@dataclass
class Inventory:
    rows: list[dict[str, Any]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    counts: dict[str, str] = field(default_factory=dict)
    archives: list[dict[str, Any]] = field(default_factory=list)  # twilio-es's Firehoses

    def to_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "problems": self.problems,
            "counts": self.counts,
            "archives": self.archives,
        }

    def archive_table(self) -> list[tuple[Any, ...]]:
        return [
            (
                a["name"],
                a["status"],
                a["stream"],
                f"s3://{a['bucket']}/{a['prefix']}",
                f"{a['database']}.{a['table']}",
                a["project"],
            )
            for a in self.archives
        ]

    def table(self) -> list[tuple[Any, ...]]:
        return [tuple(row[c.lower().replace(" ", "_")] for c in COLUMNS) for row in self.rows]


def _label(item: Any) -> str:
    mark = parse_marker(item.description)
    return f"{item.sid} ({mark[1]})" if mark else str(item.sid)


@dataclass
class _StreamState:
    text: str
    problem: str | None = None


class _Reader:
    """Memoised AWS lookups: one describe per stream, one read per role."""

    def __init__(self, aws: AwsClients, principal: str) -> None:
        self.aws, self.principal = aws, principal
        self.streams: dict[str, _StreamState] = {}
        self.roles: dict[tuple[str, str, str], str] = {}

    def stream(self, sink: Sink) -> _StreamState:
        from twilio_es_cli.streams import stream_summary

        ref = sink.kinesis_stream()
        if ref is None:
            return _StreamState("-")
        if ref.arn not in self.streams:
            try:
                summary = (
                    stream_summary(self.aws.kinesis(), ref.name)
                    if ref.region == self.aws.region
                    else None
                )
            except TwilioEsError as exc:
                self.streams[ref.arn] = _StreamState(f"{ref.name} (?)", exc.message)
                return self.streams[ref.arn]
            if summary is None and ref.region == self.aws.region:
                self.streams[ref.arn] = _StreamState(
                    f"{ref.name} (missing)", f"stream {ref.name} does not exist (Twilio 93104)"
                )
            elif summary is None:
                self.streams[ref.arn] = _StreamState(f"{ref.name} ({ref.region}, not read)")
            else:
                self.streams[ref.arn] = _StreamState(f"{ref.name} ({summary['StreamStatus']})")
        return self.streams[ref.arn]

    def role(self, sink: Sink) -> str:
        """``ok`` or what no longer matches between the sink and its role."""
        config = sink.sink_configuration
        key = (str(config.get("role_arn")), str(config.get("external_id")), str(config.get("arn")))
        if key not in self.roles:
            self.roles[key] = self._check_role(*key)
        return self.roles[key]

    def _check_role(self, role_arn: str, external_id: str, stream_arn: str) -> str:
        from twilio_es_cli.roles import get_role, role_policies

        name = arns.role_name(role_arn)
        if name is None:
            return "invalid role ARN"
        try:
            role = get_role(self.aws.iam(), name)
            if role is None:
                return f"role {name} does not exist"
            principals, ids = iamdoc.read_trust(role.get("AssumeRolePolicyDocument") or {})
            problems = []
            if not iamdoc.principal_matches(principals, self.principal):
                problems.append(f"trust does not allow {self.principal}")
            if external_id not in ids:
                problems.append("trust requires another external id")
            documents = role_policies(self.aws.iam(), name)
            if not iamdoc.allows(documents, "kinesis:PutRecord", stream_arn):
                problems.append("may not PutRecord on the stream")
        except TwilioEsError as exc:
            return f"not readable: {exc.message}"
        return "; ".join(problems) or "ok"


def _row(sub: Any, sink: Sink | None, reader: _Reader) -> dict[str, Any]:
    stream = reader.stream(sink) if sink is not None else _StreamState("-")
    role = reader.role(sink) if sink is not None and sink.sink_type == "kinesis" else "-"
    return {
        "subscription": _label(sub) if sub is not None else "(none)",
        "types": len(sub.types) if sub is not None else 0,
        "sink": _label(sink) if sink is not None else "(missing)",
        "sink_status": sink.status if sink is not None else "-",
        "target": sink.target if sink is not None else "-",
        "stream": stream.text,
        "role": role,
    }


def _orphan_streams(aws: AwsClients, written: set[str]) -> list[str]:
    """Streams with a twilio-es role (tag) that no sink writes to."""
    from twilio_es_cli.aws import aws_errors

    iam = aws.iam()
    found = []
    with aws_errors("list twilio-es IAM roles"):
        roles = iam.list_roles(PathPrefix=iamdoc.ROLE_PATH).get("Roles", [])
        for role in roles:
            tags = iam.list_role_tags(RoleName=role["RoleName"]).get("Tags", [])
            arn = iamdoc.tag_map(tags).get(iamdoc.STREAM_TAG)
            if arn and arn not in written and f":{aws.region}:" in arn:
                found.append(arn)
    return found


def _archives(aws: AwsClients, problems: list[str]) -> list[dict[str, Any]]:
    """The archives at scale twilio-es made (Firehose delivery streams it tagged).

    Credentials that may not list Firehose show none, and no problem: most accounts have no
    archive, and ``status --check`` must not fail for it (``doctor --archive`` checks one).
    """
    from twilio_es_cli.errors import ConfigError
    from twilio_es_cli.infra.archive.live import tagged
    from twilio_es_cli.infra.archive.spec import PROJECT_TAG, summary

    try:
        found = tagged(aws)
    except ConfigError:
        return []
    except TwilioEsError as exc:
        problems.append(f"could not list Firehose delivery streams: {exc.message}")
        return []
    archives = []
    for description, tags in found:
        item = {**summary(description), "project": tags.get(PROJECT_TAG)}
        archives.append(item)
        if item["status"] != "ACTIVE":
            problems.append(
                f"archive delivery stream {item['name']} is {item['status']}: nothing is "
                "archived (fix: twilio-es apply; details: twilio-es doctor --archive)"
            )
    return archives


def inventory(aws: AwsClients, client: Any, principal: str) -> Inventory:
    sinks, subs = read_twilio(client)
    by_sid = {s.sid: s for s in sinks}
    reader = _Reader(aws, principal)
    out = Inventory()
    for sub in sorted(subs, key=lambda s: (str(s.sink_sid), s.sid)):
        sink = by_sid.get(str(sub.sink_sid))
        out.rows.append(_row(sub, sink, reader))
        if sink is not None and sink.status != "active":
            out.problems.append(
                f"subscription {_label(sub)} is on sink {sink.sid}, which is {sink.status}: "
                f"nothing is delivered (fix: twilio-es sink validate {sink.sid})"
            )
    used = {s.sink_sid for s in subs}
    for sink in sinks:
        if sink.sid not in used:
            out.rows.append(_row(None, sink, reader))
            out.problems.append(
                f"sink {_label(sink)} has no subscription but counts against the "
                f"{MAX_SINKS}-sink limit (fix: subscribe it, or twilio-es sink delete {sink.sid})"
            )
    for sink in sinks:
        if sink.sink_type == "kinesis":
            verdict = reader.role(sink)
            if verdict != "ok":
                out.problems.append(f"sink {_label(sink)}: role {verdict}")
            state = reader.stream(sink)
            if state.problem:
                out.problems.append(f"sink {_label(sink)}: {state.problem}")
    written = {str(s.sink_configuration.get("arn")) for s in sinks if s.sink_type == "kinesis"}
    try:
        for arn in _orphan_streams(aws, written):
            out.problems.append(
                f"stream {arn.rsplit('/', 1)[-1]} has a twilio-es role but no sink writes to it"
            )
    except TwilioEsError as exc:
        out.problems.append(f"could not list twilio-es roles: {exc.message}")
    out.archives = _archives(aws, out.problems)
    out.counts = {
        "sinks": f"{len(sinks)}/{MAX_SINKS}",
        "subscriptions": f"{len(subs)}/{MAX_SUBSCRIPTIONS}",
    }
    for kind, have, limit in (
        ("sinks", len(sinks), MAX_SINKS),
        ("subscriptions", len(subs), MAX_SUBSCRIPTIONS),
    ):
        if have >= limit * 0.9:
            out.problems.append(f"{have} {kind}: close to Twilio's limit of {limit}")
    return out
