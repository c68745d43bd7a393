"""The stdlib coercion fast path (cli/_coerce.py) behaves exactly as typer's pydantic path.

Each case runs one small typer app twice in-process: once with typer's own
``build_runtime_param`` and once with ours, and compares exit code and output. Invalid values
must come out identical (typer words them), valid ones must coerce to the same value.
"""

from __future__ import annotations

import enum
import inspect
import subprocess
import sys
from pathlib import Path
from typing import Annotated, Any, Literal

import pytest
import typer
import typer.core
from typer.testing import CliRunner

from tests.fixture_types import SubprocessRunner
from twilio_es_cli.cli import _coerce

_ORIGINAL = getattr(_coerce._typer_builder(), _coerce._ORIGINAL_ATTR, None)


def _moved(what: str) -> str:
    return (
        f"typer {typer.__version__} changed the private seam cli/_coerce.py patches: {what}. "
        "The CLI still runs, on typer's own (pydantic) coercion, but every --help now imports "
        "pydantic; update cli/_coerce.py to the new seam or drop it."
    )


def test_typer_private_seam_is_where_we_patch_it() -> None:
    """Fails with a message naming what moved when typer changes what cli/_coerce.py patches."""
    import typer._coercion as coercion
    import typer._param_types as param_types

    assert typer.__version__.startswith("0.29."), _moved("not 0.29 (pinned <0.30)")
    assert _coerce.seam_problem() is None, _moved(str(_coerce.seam_problem()))
    assert _ORIGINAL is coercion.build_runtime_param, _moved("typer.core's builder is another")
    assert _coerce._typer_builder() is _coerce._lazy_build_runtime_param, _moved("not patched")
    source = inspect.getsource(typer.core._TyperParameter.get_runtime_param)
    assert "build_runtime_param(self.type_descriptor)" in source, _moved("get_runtime_param")
    assert "if value is None" in inspect.getsource(coercion.RuntimeParam.coerce), _moved(
        "RuntimeParam.coerce no longer returns early for None"
    )
    for name in ("coerce_cli_choice", "coerce_cli_path"):
        assert callable(getattr(param_types, name, None)), _moved(f"_param_types.{name}")
    descriptor_fields = set(coercion.TypeDescriptor.__dataclass_fields__)
    wanted = {"annotation", "parameter_info", "file_annotation"}
    assert wanted <= descriptor_fields, _moved(f"TypeDescriptor fields {sorted(descriptor_fields)}")


def test_seam_gone_means_no_patch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(typer.core, "build_runtime_param")
    assert _coerce.seam_problem() == "typer.core.build_runtime_param is gone"
    _coerce.install()  # nothing to patch: leaves typer alone
    assert not hasattr(typer.core, "build_runtime_param")


_WITHOUT_THE_SEAM = """
import sys, typer._typing
# As if typer renamed a private name cli/_coerce.py imports: gone while the CLI is imported,
# back afterwards for typer's own modules (typer._adapters imports it when it is loaded).
kept = typer._typing.literal_values
del typer._typing.literal_values
from twilio_es_cli.cli import run
typer._typing.literal_values = kept
import typer.core
patched = hasattr(typer.core.build_runtime_param, "_twilio_es_original")
code = run(["stream", "create", "twilio-events", "many"])
sys.stdout.write(f"code={code} patched={patched} pydantic={'pydantic' in sys.modules}")
"""


def test_without_the_seam_the_cli_runs_on_typers_own_coercion() -> None:
    """The safety net: typer moved a private name -> no patch, typer's coercion, same answer."""
    proc = subprocess.run(
        [sys.executable, "-c", _WITHOUT_THE_SEAM], capture_output=True, text=True, timeout=60
    )
    assert proc.stdout == "code=2 patched=False pydantic=True", proc.stderr[-2000:]
    assert proc.stderr.splitlines() == [
        "error: SHARDS must be a whole number, not 'many'",
        "hint: usage: twilio-es stream create [OPTIONS] NAME [SHARDS]; "
        "see 'twilio-es stream create --help'",
    ]


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
