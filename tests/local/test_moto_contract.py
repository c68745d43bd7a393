"""The moto the sandbox's Kinesis corrections stand on: a supported version, every name they use.

If one of these fails after a dependency update, the message says which moto name moved or
which version is installed; update ``local/moto_contract.py`` (and the corrections) together
with the cap in pyproject.toml.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fixture_types import CliRunner
from twilio_es_cli.local import moto_contract

ROOT = Path(__file__).resolve().parents[2]


def test_the_installed_moto_is_a_supported_version() -> None:
    found = moto_contract.installed_version()
    problem = moto_contract.version_problem(found)
    assert problem is None, (
        f"{problem}. Install the pinned one (pip install -c requirements/lock.txt -e "
        "'.[test]'), or test the corrections on it and add it to moto_contract.SUPPORTED."
    )


def test_pyproject_caps_moto_to_the_supported_versions() -> None:
    # (read as text: tomllib is Python 3.11+, and the package supports 3.10)
    local = re.search(r"^local = \[(.*)\]", (ROOT / "pyproject.toml").read_text(), re.M)
    assert local is not None, "pyproject.toml has no `local` extra"
    assert f'"{moto_contract.EXTRA_PIN}"' in local[1]
    low = re.search(r">=(\d+)\.(\d+)\.(\d+)", moto_contract.EXTRA_PIN)
    high = re.search(r"<(\d+)\.(\d+)", moto_contract.EXTRA_PIN)
    assert low and high
    allowed = (
        {(int(low[1]), minor) for minor in range(int(low[2]), int(high[2]))}
        if low[1] == high[1]
        else set()
    )
    assert allowed == set(moto_contract.SUPPORTED), "pyproject's cap and SUPPORTED disagree"
    assert (int(low[1]), int(low[2]), int(low[3])) == moto_contract.OLDEST


def test_every_moto_name_the_corrections_use_is_there_as_they_call_it() -> None:
    """Checked in a fresh interpreter: here the corrections already replaced some of them."""
    code = (
        "from twilio_es_cli.local import moto_contract as c\n"
        "for problem in c.name_problems(): print(problem)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "", (
        f"moto {moto_contract.installed_version()} no longer has what the sandbox's Kinesis "
        f"corrections use:\n{result.stdout}"
    )


def test_the_name_check_finds_what_is_missing_or_changed() -> None:
    problems = moto_contract.name_problems(
        {
            "moto.kinesis.models": {
                "Shard.no_such_method": None,
                "Shard.get_max_sequence_number": ("self", "renamed"),
            },
            "moto.no_such_module": {"x": None},
        }
    )
    assert "moto.kinesis.models.Shard.no_such_method is missing" in problems
    assert any("get_max_sequence_number takes ('self',)" in p for p in problems)
    assert "moto.no_such_module.x is missing" in problems


@pytest.mark.parametrize("version", ["5.3.0", "6.0.1", "5.1.9", "5.2.5", "garbage"])
def test_an_unsupported_moto_makes_local_up_refuse_in_one_line(
    version: str, cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(moto_contract, "installed_version", lambda: version)
    result = cli("local", "up", "--aws-port", "0", "--events-port", "0")
    assert result.exit_code == 3, result.stderr
    error = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert error == [
        f"error: the offline sandbox needs moto 5.2.x from 5.2.6 on, but moto {version} is "
        "installed (its Kinesis corrections were tested on those only)"
    ]
    assert "hint: Install the supported moto: pip install 'moto[server]>=5.2.6,<5.3'" in (
        result.stderr
    )
    assert "Traceback" not in result.stderr and "Sandbox up" not in result.stderr
