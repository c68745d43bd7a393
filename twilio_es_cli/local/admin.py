"""Talk to a running sandbox's emulator-only admin endpoints (``/emulator/...``).

``twilio-es local emit`` runs in another process than ``twilio-es local up``; it reaches the
emulator at ``TWILIO_ES_API_URL`` with the same Basic credentials as the Events API. stdlib
``urllib`` is enough here and keeps the twilio SDK out of a command that does not need it.
"""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from twilio_es_cli.config import DEFAULT_TWILIO_API_URL, Settings
from twilio_es_cli.errors import ApiError, ConfigError, UsageError

TIMEOUT_SECONDS = 60.0


def require_sandbox(settings: Settings) -> str:
    """The sandbox's base URL; a clear configuration error when we point at real Twilio."""
    if settings.twilio_api_url == DEFAULT_TWILIO_API_URL:
        raise ConfigError(
            "`local emit` needs the offline sandbox, but TWILIO_ES_API_URL points at Twilio",
            hint="Start it with `twilio-es local up` and run the export lines it prints "
            "(or source its --env-file) in this shell.",
        )
    return settings.twilio_api_url


def _post(settings: Settings, path: str, fields: dict[str, str]) -> dict[str, Any]:
    base_url = require_sandbox(settings)
    creds = settings.twilio_credentials()
    token = base64.b64encode(f"{creds.username}:{creds.secret}".encode()).decode()
    request = urllib.request.Request(
        base_url + path,
        data=urllib.parse.urlencode(fields).encode(),
        method="POST",
        headers={
            "Authorization": f"Basic {token}",
            "Content-Type": "application/x-www-form-urlencoded",
            "Accept": "application/json",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
            body: dict[str, Any] = json.loads(response.read() or b"{}")
            return body
    except urllib.error.HTTPError as exc:
        try:
            message = json.loads(exc.read()).get("message") or exc.reason
        except ValueError:
            message = exc.reason
        if exc.code == 401:
            raise ConfigError(
                f"The sandbox refused the credentials: {message}",
                hint="Use the TWILIO_ACCOUNT_SID/TWILIO_AUTH_TOKEN that `local up` printed.",
            ) from exc
        if exc.code == 404:
            raise ConfigError(
                f"{settings.twilio_api_url} is not a twilio-es sandbox (no {path})",
                hint="Point TWILIO_ES_API_URL at the URL `twilio-es local up` printed.",
            ) from exc
        if exc.code == 400:
            raise UsageError(str(message)) from exc
        raise ApiError(f"The sandbox failed to {path}: HTTP {exc.code} {message}") from exc
    except (urllib.error.URLError, OSError) as exc:
        raise ApiError(
            f"Could not reach the sandbox at {settings.twilio_api_url}: {exc}",
            hint="Is `twilio-es local up` still running?",
        ) from exc


def emit(
    settings: Settings, event_type: str, count: int, data: dict[str, Any] | None = None
) -> int:
    """Ask the sandbox to generate and deliver ``count`` events; returns deliveries made."""
    fields = {"Type": event_type, "Count": str(count)}
    if data is not None:
        fields["Data"] = json.dumps(data)
    return int(_post(settings, "/emulator/emit", fields).get("deliveries", 0))
