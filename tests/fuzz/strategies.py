"""Hypothesis strategies for fuzzing twilio-es from outside: arguments, environments, files.

Invocations are derived from the command tree itself (every leaf command, its arguments and
options), so a command added later is fuzzed without anyone remembering to. Values mix random
text with seeds from the classes of input that broke the tool once (issue 8): empty and blank
strings, non-Latin text, 100,000-character values, NaN/inf/overflowing numbers, option-looking
values, malformed URLs, deeply nested and binary files.

Safety: the fuzzer runs as whatever user runs the tests (root in containers), so nothing it
generates may name a file outside the test's temporary directory for writing, and no URL it
generates leaves 127.0.0.1 (no test touches the internet; an unset endpoint would).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

HEX = "0123456789abcdef"
DELIVERED = "com.twilio.messaging.message.delivered"

# -- seeds: the classes of input that once ended in a traceback-shaped or wrong answer --------
EMPTY = ["", " ", "\t", "\n"]
UNICODE = ["中文", "ströme", "🙂", "\u202eevil", "e\u0301", "\udcff", "٣"]
HUGE = ["a" * 100_000, "9" * 5_000, "é" * 20_000]
NUMBERS = ["nan", "NaN", "inf", "-inf", "1e309", "-1", "0", "1.5", "99999999999999999999", "²"]
OPTIONISH = ["-1", "--", "-", "--yes", "--help-me", "-x"]
BAD_URLS = [
    "http://[::1",
    "http://",
    "ftp://x",
    "http://127.0.0.1:99999",
    "127.0.0.1:4566",
]
# Nothing listens there: refused at once, but retried with backoff for seconds, so these go
# only where nothing connects to them (a webhook sink's destination).
UNREACHABLE = ["http://127.0.0.1:1", "http://[::1]:1/"]
CONTROL = ["a\x1b[2Jb", "x\ry", "tab\tbed", "bell\x07"]
SEEDS = EMPTY + UNICODE + HUGE + NUMBERS + OPTIONISH + CONTROL

# Real processes cannot pass NUL in argv or the environment; everything else can arrive.
_TEXT = st.text(st.characters(blacklist_characters="\x00"), max_size=40)


def _hex_sid(prefix: str) -> st.SearchStrategy[str]:
    return st.text(HEX, min_size=32, max_size=32).map(lambda h: prefix + h)


def text_values(*realistic: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """Seeds, random text, and values shaped like the real thing (so checks get passed)."""
    return st.one_of(st.sampled_from(SEEDS), _TEXT, *realistic)


STREAM_NAMES = st.sampled_from(["fz-stream", "fz.other_1", "a" * 128, "a" * 129, "bad name!"])
TYPE_NAMES = st.sampled_from(
    [
        DELIVERED,
        f"{DELIVERED}:2",
        f"{DELIVERED}:99",
        "com.twilio.messaging.message.*",
        "com.twilio.messaging.message.delivred",
        "com.twilio.voice.insights.call-summary.predicted-complete",
        "com.twilio.fax.*",
        "a/b",
        "x:0",
        "x:",
    ]
)
SCHEMA_IDS = st.sampled_from(["Messaging.MessageStatus", "No.SuchSchema", "../etc", "a" * 129])
ARNS = st.sampled_from(
    [
        "arn:aws:kinesis:us-east-1:123456789012:stream/fz-stream",
        "arn:aws:iam::123456789012:role/fz-role",
        "arn:aws:kinesis:eu-west-1:123456789012:stream/",
        "arn:aws:iam::12:role/x",
    ]
)
LOCAL_URLS = st.sampled_from(["https://example.invalid/x", *UNREACHABLE, *BAD_URLS])


def for_name(name: str) -> st.SearchStrategy[str]:
    """The value strategy for a parameter, by what its name says it holds."""
    if name in ("sid", "sink"):
        return text_values(_hex_sid("DG"), _hex_sid("DF"))
    if name in ("name", "stream"):
        return text_values(STREAM_NAMES)
    if name in ("types", "type_name", "event_type"):
        return text_values(TYPE_NAMES)
    if name in ("schema_id", "schema"):
        return text_values(SCHEMA_IDS)
    if name in ("arn", "role_arn", "twilio_principal"):
        return text_values(ARNS)
    if name == "destination":
        return text_values(LOCAL_URLS)
    if name == "method":
        return text_values(st.sampled_from(["POST", "get", "PUT"]))
    if name == "sink_type":
        return text_values(st.sampled_from(["kinesis", "webhook", "segment", "KINESIS "]))
    if name == "version":
        return text_values(st.integers(-2, 6).map(str))
    if name in ("from_", "since"):
        return text_values(
            st.sampled_from(
                ["latest", "trim-horizon", "5m", "1h", "0s", "99999999999999999999d", "1000000d"]
            )
        )
    if name == "status":
        return text_values(st.sampled_from(["active", "failed", "ACTIVE"]))
    return text_values()


# Numbers bounded so that a valid one cannot make a run long (10,000 shards in moto, a
# 100,000-event emit at one per second), while the invalid classes stay in.
INTS = st.one_of(st.integers(-3, 4).map(str), st.sampled_from([*NUMBERS, "10001", "1e3"]))
FLOATS = st.one_of(st.sampled_from(["0.05", "1", "3"]), st.sampled_from(NUMBERS))
OVERRIDES: dict[tuple[str, str], st.SearchStrategy[str]] = {
    ("local emit", "count"): st.one_of(st.integers(-1, 3).map(str), st.sampled_from(NUMBERS)),
    ("local emit", "rate"): st.sampled_from([*NUMBERS, "1000", "-5"]),
    ("local emit", "data"): st.one_of(
        st.sampled_from(["{}", '{"to": "+15555550100"}', "[]", "null", '{"x": NaN}']),
        st.sampled_from(["[" * 100_000, '{"a":' * 50_000 + "1" + "}" * 50_000]),
        text_values(),
    ),
    ("tail", "max_events"): st.sampled_from(["1", "0", "-1", "nan", "99999999999999999999"]),
    ("stream tail", "max_events"): st.sampled_from(["1", "0", "-1", "nan"]),
}


# -- files --------------------------------------------------------------------------------
def _config(**values: Any) -> bytes:
    return json.dumps(values).encode()


FILE_CONTENTS = st.one_of(
    st.sampled_from(
        [
            b"",
            b"[" * 100_000 + b"]" * 100_000,
            b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
            b"\xff\xfe\x00\x01",
            b"\xef\xbb\xbf{}",
            b'{"arn": NaN}',
            b"[]",
            b"[default\nregion = us-east-1\n",
            b"[default]\nregion = us-east-1\n",
            _config(
                arn="arn:aws:kinesis:us-east-1:123456789012:stream/fz-stream",
                role_arn="arn:aws:iam::123456789012:role/fz-role",
                external_id="fz-external-id",
            ),
            _config(sink_configuration=json.dumps({"arn": "x"})),
        ]
    ),
    st.binary(max_size=200),
)


@dataclass(frozen=True)
class FileArg:
    """A path argument to materialise in the test's temporary directory."""

    kind: str  # "file" (with content), "missing", "dir", or "fixed" (a system path)
    content: bytes = b""
    fixed: str = ""

    def path(self, tmp: Path, index: int) -> str:
        if self.kind == "fixed":
            return self.fixed
        target = tmp / f"fz-{index}"
        if self.kind == "file":
            target.write_bytes(self.content)
        elif self.kind == "dir":
            target.mkdir(exist_ok=True)
        return str(target)


# Read-only oddities may name system files; write targets never leave the temporary directory
# except /proc/version, which no one can create files beside (procfs refuses).
READ_FIXED = ["/proc/version", "/dev/null", "/nonexistent-dir/x.json", "-"]
WRITE_FIXED = ["/proc/version", "/proc/fz-nope/x.json"]


def files(write: bool) -> st.SearchStrategy[FileArg]:
    fixed = WRITE_FIXED if write else READ_FIXED
    return st.one_of(
        st.builds(FileArg, st.just("file"), FILE_CONTENTS),
        st.just(FileArg("missing")),
        st.just(FileArg("dir")),
        st.sampled_from(fixed).map(lambda p: FileArg("fixed", fixed=p)),
    )


# `quickstart --local` starts a whole second sandbox (seconds each): its option parsing is the
# same code as every other flag, so the fuzzer leaves it to tests/quickstart.
SKIPPED_OPTIONS = {("quickstart", "local")}
FILE_PARAMS = {"checkpoint", "sink_config", "config_file", "out", "state_dir", "env_file"}
WRITE_PARAMS = {"checkpoint", "out", "state_dir", "env_file"}

# -- global options and environments: always local ----------------------------------------
GLOBAL_OPTIONS: dict[str, st.SearchStrategy[str]] = {
    "--region": text_values(st.sampled_from(["us-east-1", "eu-west-1", "mars-north-9"])),
    "--profile": text_values(st.sampled_from(["default", "fz"])),
    "--endpoint-url": st.sampled_from([*BAD_URLS, *EMPTY, *UNICODE[:2]]),
    "--twilio-api-url": st.sampled_from([*BAD_URLS, *EMPTY, *UNICODE[:2]]),
}

ENV_TEXT = st.one_of(
    st.sampled_from([*EMPTY, *UNICODE, *HUGE[:1], *NUMBERS, *CONTROL]),
    st.text(st.characters(blacklist_characters="\x00"), max_size=40),
)
ENVIRONMENT: dict[str, st.SearchStrategy[str]] = {
    "TWILIO_ACCOUNT_SID": st.one_of(ENV_TEXT, st.just("AC中文"), _hex_sid("AC")),
    "TWILIO_AUTH_TOKEN": st.one_of(ENV_TEXT, st.just("tök")),
    "TWILIO_API_KEY": st.one_of(ENV_TEXT, _hex_sid("SK")),
    "TWILIO_API_SECRET": ENV_TEXT,
    "TWILIO_ES_API_URL": st.sampled_from(BAD_URLS),
    "TWILIO_ES_TWILIO_PRINCIPAL": st.one_of(ENV_TEXT, ARNS),
    "AWS_REGION": ENV_TEXT,
    "AWS_DEFAULT_REGION": ENV_TEXT,
    "AWS_PROFILE": ENV_TEXT,
    "AWS_ENDPOINT_URL": st.sampled_from(BAD_URLS),
    "AWS_ENDPOINT_URL_KINESIS": st.sampled_from(BAD_URLS),
    "AWS_ACCESS_KEY_ID": ENV_TEXT,
    "AWS_SECRET_ACCESS_KEY": ENV_TEXT,
    "COLUMNS": st.sampled_from(["0", "-1", "abc", "99999", "", "1"]),
    "NO_COLOR": ENV_TEXT,
}
ENV_FILES = ("AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE")


@dataclass(frozen=True)
class Invocation:
    """argv with placeholders for files, plus environment changes."""

    argv: tuple[str | FileArg, ...]
    env: tuple[tuple[str, str | FileArg], ...] = ()

    def materialise(self, tmp: Path) -> tuple[list[str], dict[str, str]]:
        import tempfile

        tmp = Path(tempfile.mkdtemp(prefix="example-", dir=tmp))  # one per example
        counter = iter(range(10_000))

        def real(value: str | FileArg) -> str:
            return value.path(tmp, next(counter)) if isinstance(value, FileArg) else value

        return [real(a) for a in self.argv], {k: real(v) for k, v in self.env}


def _param_values(
    command: str, param: Any, draw: Callable[[st.SearchStrategy[Any]], Any]
) -> list[str | FileArg]:
    name = str(param.name)
    if name in FILE_PARAMS:
        return [draw(files(write=name in WRITE_PARAMS))]
    if (command, name) in OVERRIDES:
        return [draw(OVERRIDES[(command, name)])]
    annotation = getattr(getattr(param, "type_descriptor", None), "annotation", str)
    if annotation is int:
        return [draw(INTS)]
    if annotation is float:
        return [draw(FLOATS)]
    choices = getattr(getattr(param, "type_descriptor", None), "choices", None)
    if choices:
        options = [str(getattr(c, "value", c)) for c in choices]
        return [draw(st.one_of(st.sampled_from(options), text_values()))]
    return [draw(for_name(name))]


@st.composite
def invocations(draw: Any, path: tuple[str, ...], command: Any) -> Invocation:
    """One call of ``twilio-es [globals] PATH [arguments] [options] [globals]``, maybe with a
    stray (global options are accepted before and after the command)."""
    name = " ".join(path)
    argv: list[str | FileArg] = []
    late: list[str | FileArg] = []
    for option, values in GLOBAL_OPTIONS.items():
        if draw(st.integers(0, 9)) == 0:
            (argv if draw(st.booleans()) else late).extend([option, draw(values)])
    argv += list(path)
    for param in command.params:
        if param.param_type_name == "argument":
            if param.required or draw(st.booleans()):
                count = draw(st.integers(1, 2)) if param.nargs == -1 else 1
                for _ in range(count):
                    argv += _param_values(name, param, draw)
        elif draw(st.integers(0, 2)) == 0:
            argv += _option(name, param, draw)
    argv += late
    if name in ("tail", "stream tail"):
        argv.append("--no-follow")  # follow mode runs until Ctrl-C: not a one-shot command
    if (
        draw(st.integers(0, 7)) == 0
    ):  # a stray: unknown option, a global missing its value, extra word
        stray = st.sampled_from(["-1", "--bogus", "--region", "extra", "--json=1", "-q"])
        argv.insert(draw(st.integers(len(path), len(argv))), draw(stray))
    return Invocation(tuple(argv))


def _option(command: str, param: Any, draw: Any) -> list[str | FileArg]:
    if (command, str(param.name)) in SKIPPED_OPTIONS:
        return []
    if getattr(param, "is_flag", False):
        secondary = list(getattr(param, "secondary_opts", None) or [])
        return [draw(st.sampled_from(list(param.opts) + secondary))]
    flag = draw(st.sampled_from(list(param.opts)))
    value = _param_values(command, param, draw)[0]
    if isinstance(value, str) and flag.startswith("--") and draw(st.integers(0, 4)) == 0:
        return [f"{flag}={value}"]
    return [flag, value]


@st.composite
def environments(draw: Any) -> tuple[tuple[str, str | FileArg], ...]:
    """A few environment variables set to odd values, and maybe a broken AWS file."""
    chosen = draw(st.lists(st.sampled_from(sorted(ENVIRONMENT)), max_size=3, unique=True))
    env: list[tuple[str, str | FileArg]] = [(k, draw(ENVIRONMENT[k])) for k in chosen]
    for variable in ENV_FILES:
        if draw(st.integers(0, 2)) == 0:
            env.append((variable, draw(files(write=False).filter(lambda f: f.fixed != "-"))))
    return tuple(env)
