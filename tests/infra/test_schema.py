"""The published schema and file reference match the model; files twilio-es writes satisfy it."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

from tests.fixture_types import CliRunner, EventsEmulator, FileWriter

ROOT = Path(__file__).resolve().parent.parent.parent


def _generator() -> Any:
    spec = importlib.util.spec_from_file_location(
        "gen_file_reference", ROOT / "docs" / "gen_file_reference.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_schema_and_reference_are_current() -> None:
    schema_text, markdown = _generator().generate()
    stale = "is stale: run `python docs/gen_file_reference.py`"
    committed_schema = (ROOT / "docs" / "twilio-es.schema.json").read_text(encoding="utf-8")
    assert committed_schema == schema_text, f"docs/twilio-es.schema.json {stale}"
    committed_md = (ROOT / "docs" / "file-reference.md").read_text(encoding="utf-8")
    assert committed_md == markdown, f"docs/file-reference.md {stale}"


def test_schema_accepts_good_and_rejects_unknown_keys() -> None:
    import jsonschema
    import yaml

    schema = json.loads((ROOT / "docs" / "twilio-es.schema.json").read_text(encoding="utf-8"))
    good = yaml.safe_load(
        """
        version: 1
        streams: {events: {shards: 1}}
        sinks:
          main: {type: kinesis, stream: events}
          hook: {type: webhook, destination: "https://example.com/x"}
        subscriptions:
          s:
            sink: main
            types: [com.twilio.messaging.message.sent:1, {type: x.y, schema_version: 2}]
        """
    )
    jsonschema.validate(good, schema)
    bad = {**good, "sinks": {"main": {"type": "kinesis", "stream": "events", "strem": "x"}}}
    try:
        jsonschema.validate(bad, schema)
    except jsonschema.ValidationError as exc:
        assert "strem" in exc.message
    else:
        raise AssertionError("the schema accepted an unknown key")


def test_exported_file_satisfies_the_schema(
    twilio_env: EventsEmulator, cli: CliRunner, write_file: FileWriter
) -> None:
    import jsonschema
    import yaml

    text = """
    version: 1
    project: x
    sinks:
      hook: {type: webhook, destination: "http://127.0.0.1:9/x"}
    subscriptions:
      s: {sink: hook, types: [com.twilio.messaging.message.sent]}
    """
    assert cli("apply", "-f", write_file(text), "--yes").exit_code == 0
    exported = cli("export")
    schema = json.loads((ROOT / "docs" / "twilio-es.schema.json").read_text(encoding="utf-8"))
    jsonschema.validate(yaml.safe_load(exported.stdout), schema)
