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
from dataclasses import asdict, dataclass
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
    return _call(settings, path, urllib.parse.urlencode(fields).encode(), "POST")


def _get(settings: Settings, path: str, query: dict[str, str]) -> dict[str, Any]:
    suffix = f"?{urllib.parse.urlencode(query)}" if query else ""
    return _call(settings, path + suffix, None, "GET")


def _call(settings: Settings, path: str, data: bytes | None, method: str) -> dict[str, Any]:
    base_url = require_sandbox(settings)
    creds = settings.twilio_credentials()
    token = base64.b64encode(f"{creds.username}:{creds.secret}".encode()).decode()
    request = urllib.request.Request(
        base_url + path,
        data=data,
        method=method,
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


@dataclass
class EmitCounts:
    """Deliveries an emit led to: done at the first attempt, waiting for a retry, dropped, and
    not attempted yet when the sandbox answered."""

    delivered: int = 0
    retrying: int = 0
    dropped: int = 0
    pending: int = 0

    def __iadd__(self, other: EmitCounts) -> EmitCounts:
        for name, value in asdict(other).items():
            setattr(self, name, getattr(self, name) + value)
        return self

    def to_dict(self) -> dict[str, int]:
        return {"deliveries": self.delivered, **asdict(self)}


def emit(
    settings: Settings, event_type: str, count: int, data: dict[str, Any] | None = None
) -> EmitCounts:
    """Ask the sandbox to generate and deliver ``count`` events; it answers after the first
    attempts, with what became of them."""
    fields = {"Type": event_type, "Count": str(count)}
    if data is not None:
        fields["Data"] = json.dumps(data)
    reply = _post(settings, "/emulator/emit", fields)
    return EmitCounts(
        delivered=int(reply.get("delivered", reply.get("deliveries", 0))),
        retrying=int(reply.get("retrying", 0)),
        dropped=int(reply.get("dropped", 0)),
        pending=int(reply.get("pending", 0)),
    )


def deliveries(settings: Settings, state: str | None = None) -> dict[str, Any]:
    """The sandbox's delivery queue (``GET /emulator/deliveries``)."""
    return _get(settings, "/emulator/deliveries", {"State": state} if state else {})


def delivery_columns() -> list[Any]:
    """The queue view's columns (built when shown: output imports rich)."""
    from twilio_es_cli.output import Column

    return [
        Column("STATE", identifier=True),
        Column("TRIES"),
        Column("SINK", identifier=True),
        Column("TYPES", priority=2, shorten=True),
        Column("LAST RESULT", shorten=True, priority=1),
        Column("NEXT IN", priority=1),
        Column("TARGET", priority=3, shorten=True),
    ]


def delivery_rows(items: list[dict[str, Any]]) -> list[list[Any]]:
    """Table rows for ``twilio-es local deliveries`` (text from receivers made inert)."""
    from twilio_es_cli.output import bounded

    rows = []
    for item in items:
        wait = item.get("next_attempt_in_seconds")
        rows.append(
            [
                item["state"],
                item["attempts"],
                item["sink_sid"],
                ", ".join(item.get("event_types", [])),
                bounded(str(item.get("last_result") or "-")),
                "-" if wait is None else f"{wait:.1f}s",
                bounded(str(item.get("target") or "-")),
            ]
        )
    return rows
