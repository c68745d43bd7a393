"""The offline sandbox: moto's server (Kinesis, IAM, STS) and the Events v1 emulator, together.

One object starts both on loopback inside this process and tells every other command how to
reach them (:meth:`Sandbox.env`). It backs ``twilio-es local up`` (a long-running process the
user's other shells point at) and ``twilio-es quickstart --local`` (in-process, throw-away).
moto's Kinesis is corrected to follow AWS's documented rules and gains enhanced fan-out
(:mod:`~twilio_es_cli.local.kinesis_fix`, served by :mod:`~twilio_es_cli.local.aws_server`);
how long it stays UPDATING, CREATING or subscribed is its :class:`~kinesis_fix.Timing`.
With a :class:`~twilio_es_cli.local.requestlog.RequestLog` (``local up``) both servers log one
line per request once started.

moto keeps its state in memory only. With a ``state_dir`` the sandbox snapshots what the user
built on AWS (streams with their records, IAM roles with their policies) when it stops and
re-creates it when it starts, so sinks saved by the emulator still point at real streams and
roles after a restart. moto's account id is fixed, so ARNs survive the round trip; Kinesis
sequence numbers do not (records are re-put in order).
"""

from __future__ import annotations

import json
import socket
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from twilio_es_cli.config import Settings
from twilio_es_cli.errors import ConfigError

if TYPE_CHECKING:
    from mypy_boto3_iam.type_defs import CreateRoleRequestTypeDef

    from twilio_es_cli.aws import AwsClients
    from twilio_es_cli.local.aws_server import AwsServer
    from twilio_es_cli.local.emulator import EventsEmulator
    from twilio_es_cli.local.kinesis_fix import Timing
    from twilio_es_cli.local.requestlog import RequestLog

REGION = "us-east-1"
SANDBOX_KEY = "testing"  # moto accepts any credentials; these are not secrets
SNAPSHOT_FILE = "aws-snapshot.json"
MAX_SNAPSHOT_RECORDS = 10_000  # per stream; a sandbox is for trying things, not for archives


def _check_port(host: str, port: int) -> None:
    if port == 0:
        return
    with socket.socket() as sock:
        # Like the servers themselves (http.server and werkzeug set SO_REUSEADDR): a port
        # whose last connections are still in TIME_WAIT after a restart is free to listen
        # on; only a live listener makes the bind fail.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            raise ConfigError(
                f"Port {port} on {host} is already in use",
                hint="Is another `twilio-es local up` running? Stop it, or pick other ports "
                "with --aws-port/--events-port (0 picks a free one).",
            ) from exc


class Sandbox:
    """moto server + Events emulator on loopback; a context manager."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        aws_port: int = 0,
        events_port: int = 0,
        state_dir: Path | None = None,
        legacy_validation: bool = False,
        timing: Timing | None = None,
        emulator_options: dict[str, Any] | None = None,
    ) -> None:
        self.host = host
        self.legacy_validation = legacy_validation
        # Passed on to EventsEmulator (local up's --time-scale, --public-url, --schema-url).
        self.emulator_options = dict(emulator_options or {})
        self.aws_port = aws_port
        self.events_port = events_port
        self.state_dir = state_dir
        self.timing = timing  # None: Timing.sandbox() (a second of UPDATING/CREATING)
        self._previous_timing: Timing | None = None
        self._moto: AwsServer | None = None
        self.emulator: EventsEmulator | None = None
        self.aws_url = ""

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> Sandbox:
        """Start both servers (and restore a saved snapshot); safe to call once.

        An unsupported moto (or none) is one :class:`ConfigError` line, before anything starts.
        """
        try:
            import moto.server  # noqa: F401 (the server extra: Flask, werkzeug)
        except ImportError as exc:
            raise ConfigError(
                "The offline sandbox needs moto's server, which is not installed",
                hint="Install the extra: pip install 'twilio-es[local]'",
            ) from exc
        from twilio_es_cli.local import kinesis_fix
        from twilio_es_cli.local.aws_server import AwsServer
        from twilio_es_cli.local.emulator import EventsEmulator

        kinesis_fix.install()  # moto's Kinesis differs from AWS's; see kinesis_fix's docstring
        _check_port(self.host, self.aws_port)
        _check_port(self.host, self.events_port)
        self._previous_timing = kinesis_fix.configure(self.timing or kinesis_fix.Timing.sandbox())
        self._moto = AwsServer(self.host, self.aws_port).start()
        self.aws_url = self._moto.url
        if self.state_dir is not None:
            self.state_dir.mkdir(parents=True, exist_ok=True)
            restore_aws(self.aws_clients(), self.state_dir / SNAPSHOT_FILE)
        self.emulator = EventsEmulator(
            aws_endpoint_url=self.aws_url,
            region=REGION,
            host=self.host,
            port=self.events_port,
            state_dir=None if self.state_dir is None else self.state_dir / "events",
            legacy_validation=self.legacy_validation,
            **self.emulator_options,
        )
        self.emulator.start()
        return self

    def log_requests(self, log: RequestLog | None) -> None:
        """Log every request to both servers on ``log`` from now on (None: stop logging)."""
        if self._moto is not None:
            self._moto.log = log
        if self.emulator is not None:
            self.emulator.request_log = None if log is None else log.events_hook

    def stop(self) -> None:
        """Snapshot (when keeping state) and stop both servers."""
        from twilio_es_cli.local import kinesis_fix

        self.log_requests(None)  # the snapshot's reads are the sandbox's, not the user's
        try:
            if self.state_dir is not None and self._moto is not None:
                snapshot_aws(self.aws_clients(), self.state_dir / SNAPSHOT_FILE)
        finally:
            if self.emulator is not None:
                self.emulator.stop()
                self.emulator = None
            if self._moto is not None:
                self._moto.stop()
                self._moto = None
            if self._previous_timing is not None:
                kinesis_fix.configure(self._previous_timing)
                self._previous_timing = None

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- how other commands reach it --------------------------------------------------------

    @property
    def events_url(self) -> str:
        if self.emulator is None:
            raise RuntimeError("sandbox not started")
        return self.emulator.url

    def env(self) -> dict[str, str]:
        """Environment that points every twilio-es command (and boto3, and the AWS CLI) here."""
        if self.emulator is None:
            raise RuntimeError("sandbox not started")
        return {
            "AWS_ENDPOINT_URL": self.aws_url,
            "AWS_ACCESS_KEY_ID": SANDBOX_KEY,
            "AWS_SECRET_ACCESS_KEY": SANDBOX_KEY,
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,  # what AWS CLI v1 and older SDKs read
            "TWILIO_ES_API_URL": self.emulator.url,
            "TWILIO_ACCOUNT_SID": self.emulator.account_sid,
            "TWILIO_AUTH_TOKEN": self.emulator.auth_token,
        }

    def settings(self, base: Settings | None = None) -> Settings:
        """Settings for in-process use (``quickstart --local``) without touching os.environ."""
        env = self.env()
        merged = {**(dict(base.env) if base else {}), **env}
        settings = base or Settings()
        return replace(
            settings,
            profile=None,
            region=REGION,
            endpoint_url=self.aws_url,
            twilio_api_url=self.events_url,
            env=merged,
        )

    def aws_clients(self) -> AwsClients:
        from twilio_es_cli.aws import AwsClients

        settings = Settings(region=REGION, endpoint_url=self.aws_url)
        return AwsClients(
            settings,
            credentials={"AccessKeyId": SANDBOX_KEY, "SecretAccessKey": SANDBOX_KEY},
        )


# -- AWS state snapshot (moto has no persistence of its own) -----------------------------------


def snapshot_aws(aws: AwsClients, path: Path) -> dict[str, Any]:
    """Write streams (with records) and IAM roles (with inline policies and tags) to ``path``."""
    from twilio_es_cli.shards import list_shards  # every page, parents and children alike

    kinesis, iam = aws.kinesis(), aws.iam()
    streams = []
    for name in kinesis.list_streams().get("StreamNames", []):
        summary = kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]
        mode = summary.get("StreamModeDetails", {}).get("StreamMode", "PROVISIONED")
        records: list[dict[str, str]] = []
        shards = list_shards(kinesis, name)
        for shard in shards:
            iterator = kinesis.get_shard_iterator(
                StreamName=name, ShardId=shard.shard_id, ShardIteratorType="TRIM_HORIZON"
            )["ShardIterator"]
            while iterator and len(records) < MAX_SNAPSHOT_RECORDS:
                page = kinesis.get_records(ShardIterator=iterator, Limit=1000)
                records.extend(
                    {"key": r["PartitionKey"], "data": r["Data"].decode("utf-8", "replace")}
                    for r in page["Records"]
                )
                if not page["Records"]:
                    break
                iterator = page.get("NextShardIterator")
        streams.append(
            {
                "name": name,
                "shards": summary.get("OpenShardCount", len(shards)),
                "mode": mode,
                "retention_hours": summary.get("RetentionPeriodHours", 24),
                "records": records,
            }
        )
    roles = []
    for role in iam.list_roles().get("Roles", []):
        name = role["RoleName"]
        full = iam.get_role(RoleName=name)["Role"]
        trust = full["AssumeRolePolicyDocument"]
        policies = {
            p: iam.get_role_policy(RoleName=name, PolicyName=p)["PolicyDocument"]
            for p in iam.list_role_policies(RoleName=name).get("PolicyNames", [])
        }
        roles.append(
            {
                "name": name,
                "path": full.get("Path", "/"),
                "trust": trust if isinstance(trust, str) else json.dumps(trust),
                "tags": full.get("Tags", []),
                "policies": {
                    k: v if isinstance(v, str) else json.dumps(v) for k, v in policies.items()
                },
            }
        )
    snapshot = {"streams": streams, "roles": roles}
    # Trust policies hold external ids: the snapshot is private to the user (0600).
    from twilio_es_cli.files import write_private_atomic

    write_private_atomic(path, json.dumps(snapshot).encode("utf-8"))
    return snapshot


def restore_aws(aws: AwsClients, path: Path) -> None:
    """Re-create what :func:`snapshot_aws` saved (no-op when there is no snapshot)."""
    if not path.exists():
        return
    snapshot = json.loads(path.read_text(encoding="utf-8"))
    kinesis, iam = aws.kinesis(), aws.iam()
    for role in snapshot.get("roles", []):
        kwargs: CreateRoleRequestTypeDef = {
            "RoleName": role["name"],
            "Path": role.get("path", "/"),
            "AssumeRolePolicyDocument": role["trust"],
        }
        if role.get("tags"):
            kwargs["Tags"] = role["tags"]
        iam.create_role(**kwargs)
        for policy_name, document in role.get("policies", {}).items():
            iam.put_role_policy(
                RoleName=role["name"], PolicyName=policy_name, PolicyDocument=document
            )
    for stream in snapshot.get("streams", []):
        if stream.get("mode") == "ON_DEMAND":
            kinesis.create_stream(
                StreamName=stream["name"], StreamModeDetails={"StreamMode": "ON_DEMAND"}
            )
        else:
            kinesis.create_stream(StreamName=stream["name"], ShardCount=int(stream["shards"]))
        if int(stream.get("retention_hours", 24)) > 24:
            kinesis.increase_stream_retention_period(
                StreamName=stream["name"], RetentionPeriodHours=int(stream["retention_hours"])
            )
        for record in stream.get("records", []):
            kinesis.put_record(
                StreamName=stream["name"],
                PartitionKey=record["key"],
                Data=record["data"].encode("utf-8"),
            )
