"""Settings resolved from flags > environment > SDK defaults.

Pure functions over plain mappings so they are tested with dicts. AWS credentials and region
are left to boto3's own chain (we only pass through what the user named); Twilio credentials
come from the environment only, never from flags, so they do not land in shell history.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from twilio_es_cli.errors import ConfigError, UsageError, shown

DEFAULT_TWILIO_API_URL = "https://events.twilio.com"
# Twilio's AWS account, the principal Event Streams assumes sink roles from.
DEFAULT_TWILIO_PRINCIPAL = "arn:aws:iam::177261743968:root"
AWS_EXAMPLE = "http://127.0.0.1:4566"
ACCOUNT_SID = re.compile(r"^AC[0-9a-fA-F]{32}$")
API_KEY_SID = re.compile(r"^SK[0-9a-fA-F]{32}$")
# What can travel in an HTTP Basic auth header: printable ASCII, no spaces.
_SECRET = re.compile(r"^[\x21-\x7e]+$")


@dataclass(frozen=True)
class TwilioCredentials:
    """Credentials for the Events API; ``secret`` is never rendered (repr hides it)."""

    account_sid: str
    username: str  # the account SID, or an API key SID
    secret: str = field(repr=False)


@dataclass(frozen=True)
class Settings:
    """Everything a command needs to reach AWS and Twilio."""

    profile: str | None = None
    region: str | None = None
    endpoint_url: str | None = None
    twilio_api_url: str = DEFAULT_TWILIO_API_URL
    twilio_principal: str = DEFAULT_TWILIO_PRINCIPAL
    debug: bool = False
    env: Mapping[str, str] = field(default_factory=dict, repr=False, compare=False)

    def twilio_credentials(self) -> TwilioCredentials:
        """Return Twilio credentials from the environment, or explain what is missing."""
        return twilio_credentials_from_env(self.env)


def _first(*values: str | None) -> str | None:
    for value in values:
        if value:
            return value
    return None


def _given(flag: str, value: str | None) -> str | None:
    """A global option's value; given but empty (``--region ''``) is a usage error.

    An empty value used to mean "not given" silently, so ``--region "$REGION"`` with an unset
    variable ran against whatever region the environment had: refuse it instead.
    """
    if value is not None and not value.strip():
        raise UsageError(
            f"{flag} was given an empty value",
            hint=f"Give {flag} a value, or leave it out to use the default.",
        )
    return value


def check_url(url: str, what: str, source: str, *, example: str) -> str:
    """``url`` is an http(s) URL with a host and a valid port, or a one-line error (exit 3).

    ``source`` names where it came from (the flag or the environment variable) so the message
    says what to fix. Checked once, up front, instead of failing inside an SDK as ``Invalid
    IPv6 URL`` or ``InvalidURL`` after a first request.
    """
    flag = "--endpoint-url" if what.startswith("AWS") else "--twilio-api-url"
    fix = f"pass e.g. {flag} {example}"
    fix = fix if source == flag else f"fix or unset {source}, or {fix}"
    why = None
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (raises ValueError for a port out of range or not a number)
    except ValueError as exc:
        why = str(exc)
    else:
        if parts.scheme not in ("http", "https"):
            why = "it is not an http(s) URL"
        elif not parts.hostname:
            why = "it names no host"
    if why is not None:
        raise ConfigError(
            f"{what} {shown(url)} ({source}) is not usable: {why}",
            hint=fix[0].upper() + fix[1:] + ".",
        )
    return url


def resolve_settings(
    *,
    profile: str | None = None,
    region: str | None = None,
    endpoint_url: str | None = None,
    twilio_api_url: str | None = None,
    debug: bool = False,
    env: Mapping[str, str] | None = None,
) -> Settings:
    """Combine flags with the environment; flags win, then env, then defaults."""
    env = dict(os.environ) if env is None else dict(env)
    profile, region = _given("--profile", profile), _given("--region", region)
    endpoint_url = _given("--endpoint-url", endpoint_url)
    twilio_api_url = _given("--twilio-api-url", twilio_api_url)
    if endpoint_url is not None:
        check_url(endpoint_url, "AWS endpoint URL", "--endpoint-url", example=AWS_EXAMPLE)
    source = "--twilio-api-url" if twilio_api_url else "TWILIO_ES_API_URL"
    api_url = _first(twilio_api_url, env.get("TWILIO_ES_API_URL")) or DEFAULT_TWILIO_API_URL
    if api_url != DEFAULT_TWILIO_API_URL:
        check_url(api_url, "Twilio API URL", source, example="http://127.0.0.1:4010")
    return Settings(
        profile=_first(profile, env.get("AWS_PROFILE")),
        region=_first(region, env.get("AWS_REGION"), env.get("AWS_DEFAULT_REGION")),
        # Only the flag: without it botocore resolves AWS_ENDPOINT_URL itself, and with it the
        # per-service AWS_ENDPOINT_URL_KINESIS/_IAM/_STS and a profile's endpoint_url, which a
        # copy of the global variable here would override.
        endpoint_url=endpoint_url or None,
        twilio_api_url=api_url.rstrip("/"),
        twilio_principal=env.get("TWILIO_ES_TWILIO_PRINCIPAL") or DEFAULT_TWILIO_PRINCIPAL,
        debug=debug or env.get("TWILIO_ES_DEBUG", "") not in ("", "0"),
        env=env,
    )


def twilio_credentials_from_env(env: Mapping[str, str]) -> TwilioCredentials:
    """Account SID + auth token, or API key + secret (+ account SID)."""
    account_sid = env.get("TWILIO_ACCOUNT_SID", "")
    api_key, api_secret = env.get("TWILIO_API_KEY", ""), env.get("TWILIO_API_SECRET", "")
    token = env.get("TWILIO_AUTH_TOKEN", "")
    hint = (
        "Export TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN (or TWILIO_API_KEY, TWILIO_API_SECRET "
        "and TWILIO_ACCOUNT_SID); for the offline sandbox run `twilio-es local up`."
    )
    if api_key or api_secret:
        if not (api_key and api_secret and account_sid):
            raise ConfigError(
                "API key credentials are incomplete: TWILIO_API_KEY, TWILIO_API_SECRET and "
                "TWILIO_ACCOUNT_SID are all needed",
                hint=hint,
            )
        _check_credentials(
            account_sid, ("TWILIO_API_KEY", api_key), ("TWILIO_API_SECRET", api_secret)
        )
        return TwilioCredentials(account_sid=account_sid, username=api_key, secret=api_secret)
    if account_sid and token:
        _check_credentials(account_sid, None, ("TWILIO_AUTH_TOKEN", token))
        return TwilioCredentials(account_sid=account_sid, username=account_sid, secret=token)
    raise ConfigError("Twilio credentials are not set", hint=hint)


def _check_credentials(
    account_sid: str, key: tuple[str, str] | None, secret: tuple[str, str]
) -> None:
    """Refuse credentials no Twilio account can have, before they reach an HTTP header.

    A SID with a CJK character ended in ``UnicodeEncodeError`` inside requests; a typo'd SID
    only in a 401 after a round trip. The secret's value is never shown, only its name.
    """
    if not ACCOUNT_SID.fullmatch(account_sid):
        raise ConfigError(
            f"TWILIO_ACCOUNT_SID {shown(account_sid)} is not an account SID",
            hint="It must look like AC followed by 32 hex digits (see the Twilio Console).",
        )
    if key is not None and not API_KEY_SID.fullmatch(key[1]):
        raise ConfigError(
            f"{key[0]} {shown(key[1])} is not an API key SID",
            hint="It must look like SK followed by 32 hex digits (see the Twilio Console).",
        )
    if not _SECRET.fullmatch(secret[1]):
        raise ConfigError(
            f"{secret[0]} holds characters no Twilio secret has (spaces, non-ASCII or control "
            "characters)",
            hint=f"Copy {secret[0]} again from the Twilio Console.",
        )
