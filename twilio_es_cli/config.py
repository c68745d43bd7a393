"""Settings resolved from flags > environment > SDK defaults.

Pure functions over plain mappings so they are tested with dicts. AWS credentials and region
are left to boto3's own chain (we only pass through what the user named). Twilio credentials
come from the environment, else from a twilio-cli profile (``~/.twilio-cli/config.json``, the
file ``twilio login`` writes), never from flags, so secrets do not land in shell history.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
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
    source: str = "the environment"  # said on --debug: where these came from
    region: str | None = None  # a twilio-cli profile's region/edge (None: Twilio's default)
    edge: str | None = None


@dataclass(frozen=True)
class Settings:
    """Everything a command needs to reach AWS and Twilio."""

    profile: str | None = None
    region: str | None = None
    endpoint_url: str | None = None
    twilio_api_url: str = DEFAULT_TWILIO_API_URL
    twilio_principal: str = DEFAULT_TWILIO_PRINCIPAL
    debug: bool = False
    twilio_profile: str | None = None  # --twilio-profile: a twilio-cli profile by name
    env: Mapping[str, str] = field(default_factory=dict, repr=False, compare=False)

    def twilio_credentials(self) -> TwilioCredentials:
        """Twilio credentials from --twilio-profile, the environment or twilio-cli's active
        profile (in that order), or explain what is missing; --debug says which was used."""
        creds = resolve_twilio_credentials(self.env, self.twilio_profile)
        logging.getLogger("twilio_es_cli").debug(
            "Twilio credentials from %s (account %s, key %s)",
            creds.source,
            creds.account_sid,
            creds.username,
        )
        return creds

    def twilio_auth_token(self, purpose: str) -> str:
        """The account's auth token, for what an API key cannot do (e.g. webhook signatures).

        ``purpose`` names the job in the error ("check webhook signatures"), so the user learns
        why a working API key or twilio-cli profile is not enough here and how to add it.
        """
        return auth_token_for(self.env, purpose)


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
    twilio_profile: str | None = None,
    env: Mapping[str, str] | None = None,
) -> Settings:
    """Combine flags with the environment; flags win, then env, then defaults."""
    env = dict(os.environ) if env is None else dict(env)
    profile, region = _given("--profile", profile), _given("--region", region)
    endpoint_url = _given("--endpoint-url", endpoint_url)
    twilio_api_url = _given("--twilio-api-url", twilio_api_url)
    twilio_profile = _given("--twilio-profile", twilio_profile)
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
        twilio_profile=twilio_profile.strip() if twilio_profile else None,  # "" refused above
        env=env,
    )


_CREDENTIALS_HINT = (
    "Export TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN (or TWILIO_API_KEY, TWILIO_API_SECRET "
    "and TWILIO_ACCOUNT_SID), or run `twilio login` (twilio-cli); for the offline sandbox run "
    "`twilio-es local up`."
)


def resolve_twilio_credentials(
    env: Mapping[str, str], profile: str | None = None
) -> TwilioCredentials:
    """--twilio-profile NAME, else the environment, else TWILIO_PROFILE or twilio-cli's
    active profile: the environment wins over a stored profile, as it does for AWS, and a
    profile named on the command line wins over both (it is the most explicit)."""
    if profile:
        return twilio_cli_profile(env, profile)
    try:
        return twilio_credentials_from_env(env)
    except ConfigError:
        # Incomplete or absent (a lone TWILIO_ACCOUNT_SID is common): like twilio-cli, fall
        # back to its profiles; without any, the environment's own message says what is missing.
        named = (env.get("TWILIO_PROFILE") or "").strip() or None
        if named or twilio_cli_config_path(env).is_file():
            return twilio_cli_profile(env, named)
        raise


def twilio_cli_config_path(env: Mapping[str, str]) -> Path:
    """twilio-cli's config file: $TWILIO_CONFIG_DIR/config.json, default ~/.twilio-cli/."""
    directory = env.get("TWILIO_CONFIG_DIR")
    if directory:
        return Path(directory) / "config.json"
    home = env.get("HOME") or env.get("USERPROFILE")
    return (Path(home) if home else Path.home()) / ".twilio-cli" / "config.json"


def _load_twilio_cli_config(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError, RecursionError) as exc:  # RecursionError: '[' x 100,000
        reason = "nested too deeply" if isinstance(exc, RecursionError) else exc
        raise ConfigError(
            f"Could not read twilio-cli's configuration {path}: {reason}",
            hint="Fix or remove the file (`twilio profiles:list` shows what twilio-cli sees), "
            "or export TWILIO_ACCOUNT_SID with TWILIO_API_KEY/TWILIO_API_SECRET.",
        ) from exc
    return data if isinstance(data, dict) else {}


def twilio_cli_profile(env: Mapping[str, str], name: str | None) -> TwilioCredentials:
    """Credentials from a twilio-cli profile: ``name``, else the active one (``activeProject``
    in the file), else the only one. Profiles made since twilio-cli 3 hold an API key and
    secret in ``profiles``; older ones (``projects``) kept the secret in the system keychain,
    which we cannot read, so they get a message naming the fix instead."""
    path = twilio_cli_config_path(env)
    config = _load_twilio_cli_config(path)
    stored = config.get("profiles")
    profiles: dict[str, Any] = stored if isinstance(stored, dict) else {}
    projects = [p for p in config.get("projects") or [] if isinstance(p, dict)]
    known = sorted({*profiles, *(str(p.get("id")) for p in projects)})
    chosen = name or config.get("activeProject") or (known[0] if len(known) == 1 else None)
    if not chosen:
        hint = "Name one with --twilio-profile NAME (or TWILIO_PROFILE)" if known else ""
        raise ConfigError(
            f"Twilio credentials are not set, and {path} has "
            + (f"no active profile (profiles: {', '.join(known)})" if known else "no profiles"),
            hint=(hint + "; " if hint else "") + _CREDENTIALS_HINT,
        )
    profile = profiles.get(chosen)
    if isinstance(profile, dict):
        return _profile_credentials(chosen, profile, path)
    if any(p.get("id") == chosen for p in projects):
        raise ConfigError(
            f"twilio-cli profile {chosen!r} keeps its secret in the system keychain (made by "
            "an older twilio-cli), which twilio-es cannot read",
            hint=f"Run `twilio profiles:create {chosen}` again (it stores an API key in "
            f"{path}), or export TWILIO_ACCOUNT_SID, TWILIO_API_KEY and TWILIO_API_SECRET.",
        )
    raise ConfigError(
        f"twilio-cli profile {chosen!r} was not found in {path}",
        hint=(f"Profiles there: {', '.join(known)}. " if known else "")
        + f"Create it with `twilio profiles:create {chosen}`, or check --twilio-profile / "
        "TWILIO_PROFILE.",
    )


def _profile_credentials(name: str, profile: Mapping[str, Any], path: Path) -> TwilioCredentials:
    values = {k: str(profile.get(k) or "").strip() for k in ("accountSid", "apiKey", "apiSecret")}
    missing = [k for k, v in values.items() if not v]
    if missing:
        raise ConfigError(
            f"twilio-cli profile {name!r} in {path} has no {', '.join(missing)}",
            hint=f"Run `twilio profiles:create {name}` again, or export TWILIO_ACCOUNT_SID, "
            "TWILIO_API_KEY and TWILIO_API_SECRET.",
        )
    return TwilioCredentials(
        account_sid=values["accountSid"],
        username=values["apiKey"],
        secret=values["apiSecret"],
        source=f"twilio-cli profile {name!r} ({path})",
        region=str(profile.get("region") or "").strip() or None,
        edge=str(profile.get("edge") or "").strip() or None,
    )


def auth_token_for(env: Mapping[str, str], purpose: str) -> str:
    """TWILIO_AUTH_TOKEN, or an error saying why ``purpose`` needs it and how to give it."""
    token = env.get("TWILIO_AUTH_TOKEN", "").strip()
    if token:
        return token
    raise ConfigError(
        f"To {purpose}, twilio-es needs your account's auth token: an API key (or a "
        "twilio-cli profile, which holds one) cannot do this",
        hint="Export TWILIO_AUTH_TOKEN (Twilio Console > Account > API keys & tokens > Auth "
        "token) in this shell; it is read from the environment only, never from a flag.",
    )


def twilio_credentials_from_env(env: Mapping[str, str]) -> TwilioCredentials:
    """Account SID + auth token, or API key + secret (+ account SID)."""
    account_sid = env.get("TWILIO_ACCOUNT_SID", "")
    api_key, api_secret = env.get("TWILIO_API_KEY", ""), env.get("TWILIO_API_SECRET", "")
    token = env.get("TWILIO_AUTH_TOKEN", "")
    hint = _CREDENTIALS_HINT
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
