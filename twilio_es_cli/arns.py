"""Kinesis stream and IAM role ARNs: the one place that knows what they look like.

Before this module, ARNs were parsed in about eight places with rules that disagreed, so an ARN
could pass ``doctor`` and ``tail`` and then fail the sink configuration check. The accepted
forms are decided here, once, and tested once (tests/test_arns.py):

- partition: ``aws`` or ``aws-`` followed by lower-case words (``aws-cn``, ``aws-us-gov``,
  ``aws-iso-b``);
- region: an AWS region shape (``us-east-1``, ``cn-north-1``, ``us-gov-west-1``) or ``local``,
  the region local Kinesis servers put in their ARNs;
- account: exactly 12 digits;
- stream: ``stream/NAME`` with Kinesis's name rule (1-128 of letters, digits, ``_ . -``);
- role: ``role/NAME`` or ``role/PATH/NAME`` (IAM's character set, name 1-64, whole up to 512).

Light: only ``re`` and ``dataclasses``, so cli/ modules may import it at the top.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

PARTITION = r"aws(?:-[a-z]+)*"
REGION = r"(?:[a-z]{2}(?:-[a-z]+)+-\d+|local)"
STREAM_NAME = re.compile(r"[A-Za-z0-9_.-]{1,128}")

_STREAM_ARN = re.compile(
    rf"arn:(?P<partition>{PARTITION}):kinesis:(?P<region>{REGION}):(?P<account>\d{{12}}):"
    r"stream/(?P<name>[A-Za-z0-9_.-]{1,128})"
)
_ROLE_ARN = re.compile(
    rf"arn:(?P<partition>{PARTITION}):iam::(?P<account>\d{{12}}):"
    r"role/(?P<path>(?:[\w+=,.@-]+/)*)(?P<name>[\w+=,.@-]{1,64})",
    re.ASCII,
)
_ROLE_ARN_MAX = 512 + len("arn:aws-us-gov:iam::123456789012:role/")

STREAM_FORM = "arn:aws:kinesis:<region>:<12-digit account>:stream/<name>"
ROLE_FORM = "arn:aws:iam::<12-digit account>:role/<name>"


@dataclass(frozen=True)
class StreamArn:
    """A Kinesis stream named by its ARN: what validation, doctor and tail need to reach it."""

    arn: str
    region: str
    account_id: str
    name: str
    partition: str = "aws"

    @classmethod
    def parse(cls, text: str) -> StreamArn | None:
        """The parts of a stream ARN (surrounding whitespace ignored), or None if it is not one."""
        return parse_stream(text)


@dataclass(frozen=True)
class RoleArn:
    """An IAM role named by its ARN; ``name`` is the last segment (what GetRole takes)."""

    arn: str
    account_id: str
    name: str
    path: str = "/"
    partition: str = "aws"


def is_arn(text: str) -> bool:
    """True when ``text`` is meant as an ARN rather than a name (it starts with ``arn:``)."""
    return text.startswith("arn:")


def parse_stream(text: str) -> StreamArn | None:
    """The parts of a Kinesis stream ARN, or None when ``text`` is not one."""
    arn = text.strip()
    match = _STREAM_ARN.fullmatch(arn)
    if match is None:
        return None
    return StreamArn(arn, match["region"], match["account"], match["name"], match["partition"])


def parse_role(text: str) -> RoleArn | None:
    """The parts of an IAM role ARN (path included), or None when ``text`` is not one."""
    arn = text.strip()
    match = _ROLE_ARN.fullmatch(arn) if len(arn) <= _ROLE_ARN_MAX else None
    if match is None:
        return None
    path = "/" + match["path"]
    return RoleArn(arn, match["account"], match["name"], path, match["partition"])


def role_name(text: str) -> str | None:
    """The role name of a role ARN (without its path), or None when ``text`` is not one."""
    role = parse_role(text)
    return role.name if role else None


def stream_name(stream: str) -> str:
    """The bare stream name of a name or a stream ARN (for messages and comparisons)."""
    if not is_arn(stream):
        return stream
    parsed = parse_stream(stream)
    return parsed.name if parsed else stream.rsplit("/", 1)[-1]


def region_of(stream: str) -> str | None:
    """The region a stream ARN names; None for a bare name or something not a stream ARN."""
    parsed = parse_stream(stream) if is_arn(stream) else None
    return parsed.region if parsed else None


def stream_arn(name: str, *, region: str, account_id: str, partition: str = "aws") -> str:
    """Build ``arn:PARTITION:kinesis:REGION:ACCOUNT:stream/NAME``."""
    return f"arn:{partition}:kinesis:{region}:{account_id}:stream/{name}"


def role_arn(name: str, *, account_id: str, path: str = "/", partition: str = "aws") -> str:
    """Build ``arn:PARTITION:iam::ACCOUNT:role/PATH/NAME`` (path ``/`` means none)."""
    return f"arn:{partition}:iam::{account_id}:role{path}{name}"


def account_of(principal: str) -> str:
    """The account of an account id or principal ARN (``arn:aws:iam::123456789012:root``)."""
    parts = principal.split(":")
    return parts[4] if principal.startswith("arn:") and len(parts) > 5 else principal
