"""Where ``query --athena`` goes: the workgroup, database and table of the archive block.

Options win; then the ``archive:`` block of the file (``twilio-es.yaml`` when it exists);
then the block's defaults, which are what ``apply`` makes from a block that names only a
stream and a bucket. Only the block is read (and only its ``${env:NAME}`` references are
resolved): a query should not fail because a sink's secret is not exported in this shell.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from twilio_es_cli.errors import UsageError

if TYPE_CHECKING:
    from twilio_es_cli.infra.schema import ArchiveDecl

DEFAULT_FILE = "twilio-es.yaml"


@dataclass(frozen=True)
class Target:
    workgroup: str
    database: str
    table: str
    source: str  # where the values came from, for messages


def _defaults() -> dict[str, Any]:
    from twilio_es_cli.infra.schema import ArchiveDecl

    fields = ArchiveDecl.model_fields
    return {key: fields[key].default for key in ("workgroup", "database", "table")}


def _resolve_env(value: Any, env: Mapping[str, str], name: str) -> Any:
    from twilio_es_cli.infra.loader import ENV_REF

    if not isinstance(value, str) or "${" not in value:
        return value

    def replace(match: Any) -> str:
        variable = match.group(1)
        if variable not in env:
            raise UsageError(
                f"{name}: archive: ${{env:{variable}}} is not set",
                hint=f"export {variable}=... before running twilio-es",
            )
        return env[variable]

    return ENV_REF.sub(replace, value)


@dataclass(frozen=True)
class Block:
    """The file's archive block, checked, and the file's project."""

    decl: ArchiveDecl
    project: str
    source: str  # the file's name


def _read(path: str | None) -> tuple[str, dict[str, Any] | None]:
    """(the file's name, its top-level mapping); None when the default file is absent."""
    import yaml

    name = path or DEFAULT_FILE
    file = Path(name)
    if not file.exists():
        if path is not None:
            raise UsageError(f"{name} does not exist", hint="Name the file with --file.")
        return name, None
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise UsageError(f"cannot read {name}: {str(exc).splitlines()[0]}") from None
    return name, data if isinstance(data, dict) else {}


def block(path: str | None, env: Mapping[str, str] | None = None) -> Block | None:
    """The file's archive block (None: no file, or no block in it), checked as plan does."""
    from pydantic import ValidationError

    from twilio_es_cli.infra.schema import DEFAULT_PROJECT, ArchiveDecl

    name, data = _read(path)
    found = (data or {}).get("archive")
    if found is None:
        return None
    if not isinstance(found, dict):
        raise UsageError(f"{name}: archive: must be a mapping", hint="See docs/as-code.md.")
    env = os.environ if env is None else env
    values = {key: _resolve_env(value, env, name) for key, value in found.items()}
    try:
        decl = ArchiveDecl.model_validate(values)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        raise UsageError(
            f"{name}: archive.{where}: {first.get('msg')}",
            hint="`twilio-es plan` shows every problem of the file with its line.",
        ) from None
    project = str((data or {}).get("project") or DEFAULT_PROJECT)
    return Block(decl, project, name)


def resolve(
    path: str | None,
    *,
    workgroup: str | None = None,
    database: str | None = None,
    table: str | None = None,
) -> Target:
    """The target (see the module docstring); the block is checked like ``plan`` checks it."""
    values = _defaults()
    source = "the archive block's defaults"
    found = block(path)
    if found is not None:
        decl = found.decl
        values = {"workgroup": decl.workgroup, "database": decl.database, "table": decl.table}
        source = f"the archive block of {found.source}"
    given = {"workgroup": workgroup, "database": database, "table": table}
    values.update({key: value for key, value in given.items() if value})
    return Target(source=source, **values)
