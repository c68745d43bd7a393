"""The IAM documents Twilio needs to write into a stream, and how we recognise and check them.

Pure functions only (no boto3): names derived from the stream, the trust and permissions
policy documents exactly as Twilio documents them, the tags that mark a role as "made by
twilio-es for this stream", comparisons that say *what* differs in an existing role, so a
re-run can either print the same configuration or name the difference, and a small policy
evaluator (:func:`allows`) that ``doctor`` and ``status`` ask whether a role may do what Twilio
needs.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import re
import secrets
import urllib.parse
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from twilio_es_cli import arns
from twilio_es_cli.errors import UsageError

if TYPE_CHECKING:
    # IAM's own shape of a tag (boto3-stubs, type-checking only: this module stays pure).
    from mypy_boto3_iam.type_defs import TagTypeDef

# Roles live under their own IAM path so `describe`/`delete` can find the ones we made
# (ListRoles PathPrefix) even when the user picked a custom --role-name.
ROLE_PATH = "/twilio-es/"
STREAM_TAG = "twilio-es:stream"  # value: the stream ARN the role was made for
POLICY_TAG = "twilio-es:policy"  # value: the inline policy name we put on the role
ROLE_NAME_MAX = 64
POLICY_NAME_MAX = 128
EXTERNAL_ID_BYTES = 40  # Twilio's docs: 40 random bytes, hex encoded (80 characters)

# IAM's own patterns are ASCII: `\w` and `\d` must not match "é" or an Arabic-Indic digit
# (re.ASCII), and
# fullmatch, since `$` would accept a trailing newline.
_IAM_NAME = re.compile(r"[\w+=,.@-]+", re.ASCII)
_PRINCIPAL_ARN = re.compile(r"arn:aws[a-z-]*:(iam|sts)::\d{12}:\S+", re.ASCII)
_ACCOUNT_ID = re.compile(r"\d{12}", re.ASCII)

PUT_ACTIONS = ("kinesis:PutRecord", "kinesis:PutRecords")
DISCOVERY_ACTIONS = ("kinesis:ListShards", "kinesis:DescribeLimits")


def _fit(name: str, limit: int) -> str:
    """Keep ``name`` within IAM's length limit; a hash suffix keeps long names distinct."""
    if len(name) <= limit:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    return f"{name[: limit - 9].rstrip('-.')}-{digest}"


def default_role_name(stream_name: str, region: str) -> str:
    """``twilio-es-<stream>-<region>``: role names are account-wide, streams are per region."""
    return _fit(f"twilio-es-{stream_name}-{region}", ROLE_NAME_MAX)


def default_policy_name(stream_name: str) -> str:
    """The inline policy's name (scoped to its role, so the stream name suffices)."""
    return _fit(f"twilio-es-put-{stream_name}", POLICY_NAME_MAX)


def validate_role_name(name: str) -> str:
    if not (1 <= len(name) <= ROLE_NAME_MAX and _IAM_NAME.fullmatch(name)):
        raise UsageError(
            f"role name {name!r} is not a valid IAM role name",
            hint="Use 1-64 characters from ASCII letters, digits and + = , . @ _ -.",
        )
    return name


def validate_policy_name(name: str) -> str:
    if not (1 <= len(name) <= POLICY_NAME_MAX and _IAM_NAME.fullmatch(name)):
        raise UsageError(
            f"policy name {name!r} is not a valid IAM policy name",
            hint="Use 1-128 characters from ASCII letters, digits and + = , . @ _ -.",
        )
    return name


def normalize_principal(principal: str) -> str:
    """An account id becomes its root ARN (what IAM stores); anything else must be an ARN."""
    principal = principal.strip()
    if _ACCOUNT_ID.fullmatch(principal):
        return f"arn:aws:iam::{principal}:root"
    if _PRINCIPAL_ARN.fullmatch(principal):
        return principal
    raise UsageError(
        f"Twilio principal {principal!r} is neither an IAM ARN nor a 12-digit account id",
        hint="Omit --twilio-principal to use Twilio's account (arn:aws:iam::177261743968:root).",
    )


def new_external_id() -> str:
    """A fresh external id: 40 random bytes, hex (80 characters)."""
    return secrets.token_hex(EXTERNAL_ID_BYTES)


def trust_policy(principal: str, external_id: str) -> dict[str, Any]:
    """Let ``principal`` (Twilio) assume the role only with our external id."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": principal},
                "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"sts:ExternalId": external_id}},
            }
        ],
    }


def permissions_policy(stream_arn: str) -> dict[str, Any]:
    """Exactly what Twilio needs: put into this stream; list shards and limits anywhere."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "TwilioPutRecords",
                "Effect": "Allow",
                "Action": list(PUT_ACTIONS),
                "Resource": stream_arn,
            },
            {
                "Sid": "TwilioDiscoverShards",
                "Effect": "Allow",
                "Action": list(DISCOVERY_ACTIONS),
                "Resource": "*",
            },
        ],
    }


def role_tags(stream_arn: str, policy_name: str) -> list[TagTypeDef]:
    return [
        {"Key": STREAM_TAG, "Value": stream_arn},
        {"Key": POLICY_TAG, "Value": policy_name},
    ]


def tag_map(tags: Iterable[TagTypeDef] | None) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in tags or ()}


def made_for(tags: Iterable[TagTypeDef] | None, stream_arn: str) -> bool:
    """True when the role's tags say twilio-es made it for ``stream_arn``."""
    return tag_map(tags).get(STREAM_TAG) == stream_arn


def parse_document(document: str | Mapping[str, Any]) -> dict[str, Any]:
    """A policy document as a dict: boto3 usually decodes it, raw IAM gives URL-encoded JSON."""
    if isinstance(document, Mapping):
        return dict(document)
    text = document.strip()
    if not text.startswith("{"):
        text = urllib.parse.unquote(text)
    value = json.loads(text)
    if not isinstance(value, dict):
        raise ValueError("policy document is not a JSON object")
    return value


def as_list(value: Any) -> list[Any]:
    """IAM allows a single value or a list almost everywhere; always get a list."""
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def statements(document: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The policy's statements (a lone statement object counts as a list of one)."""
    return [s for s in as_list(document.get("Statement")) if isinstance(s, Mapping)]


def read_trust(document: str | Mapping[str, Any]) -> tuple[list[str], list[str]]:
    """The AWS principals allowed to assume the role and the external ids they must present.

    Shared by ``stream create`` (re-run checks) and ``doctor``; actions may be wildcards
    (``sts:*``) and the external id may sit under StringEquals or StringLike.
    """
    principals: list[str] = []
    external_ids: list[str] = []
    for statement in statements(parse_document(document)):
        actions = [str(a).lower() for a in as_list(statement.get("Action"))]
        if statement.get("Effect") != "Allow" or not any(
            fnmatch.fnmatchcase("sts:assumerole", a) for a in actions
        ):
            continue
        principal = statement.get("Principal")
        if isinstance(principal, Mapping):
            principals.extend(str(p) for p in as_list(principal.get("AWS")))
        elif principal is not None:
            principals.append(str(principal))
        condition = statement.get("Condition")
        if not isinstance(condition, Mapping):
            continue
        for operator in ("StringEquals", "StringLike"):
            values = condition.get(operator)
            if isinstance(values, Mapping):
                for key, value in values.items():
                    if key.lower() == "sts:externalid":
                        external_ids.extend(str(v) for v in as_list(value))
    return principals, external_ids


def trust_differences(document: str | Mapping[str, Any], principal: str) -> list[str]:
    """What makes this trust policy differ from 'only ``principal``, with one external id'."""
    principals, external_ids = read_trust(document)
    problems: list[str] = []
    if principals != [principal]:
        found = ", ".join(principals) or "none"
        problems.append(f"trust policy allows principal(s) {found}, expected only {principal}")
    if len(external_ids) != 1 or not external_ids[0]:
        problems.append(
            f"trust policy does not require exactly one sts:ExternalId (found {len(external_ids)})"
        )
    return problems


def _grants(document: Mapping[str, Any]) -> tuple[set[tuple[str, str]], list[str]]:
    """(action, resource) pairs the policy allows, plus anything we did not put there."""
    grants: set[tuple[str, str]] = set()
    oddities: list[str] = []
    for statement in statements(document):
        if statement.get("Effect") != "Allow":
            oddities.append(f"a {statement.get('Effect')} statement")
            continue
        if statement.get("Condition"):
            oddities.append("a statement with a Condition")
        if "NotAction" in statement or "NotResource" in statement:
            oddities.append("a NotAction/NotResource statement")
        for action in as_list(statement.get("Action")):
            for resource in as_list(statement.get("Resource")):
                grants.add((str(action), str(resource)))
    return grants, oddities


def _pair(grant: tuple[str, str]) -> str:
    return f"{grant[0]} on {grant[1]}"


def permission_differences(document: str | Mapping[str, Any], stream_arn: str) -> list[str]:
    """Missing and extra grants compared with :func:`permissions_policy`."""
    expected, _ = _grants(permissions_policy(stream_arn))
    found, oddities = _grants(parse_document(document))
    lowered = {(a.lower(), r) for a, r in found}
    missing = sorted(g for g in expected if (g[0].lower(), g[1]) not in lowered)
    wanted = {(a.lower(), r) for a, r in expected}
    extra = sorted(g for g in found if (g[0].lower(), g[1]) not in wanted)
    problems = []
    if missing:
        problems.append("permissions policy lacks " + "; ".join(_pair(g) for g in missing))
    if extra:
        problems.append("permissions policy also grants " + "; ".join(_pair(g) for g in extra))
    problems.extend(f"permissions policy has {odd}" for odd in oddities)
    return problems


# -- evaluating policies: what `doctor` and `status` ask of a role's documents ------------------
# Deliberately simple: Allow/Deny statements with ``Action``/``NotAction`` and
# ``Resource``/``NotResource`` wildcards, conditions ignored. It catches the mistakes people
# make (a missing action, the wrong stream ARN) without pretending to be IAM's policy simulator.


def principal_matches(allowed: Iterable[str], principal: str) -> bool:
    """True when ``principal`` (an account root ARN) is among ``allowed`` (ids or ARNs, ``*``)."""
    account = arns.account_of(principal)
    return any(entry in ("*", principal, account) for entry in allowed)


def _matches(patterns: Iterable[Any], value: str, *, case_insensitive: bool) -> bool:
    """IAM's wildcards; action names ignore case, resource ARNs do not."""
    if case_insensitive:
        value = value.lower()
    for pattern in patterns:
        text = str(pattern).lower() if case_insensitive else str(pattern)
        if fnmatch.fnmatchcase(value, text):
            return True
    return False


def _part_applies(statement: Mapping[str, Any], key: str, value: str, *, actions: bool) -> bool:
    """``Action``/``NotAction`` (or ``Resource``/``NotResource``) of the statement covers value;
    a statement with neither applies to nothing."""
    if key in statement:
        return _matches(as_list(statement[key]), value, case_insensitive=actions)
    if f"Not{key}" in statement:
        return not _matches(as_list(statement[f"Not{key}"]), value, case_insensitive=actions)
    return False


def _statement_applies(statement: Mapping[str, Any], action: str, resource: str) -> bool:
    return _part_applies(statement, "Action", action, actions=True) and _part_applies(
        statement, "Resource", resource, actions=False
    )


def allows(documents: Iterable[Mapping[str, Any]], action: str, resource: str) -> bool:
    """True when some statement allows ``action`` on ``resource`` and none denies it."""
    allowed = False
    for document in documents:
        for statement in statements(document):
            if not _statement_applies(statement, action, resource):
                continue
            if statement.get("Effect") == "Deny":
                return False
            if statement.get("Effect") == "Allow":
                allowed = True
    return allowed
