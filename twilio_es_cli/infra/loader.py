"""Read ``twilio-es.yaml``: YAML with line numbers, ``${env:NAME}`` secrets, every offline check.

Why compose nodes instead of ``yaml.safe_load``: a user fixing a file needs ``FILE:LINE``, and
``safe_load`` forgets positions (and silently keeps the last of two duplicate keys, which in a
file of sinks means a sink quietly lost). We walk PyYAML's node tree once, building plain
values and a ``path -> line`` map, then validate with the pydantic model and translate its
errors back to lines. Everything here runs before any remote call; problems are exit 2.

The file is plain YAML and bounded, because a file may come from anywhere (a pull request, a
pipe): at most :data:`MAX_BYTES`, UTF-8, nested at most :data:`MAX_DEPTH` deep, at most
:data:`MAX_ALIASES` aliases and :data:`MAX_VALUES` values once aliases are expanded (an alias
bomb of a few hundred bytes would otherwise expand to billions), no merge keys, no tags beyond
YAML's plain types, and keys that are plain values. Each is refused at its line, at once.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from twilio_es_cli.errors import UsageError

if TYPE_CHECKING:
    from pydantic import ValidationError

    from twilio_es_cli.catalog import TypeSpec
    from twilio_es_cli.infra.schema import InfraFile

DEFAULT_FILE = "twilio-es.yaml"
MAX_BYTES = 1024 * 1024  # a file of 100 sinks and 100 subscriptions is ~30 KB
MAX_DEPTH = 32  # the schema nests 5 deep
MAX_ALIASES = 100  # reuses of an anchored list or mapping (*name)
MAX_VALUES = 100_000  # every value built, aliases expanded
_YAML = "tag:yaml.org,2002:"
_PLAIN_TAGS = {f"{_YAML}{t}" for t in ("str", "int", "float", "bool", "null", "timestamp")}
ENV_REF = re.compile(r"\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}")
Path_ = tuple[str | int, ...]


class FileError(UsageError):
    """A problem in the file, located: ``twilio-es.yaml:12: sinks.hook.destination: ...``."""


@dataclass
class Desired:
    """The validated file plus what later stages need to point back into it."""

    model: InfraFile
    source: str
    lines: dict[Path_, int]
    specs: dict[str, list[tuple[TypeSpec, int]]] = field(default_factory=dict)
    secrets: set[Path_] = field(default_factory=set)

    def where(self, *path: str | int) -> str:
        return f"{self.source}:{line_of(self.lines, path)}"

    def error(self, path: Sequence[str | int], message: str, hint: str | None = None) -> FileError:
        dotted = ".".join(str(p) for p in path)
        return FileError(f"{self.where(*path)}: {dotted}: {message}", hint=hint)


def line_of(lines: Mapping[Path_, int], path: Sequence[str | int]) -> int:
    """The line of the deepest existing prefix of ``path`` (1 for the document)."""
    for end in range(len(path), -1, -1):
        found = lines.get(tuple(path[:end]))
        if found is not None:
            return found
    return 1


# ----------------------------------------------------------------------------- YAML -> values


_CONSTRUCTOR: Any = None


def _scalar(node: Any, path: Path_) -> Any:
    """A scalar's value with YAML 1.1 safe typing (ints, bools, ...); one constructor reused.

    Only YAML's plain types are read (:data:`_PLAIN_TAGS`): a language tag
    (``!!python/name:...``), an application's (``!Ref``) or a merge key is refused at its line.
    """
    global _CONSTRUCTOR
    import yaml

    _check_tag(node, path, _PLAIN_TAGS)
    if _CONSTRUCTOR is None:
        _CONSTRUCTOR = yaml.SafeLoader("")
    try:
        value = _CONSTRUCTOR.construct_object(node, deep=True)
    except (yaml.YAMLError, ValueError, TypeError, KeyError, OverflowError):
        raise _LocatedError(
            path,
            f"{node.value!r} is not a valid {_short_tag(node.tag)} value",
            None,
            line=node.start_mark.line + 1,
        ) from None
    finally:
        _CONSTRUCTOR.constructed_objects.clear()  # scalars only: nothing to share between nodes
    return value


def _short_tag(tag: str) -> str:
    return "!!" + tag.removeprefix(_YAML) if tag.startswith(_YAML) else tag


def _check_tag(node: Any, path: Path_, allowed: set[str]) -> None:
    if node.tag in allowed:
        return
    if node.tag == f"{_YAML}merge":
        raise _LocatedError(
            path,
            "merge keys (<<) are not supported",
            "Write the keys out in each place (a twilio-es file says everything explicitly).",
            line=node.start_mark.line + 1,
        )
    raise _LocatedError(
        path,
        f"tag {_short_tag(node.tag)} is not supported (plain YAML values only)",
        "Remove the tag; secrets come from the environment as ${env:NAME}.",
        line=node.start_mark.line + 1,
    )


@dataclass
class _Budget:
    """What one file may cost to build: values, alias reuses, depth (see module doc)."""

    values: int = 0
    aliases: int = 0
    built: set[int] = field(default_factory=set)  # ids of lists/mappings built once already
    open: set[int] = field(default_factory=set)  # ids of those being built (an alias cycle)

    def count(self, node: Any, path: Path_) -> None:
        self.values += 1
        if self.values > MAX_VALUES:
            raise _LocatedError(
                path,
                f"the file expands to more than {MAX_VALUES} values (aliases of aliases?)",
                "Write the values out instead of nesting aliases (*name).",
                line=node.start_mark.line + 1,
            )

    def enter(self, node: Any, path: Path_) -> None:
        line = node.start_mark.line + 1
        self.count(node, path)
        if len(path) > MAX_DEPTH:
            raise _LocatedError(
                path[:MAX_DEPTH],
                f"nested more than {MAX_DEPTH} levels deep",
                "A twilio-es file nests at most 5 levels; see docs/as-code.md.",
                line=line,
            )
        key = id(node)
        if key in self.open:
            raise _LocatedError(
                path, "an alias refers to a list or mapping it is in", None, line=line
            )
        if key in self.built:
            self.aliases += 1
            if self.aliases > MAX_ALIASES:
                raise _LocatedError(
                    path,
                    f"more than {MAX_ALIASES} aliases (*name) to lists or mappings",
                    "Write the values out instead.",
                    line=line,
                )
        self.built.add(key)
        self.open.add(key)


def _build(
    node: Any,
    path: Path_,
    lines: dict[Path_, int],
    env: Mapping[str, str],
    secrets: set[Path_],
    budget: _Budget,
) -> Any:
    import yaml

    lines[path] = node.start_mark.line + 1
    if not isinstance(node, yaml.MappingNode | yaml.SequenceNode):
        budget.count(node, path)  # scalars: counted, never expanded
        value = _scalar(node, path)
        if isinstance(value, str) and "${" in value:
            return _resolve_env(value, path, lines, env, secrets)
        return value
    budget.enter(node, path)
    if isinstance(node, yaml.SequenceNode):
        _check_tag(node, path, {f"{_YAML}seq"})
        built: list[Any] | dict[Any, Any] = [
            _build(item, (*path, index), lines, env, secrets, budget)
            for index, item in enumerate(node.value)
        ]
    else:
        _check_tag(node, path, {f"{_YAML}map"})
        built = _build_mapping(node, path, lines, env, secrets, budget)
    budget.open.discard(id(node))
    return built


def _build_mapping(
    node: Any,
    path: Path_,
    lines: dict[Path_, int],
    env: Mapping[str, str],
    secrets: set[Path_],
    budget: _Budget,
) -> dict[Any, Any]:
    import yaml

    out: dict[Any, Any] = {}
    for key_node, value_node in node.value:
        if not isinstance(key_node, yaml.ScalarNode):
            raise _LocatedError(
                path,
                "a key must be a plain name, not a list or mapping (a YAML complex key)",
                None,
                line=key_node.start_mark.line + 1,
            )
        key = _scalar(key_node, path)
        if isinstance(key, bool | int | float) or key is None:
            key = str(key) if key is not None else "null"
        elif not isinstance(key, str):  # a date or time as a key
            key = str(key_node.value)
        if key in out:
            raise _LocatedError(
                (*path, key),
                f"duplicate key (first at line {lines[(*path, key)]})",
                "Each name may appear once; rename or remove one of them.",
                line=key_node.start_mark.line + 1,
            )
        out[key] = _build(value_node, (*path, key), lines, env, secrets, budget)
        lines[(*path, key)] = key_node.start_mark.line + 1
    return out


def _dotted(path: Sequence[str | int]) -> str:
    return ".".join(str(p) for p in path) or "(document)"


def _resolve_env(
    value: str, path: Path_, lines: Mapping[Path_, int], env: Mapping[str, str], secrets: set[Path_]
) -> str:
    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in env:
            raise _LocatedError(
                path, f"${{env:{name}}} is not set", f"export {name}=... before running twilio-es"
            )
        return env[name]

    secrets.add(path)
    resolved = ENV_REF.sub(replace, value)
    if "${" in resolved:
        raise _LocatedError(path, "write environment references as ${env:NAME}", None)
    return resolved


class _LocatedError(Exception):
    def __init__(
        self, path: Path_, message: str, hint: str | None, *, line: int | None = None
    ) -> None:
        super().__init__(message)
        self.path, self.message, self.hint, self.line = path, message, hint, line


def parse_text(text: str, source: str, env: Mapping[str, str] | None = None) -> Desired:
    """Parse and check ``text`` (the file's content); ``source`` names it in messages."""
    import yaml

    env = os.environ if env is None else env
    if len(text) > MAX_BYTES:
        raise _too_large(source)
    try:
        # libyaml's loader when PyYAML was built with it: same nodes and marks, much faster
        root = yaml.compose(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as exc:
        raise _yaml_error(exc, text, source) from None
    except RecursionError:  # PyYAML's pure-Python composer recurses (libyaml stops at 1000)
        raise FileError(
            f"{source}:{_deepest_line(text)}: nested more than {MAX_DEPTH} levels deep"
        ) from None
    lines: dict[Path_, int] = {}
    secrets: set[Path_] = set()
    if root is None:
        raise FileError(f"{source}:1: the file is empty", hint=_starter_hint())
    try:
        data = _build(root, (), lines, env, secrets, _Budget())
    except _LocatedError as exc:
        where = exc.line or line_of(lines, exc.path)
        raise FileError(
            f"{source}:{where}: {_dotted(exc.path)}: {exc.message}",
            hint=exc.hint,
        ) from None
    if not isinstance(data, dict):
        raise FileError(f"{source}:1: the file must be a mapping", hint=_starter_hint())
    return check(data, source, lines, secrets)


def _yaml_error(exc: Exception, text: str, source: str) -> FileError:
    """PyYAML's error as one located line (a reader error has a position, not a mark)."""
    mark = getattr(exc, "problem_mark", None)
    position = getattr(exc, "position", None)
    if mark is not None:
        line = f":{mark.line + 1}"
    elif isinstance(position, int):
        line = f":{text.count(chr(10), 0, position) + 1}"
    else:
        line = ""
    problem = getattr(exc, "problem", None) or getattr(exc, "reason", None)
    problem = problem or str(exc).splitlines()[0]
    return FileError(f"{source}{line}: not valid YAML: {problem}")


def _deepest_line(text: str) -> int:
    """The line where nesting passes :data:`MAX_DEPTH` (PyYAML's events: no recursion)."""
    import yaml

    depth = 0
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH and event.start_mark is not None:
                return int(event.start_mark.line) + 1
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1
    return 1


def _too_large(source: str) -> FileError:
    return FileError(
        f"{source}:1: the file is larger than {MAX_BYTES // 1024} KiB",
        hint="A twilio-es file for 100 sinks and 100 subscriptions is about 30 KiB: is it "
        "the right file?",
    )


def _decode(data: bytes, source: str) -> str:
    """UTF-8 text, or a one-line error naming the line of the first byte that is not."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise FileError(
            f"{source}:{line}: not UTF-8 (byte 0x{data[exc.start]:02x} at column {column})",
            hint="Save the file as UTF-8.",
        ) from None


def _starter_hint() -> str:
    return "Start from `twilio-es export > twilio-es.yaml`, or see docs/as-code.md."


def load(path: str | None, env: Mapping[str, str] | None = None) -> Desired:
    """Read ``path`` (default ``twilio-es.yaml``; ``-`` is stdin) and check it."""
    import sys

    name = path or DEFAULT_FILE
    try:
        if name == "-":
            buffer = getattr(sys.stdin, "buffer", None)  # a text-only stdin: tests, pipes in
            data = (
                buffer.read(MAX_BYTES + 1)
                if buffer is not None
                else sys.stdin.read(MAX_BYTES + 1).encode("utf-8", "surrogateescape")
            )
        else:
            with Path(name).open("rb") as handle:  # read at most the limit: /dev/zero ends
                data = handle.read(MAX_BYTES + 1)
    except FileNotFoundError:
        raise UsageError(f"{name} does not exist", hint=_starter_hint()) from None
    except (OSError, ValueError) as exc:  # a directory, a closed stream
        what = "stdin" if name == "-" else name
        raise UsageError(f"cannot read {what}: {getattr(exc, 'strerror', None) or exc}") from None
    source = "stdin" if name == "-" else name
    if len(data) > MAX_BYTES:
        raise _too_large(source)
    return parse_text(_decode(data, source), source, env)


# ----------------------------------------------------------------------------- checks


def check(
    data: dict[str, Any], source: str, lines: dict[Path_, int], secrets: set[Path_]
) -> Desired:
    """Validate with the model, then cross-references and limits (all located)."""
    from pydantic import ValidationError

    from twilio_es_cli.infra.schema import InfraFile

    try:
        model = InfraFile.model_validate(data)
    except ValidationError as exc:
        raise _from_pydantic(exc, data, source, lines) from None
    desired = Desired(model=model, source=source, lines=lines, secrets=secrets)
    _check_references(desired)
    _check_limits(desired)
    _check_sids(desired)
    _check_archive(desired)
    _parse_specs(desired)
    return desired


def _fields_at(path: Sequence[str | int]) -> Sequence[str]:
    from twilio_es_cli.infra import schema as s

    kinds = {
        "streams": s.FIELDS_STREAM,
        "sinks": s.FIELDS_SINK,
        "subscriptions": s.FIELDS_SUBSCRIPTION,
    }
    if len(path) == 1:
        return s.FIELDS_TOP
    if len(path) == 2 and path[0] == "archive":
        return s.FIELDS_ARCHIVE
    if len(path) == 3 and path[0] in kinds:
        return kinds[str(path[0])]
    if len(path) == 5 and path[0] == "subscriptions" and path[2] == "types":
        return s.FIELDS_TYPE
    return ()


def _data_path(data: Any, loc: Sequence[str | int]) -> Path_:
    """pydantic's ``loc`` minus the parts that are not in the data (union tags, ``str``)."""
    path: list[str | int] = []
    node = data
    for part in loc:
        in_dict = isinstance(node, dict) and part in node
        in_list = isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        if in_dict or in_list:
            node = node[part]
            path.append(part)
    return tuple(path)


def _has(data: Any, path: Path_) -> bool:
    return _data_path(data, path) == path


def _message(error: Mapping[str, Any], path: Path_) -> tuple[str, str | None]:
    kind = str(error.get("type"))
    msg = str(error.get("msg", "is invalid")).removeprefix("Value error, ")
    if kind == "missing":
        return f"{error['loc'][-1]} is required", None
    if kind == "extra_forbidden":
        key = str(path[-1]) if path else "?"
        close = difflib.get_close_matches(key, _fields_at(path), n=1, cutoff=0.6)
        hint = f"Did you mean {close[0]!r}?" if close else None
        allowed = ", ".join(_fields_at(path))
        return f"unknown key {key!r}" + (f" (known: {allowed})" if allowed else ""), hint
    if kind == "union_tag_not_found":
        return "needs type: kinesis, webhook or segment", None
    if kind == "union_tag_invalid":
        return "type must be kinesis, webhook or segment", None
    if kind == "literal_error" and path == ("version",):
        return "version must be 1 (this twilio-es reads version 1 files)", None
    return msg, None


def _from_pydantic(
    exc: ValidationError, data: dict[str, Any], source: str, lines: Mapping[Path_, int]
) -> FileError:
    """The first problem as the message (with its line); the others, located, in the hint."""
    errors = _interesting(exc.errors())
    located: list[tuple[str, str | None]] = []
    for error in errors:
        path = _data_path(data, error.get("loc", ()))
        if str(error.get("type")).startswith("union_tag") and _has(data, (*path, "type")):
            path = (*path, "type")
        message, hint = _message(error, path)
        located.append((f"{source}:{line_of(lines, path)}: {_dotted(path)}: {message}", hint))
    first, hint = located[0]
    others = [text for text, _ in located[1:6]]
    if others:
        more = f" ({len(located) - 6} more)" if len(located) > 6 else ""
        hint = ((hint + " ") if hint else "") + "Also: " + "; ".join(others) + more
    return FileError(first, hint=hint)


def _interesting(errors: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Drop the noise of ``str | TypeEntry`` unions: keep one error per location."""
    seen: set[tuple[Any, ...]] = set()
    kept: list[Mapping[str, Any]] = []
    for error in errors:
        loc = tuple(p for p in error.get("loc", ()) if p not in ("str", "TypeEntry"))
        if loc in seen:
            continue
        seen.add(loc)
        kept.append({**error, "loc": loc})
    return kept


def _suggest(name: str, names: Sequence[str]) -> str | None:
    close = difflib.get_close_matches(name, list(names), n=1, cutoff=0.6)
    return f"Did you mean {close[0]!r}?" if close else None


def _check_references(desired: Desired) -> None:
    model = desired.model
    for name, sink in model.sinks.items():
        stream = getattr(sink, "stream", None)
        if stream is not None and stream not in model.streams:
            declared = ", ".join(model.streams) or "none"
            raise desired.error(
                ("sinks", name, "stream"),
                f"stream {stream!r} is not declared under streams (declared: {declared})",
                hint=_suggest(stream, list(model.streams))
                or "Declare it under `streams:`, or give arn, role_arn and external_id.",
            )
    for name, sub in model.subscriptions.items():
        if sub.sink not in model.sinks:
            raise desired.error(
                ("subscriptions", name, "sink"),
                f"sink {sub.sink!r} is not declared under sinks",
                hint=_suggest(sub.sink, list(model.sinks)) or "Declare it under `sinks:`.",
            )


def _check_limits(desired: Desired) -> None:
    from twilio_es_cli.infra.schema import MAX_SINKS, MAX_SUBSCRIPTIONS

    model = desired.model
    for key, count, limit in (
        ("sinks", len(model.sinks), MAX_SINKS),
        ("subscriptions", len(model.subscriptions), MAX_SUBSCRIPTIONS),
    ):
        if count > limit:
            raise desired.error(
                (key,),
                f"{count} {key} declared; a Twilio account may have at most {limit}",
                hint="Split the setup across accounts, or remove some.",
            )


def _check_sids(desired: Desired) -> None:
    for kind in ("sinks", "subscriptions"):
        seen: dict[str, str] = {}
        for name, item in getattr(desired.model, kind).items():
            sid = item.sid
            if sid is None:
                continue
            if sid in seen:
                raise desired.error(
                    (kind, name, "sid"), f"{sid} is already adopted by {kind}.{seen[sid]}"
                )
            seen[sid] = name


def _check_archive(desired: Desired) -> None:
    """The archive's three prefixes share a bucket: none may hold another, or Athena would
    read error records or query results as Parquet files of the table."""
    archive = desired.model.archive
    if archive is None:
        return
    prefixes = {
        "prefix": archive.prefix,
        "error_prefix": archive.error_prefix,
        "results_prefix": archive.results_prefix,
    }
    for key, value in prefixes.items():
        for other, inside in prefixes.items():
            if other != key and value.startswith(inside):
                raise desired.error(
                    ("archive", key),
                    f"{value!r} is inside {other} {inside!r}",
                    hint="Give prefix, error_prefix and results_prefix folders side by side, "
                    "e.g. twilio-events/, twilio-events-errors/, athena-results/.",
                )


def _parse_specs(desired: Desired) -> None:
    from twilio_es_cli.catalog import TypeSpec, parse_type_spec

    for name, sub in desired.model.subscriptions.items():
        specs: list[tuple[TypeSpec, int]] = []
        for index, item in enumerate(sub.types):
            path = ("subscriptions", name, "types", index)
            try:
                spec = (
                    parse_type_spec(item)
                    if isinstance(item, str)
                    else TypeSpec(item.type, item.schema_version)
                )
            except UsageError as exc:
                raise desired.error(path, exc.message, exc.hint) from None
            specs.append((spec, line_of(desired.lines, path)))
        desired.specs[name] = specs
