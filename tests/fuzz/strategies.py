"""Hypothesis strategies for fuzzing twilio-es from outside: arguments, environments, files.

Invocations are derived from the command tree itself (every leaf command, its arguments and
options), so a command added later is fuzzed without anyone remembering to. Values mix random
text with seeds from the classes of input that broke the tool once (issue 8): empty and blank
strings, non-Latin text, 100,000-character values, NaN/inf/overflowing numbers, option-looking
values, malformed URLs, deeply nested and binary files. Issue 20 added: broken URLs (and
passwords in them) in every URL option, hostile YAML (alias bombs, merge keys, tags, depth,
non-UTF-8), capture files, ``COLUMNS=0`` and a twilio-cli config nested 100,000 deep in every
command's environment, and the standard streams a shell can hand over: closed stdin or
stdout, stdout on a full disk, an ASCII-only stdout. Values the contract says must be refused
(an infinite number, an empty ``--twilio-profile``/``--twilio-principal``, a non-ASCII IAM
name) are marked ``must_fail`` so the property can insist on it.

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
    "http://fz:fz-secret@[::1",  # and a password that must never be echoed
    "https://fz:fz-secret@127.0.0.1:0x50/",
]
SECRET_IN_URLS = "fz-secret"
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
# URLs twilio-es calls or serves at once (tail/listen --forward-to, --public-url, --listener,
# webhook --url): only values refused up front, since a reachable-looking one would make a
# `tail --no-follow --forward-to` retry for minutes (issue 20 item 4, tracked apart).
REFUSED_URLS = st.sampled_from(BAD_URLS)
URL_PARAMS = {"forward_to", "public_url", "listener", "url"}
# What the contract says these must refuse, whatever else the invocation holds.
NON_EMPTY_PARAMS = {"twilio_principal", "twilio_profile"}
IAM_NAME_PARAMS = {"role_name", "policy_name"}


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
    if name in URL_PARAMS:
        return text_values(REFUSED_URLS)
    if name in IAM_NAME_PARAMS:
        return text_values(st.sampled_from(["fz-role", "rölé", "role-\u0661", "\uff52ole"]))
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


def _alias_bomb(levels: int = 9) -> bytes:
    text = 'version: 1\nproject: p\nl0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol"]\n'
    for level in range(1, levels):
        text += f"l{level}: &l{level} [{', '.join([f'*l{level - 1}'] * 9)}]\n"
    return text.encode()


HOSTILE_YAML = [
    _alias_bomb(),
    b"version: 1\nproject: p\nb: &b {type: webhook}\nsinks:\n  h:\n    <<: *b\n",
    b"version: 1\nproject: !!python/name:os.system p\n",
    b"version: 1\nproject: p\nsinks: !Ref x\n",
    b"version: 1\nproject: p\n? [a, b]\n: c\n",
    b"version: 1\nproject: p\nx: " + b"[" * 990 + b"]" * 990 + b"\n",
    b"version: 1\nproject: p\n# caf\xe9\n",
    b"version: 1\nproject: p\nx: &a [1, *a]\n",
    b"version: 1\nproject: p\nsinks:\n  h: {type: webhook, destination: 'http://fz:fz-secret@[::1'}\n",
]
CAPTURES = [
    _config(url="http://[::1/x", headers={}, body=""),
    b"POST /e HTTP/1.1\r\nHost: [::1\r\n\r\n",
    _config(url="https://h/e", headers={"X-Twilio-Signature": "x"}, body="[" * 5000),
    b'{"url": "https://h/", "x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
]


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
            *HOSTILE_YAML,
            *CAPTURES,
        ]
    ),
    st.binary(max_size=200),
)


@dataclass(frozen=True)
class FileArg:
    """A path argument to materialise in the test's temporary directory."""

    kind: str  # "file" (with content), "missing", "dir", "fixed" (a system path), or
    # "configdir" (a twilio-cli config directory whose config.json holds ``content``)
    content: bytes = b""
    fixed: str = ""

    def path(self, tmp: Path, index: int) -> str:
        if self.kind == "fixed":
            return self.fixed
        target = tmp / f"fz-{index}"
        if self.kind == "file":
            target.write_bytes(self.content)
        elif self.kind in ("dir", "configdir"):
            target.mkdir(exist_ok=True)
        if self.kind == "configdir":
            (target / "config.json").write_bytes(self.content)
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
FILE_PARAMS = {
    "checkpoint",
    "sink_config",
    "config_file",
    "out",
    "state_dir",
    "env_file",
    "file",
    "capture",
    "body_file",
    "save",
}
WRITE_PARAMS = {"checkpoint", "out", "state_dir", "env_file", "save"}

# -- global options and environments: always local ----------------------------------------
GLOBAL_OPTIONS: dict[str, st.SearchStrategy[str]] = {
    "--region": text_values(st.sampled_from(["us-east-1", "eu-west-1", "mars-north-9"])),
    "--profile": text_values(st.sampled_from(["default", "fz"])),
    "--endpoint-url": st.sampled_from([*BAD_URLS, *EMPTY, *UNICODE[:2]]),
    "--twilio-api-url": st.sampled_from([*BAD_URLS, *EMPTY, *UNICODE[:2]]),
    "--twilio-profile": text_values(st.sampled_from(["fz", "default"])),
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

# twilio-cli's config.json as a user may have it, or broken: read when no TWILIO_* is set.
TWILIO_CLI_CONFIGS = st.sampled_from(
    [
        b'{"profiles": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
        b'{"profiles": ' + b'{"a":' * 990 + b"1" + b"}" * 990 + b"}",
        b'{"profiles": {"fz": {"accountSid": "AC' + b"0" * 32 + b'", "apiKey": "SK1"}}}',
        b"\xff\xfe{",
        b"",
    ]
)
TWILIO_CREDENTIALS = ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_API_KEY")
Env = tuple[tuple[str, "str | FileArg | None"], ...]  # None: unset the variable


@st.composite
def edge_environment(draw: Any) -> Env:
    """The environment a command meets on a user's machine, at its edges (issue 20):
    ``COLUMNS`` that is no width, or no TWILIO_* variables and a broken twilio-cli config."""
    if draw(st.booleans()):
        return (("COLUMNS", draw(st.sampled_from(["0", "1", "2", "-1", "abc", " ", "99999"]))),)
    config = FileArg("configdir", draw(TWILIO_CLI_CONFIGS))
    return (("TWILIO_CONFIG_DIR", config), *((name, None) for name in TWILIO_CREDENTIALS))


# How the shell may hand over the standard streams (tests/fuzz/test_properties.py sets them).
STDIO = ("normal", "ascii-stdout", "closed-stdout", "full-stdout", "closed-stdin")


@dataclass(frozen=True)
class Invocation:
    """argv with placeholders for files, environment changes, and the standard streams.

    ``must_fail`` names the values in it the contract says must be refused (an infinite
    number, an empty profile or principal, a non-ASCII IAM name): then exit 0 is a bug.
    """

    argv: tuple[str | FileArg, ...]
    env: Env = ()
    stdio: str = "normal"
    must_fail: tuple[str, ...] = ()

    def materialise(self, tmp: Path) -> tuple[list[str], dict[str, str | None]]:
        import tempfile

        tmp = Path(tempfile.mkdtemp(prefix="example-", dir=tmp))  # one per example
        counter = iter(range(10_000))

        def real(value: str | FileArg) -> str:
            return value.path(tmp, next(counter)) if isinstance(value, FileArg) else value

        env = {k: None if v is None else real(v) for k, v in self.env}
        return [real(a) for a in self.argv], env


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


def must_fail(command: str, name: str, annotation: Any, value: str | FileArg) -> str | None:
    """Why the contract says ``value`` for parameter ``name`` must be refused, or None."""
    import math
    import re

    if not isinstance(value, str):
        return None
    if annotation is float:
        try:
            number = float(value)
        except ValueError:
            return None
        return None if math.isfinite(number) else f"{name}={value!r} is not finite"
    if name in NON_EMPTY_PARAMS and not value.strip():
        return f"{name} is empty"
    iam_name = re.fullmatch(r"[A-Za-z0-9_+=,.@-]{1,64}", value.strip())
    if command == "stream create" and name in IAM_NAME_PARAMS and iam_name is None:
        return f"{name}={value!r} is not an ASCII IAM name"
    return None


@st.composite
def invocations(
    draw: Any, path: tuple[str, ...], command: Any, forced: tuple[str, ...] = ()
) -> Invocation:
    """One call of ``twilio-es [globals] PATH [arguments] [options]``, maybe with a stray.

    ``forced`` options are always given (``tail --stats``, ``--efo``, ``--forward-to``); a
    quarter of the calls meet an edge environment and a third odd standard streams.
    """
    name = " ".join(path)
    argv: list[str | FileArg] = []
    refused: list[str] = []
    for option, values in GLOBAL_OPTIONS.items():
        if draw(st.integers(0, 9)) == 0:
            value = draw(values)
            argv += [option, value]
            if option == "--twilio-profile" and not value.strip():
                refused.append("--twilio-profile is empty")
    argv += list(path)
    for param in command.params:
        if param.param_type_name == "argument":
            if param.required or draw(st.booleans()):
                count = draw(st.integers(1, 2)) if param.nargs == -1 else 1
                for _ in range(count):
                    argv += _param_values(name, param, draw)
        elif set(param.opts) & set(forced) or draw(st.integers(0, 2)) == 0:
            argv += _option(name, param, draw, refused)
    if name in ("tail", "stream tail"):
        argv.append("--no-follow")  # follow mode runs until Ctrl-C: not a one-shot command
    if draw(st.integers(0, 7)) == 0:  # a stray: unknown option, misplaced global, extra word
        stray = st.sampled_from(["-1", "--bogus", "--region", "extra", "--json=1", "-q"])
        argv.insert(draw(st.integers(len(path), len(argv))), draw(stray))
    env = draw(edge_environment()) if draw(st.integers(0, 3)) == 0 else ()
    stdio = draw(st.sampled_from(STDIO[1:])) if draw(st.integers(0, 2)) == 0 else "normal"
    return Invocation(tuple(argv), env, stdio, tuple(refused))


def _option(
    command: str, param: Any, draw: Any, refused: list[str] | None = None
) -> list[str | FileArg]:
    if (command, str(param.name)) in SKIPPED_OPTIONS:
        return []
    if getattr(param, "is_flag", False):
        secondary = list(getattr(param, "secondary_opts", None) or [])
        return [draw(st.sampled_from(list(param.opts) + secondary))]
    flag = draw(st.sampled_from(list(param.opts)))
    value = _param_values(command, param, draw)[0]
    annotation = getattr(getattr(param, "type_descriptor", None), "annotation", str)
    reason = must_fail(command, str(param.name), annotation, value)
    if reason is not None and refused is not None:
        refused.append(reason)
    if isinstance(value, str) and flag.startswith("--") and draw(st.integers(0, 4)) == 0:
        return [f"{flag}={value}"]
    return [flag, value]


@st.composite
def environments(draw: Any) -> Env:
    """A few environment variables set to odd values, and maybe a broken AWS file."""
    chosen = draw(st.lists(st.sampled_from(sorted(ENVIRONMENT)), max_size=3, unique=True))
    env: list[tuple[str, str | FileArg]] = [(k, draw(ENVIRONMENT[k])) for k in chosen]
    for variable in ENV_FILES:
        if draw(st.integers(0, 2)) == 0:
            env.append((variable, draw(files(write=False).filter(lambda f: f.fixed != "-"))))
    return tuple(env)
