"""Settings resolved from flags > environment > SDK defaults.

Pure functions over plain mappings so they are tested with dicts. AWS credentials and region
are left to boto3's own chain (we only pass through what the user named); Twilio credentials
come from the environment only, never from flags, so they do not land in shell history.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from twilio_es_cli.errors import ConfigError

DEFAULT_TWILIO_API_URL = "https://events.twilio.com"
# Twilio's AWS account, the principal Event Streams assumes sink roles from.
DEFAULT_TWILIO_PRINCIPAL = "arn:aws:iam::177261743968:root"


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


SANDBOX_HINT = "Is 'twilio-es local up' running?"


def is_loopback_url(url: str | None) -> bool:
    """True when ``url`` points at this machine (the sandbox, a local Kinesis, a test server).

    Nothing on a network stands between us and such an endpoint: a refused connection means
    the server is not running, so waiting and retrying only delays the answer.
    """
    import ipaddress
    from urllib.parse import urlsplit

    if not url:
        return False
    try:
        host = urlsplit(url).hostname or ""
    except ValueError:
        return False
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _first(*values: str | None) -> str | None:
    for value in values:
        if value:
            return value
    return None


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
    api_url = _first(twilio_api_url, env.get("TWILIO_ES_API_URL")) or DEFAULT_TWILIO_API_URL
    if not api_url.startswith(("http://", "https://")):
        raise ConfigError(
            f"Twilio API URL {api_url!r} is not an http(s) URL",
            hint="Pass e.g. --twilio-api-url http://127.0.0.1:4010 or unset TWILIO_ES_API_URL.",
        )
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
        return TwilioCredentials(account_sid=account_sid, username=api_key, secret=api_secret)
    if account_sid and token:
        return TwilioCredentials(account_sid=account_sid, username=account_sid, secret=token)
    raise ConfigError("Twilio credentials are not set", hint=hint)
