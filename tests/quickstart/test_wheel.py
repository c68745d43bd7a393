"""The built wheel, not the source tree, runs the README's main command.

Catches what an editable install hides: package data (the shipped JSON Schema and catalogue)
missing from the wheel, a broken console-script entry point, or code reaching for
files beside the clone at run time.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_wheel_ships_its_data_and_runs_quickstart_local(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(dist),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = dist.glob("twilio_es-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "twilio_es_cli/local/schemas/Messaging.MessageStatus.4.json" in names
    assert not [n for n in names if n.startswith(("tests/", "docs/", "bench/"))]

    target = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "-q",
            "--target",
            str(target),
            str(wheel),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    workdir = tmp_path / "work"
    workdir.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "TWILIO_"))}
    env["PYTHONPATH"] = str(target)  # the wheel's copy wins over the editable checkout
    where = subprocess.run(
        [sys.executable, "-c", "import twilio_es_cli; print(twilio_es_cli.__file__)"],
        env=env,
        cwd=workdir,
        capture_output=True,
        text=True,
        check=True,
    )
    assert where.stdout.strip().startswith(str(target))
    proc = subprocess.run(
        [str(target / "bin" / "twilio-es"), "quickstart", "--local"],
        env=env,
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    events = [json.loads(line) for line in proc.stdout.splitlines()]
    assert len(events) == 5
    assert all(e["type"].startswith("com.twilio.messaging.message.") for e in events)
    assert "Traceback" not in proc.stderr
    assert list(workdir.iterdir()) == []  # --local writes nothing without --out
