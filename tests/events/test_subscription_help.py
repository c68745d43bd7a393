"""Help of subscribe/subscription/types/schema/doctor: fast (no SDK imports) and with examples."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.parametrize(
    "argv",
    [
        ["subscribe", "--help"],
        ["subscription", "add-type", "--help"],
        ["types", "list", "--help"],
        ["schema", "show", "--help"],
        ["doctor", "--help"],
    ],
)
def test_help_is_light_and_has_an_example(argv: list[str]) -> None:
    program = (
        "import sys, runpy\n"
        f"sys.argv = ['twilio-es', *{argv!r}]\n"
        "try:\n"
        "    runpy.run_module('twilio_es_cli', run_name='__main__')\n"
        "except SystemExit:\n"
        "    pass\n"
        # typer itself pulls pydantic in for sub-commands (see tests/test_foundation.py).
        "heavy = sorted(m for m in ('boto3', 'botocore', 'twilio', 'moto', 'rich')"
        " if m in sys.modules)\n"
        "sys.stderr.write('HEAVY=' + repr(heavy))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=60
    )
    assert "Usage" in proc.stdout
    assert "twilio-es " + argv[0] in proc.stdout.split("Example", 1)[-1]
    assert proc.stderr.strip().endswith("HEAVY=[]"), proc.stderr[-500:]
