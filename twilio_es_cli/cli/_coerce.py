"""Parameter coercion without pydantic for the plain types our commands use.

typer 0.29 coerces every parameter value through a pydantic ``TypeAdapter`` that it builds the
first time the parameter is processed (``typer.core._TyperParameter.get_runtime_param`` ->
``typer._coercion.build_runtime_param`` -> ``typer._adapters``, which imports pydantic at its
top: 100+ ms). The root callback's options (``--region`` etc.) are processed before a
sub-command's ``--help`` fires, so every sub-command's help paid for pydantic although no value
needed validating (issue 11: sub-command help at 0.6x ``aws --version``).

:func:`install` puts a lazy stand-in in front of typer's builder: ``None`` never builds
anything (typer's own ``coerce`` returns early for it), and the common *valid* values of plain
``str``, ``int``, ``float``, ``Path``, ``Enum``/``Literal`` choices and ``list[str]`` are
coerced with the stdlib. Anything else -- an invalid number, a value out of ``min``/``max``, a
custom ``parser``, ``clamp``, files, datetimes, a value of an unexpected type -- is handed to
typer's original runtime parameter, built on first need, so acceptance and error messages stay
exactly typer's (exit 2, one line). A float must be finite on either path: typer's takes
``inf`` and ``nan``, which no option of ours means (``--timeout inf`` would wait forever).
typer is pinned ``>=0.29,<0.30``; tests/test_coerce.py
fails loudly if the private names patched here move.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

import typer.core
from typer._coercion import RuntimeParam, TypeDescriptor
from typer._param_types import coerce_cli_choice, coerce_cli_path
from typer._typing import is_literal_type, literal_values

_MISS: Any = object()  # "not handled here": typer's original decides
_INT = re.compile(r"[+-]?[0-9]+(?:_[0-9]+)*")
_FLOAT = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_ORIGINAL_ATTR = "_twilio_es_original"
_BUILDER = "build_runtime_param"


def _in_range(number: float, descriptor: TypeDescriptor) -> bool:
    info = descriptor.parameter_info
    if info.clamp:
        return False  # clamping changes the value: typer's path does it
    low_ok = info.min is None or number >= info.min
    return low_ok and (info.max is None or number <= info.max)


def _to_int(value: Any, descriptor: TypeDescriptor) -> Any:
    if type(value) is str and _INT.fullmatch(value.strip()):
        value = int(value)
    if type(value) is not int or not _in_range(value, descriptor):
        return _MISS
    return value


def _to_float(value: Any, descriptor: TypeDescriptor) -> Any:
    if (type(value) is str and _FLOAT.fullmatch(value.strip())) or type(value) is int:
        value = float(value)
    if type(value) is not float or not math.isfinite(value):
        return _MISS
    return value if _in_range(value, descriptor) else _MISS


def _to_path(value: Any, descriptor: TypeDescriptor, param: Any, ctx: Any) -> Any:
    info = descriptor.parameter_info
    if info.allow_dash or info.path_type is not None or descriptor.annotation is not Path:
        return _MISS
    if type(value) is str and value:
        value = Path(value)
    if not isinstance(value, Path):
        return _MISS
    return coerce_cli_path(value, info, path_type=Path, param=param, ctx=ctx)


def _choice(value: Any, descriptor: TypeDescriptor, ctx: Any) -> Any:
    annotation, info = descriptor.annotation, descriptor.parameter_info
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        choices: tuple[Any, ...] = tuple(annotation)
    elif is_literal_type(annotation):
        choices = tuple(literal_values(annotation))
    else:
        return _MISS
    try:
        return coerce_cli_choice(
            value, choices=choices, case_sensitive=info.case_sensitive, ctx=ctx
        )
    except ValueError:
        return _MISS  # typer words the error


def _str_list(value: Any) -> Any:
    if isinstance(value, (list, tuple)) and all(type(item) is str for item in value):
        return list(value)
    return _MISS


def fast_coerce(value: Any, descriptor: TypeDescriptor, param: Any, ctx: Any) -> Any:
    """The coerced value for the plain cases, else ``_MISS`` (never raises for bad input)."""
    annotation = descriptor.annotation
    if descriptor.parameter_info.parser is not None or descriptor.file_annotation is not None:
        return _MISS
    if annotation is str:
        return value if type(value) is str else _MISS
    if annotation is int:
        return _to_int(value, descriptor)
    if annotation is float:
        return _to_float(value, descriptor)
    if annotation == list[str]:
        return _str_list(value)
    if isinstance(annotation, type) and issubclass(annotation, Path):
        try:
            return _to_path(value, descriptor, param, ctx)
        except typer.BadParameter:
            return _MISS  # typer re-checks and words the error
    return _choice(value, descriptor, ctx)


@dataclass(frozen=True)
class LazyRuntimeParam(RuntimeParam):
    """typer's runtime parameter, built only when the stdlib path cannot answer."""

    descriptor: TypeDescriptor
    _built: list[RuntimeParam] = field(default_factory=list, compare=False, repr=False)

    def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:
        coerced = fast_coerce(value, self.descriptor, param, ctx)
        if coerced is not _MISS:
            return coerced
        if not self._built:
            original = getattr(_typer_builder(), _ORIGINAL_ATTR)
            self._built.append(original(self.descriptor))
        result = self._built[0]._coerce_value(value, param=param, ctx=ctx)
        if isinstance(result, float) and not math.isfinite(result):
            # typer (float()) takes "inf" and "nan"; no option of ours means either, and
            # `--timeout inf` would wait forever: the contract says exit 2 (docs/output.md)
            raise typer.BadParameter(f"{value!r} is not a finite number", ctx=ctx, param=param)
        return result


def _lazy_build_runtime_param(descriptor: TypeDescriptor) -> RuntimeParam:
    return LazyRuntimeParam(
        annotation=descriptor.annotation,
        parameter_info=descriptor.parameter_info,
        descriptor=descriptor,
    )


def _typer_builder() -> Any:
    """The builder typer.core calls (its own import of ``build_runtime_param``)."""
    return getattr(typer.core, _BUILDER)


def install() -> None:
    """Put the lazy builder in front of typer's (idempotent; called when the CLI is imported)."""
    current = _typer_builder()
    if hasattr(current, _ORIGINAL_ATTR):
        return
    setattr(_lazy_build_runtime_param, _ORIGINAL_ATTR, current)
    setattr(typer.core, _BUILDER, _lazy_build_runtime_param)
