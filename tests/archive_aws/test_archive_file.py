"""The archive block in the file: checked before any call (FILE:LINE, exit 2), in the
published schema, and the options of doctor that read it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.archive_aws.conftest import write
from tests.fixture_types import CliRunner

ROOT = Path(__file__).resolve().parent.parent.parent


@pytest.mark.parametrize(
    ("block", "where", "message"),
    [
        ("  stream: s\n  bucket: b-lake\n  buckt: x\n", 5, "unknown key 'buckt'"),
        ("  stream: s\n  bucket: Bad_Bucket\n", 4, "archive.bucket"),
        ("  stream: s\n  bucket: b-lake\n  buffer_size_mb: 5\n", 5, "greater than or equal to 64"),
        (
            "  stream: s\n  bucket: b-lake\n  prefix: a/\n  error_prefix: a/errors/\n",
            6,
            "'a/errors/' is inside prefix 'a/'",
        ),
        (
            "  stream: s\n  bucket: b-lake\n  results_prefix: twilio-events/q/\n",
            5,
            "is inside prefix 'twilio-events/'",
        ),
        ("  bucket: b-lake\n", 2, "stream is required"),
    ],
)
def test_mistakes_in_the_block_are_located(
    cli: CliRunner, tmp_path: Path, block: str, where: int, message: str
) -> None:
    path = write(tmp_path / "f.yaml", "version: 1\narchive:\n" + block)
    result = cli("plan", "-f", path)
    assert result.exit_code == 2, result.stderr
    assert f"f.yaml:{where}:" in result.stderr
    assert message in result.stderr


def test_a_misspelt_key_gets_a_suggestion(cli: CliRunner, tmp_path: Path) -> None:
    path = write(
        tmp_path / "f.yaml", "version: 1\narchive:\n  stream: s\n  bucket: b-lake\n  workgrop: w\n"
    )
    result = cli("plan", "-f", path)
    assert "Did you mean 'workgroup'?" in result.stderr


def test_the_published_schema_takes_the_block() -> None:
    import jsonschema
    import yaml

    schema = json.loads((ROOT / "docs" / "twilio-es.schema.json").read_text(encoding="utf-8"))
    good = yaml.safe_load(
        "version: 1\narchive: {stream: s, bucket: b-lake, buffer_interval_seconds: 60,"
        " extra_types: [com.twilio.x.y], scan_limit_gb: 5}\n"
    )
    jsonschema.validate(good, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(
            {"version": 1, "archive": {"stream": "s", "bucket": "b-lake", "x": 1}}, schema
        )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--file", "x.yaml"], "--file goes with --archive"),
        (["--archive", "--stream", "s"], "Give --archive alone"),
        (["--archive"], "twilio-es.yaml has no archive: block"),
        (["--archive", "--file", "missing.yaml"], "missing.yaml does not exist"),
    ],
)
def test_doctor_archive_options(
    cli: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], message: str
) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "twilio-es.yaml", "version: 1\n")
    result = cli("doctor", *args)
    assert result.exit_code == 2
    assert message in result.stderr
