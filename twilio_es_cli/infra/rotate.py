"""``sink rotate SID``: replace a sink by an identical new one without a gap in delivery.

For people without a file (``apply`` does the same for a sink whose file entry changed).
A kinesis sink gets a fresh external id on the same role: the role's trust first accepts the
old and the new id, the new sink is created and proven, every subscription is copied onto it,
then the old subscriptions and the old sink are deleted and the old id leaves the trust. A
webhook or segment sink is recreated with the same configuration (a new SID, e.g. after a
leaked URL was rotated at the destination). Between "copied" and "old deleted" events may
arrive twice, once per sink; Twilio delivers at least once, so consumers dedupe already.

Failure before anything moved undoes this run's work (new subscriptions, new sink, trust);
failure later stops and says exactly what is left (the old sink and which subscriptions).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from twilio_es_cli import arns
from twilio_es_cli.errors import TwilioEsError, UsageError
from twilio_es_cli.infra.executor import (
    Env,
    create_proven,
    create_subscription,
    put_trust,
)
from twilio_es_cli.models import Sink


@dataclass
class Rotation:
    old_sid: str
    new_sid: str | None = None
    moved: dict[str, str] = field(default_factory=dict)  # old subscription -> new
    old_deleted: bool = False
    trust: str | None = None  # what happened to the role's trust

    def to_dict(self) -> dict[str, Any]:
        return {
            "old_sid": self.old_sid,
            "new_sid": self.new_sid,
            "moved_subscriptions": self.moved,
            "old_deleted": self.old_deleted,
            "trust": self.trust,
        }


def _role(env: Env, role_arn: str) -> tuple[str, list[str], list[str]] | None:
    """(role name, principals, external ids) of the sink's role, if we can read it."""
    from twilio_es_cli import iam as iamdoc
    from twilio_es_cli.roles import get_role

    name = arns.role_name(role_arn)
    if name is None:
        return None
    role = get_role(env.aws.iam(), name)
    if role is None:
        return None
    principals, ids = iamdoc.read_trust(role.get("AssumeRolePolicyDocument") or {})
    return str(role["RoleName"]), principals, ids


def _new_config(env: Env, old: Sink, rotation: Rotation) -> tuple[dict[str, Any], Any]:
    """The new sink's configuration, and an undo for the trust change (kinesis)."""
    from twilio_es_cli import iam as iamdoc

    config = dict(old.sink_configuration)
    if old.sink_type != "kinesis":
        return config, None
    role = _role(env, str(config.get("role_arn", "")))
    if role is None:
        raise UsageError(
            f"cannot read the IAM role of sink {old.sid} ({config.get('role_arn')})",
            hint="Rotation adds a new external id to the role's trust: it needs IAM access "
            "to the role (GetRole, UpdateAssumeRolePolicy).",
        )
    role_name, _principals, ids = role
    new_id = iamdoc.new_external_id()
    principal = env.settings.twilio_principal
    put_trust(env.aws.iam(), role_name, principal, [*ids, new_id])
    rotation.trust = f"role {role_name} trusts the old and the new external id"
    env.report.note(f"  role {role_name} now trusts a new external id as well as the old one")
    config["external_id"] = new_id

    def undo() -> None:
        put_trust(env.aws.iam(), role_name, principal, ids)

    return config, undo


def rotate(env: Env, sid: str) -> Rotation:
    """Create the new sink, prove it, move the subscriptions, delete the old sink."""
    from twilio_es_cli.sinks import SinkService
    from twilio_es_cli.subscriptions import Subscriptions

    service = SinkService(env.client)
    old = service.get(sid)
    rotation = Rotation(old_sid=sid)
    config, undo_trust = _new_config(env, old, rotation)
    subs = Subscriptions(env.client).list(sink_sid=sid)
    new_subs: list[str] = []
    try:
        new = create_proven(env, str(old.sink_type), config, old.description or "twilio-es sink")
        rotation.new_sid = new.sid
        if subs:
            # Twilio takes one subscription per sink ("Sink with SID ... is in use"): the new
            # sink gets one, with every type of the old sink's (more than one only on state
            # made before that rule was known).
            types: dict[str, int | None] = {}
            for sub in subs:
                for event in sub.types:
                    types.setdefault(event.type, event.schema_version)
            first = subs[0]
            new_sid = create_subscription(
                env.client,
                new.sid,
                first.description or "twilio-es subscription",
                list(types.items()),
            )
            new_subs.append(new_sid)
            for sub in subs:
                rotation.moved[sub.sid] = new_sid
                env.report.note(
                    f"  copied subscription {sub.sid} -> {new_sid} (duplicates possible)"
                )
    except BaseException:
        _undo(env, new_subs, rotation.new_sid, undo_trust)
        raise
    _finish(env, old, subs, rotation)
    return rotation


def _undo(env: Env, subs: list[str], sink_sid: str | None, undo_trust: Any) -> None:
    """Nothing moved yet: remove this run's subscriptions, sink and trust change."""
    from twilio_es_cli.sinks import SinkService
    from twilio_es_cli.subscriptions import Subscriptions

    for sub in subs:
        try:
            Subscriptions(env.client).delete(sub)
        except Exception:
            env.report.warn(f"left behind: subscription {sub} (delete it by hand)")
    if sink_sid is not None:
        try:
            SinkService(env.client).delete(sink_sid)
        except TwilioEsError:
            env.report.warn(f"left behind: sink {sink_sid} (`twilio-es sink delete {sink_sid}`)")
    if undo_trust is not None:
        try:
            undo_trust()
        except TwilioEsError:
            env.report.warn("left behind: the role still trusts the new external id too")
    env.report.warn("rotation undone: the old sink and its subscriptions are untouched")


def _finish(env: Env, old: Sink, subs: list[Any], rotation: Rotation) -> None:
    """Delete the old subscriptions and sink, then drop the old external id from the trust."""
    from twilio_es_cli.sinks import SinkService
    from twilio_es_cli.subscriptions import Subscriptions

    try:
        for sub in subs:
            Subscriptions(env.client).delete(sub.sid)
        SinkService(env.client).delete(old.sid)
        rotation.old_deleted = True
    except TwilioEsError as exc:
        exc.hint = (
            f"The new sink {rotation.new_sid} is proven and carries copies of every "
            f"subscription; finish by hand: delete the old subscriptions still on {old.sid} "
            f"(`twilio-es subscription list --sink {old.sid}`), then "
            f"`twilio-es sink delete {old.sid} --yes`."
        )
        raise
    if old.sink_type == "kinesis" and rotation.new_sid is not None:
        _drop_old_id(env, old)
        rotation.trust = "the old external id no longer works"


def _drop_old_id(env: Env, old: Sink) -> None:
    role = _role(env, str(old.sink_configuration.get("role_arn", "")))
    if role is None:
        return
    from twilio_es_cli.sinks import SinkService

    role_name, _principals, ids = role
    old_id = old.sink_configuration.get("external_id")
    still_used = any(
        s.sink_configuration.get("external_id") == old_id
        and s.sink_configuration.get("role_arn") == old.sink_configuration.get("role_arn")
        for s in SinkService(env.client).list()
    )
    if still_used:
        env.report.note(f"  role {role_name} keeps the old external id: another sink still uses it")
        return
    keep = [i for i in ids if i != old_id]
    if keep and keep != ids:
        put_trust(env.aws.iam(), role_name, env.settings.twilio_principal, keep)
        env.report.note(f"  role {role_name} no longer trusts the old external id")
