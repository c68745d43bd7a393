"""A throw-away sandbox for the length of one command, in this process (``quickstart --local``).

The sandbox's process and environment handling lives here, not in the commands that use it:
start the servers, point a client factory at them, hide the user's own AWS and Twilio
settings while they run, and put everything back afterwards, on success, error or Ctrl-C.

Why the process environment changes at all: botocore reads ``AWS_PROFILE``,
``AWS_ENDPOINT_URL*``, ``~/.aws/config`` and credential variables from ``os.environ`` on its
own (not only through our Settings), and so does the emulator's delivery thread, which builds
its own AWS clients; a real profile must neither be used nor break the sandbox. Every client
the command itself uses comes from :attr:`SandboxSession.clients`, built from the sandbox's
settings; the environment change is for what we do not build. It is made in exactly one
place, :func:`sandbox_environment`, which restores the environment as it was.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from twilio_es_cli.clients import Clients
    from twilio_es_cli.local.emulator import EventsEmulator
    from twilio_es_cli.local.sandbox import Sandbox
    from twilio_es_cli.progress import Reporter


@contextmanager
def sandbox_environment() -> Iterator[None]:
    """Hide the user's AWS and Twilio settings from everything in this process while it runs.

    Proxies are bypassed for loopback. Everything is restored afterwards, including what was
    set inside the block (the sandbox's own variables).
    """
    saved = dict(os.environ)
    try:
        for name in list(os.environ):
            if name.startswith(("AWS_", "TWILIO_")):
                del os.environ[name]
        os.environ["AWS_CONFIG_FILE"] = os.devnull
        os.environ["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull
        os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
        for name in ("NO_PROXY", "no_proxy"):
            current = os.environ.get(name, "")
            os.environ[name] = ",".join(p for p in (current, "127.0.0.1", "localhost") if p)
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


@dataclass(frozen=True)
class SandboxSession:
    """A running sandbox and the client factory that reaches it."""

    sandbox: Sandbox
    clients: Clients  # AWS at the sandbox's moto, Twilio at its Events API emulator

    @property
    def emulator(self) -> EventsEmulator:
        emulator = self.sandbox.emulator
        if emulator is None:  # only while the session runs
            raise RuntimeError("sandbox not started")
        return emulator


@contextmanager
def sandbox_session(
    clients: Clients, report: Reporter, *, starting: str, stopping: str
) -> Iterator[SandboxSession]:
    """Start a sandbox, yield a session whose :attr:`~SandboxSession.clients` reach it (derived
    from ``clients``: its debug setting carries over, credentials do not), stop it on the way
    out. ``starting``/``stopping`` are shown on ``report`` while those take time.
    """
    from twilio_es_cli.config import Settings
    from twilio_es_cli.local.sandbox import Sandbox

    with sandbox_environment():
        sandbox = Sandbox()
        with report.waiting(starting):
            sandbox.start()
        try:
            # What `local up` asks users to export: the emulator's delivery thread (and any
            # boto3 default chain) finds the sandbox's credentials too.
            os.environ.update(sandbox.env())
            settings = sandbox.settings(Settings(debug=clients.settings.debug))
            yield SandboxSession(sandbox, clients.derived(settings))
        finally:
            with report.waiting(stopping):
                sandbox.stop()
