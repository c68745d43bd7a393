"""Inputs found by fuzzing the CLI from outside (issue 8), one test per class of input.

Each ran into ``error: unexpected ...``, a wrong exit code, a silent acceptance, a request the
API could only refuse, or a multi-line framework block. Every test here runs the real command
against the sandbox (moto over HTTP, the Events emulator, a real local HTTP server) and checks
what a user sees: one ``error:`` line, a ``hint:``, the contract's exit code, nothing created.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Result, boto_client
from tests.fixture_types import CliRunner, EventsEmulator

CJK_SID = "AC中文"
HUGE = "a" * 100_000
DELIVERED = "com.twilio.messaging.message.delivered"


def one_error(result: Result, code: int) -> str:
    """The result is exit ``code`` with one error line (and at most one hint); returns it."""
    assert result.exit_code == code, (result.exit_code, result.stderr[-2000:])
    lines = result.stderr.splitlines()
    errors = [line for line in lines if line.startswith("error: ")]
    assert len(errors) == 1, result.stderr[-2000:]
    assert "unexpected" not in result.stderr and "Traceback" not in result.stderr
    assert "Usage:" not in result.stderr and "Try '" not in result.stderr
    assert lines[-1].startswith(("error: ", "hint: ")), result.stderr[-2000:]
    return errors[0]


def nothing_created(aws_env: str, emulator: EventsEmulator | None = None) -> None:
    kinesis = boto_client("kinesis", aws_env)
    iam = boto_client("iam", aws_env)
    assert kinesis.list_streams()["StreamNames"] == []
    assert iam.list_roles()["Roles"] == []
    if emulator is not None:
        assert emulator.service.list_sinks() == []
        assert emulator.service.list_subscriptions() == []


class _Recorder(BaseHTTPRequestHandler):
    """Answers 500 to everything and remembers the paths it was asked for."""

    seen: list[str]

    def _any(self) -> None:
        self.seen.append(self.path)
        self.send_response(500)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_GET = do_POST = do_DELETE = _any

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass


@pytest.fixture
def recorder() -> Iterator[tuple[str, list[str]]]:
    """A real HTTP server on 127.0.0.1 standing in for the Events API; yields (url, paths)."""
    seen: list[str] = []
    handler = type("Handler", (_Recorder,), {"seen": seen})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", seen
    server.shutdown()
    server.server_close()


# -- credentials, configuration files, URLs: exit 3 naming what to fix -----------------------


@pytest.mark.parametrize("argv", [["sink", "list"], ["types", "list"], ["doctor"]])
def test_non_latin1_account_sid_is_a_config_error(
    twilio_env: EventsEmulator, cli: CliRunner, monkeypatch: pytest.MonkeyPatch, argv: list[str]
) -> None:
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", CJK_SID)
    result = cli(*argv)
    if argv == ["doctor"]:  # doctor reports the check, then fails with exit 5
        assert result.exit_code == 5, result.stderr
        assert "AC followed by 32 hex digits" in result.stdout + result.stderr
        assert "unexpected" not in result.stderr + result.stdout
        return
    line = one_error(result, 3)
    assert f"TWILIO_ACCOUNT_SID '{CJK_SID}' is not an account SID" in line
    assert "hint: It must look like AC followed by 32 hex digits" in result.stderr


@pytest.mark.parametrize(
    ("variable", "content"),
    [
        ("AWS_CONFIG_FILE", b"[default\nregion = us-east-1\n"),
        ("AWS_CONFIG_FILE", bytes(range(256)) * 4),
        ("AWS_SHARED_CREDENTIALS_FILE", b"\xff\xfe\x00[default]\x00"),
        ("AWS_SHARED_CREDENTIALS_FILE", b"aws_access_key_id = x\n[p\n"),
    ],
)
@pytest.mark.parametrize("argv", [["stream", "list"], ["tail", "s", "--no-follow"]])
def test_broken_aws_config_file_is_named(
    aws_env: str,
    cli: CliRunner,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    variable: str,
    content: bytes,
    argv: list[str],
) -> None:
    path = tmp_path / "broken-aws-file"
    path.write_bytes(content)
    monkeypatch.setenv(variable, str(path))
    line = one_error(cli(*argv), 3)
    assert f"AWS configuration file {path} cannot be parsed" in line


@pytest.mark.parametrize("argv", [["stream", "list"], ["doctor", "--stream", "s"]])
def test_empty_aws_secret_is_a_config_error(
    aws_env: str, cli: CliRunner, monkeypatch: pytest.MonkeyPatch, argv: list[str]
) -> None:
    """Found by tests/fuzz: a key id with an empty secret failed while building the client."""
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "")
    result = cli(*argv)
    if argv[0] == "doctor":  # reported as the failed AWS check
        assert result.exit_code == 5 and "AWS credentials are incomplete" in result.stdout
        assert "unexpected" not in result.stderr
        return
    line = one_error(result, 3)
    assert "AWS credentials are incomplete" in line


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (
            ["--endpoint-url", "http://[::1", "stream", "list"],
            "AWS endpoint URL 'http://[::1' (--endpoint-url) is not usable: Invalid IPv6 URL",
        ),
        (
            ["--twilio-api-url", "http://[::1", "sink", "list"],
            "Twilio API URL 'http://[::1' (--twilio-api-url) is not usable: Invalid IPv6 URL",
        ),
        (
            ["--twilio-api-url", "http://", "sink", "list"],
            "Twilio API URL 'http://' (--twilio-api-url) is not usable: it names no host",
        ),
        (
            ["--twilio-api-url", "http://127.0.0.1:99999", "types", "list"],
            "(--twilio-api-url) is not usable: Port out of range",
        ),
    ],
)
def test_malformed_url_flags_are_config_errors(
    twilio_env: EventsEmulator, cli: CliRunner, argv: list[str], expected: str
) -> None:
    assert expected in one_error(cli(*argv), 3)


def test_malformed_endpoint_variable_names_the_variable(
    aws_env: str, cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_KINESIS", "http://[::1")
    line = one_error(cli("stream", "list"), 3)
    assert "(AWS_ENDPOINT_URL_KINESIS) is not usable: Invalid IPv6 URL" in line


# -- stream create --out: checked before anything is made; never loses the external id ------


@pytest.mark.parametrize("target", ["/proc/version", "/dev/null", "/proc/no-such-dir/x.json"])
def test_unwritable_out_is_refused_before_anything_is_created(
    aws_env: str, cli: CliRunner, target: str
) -> None:
    line = one_error(cli("stream", "create", "fuzzed", "1", "--out", target), 2)
    assert f"--out {target}" in line
    nothing_created(aws_env)


def test_out_failing_after_creation_prints_the_configuration(
    aws_env: str, cli: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The disk fills up between the check and the write (injected at the OS boundary)."""
    import errno

    from twilio_es_cli import files

    def disk_full(out: Path, data: bytes, *, mode: int = 0o600) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(out))

    monkeypatch.setattr(files, "write_private_atomic", disk_full)
    out = tmp_path / "twilio-sink.json"
    result = cli("stream", "create", "kept", "1", "--out", str(out))
    line = one_error(result, 1)
    assert "could not be written (No space left on device)" in line
    assert "the sink configuration is on stdout instead" in line
    config = json.loads(result.stdout)
    assert config["arn"].endswith(":stream/kept")
    iam = boto_client("iam", aws_env)
    role = iam.get_role(RoleName=config["role_arn"].rsplit("/", 1)[1])["Role"]
    trust = json.dumps(role["AssumeRolePolicyDocument"])
    assert config["external_id"] in trust  # the printed id is the one the role requires


# -- wrong exit codes and silent acceptance: exit 2, one line, before any call --------------


@pytest.mark.parametrize("name", ["bad name!", "", "a" * 129, "ströme", "x\n"])
def test_doctor_rejects_a_bad_stream_name(aws_env: str, cli: CliRunner, name: str) -> None:
    result = cli("doctor", "--stream", name)
    line = one_error(result, 2)
    assert "is not valid" in line
    assert "stream create" not in result.stderr
    assert result.stdout == ""  # no check ran


@pytest.mark.parametrize(
    "argv",
    [
        ["doctor", "--sink", ""],
        ["subscription", "list", "--sink", ""],
        ["subscription", "list", "--sink", " "],
        ["--region", "", "stream", "list"],
        ["--profile", "", "stream", "list"],
        ["--endpoint-url", "", "stream", "list"],
        ["--twilio-api-url", "", "sink", "list"],
        ["types", "show", ""],
        ["types", "list", "--schema", ""],
        ["sink", "create", "webhook", "--destination", "https://example.com/x", "--method", ""],
    ],
)
def test_empty_values_are_refused(
    twilio_env: EventsEmulator, aws_env: str, cli: CliRunner, argv: list[str]
) -> None:
    result = cli(*argv)
    one_error(result, 2)
    assert result.stdout == ""
    nothing_created(aws_env, twilio_env)


@pytest.mark.parametrize("rate", ["nan", "inf", "1e309", "-inf", "0"])
def test_local_emit_rate_must_be_finite(
    twilio_env: EventsEmulator, cli: CliRunner, rate: str
) -> None:
    line = one_error(cli("local", "emit", DELIVERED, "--rate", rate), 2)
    assert "--rate" in line and "finite number" in line  # the option's own check or coercion's


@pytest.mark.parametrize(
    "argv",
    [
        ["schema", "show", HUGE],
        ["schema", "versions", HUGE],
        ["types", "show", HUGE],
        ["types", "list", "--schema", HUGE],
        ["subscribe", "--sink", "DG" + "0" * 32, "--type", HUGE],
        ["sink", "show", HUGE],
        ["stream", "describe", HUGE],
        ["stream", "create", "s", "1", f"--{HUGE}"],
        [HUGE],
    ],
)
def test_huge_arguments_are_checked_before_any_call_and_not_echoed(
    twilio_env: EventsEmulator, cli: CliRunner, recorder: tuple[str, list[str]], argv: list[str]
) -> None:
    url, seen = recorder
    result = cli("--twilio-api-url", url, *argv)
    one_error(result, 2)
    assert seen == []  # never sent (it would have been HTTP 414)
    assert len(result.stderr) < 600
    assert "characters)" in result.stderr  # the echo says it was cut


def test_unknown_type_is_exit_4_in_every_command(
    twilio_env: EventsEmulator, cli: CliRunner
) -> None:
    """One meaning: a type the catalogue does not have is not found (exit 4), everywhere."""
    from tests.conftest import active_webhook_sink

    typo = "com.twilio.messaging.message.delivred"
    shown = cli("types", "show", typo)
    subscribed = cli("subscribe", "--sink", active_webhook_sink(), "--type", typo)
    for result in (shown, subscribed):
        assert f"Unknown event type '{typo}'" in one_error(result, 4)
        assert f"Did you mean {DELIVERED}" in result.stderr
    assert twilio_env.service.list_subscriptions() == []
    # Malformed (could never be a type) stays a usage error in both.
    assert one_error(cli("types", "show", "no such"), 2)
    assert one_error(cli("subscribe", "--sink", "DG" + "0" * 32, "--type", "a/b"), 2)


# -- deep nesting in files and --data: exit 2, one line ------------------------------------


@pytest.mark.parametrize(
    "text", ["[" * 100_000 + "]" * 100_000, '{"a":' * 50_000 + "1" + "}" * 50_000]
)
def test_deeply_nested_sink_config_file(
    twilio_env: EventsEmulator, cli: CliRunner, tmp_path: Path, text: str
) -> None:
    path = tmp_path / "deep.json"
    path.write_text(text)
    line = one_error(cli("sink", "create", "kinesis", "--config", str(path)), 2)
    assert "is not valid JSON (nested too deeply)" in line
    stdin = one_error(cli("sink", "create", "kinesis", "--config", "-", stdin=text), 2)
    assert "stdin is not valid JSON (nested too deeply)" in stdin
    assert twilio_env.service.list_sinks() == []


@pytest.mark.parametrize(
    "data", ["[" * 100_000, '{"a":' * 50_000 + "1" + "}" * 50_000, '{"a":' * 40 + "1" + "}" * 40]
)
def test_deeply_nested_emit_data(twilio_env: EventsEmulator, cli: CliRunner, data: str) -> None:
    assert "--data nests" in one_error(cli("local", "emit", DELIVERED, "--data", data), 2)


# -- usage errors: one line, a hint naming the help, our words --------------------------------


@pytest.mark.parametrize(
    ("argv", "message", "hint"),
    [
        (
            ["stream", "create", "X", "-1"],
            "error: no such option: '-1'",
            "see 'twilio-es stream create --help'",
        ),
        (
            ["stream", "create", "1", "twilio-events"],
            "error: SHARDS must be a whole number, not 'twilio-events'",
            "usage: twilio-es stream create [OPTIONS]",
        ),
        (
            ["stream", "list", "--region", "eu-west-1"],
            "error: --region is a global option: it goes before the command",
            "hint: put it first: twilio-es --region eu-west-1 stream list",
        ),
        (
            ["sink", "list", "--json", "--twilio-api-url=http://127.0.0.1:1"],
            "error: --twilio-api-url is a global option",
            "twilio-es --twilio-api-url=http://127.0.0.1:1 sink list --json",
        ),
        (["nosuch"], "error: No such command 'nosuch'", "see 'twilio-es --help'"),
        (
            ["stream", "create", "X", "1", "--retention-hours"],
            "error: Option '--retention-hours' requires an argument",
            "see 'twilio-es stream create --help'",
        ),
        (
            ["sink", "list", "--in-uze"],
            "error: no such option: '--in-uze'",
            "did you mean --in-use",
        ),
        (["stream", "create"], "error: missing argument NAME", "usage: twilio-es stream create"),
    ],
)
def test_usage_errors_are_one_line_and_a_hint(
    cli: CliRunner, argv: list[str], message: str, hint: str
) -> None:
    result = cli(*argv)
    line = one_error(result, 2)
    assert line.startswith(message), result.stderr
    assert hint in result.stderr.splitlines()[-1]
    assert "Input should be" not in result.stderr


def test_version_flag_works_like_the_command(cli: CliRunner) -> None:
    from twilio_es_cli import __version__

    flag, command = cli("--version"), cli("version")
    assert (flag.exit_code, flag.stdout, flag.stderr) == (0, f"twilio-es {__version__}\n", "")
    assert flag.stdout == command.stdout


def test_error_lines_stay_one_short_inert_line(capsys: pytest.CaptureFixture[str]) -> None:
    """The guard behind every message: whatever a message quotes, stderr gets two lines."""
    from twilio_es_cli import output

    output.error("name 'evil\x1b]0;title\x07\nerror: forged' " + "b" * 100_000, hint="x\ry")
    err = capsys.readouterr().err
    assert err.count("\n") == 2 and "\x1b" not in err and "\r" not in err
    assert "\\x1b]0;title\\x07\\nerror: forged" in err
    assert len(err) < 300 and "(100000 characters)" in err


# -- issue 20: the edges of the new features --------------------------------------------------


def _commands_with(option: str) -> list[list[str]]:
    """Every leaf command taking ``option`` (from the real command tree: none forgotten)."""
    import typer

    from twilio_es_cli.cli import app

    found: list[list[str]] = []

    def walk(command: Any, path: list[str]) -> None:
        subcommands = getattr(command, "commands", None)
        if isinstance(subcommands, dict):
            for name, sub in subcommands.items():
                walk(sub, [*path, name])
        elif any(option in getattr(p, "opts", ()) for p in command.params):
            found.append(path)

    walk(typer.main.get_command(app), [])
    return found


TIMEOUT_COMMANDS = _commands_with("--timeout")


def test_every_timeout_option_is_found() -> None:
    """The issue counted 8 commands that took `--timeout inf`: all are covered below."""
    assert len(TIMEOUT_COMMANDS) >= 8, TIMEOUT_COMMANDS


@pytest.mark.parametrize("value", ["inf", "Infinity", "1e309", "nan"])
@pytest.mark.parametrize("path", TIMEOUT_COMMANDS, ids=" ".join)
def test_infinite_timeouts_are_usage_errors(
    twilio_env: EventsEmulator, aws_env: str, cli: CliRunner, path: list[str], value: str
) -> None:
    line = one_error(cli(*path, "--timeout", value), 2)
    assert "--timeout" in line
    nothing_created(aws_env, twilio_env)


@pytest.mark.parametrize(
    "argv",
    [
        ["--twilio-profile", "", "sink", "list"],
        ["--twilio-profile", " ", "stream", "list"],
        ["stream", "create", "fz", "1", "--twilio-principal", ""],
        ["stream", "create", "fz", "1", "--twilio-principal", "  "],
    ],
)
def test_empty_principal_and_profile_are_refused(
    twilio_env: EventsEmulator, aws_env: str, cli: CliRunner, argv: list[str]
) -> None:
    line = one_error(cli(*argv), 2)
    assert "was given an empty value" in line
    nothing_created(aws_env, twilio_env)


@pytest.mark.parametrize("name", ["rölé", "role-\u0661", "ρόλος", "r\u00e9", "\uff52ole"])
def test_non_ascii_role_names_are_refused(
    aws_env: str, cli: CliRunner, tmp_path: Path, name: str
) -> None:
    """IAM allows [\\w+=,.@-] in ASCII only; Python's \\w takes any letter."""
    line = one_error(cli("stream", "create", "fz", "1", "--role-name", name), 2)
    assert "is not a valid IAM role name" in line
    policy = one_error(cli("stream", "create", "fz", "1", "--policy-name", name), 2)
    assert "is not a valid IAM policy name" in policy
    path = tmp_path / "f.yaml"
    path.write_text(
        "version: 1\nproject: p\nstreams:\n  s:\n    shards: 1\n"
        f"    role_name: {json.dumps(name)}\n",
        encoding="utf-8",
    )
    assert f"{path}:6: streams.s.role_name" in one_error(cli("plan", "-f", str(path)), 2)
    nothing_created(aws_env)


@pytest.mark.parametrize("principal", ["\u0661" * 12, "\uff11" * 12])  # Arabic, fullwidth
def test_non_ascii_account_ids_are_not_principals(
    aws_env: str, cli: CliRunner, principal: str
) -> None:
    line = one_error(cli("stream", "create", "fz", "1", "--twilio-principal", principal), 2)
    assert "neither an IAM ARN nor a 12-digit account id" in line
    nothing_created(aws_env)


BROKEN_URL = "http://[::1"


@pytest.mark.parametrize(
    "argv",
    [
        ["tail", "fz", "--no-follow", "--forward-to", BROKEN_URL],
        ["webhook", "listen", "--port", "0", "--forward-to", BROKEN_URL],
        ["webhook", "listen", "--port", "0", "--public-url", BROKEN_URL],
        ["webhook", "verify", "--url", BROKEN_URL, "--signature", "x"],
        ["webhook", "verify", "--url", "http://h:99999/", "--signature", "x"],
        ["sink", "validate", "DG" + "0" * 32, "--listener", BROKEN_URL],
        ["sink", "create", "webhook", "--destination", BROKEN_URL],
        ["sink", "create", "webhook", "--destination", "http://h:99999/"],
    ],
)
def test_broken_urls_in_webhook_options_are_usage_errors(
    twilio_env: EventsEmulator,
    aws_env: str,
    cli: CliRunner,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    argv: list[str],
) -> None:
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "0" * 32)
    one_error(cli(*argv), 2)
    body = tmp_path / "body.json"
    body.write_text("{}")
    one_error(cli("webhook", "sign", "--url", BROKEN_URL, "--body-file", str(body)), 2)
    nothing_created(aws_env, twilio_env)


@pytest.mark.parametrize(
    "capture",
    [
        json.dumps({"url": BROKEN_URL + "/x", "headers": {}, "body": ""}),
        "POST /e HTTP/1.1\r\nHost: [::1\r\n\r\n",
        '{"url": "http://h/", "x": ' + "[" * 100_000 + "]" * 100_000 + "}",
    ],
)
def test_captures_with_broken_urls_or_deep_json_are_usage_errors(
    cli: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capture: str
) -> None:
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "0" * 32)
    path = tmp_path / "capture"
    path.write_text(capture)
    one_error(cli("webhook", "verify", str(path)), 2)


def test_a_deeply_nested_capture_body_is_checked_not_crashed(
    cli: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The body a handler received is only bytes to hash: its depth does not matter."""
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "0" * 32)
    path = tmp_path / "capture.json"
    body = "[" * 100_000 + "]" * 100_000
    path.write_text(json.dumps({"url": "https://h/e", "headers": {}, "body": body}))
    result = cli("webhook", "verify", str(path))
    assert result.exit_code == 5, result.stderr  # invalid: no signature at all
    assert "unexpected" not in result.stderr


@pytest.mark.parametrize("deep", ["[" * 100_000 + "]" * 100_000, '{"a":' * 990 + "1" + "}" * 990])
def test_a_deeply_nested_twilio_cli_config_is_named(
    twilio_env: EventsEmulator, cli: CliRunner, monkeypatch: pytest.MonkeyPatch, deep: str
) -> None:
    monkeypatch.delenv("TWILIO_ACCOUNT_SID")
    monkeypatch.delenv("TWILIO_AUTH_TOKEN")
    config = Path(os.environ["HOME"]) / ".twilio-cli" / "config.json"
    config.parent.mkdir()
    config.write_text('{"profiles": ' + deep + "}")
    line = one_error(cli("sink", "list"), 3)
    assert f"Could not read twilio-cli's configuration {config}" in line


@pytest.mark.parametrize("columns", ["0", "1", "2", "9", "-1", "abc", "", "99999"])
@pytest.mark.parametrize("argv", [["stream", "list"], ["types", "list"], ["status"]])
def test_any_columns_value_still_draws_tables(
    twilio_env: EventsEmulator,
    aws_env: str,
    cli: CliRunner,
    monkeypatch: pytest.MonkeyPatch,
    columns: str,
    argv: list[str],
) -> None:
    boto_client("kinesis", aws_env).create_stream(StreamName="fz-cols", ShardCount=1)
    monkeypatch.setenv("COLUMNS", columns)
    result = cli(*argv)
    assert result.exit_code in (0, 5), result.stderr  # status: 5 when it finds problems
    assert "unexpected" not in result.stderr and result.stdout.strip()


def _shell(command: str, env: dict[str, str] | None = None) -> Result:
    """``twilio-es`` run by /bin/sh with redirections (closing a stream is the shell's job)."""
    import subprocess
    import sys

    proc = subprocess.run(
        ["/bin/sh", "-c", f'"$0" -m twilio_es_cli {command}', sys.executable],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
        check=False,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)


@pytest.fixture
def stream_with_unicode(aws_env: str) -> str:
    """A stream holding one CloudEvent whose data is not ASCII (and one beyond the BMP)."""
    from tests.conftest import wait_active

    kinesis = boto_client("kinesis", aws_env)
    kinesis.create_stream(StreamName="fz-unicode", ShardCount=1)
    wait_active(kinesis, "fz-unicode")
    event = {
        "specversion": "1.0",
        "type": DELIVERED,
        "source": "/x",
        "id": "EZ1",
        "time": "2026-01-01T00:00:00Z",
        "data": {"body": "中文 ünï 🙂", "to": "+15555550100"},
    }
    kinesis.put_record(StreamName="fz-unicode", Data=json.dumps(event).encode(), PartitionKey="k")
    return "fz-unicode"


# Each family runs in a real process once or twice here (a shell's redirections are the only
# honest way to close a stream); tests/fuzz/test_properties.py meets them in every command.
@pytest.mark.parametrize("fmt", ["pretty", "jsonl"])
def test_an_ascii_only_stdout_gets_escapes_not_a_crash(stream_with_unicode: str, fmt: str) -> None:
    result = _shell(
        f"tail {stream_with_unicode} --no-follow --from trim-horizon -o {fmt}",
        {"PYTHONIOENCODING": "ascii"},
    )
    assert result.exit_code == 0, result.stderr
    assert "unexpected" not in result.stderr and result.stdout.isascii()
    if fmt == "jsonl":  # still the same JSON: \u escapes
        assert json.loads(result.stdout)["data"]["body"] == "中文 ünï 🙂"
    elif fmt == "pretty":
        assert "\\u4e2d\\u6587" in result.stdout


@pytest.mark.parametrize(
    ("redirect", "reason"),
    [(">&-", "standard output is closed"), ("> /dev/full", "No space left on device")],
)
@pytest.mark.parametrize(
    "command", ["stream list --json", "tail fz-unicode --no-follow --from trim-horizon"]
)
def test_stdout_that_cannot_be_written_is_one_error(
    twilio_env: EventsEmulator, stream_with_unicode: str, command: str, redirect: str, reason: str
) -> None:
    result = _shell(f"{command} {redirect}")
    line = one_error(result, 1)
    assert f"cannot write to standard output: {reason}" in line


@pytest.mark.parametrize(
    ("command", "code", "message"),
    [
        ("plan -f -", 2, "stdin:1: the file is empty"),
        ("stream delete fz-unicode", 2, "Refusing without confirmation"),
    ],
)
def test_closed_stdin_reads_as_empty(
    twilio_env: EventsEmulator, stream_with_unicode: str, command: str, code: int, message: str
) -> None:
    result = _shell(f"{command} <&-", {"TWILIO_AUTH_TOKEN": "0" * 32})
    assert message in one_error(result, code)
