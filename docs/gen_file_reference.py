"""Generate the file's JSON Schema and its Markdown reference from the pydantic model.

Run ``python docs/gen_file_reference.py`` after changing ``twilio_es_cli/infra/schema.py``;
``tests/infra/test_schema.py`` fails when either committed file differs from what this writes.
Outputs: ``docs/twilio-es.schema.json`` (for editors) and ``docs/file-reference.md``.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS.parent))

HEADER = """# `twilio-es.yaml` reference

Generated from the file's schema by `python docs/gen_file_reference.py`; do not edit by hand.
Editors validate and complete the file with [twilio-es.schema.json](twilio-es.schema.json):
put `# yaml-language-server: $schema=<path or URL of twilio-es.schema.json>` on its first line.
The guide is [as-code.md](as-code.md). Any string may be `${env:NAME}` (resolved when the file
is read; a missing variable is an error with its line).
"""

SECTIONS = (
    ("InfraFile", "Top level"),
    ("StreamDecl", "`streams.<name>`: a Kinesis stream (the name is the stream's name)"),
    ("KinesisSinkDecl", "`sinks.<name>` with `type: kinesis`"),
    ("WebhookSinkDecl", "`sinks.<name>` with `type: webhook`"),
    ("SegmentSinkDecl", "`sinks.<name>` with `type: segment`"),
    ("SubscriptionDecl", "`subscriptions.<name>`"),
    ("TypeEntry", "`subscriptions.<name>.types[]` as an object"),
    ("ArchiveDecl", "`archive`: the archive at scale (Firehose -> S3 -> Glue -> Athena)"),
)


def _type(prop: dict[str, Any]) -> str:
    if "anyOf" in prop:
        return " or ".join(_type(p) for p in prop["anyOf"] if p.get("type") != "null")
    if "$ref" in prop:
        ref: str = prop["$ref"]
        return ref.rsplit("/", 1)[-1]
    if "const" in prop:
        return f"`{prop['const']}`"
    if "enum" in prop:
        return " / ".join(f"`{v}`" for v in prop["enum"])
    kind = prop.get("type", "any")
    if kind == "array":
        return f"list of {_type(prop.get('items', {}))}"
    if "oneOf" in prop:
        return " or ".join(_type(p) for p in prop["oneOf"])
    if kind == "object" and prop.get("patternProperties"):
        ((pattern, value),) = prop["patternProperties"].items()
        return f"map of name (`{pattern}`) -> {_type(value)}"
    if kind == "object":
        extra = prop.get("additionalProperties")
        return f"map of name -> {_type(extra)}" if isinstance(extra, dict) else "object"
    return str(kind)


def _limits(prop: dict[str, Any]) -> str:
    parts = []
    for key, label in (("minimum", ">="), ("maximum", "<="), ("minLength", "length >=")):
        if key in prop:
            parts.append(f"{label} {prop[key]}")
    if "pattern" in prop:
        parts.append(f"matches `{prop['pattern']}`")
    for option in prop.get("anyOf", []):
        parts.extend(p for p in [_limits(option)] if p)
    return ", ".join(parts)


def _section(name: str, title: str, schema: dict[str, Any]) -> str:
    model = schema if name == "InfraFile" else schema["$defs"][name]
    required = set(model.get("required", []))
    rows = ["| key | type | required | default | notes |", "|---|---|---|---|---|"]
    for key, prop in model.get("properties", {}).items():
        default = prop.get("default")
        shown = "" if key in required or "default" not in prop else f"`{default}`"
        if shown == "`None`":
            shown = "-"
        notes = " ".join(x for x in [prop.get("description", ""), _limits(prop)] if x)
        rows.append(
            f"| `{key}` | {_type(prop)} | {'yes' if key in required else 'no'} | {shown} | "
            f"{notes.replace('|', '/')} |"
        )
    doc = " ".join((model.get("description") or "").split())
    return f"## {title}\n\n{doc}\n\n" + "\n".join(rows) + "\n"


def generate() -> tuple[str, str]:
    """(schema JSON text, Markdown reference) for the current model."""
    from twilio_es_cli.infra.schema import json_schema, json_schema_text

    schema = json_schema()
    body = "\n".join(_section(name, title, schema) for name, title in SECTIONS)
    return json_schema_text(), HEADER + "\n" + body


def main() -> None:
    schema_text, markdown = generate()
    (DOCS / "twilio-es.schema.json").write_text(schema_text, encoding="utf-8")
    (DOCS / "file-reference.md").write_text(markdown, encoding="utf-8")
    print("wrote docs/twilio-es.schema.json and docs/file-reference.md")


if __name__ == "__main__":
    main()
