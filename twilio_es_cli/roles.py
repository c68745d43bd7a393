"""Finding, naming and removing the IAM roles twilio-es makes for a stream.

A role is ours for a stream when its tags say so (``twilio-es:stream=<stream ARN>``): looked up
by its default name first, then among the roles under our IAM path, because a user may have
chosen another name with ``--role-name``. Used by ``stream create/describe/delete``, by
``doctor`` (the role, its policies) and by ``status``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from twilio_es_cli import iam as iamdoc
from twilio_es_cli.aws import aws_errors
from twilio_es_cli.errors import NotFoundError
from twilio_es_cli.progress import TERMINAL, Reporter

if TYPE_CHECKING:
    from mypy_boto3_iam import IAMClient
    from mypy_boto3_iam.type_defs import ListRolesRequestTypeDef, RoleTypeDef, TagTypeDef


def get_role(iam: IAMClient, role_name: str) -> RoleTypeDef | None:
    """The role, or None when it does not exist."""
    try:
        with aws_errors(f"read IAM role {role_name}"):
            return iam.get_role(RoleName=role_name)["Role"]
    except NotFoundError:
        return None


def get_role_policy(iam: IAMClient, role_name: str, policy_name: str) -> dict[str, Any] | None:
    """An inline policy of the role as a dict, or None when it does not exist."""
    try:
        with aws_errors(f"read policy {policy_name} of IAM role {role_name}"):
            document = iam.get_role_policy(RoleName=role_name, PolicyName=policy_name)
    except NotFoundError:
        return None
    return iamdoc.parse_document(document["PolicyDocument"])


def tags_of(iam: IAMClient, role: RoleTypeDef) -> list[TagTypeDef]:
    """The role's tags (GetRole includes them; a listed role may not)."""
    if "Tags" in role:
        return list(role["Tags"])
    with aws_errors(f"read the tags of IAM role {role['RoleName']}"):
        return list(iam.list_role_tags(RoleName=role["RoleName"]).get("Tags", []))


def roles_made_for(
    iam: IAMClient, stream_arn: str, candidate: str, *, search: bool = True
) -> Iterator[RoleTypeDef]:
    """Roles twilio-es made for ``stream_arn``, lazily: by name first, then under our IAM path.

    Lazy so :func:`find_role` stops at the first; ``stream delete`` takes them all (a second
    ``stream create --role-name`` makes a second role for the same stream).
    """
    role = get_role(iam, candidate)
    if role is not None and iamdoc.made_for(tags_of(iam, role), stream_arn):
        yield role
    if not search:
        return
    kwargs: ListRolesRequestTypeDef = {"PathPrefix": iamdoc.ROLE_PATH}
    while True:
        with aws_errors("list twilio-es IAM roles"):
            page = iam.list_roles(**kwargs)
        for listed in page.get("Roles", []):
            if listed["RoleName"] == candidate:
                continue
            with aws_errors(f"read the tags of IAM role {listed['RoleName']}"):
                tags = iam.list_role_tags(RoleName=listed["RoleName"]).get("Tags", [])
            if iamdoc.made_for(tags, stream_arn):
                found = get_role(iam, listed["RoleName"])
                if found is not None:
                    yield found
        if not page.get("IsTruncated") or not page.get("Marker"):
            return
        kwargs = {"PathPrefix": iamdoc.ROLE_PATH, "Marker": page["Marker"]}


def find_role(
    iam: IAMClient, stream_arn: str, candidate: str, *, search: bool = True
) -> RoleTypeDef | None:
    """The role twilio-es made for ``stream_arn``: by name first, else under our IAM path."""
    return next(roles_made_for(iam, stream_arn, candidate, search=search), None)


def policy_name_of(
    role: RoleTypeDef,
    requested: str | None,
    stream_name: str,
    *,
    report: Reporter = TERMINAL,
) -> str:
    """The role's own record (its tag) wins: a re-run must not add a second policy."""
    tagged = iamdoc.tag_map(role.get("Tags")).get(iamdoc.POLICY_TAG)
    if tagged and requested and tagged != requested:
        report.warn(
            f"IAM role {role['RoleName']} was made with policy {tagged}; ignoring --policy-name"
        )
    return tagged or requested or iamdoc.default_policy_name(stream_name)


def delete_role_command(role_name: str, policy_name: str | None) -> str:
    """The AWS CLI command that removes the role by hand (for rollback messages)."""
    steps = []
    if policy_name:
        steps.append(
            f"aws iam delete-role-policy --role-name {role_name} --policy-name {policy_name}"
        )
    steps.append(f"aws iam delete-role --role-name {role_name}")
    return " && ".join(steps)


def delete_role(
    iam: IAMClient, role_name: str, policy_name: str | None, *, report: Reporter = TERMINAL
) -> str | None:
    """Remove our inline policy, then the role, unless someone attached more policies to it."""
    with aws_errors(f"list the policies of IAM role {role_name}"):
        inline = list(iam.list_role_policies(RoleName=role_name).get("PolicyNames", []))
        attached = iam.list_attached_role_policies(RoleName=role_name).get("AttachedPolicies", [])
    others = [p for p in inline if p != policy_name] + [p["PolicyName"] for p in attached]
    if others:
        report.warn(
            f"keeping IAM role {role_name}: it also has policies {', '.join(others)} "
            "that twilio-es did not add"
        )
        return None
    if policy_name in inline:
        with aws_errors(f"delete policy {policy_name} of IAM role {role_name}"):
            iam.delete_role_policy(RoleName=role_name, PolicyName=policy_name)
    with aws_errors(f"delete IAM role {role_name}"):
        iam.delete_role(RoleName=role_name)
    report.note(f"Deleted IAM role {role_name}")
    return role_name


def role_policies(iam: IAMClient, role_name: str) -> list[dict[str, Any]]:
    """Every policy document the role has: inline ones and the default version of each attached
    managed policy (what ``doctor`` and ``status`` evaluate with :func:`iam.allows`)."""
    documents: list[dict[str, Any]] = []
    with aws_errors(f"read the policies of role {role_name}"):
        for names in iam.get_paginator("list_role_policies").paginate(RoleName=role_name):
            for policy_name in names["PolicyNames"]:
                got = iam.get_role_policy(RoleName=role_name, PolicyName=policy_name)
                documents.append(iamdoc.parse_document(got["PolicyDocument"]))
        paginator = iam.get_paginator("list_attached_role_policies")
        for page in paginator.paginate(RoleName=role_name):
            for attached in page["AttachedPolicies"]:
                policy = iam.get_policy(PolicyArn=attached["PolicyArn"])["Policy"]
                version = iam.get_policy_version(
                    PolicyArn=attached["PolicyArn"], VersionId=policy["DefaultVersionId"]
                )
                documents.append(iamdoc.parse_document(version["PolicyVersion"]["Document"]))
    return documents
