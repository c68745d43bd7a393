"""Shared test fixtures: real services on 127.0.0.1 and a way to run the CLI like a user.

- ``moto_server``: moto's server over real HTTP (session-wide; state reset per test by
  ``aws_env``). boto3 reaches it through ``AWS_ENDPOINT_URL`` exactly as a user's would.
- ``kinesis_local``: LocalStack's kinesis-mock for Node (npm ``kinesis-local``), for the things
  moto gets wrong (resharding, iterator expiry, ListShards paging).
- ``cli``: runs ``twilio-es`` in-process with a clean environment and captured stdout/stderr;
  ``cli_subprocess`` runs the installed console script in a fresh interpreter.
"""

from __future__ import annotations

import io
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Iterator, Mapping
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Literal, overload

import pytest

from tests.beside_clone import READS_BESIDE_CLONE
from tests.beside_clone import ROOT as ROOT  # tests import it from here

if TYPE_CHECKING:
    from botocore.awsrequest import AWSResponse
    from mypy_boto3_athena import AthenaClient
    from mypy_boto3_firehose import FirehoseClient
    from mypy_boto3_glue import GlueClient
    from mypy_boto3_iam import IAMClient
    from mypy_boto3_kinesis import KinesisClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sts import STSClient
    from twilio.rest import Client

    from tests.fixture_types import CliRunner, EventsEmulator, SubprocessRunner
    from tests.sandbox_support import RunningSandbox

DATA = ROOT / "tests" / "data"
REGION = "us-east-1"


@pytest.fixture(autouse=True)
def no_reads_beside_clone() -> Iterator[None]:
    """Fail the test that read beside the clone, even if the code that read caught the error."""
    before = len(READS_BESIDE_CLONE)
    yield
    refused = READS_BESIDE_CLONE[before:]
    if refused:
        pytest.fail(f"read beside the clone (a lone clone has nothing there): {refused[:3]}")


# Variables a developer's shell may carry that would leak into tests.
_SCRUB_PREFIXES = ("AWS_", "TWILIO_")


@dataclass
class Result:
    """What a user would see: exit code, stdout and stderr."""

    exit_code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        """The parsed stdout (JSON is untyped, as ``json.loads`` says)."""
        import json

        return json.loads(self.stdout)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Every test starts without the developer's AWS/Twilio settings and with a private HOME."""
    for name in list(os.environ):
        if name.startswith(_SCRUB_PREFIXES):
            monkeypatch.delenv(name, raising=False)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(home / "aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(home / "aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "200")


@pytest.fixture(scope="session")
def moto_server() -> Iterator[str]:
    """moto's server on 127.0.0.1 over real HTTP; yields its base URL.

    With the sandbox's Kinesis corrections (``local/kinesis_fix``) installed from the start:
    they patch moto for the whole process, so installing them only when a sandbox test runs
    would make every later test see a different Kinesis than the earlier ones.
    """
    from moto.server import ThreadedMotoServer

    from twilio_es_cli.local import kinesis_fix

    kinesis_fix.install()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def reset_moto(url: str) -> None:
    request = urllib.request.Request(f"{url}/moto-api/reset", method="POST", data=b"")
    with urllib.request.urlopen(request, timeout=10) as response:
        response.read()


@pytest.fixture
def aws_env(moto_server: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """Point boto3 (ours and the test's) at a freshly reset moto server; yields its URL."""
    reset_moto(moto_server)
    return point_aws_at(moto_server, monkeypatch)


def point_aws_at(url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """Point boto3 (ours and the test's) at the emulator at ``url`` with test credentials."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_REGION", REGION)
    return url


def wait_active(kinesis: Any, name: str) -> None:
    """Wait until stream ``name`` is ACTIVE again (after a create or a reshard)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        summary = kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]
        if summary["StreamStatus"] == "ACTIVE":
            return
        time.sleep(0.05)
    raise AssertionError(f"{name} did not become ACTIVE")


@overload
def boto_client(service: Literal["kinesis"], endpoint_url: str) -> KinesisClient: ...
@overload
def boto_client(service: Literal["iam"], endpoint_url: str) -> IAMClient: ...
@overload
def boto_client(service: Literal["sts"], endpoint_url: str) -> STSClient: ...
@overload
def boto_client(service: Literal["s3"], endpoint_url: str) -> S3Client: ...
@overload
def boto_client(service: Literal["glue"], endpoint_url: str) -> GlueClient: ...
@overload
def boto_client(service: Literal["firehose"], endpoint_url: str) -> FirehoseClient: ...
@overload
def boto_client(service: Literal["athena"], endpoint_url: str) -> AthenaClient: ...
def boto_client(service: str, endpoint_url: str) -> Any:
    """A plain boto3 client for arranging and checking state behind the CLI's back."""
    import boto3

    # The stubs overload boto3.client per service name; the overloads above pick ours.
    make: Any = boto3.client
    client = make(
        service,
        endpoint_url=endpoint_url,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    return client


def iam_document(value: object) -> dict[str, Any]:
    """A policy document from an IAM answer, as the dict boto3 decodes it into.

    boto3 URL-decodes and parses IAM's policy documents; the stubs type them as a string or a
    partial TypedDict (no ``Principal``), so tests read them through this checked narrowing.
    """
    assert isinstance(value, dict), value
    return value


def aws_response(url: str, status: int, headers: Mapping[str, str], raw: object) -> AWSResponse:
    """A botocore HTTP response, for ``before-send`` hooks that answer instead of AWS.

    botocore copies any mapping of headers into its HeadersDict; its stubs ask for HTTPHeaders,
    so the headers are built as one here once instead of silencing mypy at every fault.
    """
    from botocore.awsrequest import AWSResponse
    from botocore.compat import HTTPHeaders

    http_headers = HTTPHeaders()
    for name, value in headers.items():
        http_headers[name] = value
    return AWSResponse(url, status, http_headers, raw)


@pytest.fixture(scope="session")
def kinesis_local() -> Iterator[str]:
    """kinesis-local (npm, pinned 0.6.2) bound to 127.0.0.1; yields its plain-HTTP URL."""
    main_js = ROOT / "node_modules" / "kinesis-local" / "main.js"
    node = shutil.which("node")
    if node is None or not main_js.exists():
        pytest.fail("kinesis-local is not installed: run `npm ci` (the .ci/run script does)")
    plain, tls = _free_port(), _free_port()
    env = dict(os.environ)
    env.update(
        KINESIS_MOCK_PLAIN_PORT=str(plain),
        KINESIS_MOCK_TLS_PORT=str(tls),
        KINESIS_MOCK_CERT_PATH=str(main_js.parent / "server.json"),
        LOG_LEVEL="WARN",
        CREATE_STREAM_DURATION="10ms",
        DELETE_STREAM_DURATION="10ms",
        UPDATE_SHARD_COUNT_DURATION="10ms",
        SPLIT_SHARD_DURATION="10ms",
        MERGE_SHARDS_DURATION="10ms",
        REGISTER_STREAM_CONSUMER_DURATION="10ms",
        DEREGISTER_STREAM_CONSUMER_DURATION="10ms",
        START_STREAM_ENCRYPTION_DURATION="10ms",
        STOP_STREAM_ENCRYPTION_DURATION="10ms",
    )
    preload = ROOT / "tests" / "support" / "bind_loopback.js"
    yield from _serve("kinesis-local", [node, "-r", str(preload), str(main_js)], env, plain)


def _serve(name: str, argv: list[str], env: dict[str, str], port: int) -> Iterator[str]:
    """Run a server process until the fixture ends; yields its URL once ``port`` accepts.

    Its stderr goes to a file, not a pipe (a chatty server must never block), and is shown if
    it exits before listening. The body of every session-wide emulator fixture.
    """
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(argv, env=env, cwd=str(ROOT), stdout=subprocess.DEVNULL, stderr=log)
        try:
            _wait_listening(name, proc, port, log)
            yield f"http://127.0.0.1:{port}"
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)


def _wait_listening(name: str, proc: subprocess.Popen[bytes], port: int, log: IO[bytes]) -> None:
    deadline = time.monotonic() + 60
    while True:
        if proc.poll() is not None:
            log.seek(0)
            raise RuntimeError(f"{name} exited: {log.read().decode()[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{name} did not start within 60 s") from None
            time.sleep(0.1)


@pytest.fixture
def kinesis_local_env(kinesis_local: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """Point boto3 at kinesis-local (Kinesis only: it has no IAM/STS)."""
    return point_aws_at(kinesis_local, monkeypatch)


#: How long ministack keeps a SubscribeToShard open (AWS: 5 minutes). Short, so every EFO test
#: also renews its subscriptions from the ContinuationSequenceNumber, many times over.
MINISTACK_SUBSCRIPTION_SECONDS = 3


@pytest.fixture(scope="session")
def ministack() -> Iterator[str]:
    """ministack (PyPI, pinned 1.5.33; Kinesis only) on 127.0.0.1; yields its URL.

    The emulator whose SubscribeToShard boto3 can read (kinesis-local's lacks the
    initial-response event), so ``tail --efo`` is tested here. Its subscription length is
    its own module setting, shortened as kinesis-local's durations are through its env.
    """
    port = _free_port()
    env = dict(os.environ)
    env.update(GATEWAY_PORT=str(port), BIND_HOST="127.0.0.1", SERVICES="kinesis")
    env.update(LOG_LEVEL="WARNING")
    code = (
        "import ministack.services.kinesis as k; "
        f"k.SUBSCRIPTION_SECONDS = {MINISTACK_SUBSCRIPTION_SECONDS}; "
        "from ministack.app import main; main()"
    )
    yield from _serve("ministack", [sys.executable, "-c", code], env, port)


@pytest.fixture
def ministack_env(ministack: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """Point boto3 (ours and the test's) at ministack (Kinesis only)."""
    return point_aws_at(ministack, monkeypatch)


#: The services of ministack's analytics test bed: the archive at scale (``archive:`` in
#: twilio-es.yaml, ``query --athena``, ``archive --dir s3://``).
MINISTACK_ANALYTICS = "kinesis,firehose,s3,glue,athena,iam,sts,logs"


@pytest.fixture(scope="session")
def ministack_analytics(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A second ministack with Firehose, S3, Glue, Athena, IAM, STS and Logs beside Kinesis.

    With duckdb installed (the analytics extra) it delivers Kinesis records through Firehose
    (dynamic partitioning, Parquet conversion through the Glue table) into its S3 and runs
    Athena queries with DuckDB. Its differences from AWS are docs/analytics.md's ("Tested on
    ministack"); each test that meets one says so. Its files and log stay in a temporary
    directory of its own. Reset per test by ``ministack_analytics_env``.
    """
    work = tmp_path_factory.mktemp("ministack-analytics")
    port = _free_port()
    env = dict(os.environ)
    env.update(GATEWAY_PORT=str(port), BIND_HOST="127.0.0.1", SERVICES=MINISTACK_ANALYTICS)
    env.update(LOG_LEVEL="WARNING", SFTP_ENABLED="0", TMPDIR=str(work))
    env.update(S3_DATA_DIR=str(work / "s3"), STATE_DIR=str(work / "state"))
    code = "from ministack.app import main; main()"
    yield from _serve("ministack", [sys.executable, "-c", code], env, port)


def reset_ministack(url: str) -> None:
    request = urllib.request.Request(f"{url}/_ministack/reset", method="POST", data=b"")
    with urllib.request.urlopen(request, timeout=30) as response:
        response.read()


@pytest.fixture
def ministack_analytics_env(ministack_analytics: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """Point boto3 (ours and the test's) at a freshly reset analytics ministack."""
    reset_ministack(ministack_analytics)
    return point_aws_at(ministack_analytics, monkeypatch)


@pytest.fixture
def unique_name() -> str:
    """A stream name no other test uses (kinesis-local state lives for the whole session)."""
    return f"t-{uuid.uuid4().hex[:12]}"


def run_cli(args: list[str], *, stdin: str = "") -> Result:
    """Run ``twilio-es ARGS`` in-process against the current environment."""
    from twilio_es_cli.cli import run

    out, err = io.StringIO(), io.StringIO()
    old_stdin = sys.stdin
    sys.stdin = io.StringIO(stdin)
    try:
        with redirect_stdout(out), redirect_stderr(err):
            code = run(args)
    finally:
        sys.stdin = old_stdin
    return Result(code, out.getvalue(), err.getvalue())


@pytest.fixture
def cli() -> CliRunner:
    """``cli("stream", "list", "--json")`` -> :class:`Result` (in-process, clean env)."""

    def invoke(*args: str, stdin: str = "") -> Result:
        return run_cli(list(args), stdin=stdin)

    return invoke


def run_subprocess(
    args: list[str], *, env: Mapping[str, str] | None = None, timeout: float = 120, stdin: str = ""
) -> Result:
    """Run ``python -m twilio_es_cli ARGS`` in a fresh interpreter."""
    proc = subprocess.run(
        [sys.executable, "-m", "twilio_es_cli", *args],
        env=dict(os.environ if env is None else env),
        capture_output=True,
        text=True,
        timeout=timeout,
        input=stdin,
        cwd=os.getcwd(),
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)


@pytest.fixture
def cli_subprocess() -> SubprocessRunner:
    """Like ``cli`` but in a fresh interpreter (start-up, signals, pipes, real exit codes)."""

    def invoke(
        *args: str, env: Mapping[str, str] | None = None, timeout: float = 120, stdin: str = ""
    ) -> Result:
        return run_subprocess(list(args), env=env, timeout=timeout, stdin=stdin)

    return invoke


@pytest.fixture(scope="session")
def events_emulator(moto_server: str) -> Iterator[EventsEmulator]:
    """The project's Events v1 emulator (session-wide), writing into ``moto_server``."""
    from twilio_es_cli.local.emulator import EventsEmulator

    emulator = EventsEmulator(aws_endpoint_url=moto_server, region=REGION)
    emulator.start()
    yield emulator
    emulator.stop()


@pytest.fixture
def twilio_env(
    aws_env: str, events_emulator: EventsEmulator, monkeypatch: pytest.MonkeyPatch
) -> EventsEmulator:
    """Fresh emulator state and TWILIO_* pointing the CLI/SDK at it; returns the emulator."""
    events_emulator.reset()
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", events_emulator.account_sid)
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", events_emulator.auth_token)
    monkeypatch.setenv("TWILIO_ES_API_URL", events_emulator.url)
    return events_emulator


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[RunningSandbox]:
    """`twilio-es local up` in a process of its own on free ports, started as a user starts it
    (tests/sandbox_support.py); killed after the test if the test did not stop it."""
    from tests.sandbox_support import start_sandbox

    running = start_sandbox(tmp_path)
    yield running
    running.kill()


def run_on_terminal(
    args: list[str], *, columns: int, env: Mapping[str, str] | None = None, timeout: float = 120
) -> Result:
    """Run ``python -m twilio_es_cli ARGS`` with stdout on a pseudo-terminal ``columns`` wide.

    For what people see (pretty output, spinners). stdout is what the terminal showed, escape
    sequences included; stderr goes to a file so a chatty command cannot block on a full pipe.
    """
    import fcntl
    import pty
    import struct
    import tempfile
    import termios

    base = dict(os.environ if env is None else env)
    for name in ("COLUMNS", "LINES"):  # the terminal's own size must decide
        base.pop(name, None)
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 40, columns, 0, 0))
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "twilio_es_cli", *args], stdout=follower, stderr=err, env=base
        )
        os.close(follower)
        screen = Terminal(leader)
        screen.read_until(None, timeout=timeout)
        code = proc.wait(timeout=timeout)
        os.close(leader)
        err.seek(0)
        stderr = err.read().decode("utf-8", "replace")
    return Result(code, screen.seen.decode("utf-8", "replace"), stderr)


class Terminal:
    """The leader side of a pseudo-terminal: everything the program showed, read as it comes."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.seen = b""

    def read_until(self, marker: bytes | None, *, timeout: float = 60) -> bool:
        """Read until ``marker`` has been shown (None: until the program closes the terminal).

        False when the output ended first, or nothing came for ``timeout`` seconds.
        """
        import select

        while marker is None or marker not in self.seen:
            ready, _, _ = select.select([self.fd], [], [], timeout)
            if not ready:
                return False
            try:
                chunk = os.read(self.fd, 65536)
            except OSError:  # EIO: the child closed the terminal
                return False
            if not chunk:
                return False
            self.seen += chunk
        return True


def events_client() -> Client:
    """The project's twilio client for the Events API the environment points at (emulator)."""
    from twilio_es_cli.config import resolve_settings
    from twilio_es_cli.twilio_api import make_client

    return make_client(resolve_settings())


def active_webhook_sink() -> str:
    """An active sink made through the SDK over HTTP (webhook sinks are active at once)."""
    sink = events_client().events.v1.sinks.create(
        description="test hook",
        sink_configuration={"destination": "http://127.0.0.1:9/x", "method": "POST"},
        sink_type="webhook",
    )
    assert sink.status == "active"
    return str(sink.sid)


def pytest_configure(config: pytest.Config) -> None:
    """Byte-compile the package once, as an installed copy is, before any test runs it.

    Many tests start ``python -m twilio_es_cli`` (a user's process); with
    ``PYTHONDONTWRITEBYTECODE`` set, each would compile every module it imports again. Only
    the main process does it (xdist workers find it done)."""
    if not hasattr(config, "workerinput"):
        import compileall

        compileall.compile_dir(ROOT / "twilio_es_cli", quiet=1)


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """``-n auto``: two workers per core, at most 8.

    Most tests wait on a server or a subprocess rather than compute, so one worker per core
    leaves the cores half idle: on 2 cores, 4 workers took 4 min 44 s where 2 took 5 min 31 s.
    Each worker starts its own servers, hence the cap."""
    return min(8, 2 * (os.cpu_count() or 1))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that starts ministack, so ``.ci/lowest`` can leave them out; run the
    tests marked ``slow`` first.

    ministack pins botocore exactly; the lower-bounds run installs the oldest botocore our range
    allows, which ministack cannot run beside. Slow tests first: with parallel workers
    (pytest-xdist hands tests out in this order) the long ones start at once and the short ones
    fill the gaps, instead of one long test running alone at the end.
    """
    for item in items:
        names = getattr(item, "fixturenames", ())
        if "ministack" in names or "ministack_analytics" in names:
            item.add_marker(pytest.mark.ministack)
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)  # stable: same order
