"""The stdlib coercion fast path (cli/_coerce.py) behaves exactly as typer's pydantic path.

Each case runs one small typer app twice in-process: once with typer's own
``build_runtime_param`` and once with ours, and compares exit code and output. Invalid values
must come out identical (typer words them), valid ones must coerce to the same value.
"""

from __future__ import annotations

import enum
import inspect
from pathlib import Path
from typing import Annotated, Any, Literal

import pytest
import typer
import typer.core
from typer.testing import CliRunner

from tests.fixture_types import SubprocessRunner
from twilio_es_cli.cli import _coerce

_ORIGINAL = getattr(_coerce._typer_builder(), _coerce._ORIGINAL_ATTR, None)


def test_typer_private_seam_is_where_we_patch_it() -> None:
    """Fails loudly when typer moves the internals cli/_coerce.py relies on (pinned <0.30)."""
    import typer._coercion as coercion
    import typer._param_types as param_types

    assert typer.__version__.startswith("0.29.")
    assert _ORIGINAL is coercion.build_runtime_param, "typer.core's builder was not patched"
    assert _coerce._typer_builder() is _coerce._lazy_build_runtime_param
    source = inspect.getsource(typer.core._TyperParameter.get_runtime_param)
    assert "build_runtime_param(self.type_descriptor)" in source
    assert "if value is None" in inspect.getsource(coercion.RuntimeParam.coerce)
    for name in ("coerce_cli_choice", "coerce_cli_path"):
        assert callable(getattr(param_types, name))
    descriptor_fields = set(coercion.TypeDescriptor.__dataclass_fields__)
    assert {"annotation", "parameter_info", "file_annotation"} <= descriptor_fields


class Colour(str, enum.Enum):
    RED = "red"
    BLUE = "blue"


def _app(annotation: Any, option: Any) -> typer.Typer:
    app = typer.Typer()

    def command(value: Any = None) -> None:
        typer.echo(f"{type(value).__name__}:{value!r}")

    # set at run time: this module's annotations are strings (``from __future__``)
    command.__annotations__ = {"value": Annotated[annotation, option], "return": None}
    app.command()(command)
    app.command("other")(lambda: None)  # two commands: the option is `command --value`
    return app


def _run(
    app: typer.Typer, argv: list[str], builder: Any, monkeypatch: pytest.MonkeyPatch
) -> tuple[int, str]:
    monkeypatch.setattr(typer.core, "build_runtime_param", builder)
    result = CliRunner().invoke(app, ["command", *argv])
    return result.exit_code, result.output


CASES: list[tuple[Any, Any, list[list[str]]]] = [
    (str | None, typer.Option(), [[], ["--value", "abc"], ["--value", ""], ["--value", " x "]]),
    (
        int | None,
        typer.Option(),
        [["--value", v] for v in ("12", " 7 ", "+3", "-4", "1_000", "abc", "1.5", "1.0", "")],
    ),
    (
        int | None,
        typer.Option(min=1, max=64),
        [["--value", v] for v in ("1", "64", "0", "65", "x", "١٢")],
    ),
    (int | None, typer.Option(min=1, max=5, clamp=True), [["--value", "9"], ["--value", "3"]]),
    (
        float | None,
        typer.Option(min=0.001),
        [["--value", v] for v in ("0.5", "2", "1e3", ".5", "0", "nan", "x")],
    ),
    (Path | None, typer.Option(), [["--value", "some/dir/"], ["--value", "x.json"]]),
    (Path | None, typer.Option(exists=True), [["--value", "/no/such/file"], ["--value", "/"]]),
    (
        Path | None,
        typer.Option(exists=True, dir_okay=False),
        [["--value", "/"], ["--value", "-"]],
    ),
    (
        Colour | None,
        typer.Option(),
        [["--value", "red"], ["--value", "RED"], ["--value", "green"]],
    ),
    (
        Literal["a", "b"] | None,
        typer.Option(case_sensitive=False),
        [["--value", "A"], ["--value", "c"]],
    ),
    (list[str] | None, typer.Option(), [[], ["--value", "a", "--value", "b"]]),
]


@pytest.mark.parametrize(("annotation", "option", "argvs"), CASES, ids=lambda c: repr(c)[:30])
def test_same_result_as_typer(
    annotation: Any, option: Any, argvs: list[list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    app = _app(annotation, option)
    for argv in argvs:
        ours = _run(app, argv, _coerce._lazy_build_runtime_param, monkeypatch)
        theirs = _run(app, argv, _ORIGINAL, monkeypatch)
        assert ours == theirs, argv


@pytest.mark.parametrize("value", ["inf", "Infinity", "1e400", "-inf"])
def test_infinite_floats_are_refused_where_typer_takes_them(
    value: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The one deliberate difference: no option of ours means infinity (docs/output.md)."""
    app = _app(float | None, typer.Option())
    theirs = _run(app, ["--value", value], _ORIGINAL, monkeypatch)
    assert theirs[0] == 0 and "inf" in theirs[1]  # typer's float() takes it
    code, shown = _run(app, ["--value", value], _coerce._lazy_build_runtime_param, monkeypatch)
    assert code == 2 and "is not a finite number" in shown


def test_plain_values_do_not_build_typer_adapters(monkeypatch: pytest.MonkeyPatch) -> None:
    """The valid common cases never reach typer's (pydantic) builder; invalid ones do."""
    built: list[Any] = []

    def counting(descriptor: Any) -> Any:
        built.append(descriptor.annotation)
        assert _ORIGINAL is not None
        return _ORIGINAL(descriptor)

    monkeypatch.setattr(_coerce._lazy_build_runtime_param, _coerce._ORIGINAL_ATTR, counting)
    for annotation, argv in [
        (int | None, ["--value", "3"]),
        (float | None, ["--value", "0.25"]),
        (str | None, ["--value", "s"]),
        (Path | None, ["--value", "p"]),
        (Colour | None, ["--value", "blue"]),
    ]:
        code, _ = _run(
            _app(annotation, typer.Option()), argv, _coerce._lazy_build_runtime_param, monkeypatch
        )
        assert code == 0
    assert built == []
    code, output = _run(
        _app(int | None, typer.Option()),
        ["--value", "x"],
        _coerce._lazy_build_runtime_param,
        monkeypatch,
    )
    assert (code, built) == (2, [int])
    assert "Input should be a valid integer" in output


def test_invalid_number_is_a_one_line_usage_error(cli_subprocess: SubprocessRunner) -> None:
    result = cli_subprocess("stream", "create", "twilio-events", "many")
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "error: SHARDS must be a whole number, not 'many'",
        "hint: usage: twilio-es stream create [OPTIONS] NAME [SHARDS]; "
        "see 'twilio-es stream create --help'",
    ]
