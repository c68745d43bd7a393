"""One error model for the whole tool.

Every failure a user can cause or meet is a :class:`TwilioEsError` carrying a one-line message,
an optional hint (what to do next) and the exit code scripts rely on. The CLI layer renders it;
nothing else prints errors, so no traceback reaches a user unless ``--debug`` is given.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Process exit codes; part of the interface contract (see docs/output.md)."""

    OK = 0
    FAILURE = 1  # an API or runtime failure
    USAGE = 2  # bad input, rejected before any remote call
    CONFIG = 3  # missing/invalid configuration or credentials
    NOT_FOUND = 4  # the named resource does not exist
    CHECK_FAILED = 5  # validation or doctor found a problem
    INTERRUPTED = 130  # Ctrl-C


class TwilioEsError(Exception):
    """An error meant for the user: a message, a hint and an exit code."""

    exit_code: ExitCode = ExitCode.FAILURE

    def __init__(
        self, message: str, hint: str | None = None, exit_code: ExitCode | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        if exit_code is not None:
            self.exit_code = exit_code

    def __str__(self) -> str:
        return self.message


class UsageError(TwilioEsError):
    """Input the user can fix; raised before any remote call is made."""

    exit_code = ExitCode.USAGE


class ConfigError(TwilioEsError):
    """Credentials, region or endpoint configuration is missing or wrong."""

    exit_code = ExitCode.CONFIG


class NotFoundError(TwilioEsError):
    """The named stream, sink, subscription, type or schema does not exist."""

    exit_code = ExitCode.NOT_FOUND


class CheckFailed(TwilioEsError):
    """A validation or diagnostic check failed (``sink validate``, ``doctor``)."""

    exit_code = ExitCode.CHECK_FAILED


class ApiError(TwilioEsError):
    """A remote API (AWS or Twilio) refused or failed a call."""

    exit_code = ExitCode.FAILURE


SHOWN_LIMIT = 40


def shown(value: str, limit: int = SHOWN_LIMIT) -> str:
    """``value`` quoted for an error message, cut to a short prefix when it is long.

    Errors quote what the user typed so they can see the mistake; a 100,000-character argument
    (pasted by accident, or a fuzzer's) must not come back as a 100,000-character error line.
    """
    from twilio_es_cli.safe_text import redact_urls

    value = redact_urls(value)  # before cutting: a cut URL would hide the "@" that marks it
    if len(value) <= limit:
        return repr(value)
    return f"{value[:limit]!r}… ({len(value)} characters)"
