"""The only module that imports the twilio SDK: client factory, endpoint override, errors.

- :func:`make_client` builds a ``twilio.rest.Client`` from :class:`Settings` (credentials from
  the environment) whose HTTP client rewrites scheme and host of every request to
  ``--twilio-api-url`` / ``TWILIO_ES_API_URL``. That is how the offline sandbox and the tests
  reach the Events v1 emulator; pagination keeps working because the SDK follows the absolute
  ``next_page_url`` and we rewrite that too.
- Requests have explicit timeouts; idempotent calls (GET, DELETE) are retried on 429/5xx with
  backoff (a server's Retry-After is honoured up to :data:`RETRY_AFTER_CAP_SECONDS`). POSTs
  are not retried on status: creating a sink twice is worse than an error.
- :func:`twilio_errors` turns SDK exceptions into one-line :class:`TwilioEsError`s:
  401 -> exit 3 with a credentials hint, 404 -> exit 4, other API errors -> exit 1.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from twilio_es_cli.config import (
    DEFAULT_TWILIO_API_URL,
    SANDBOX_HINT,
    Settings,
    is_loopback_url,
)
from twilio_es_cli.errors import ApiError, ConfigError, NotFoundError, TwilioEsError

if TYPE_CHECKING:
    from twilio.rest import Client

REQUEST_TIMEOUT_SECONDS = 30.0
RETRY_STATUSES = (429, 500, 502, 503, 504)
# urllib3 honours Retry-After up to six hours by default: a CLI must not hang that long on
# one 429, so longer waits are cut to this (and the retry budget still ends the attempts).
RETRY_AFTER_CAP_SECONDS = 5.0
# A server on this machine answers at once or is not running: no reason to wait long.
LOOPBACK_CONNECT_TIMEOUT_SECONDS = 1.0


def rewrite_url(url: str, base_url: str) -> str:
    """Move ``url`` onto ``base_url``'s scheme, host and path prefix; keep path and query."""
    target = urlsplit(base_url)
    parts = urlsplit(url)
    path = target.path.rstrip("/") + parts.path
    return urlunsplit((target.scheme, target.netloc, path, parts.query, parts.fragment))


def _http_client(base_url: str | None) -> Any:
    """A ``TwilioHttpClient`` with timeouts, retries for idempotent calls, optional rewrite."""
    from requests.adapters import HTTPAdapter
    from twilio.http.http_client import TwilioHttpClient
    from urllib3.util.retry import Retry

    # The twilio SDK ships no type information, so its class is Any to mypy (misc: subclassing Any).
    class _Client(TwilioHttpClient):  # type: ignore[misc]
        def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
            if base_url is not None:
                url = rewrite_url(url, base_url)
            return super().request(method, url, *args, **kwargs)

    class _Retry(Retry):
        def parse_retry_after(self, retry_after: str) -> float:
            return min(float(super().parse_retry_after(retry_after)), RETRY_AFTER_CAP_SECONDS)

    class _LoopbackAdapter(HTTPAdapter):
        """Connect within a second (the read timeout stays as it was)."""

        def send(self, request: Any, *args: Any, **kwargs: Any) -> Any:
            timeout = kwargs.get("timeout")
            read = timeout[1] if isinstance(timeout, tuple) else timeout
            kwargs["timeout"] = (LOOPBACK_CONNECT_TIMEOUT_SECONDS, read)
            return super().send(request, *args, **kwargs)

    client = _Client(timeout=REQUEST_TIMEOUT_SECONDS)
    loopback = is_loopback_url(base_url)
    retry = _Retry(
        total=4,
        # On loopback a refused connection means the sandbox is down: say so at once.
        connect=0 if loopback else None,
        backoff_factor=0.5,
        status_forcelist=RETRY_STATUSES,
        allowed_methods=frozenset({"GET", "DELETE", "HEAD"}),
        respect_retry_after_header=True,
        raise_on_status=False,
    )
    adapter = (_LoopbackAdapter if loopback else HTTPAdapter)(max_retries=retry)
    for prefix in ("https://", "http://"):
        client.session.mount(prefix, adapter)
    return client


def make_client(settings: Settings) -> Client:
    """A twilio ``Client`` for the Events API named by ``settings``."""
    from twilio.rest import Client

    creds = settings.twilio_credentials()
    override = (
        None if settings.twilio_api_url == DEFAULT_TWILIO_API_URL else settings.twilio_api_url
    )
    return Client(
        username=creds.username,
        password=creds.secret,
        account_sid=creds.account_sid,
        # A twilio-cli profile's region/edge, as twilio-cli itself would use them; the
        # environment's TWILIO_REGION / TWILIO_EDGE are ignored (the endpoint is ours).
        region=creds.region,
        edge=creds.edge,
        http_client=_http_client(override),
        environment={},
    )


def translate(exc: BaseException, action: str) -> TwilioEsError:
    """Turn a twilio SDK / transport exception into a user-facing error."""
    from requests import RequestException
    from twilio.base.exceptions import TwilioException, TwilioRestException

    if isinstance(exc, TwilioRestException):
        detail = exc.msg or f"HTTP {exc.status}"
        code = f" (Twilio error {exc.code})" if exc.code else ""
        text = f"Twilio refused to {action}: {detail}{code}"
        if exc.status == 401:
            return ConfigError(
                text,
                hint="Check TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN (or TWILIO_API_KEY/"
                "TWILIO_API_SECRET, or the twilio-cli profile; --debug says which was used) "
                "and that --twilio-api-url points at the right service.",
            )
        if exc.status == 404:
            return NotFoundError(text)
        return ApiError(text)
    if isinstance(exc, RequestException):
        url = str(getattr(getattr(exc, "request", None), "url", "") or "")
        if is_loopback_url(url) and _refused(exc):
            parts = urlsplit(url)
            where = f"{parts.scheme}://{parts.netloc}"
            return ApiError(
                f"Could not reach the Twilio Events API at {where} to {action}: "
                "nothing is listening there",
                hint=f"{SANDBOX_HINT} Start it, or point --twilio-api-url / "
                "TWILIO_ES_API_URL at the URL it printed.",
            )
        return ApiError(
            f"Could not reach the Twilio Events API to {action}: {type(exc).__name__}",
            hint="Check your network and --twilio-api-url / TWILIO_ES_API_URL.",
        )
    if isinstance(exc, TwilioException):
        page_error = _page_error(exc)
        if page_error is not None:
            return translate(page_error, action)
        return ApiError(f"Twilio SDK error while trying to {action}: {exc}")
    return ApiError(f"Failed to {action}: {exc}")


def _refused(exc: BaseException) -> bool:
    """A connection that was refused or timed out while connecting (not one that broke later)."""
    from requests.exceptions import ConnectionError as RequestsConnectionError
    from requests.exceptions import ConnectTimeout

    return isinstance(exc, RequestsConnectionError | ConnectTimeout)


def _page_error(exc: BaseException) -> BaseException | None:
    """List calls fail as ``TwilioException("Unable to fetch page", response)``, not as a
    ``TwilioRestException``: rebuild the latter from the response so a 401 on a list is still
    exit 3 and a 404 exit 4."""
    import json

    from twilio.base.exceptions import TwilioRestException

    response = exc.args[1] if len(exc.args) > 1 else None
    status = getattr(response, "status_code", None)
    if not isinstance(status, int):
        return None
    try:
        body = json.loads(getattr(response, "text", "") or "{}")
    except (ValueError, RecursionError):  # not JSON, or nested beyond reading: no details
        body = {}
    body = body if isinstance(body, dict) else {}
    error: BaseException = TwilioRestException(
        status, "", msg=str(body.get("message") or f"HTTP {status}"), code=body.get("code")
    )
    return error


@contextmanager
def twilio_errors(action: str) -> Iterator[None]:
    """Translate SDK exceptions raised inside the block (``action`` says what we tried)."""
    from requests import RequestException
    from twilio.base.exceptions import TwilioException

    try:
        yield
    except (TwilioException, RequestException) as exc:
        raise translate(exc, action) from exc
