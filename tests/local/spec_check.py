"""Check HTTP responses against Twilio's official Events v1 OpenAPI spec.

A generic validator: find the spec operation for (method, concrete path), take the JSON schema
of the answered status code, resolve ``$ref`` into ``components``, turn OpenAPI 3.0
``nullable`` into JSON Schema, and validate with jsonschema (formats ``date-time`` and ``uri``
checked). Objects are closed (``additionalProperties: false``) so the emulator cannot emit a
field the spec does not name. Errors must be Twilio's error body. Every checked operation is
recorded so a test can assert the whole spec was exercised.
"""

from __future__ import annotations

import copy
import json
import re
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from jsonschema import Draft7Validator, FormatChecker

SPEC_PATH = Path(__file__).resolve().parents[1] / "data/twilio-oai/twilio_events_v1.json"

ERROR_SCHEMA = {
    "type": "object",
    "properties": {
        "code": {"type": "integer"},
        "message": {"type": "string", "minLength": 1},
        "more_info": {"type": "string", "format": "uri"},
        "status": {"type": "integer"},
    },
    "required": ["code", "message", "more_info", "status"],
    "additionalProperties": False,
}

_formats = FormatChecker()


@_formats.checks("uri")
def _is_uri(value: object) -> bool:
    if not isinstance(value, str):
        return True
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


@cache
def spec() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(SPEC_PATH.read_text("utf-8"))
    return loaded


def operations() -> set[tuple[str, str]]:
    """Every (METHOD, path template) the spec defines."""
    return {
        (method.upper(), path)
        for path, item in spec()["paths"].items()
        for method in item
        if method in ("get", "post", "delete")
    }


def _template_for(path: str) -> str | None:
    templates: dict[str, Any] = spec()["paths"]
    for template in templates:
        pattern = re.sub(r"\{[^}]+\}", "[^/]+", template)
        if re.fullmatch(pattern, path):
            return template
    return None


def _to_json_schema(node: Any) -> Any:
    """Resolve ``$ref``, map ``nullable`` and close objects, recursively."""
    if isinstance(node, list):
        return [_to_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        return _to_json_schema(copy.deepcopy(spec()["components"]["schemas"][name]))
    out = {key: _to_json_schema(value) for key, value in node.items() if key != "nullable"}
    if node.get("nullable"):
        if "type" in out:
            out["type"] = [out["type"], "null"]
        if "enum" in out:
            out["enum"] = [*out["enum"], None]
    if "properties" in out and out.get("type") in ("object", ["object", "null"]):
        out.setdefault("additionalProperties", False)
    if "properties" in out and "type" not in out:  # the list envelopes' "meta"
        out["additionalProperties"] = False
    return out


def response_schema(method: str, template: str, status: int) -> dict[str, Any] | None:
    """The JSON schema for a success answer, or None when the spec has no body (204)."""
    operation = spec()["paths"][template][method.lower()]
    responses = operation["responses"]
    if str(status) not in responses:
        raise AssertionError(
            f"{method} {template} answered {status}; the spec allows {sorted(responses)}"
        )
    content = responses[str(status)].get("content")
    if not content:
        return None
    schema: dict[str, Any] = _to_json_schema(content["application/json"]["schema"])
    return schema


class SpecChecker:
    """Validates responses and remembers which operations were seen."""

    def __init__(self) -> None:
        self.seen: set[tuple[str, str]] = set()

    def check(self, method: str, url: str, status: int, body: bytes) -> None:
        path = urlsplit(url).path
        template = _template_for(path)
        if template is None:
            return  # emulator-only endpoints (/emulator/*, /schemas/*)
        method = method.upper()
        if status >= 400:
            errors = list(
                Draft7Validator(ERROR_SCHEMA, format_checker=_formats).iter_errors(json.loads(body))
            )
            assert not errors, f"{method} {path} -> {status}: bad error body: {errors[0].message}"
            assert json.loads(body)["status"] == status
            return
        schema = response_schema(method, template, status)
        self.seen.add((method, template))
        if schema is None:
            assert body == b"", f"{method} {path} -> {status} must have no body"
            return
        document = json.loads(body)
        errors = sorted(
            Draft7Validator(schema, format_checker=_formats).iter_errors(document),
            key=lambda e: list(e.path),
        )
        assert not errors, (
            f"{method} {path} -> {status} violates the spec at "
            f"{'/'.join(map(str, errors[0].path))}: {errors[0].message}"
        )
        if "meta" in document:
            meta = document["meta"]
            assert set(document) == {"meta", meta["key"]}
            for key in ("first_page_url", "url"):
                assert urlsplit(meta[key]).path == path
