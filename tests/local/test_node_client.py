"""A client nobody here wrote: the `twilio` helper library from npm (package.json), run by
node, pages through the sandbox's sinks over a keep-alive connection, and in the library's
Connection: close mode, without a "socket hang up".
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.fixture_types import EventsEmulator
from tests.local.conftest import Receiver
from twilio_es_cli.local.catalog_data import EVENT_TYPES

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = Path(__file__).with_name("node_twilio_paging.js")


def _run_node(twilio_env: EventsEmulator, keep_alive: bool, page_size: int) -> dict[str, Any]:
    env = {
        **os.environ,
        "EMULATOR_URL": twilio_env.url,
        "TWILIO_ACCOUNT_SID": twilio_env.account_sid,
        "TWILIO_AUTH_TOKEN": twilio_env.auth_token,
        "PAGE_SIZE": str(page_size),
        "KEEP_ALIVE": "1" if keep_alive else "0",
    }
    done = subprocess.run(
        ["node", str(SCRIPT)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


@pytest.mark.parametrize("keep_alive", [True, False])
def test_node_twilio_library_pages_through_every_sink(
    twilio_env: EventsEmulator, keep_alive: bool
) -> None:
    config = json.dumps({"write_key": "k"})
    made = [twilio_env.service.create_sink(f"s{n}", "segment", config).sid for n in range(7)]
    seen = _run_node(twilio_env, keep_alive, page_size=2)
    assert sorted(seen["sids"]) == sorted(made)  # every sink once, across 4 pages
    assert sorted(seen["listed"]) == sorted(made)
    assert seen["pages"] == 4
    requests = 2 * 4  # page() + nextPage()s, then list()'s own 4 pages
    # keep-alive: every request on one socket; Connection: close: a fresh socket each time.
    assert seen["sockets"] == (1 if keep_alive else requests)


def test_node_twilio_library_meets_twilios_rules(
    twilio_env: EventsEmulator, webhook_receiver: Receiver
) -> None:
    """Event Streams' rules as the npm library reports them (sources: tests/local/
    test_error_codes.py): 91101 and "is in use" for a second subscription on a sink, a
    restricted type refused, 91001 for an unknown sink, "post" for an omitted method, the
    whole catalogue and Studio.FlowExecutionEvent at version 2."""
    env = {
        **os.environ,
        "EMULATOR_URL": twilio_env.url,
        "TWILIO_ACCOUNT_SID": twilio_env.account_sid,
        "TWILIO_AUTH_TOKEN": twilio_env.auth_token,
        "DESTINATION": webhook_receiver.url,
    }
    script = Path(__file__).with_name("node_twilio_rules.js")
    done = subprocess.run(
        ["node", str(script)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    assert seen["method"] == "post" and seen["getMethod"] == "GET"
    assert (seen["second"]["status"], seen["second"]["code"]) == (400, 91101)
    assert "is in use" in seen["second"]["message"]
    assert seen["restricted"]["status"] == 400 and "restricted" in seen["restricted"]["message"]
    assert (seen["missing"]["status"], seen["missing"]["code"]) == (404, 91001)
    assert seen["types"] == len(EVENT_TYPES)
    assert seen["studio"] == 2
