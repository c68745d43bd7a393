"""The types of the shared fixtures, so a test's parameters are checked like the package's.

A test writes ``def test_x(cli: CliRunner, twilio_env: EventsEmulator) -> None`` and mypy
(strict, over tests/ too) checks every call it makes. Not named ``types.py``: pytest puts
``tests/`` on ``sys.path`` (its conftest.py has no ``__init__.py`` beside it), where a
``types`` module would shadow the standard library's.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Protocol

# The emulator the ``events_emulator`` and ``twilio_env`` fixtures return (stdlib-only module).
from twilio_es_cli.local.emulator import EventsEmulator

if TYPE_CHECKING:
    from tests.conftest import Result

__all__ = ["CliRunner", "EventsEmulator", "FileWriter", "SubprocessRunner"]


class CliRunner(Protocol):
    """The ``cli`` fixture: ``cli("stream", "list", "--json")`` runs twilio-es in-process."""

    def __call__(self, *args: str, stdin: str = "") -> Result: ...


class SubprocessRunner(Protocol):
    """The ``cli_subprocess`` fixture: the same in a fresh interpreter (exit codes, signals)."""

    def __call__(
        self,
        *args: str,
        env: Mapping[str, str] | None = None,
        timeout: float = 120,
        stdin: str = "",
    ) -> Result: ...


class FileWriter(Protocol):
    """The ``write_file`` fixture (tests/infra): writes a dedented file, returns its path."""

    def __call__(self, text: str, name: str = "twilio-es.yaml") -> str: ...
