"""The AWS path applies, proves and queries on ministack: plan -> apply -> plan (no changes),
Twilio's events through Firehose into Parquet in S3, partitioned by type and day, then the
named queries through Athena; status, doctor and export see the same archive.

Where ministack differs from AWS the test says so at the assertion that meets it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.archive_aws.conftest import objects, parquet_rows, put_events, write
from tests.conftest import boto_client
from tests.fixture_types import CliRunner, EventsEmulator
from twilio_es_cli.infra.archive.spec import table_columns

FILE = """
version: 1
project: shop
streams:
  shop-events:
    shards: 1
sinks:
  events:
    type: kinesis
    stream: shop-events
subscriptions:
  messaging:
    sink: events
    types:
      - com.twilio.messaging.message.delivered:6
      - com.twilio.messaging.message.failed:6
archive:
  stream: shop-events
  bucket: shop-lake
"""
DUCK = ("--athena", "--athena-dialect", "duckdb")  # ministack runs Athena's SQL on DuckDB


def test_apply_proves_and_queries(
    archive_env: str, ministack_events: EventsEmulator, cli: CliRunner, tmp_path: Path
) -> None:
    write(tmp_path / "twilio-es.yaml", FILE)
    planned = cli("plan", "--detailed-exitcode")
    assert planned.exit_code == 2, planned.stderr
    lines = planned.stdout.splitlines()
    order = [line.split(":")[0].strip() for line in lines if line.startswith("    + ")]
    assert order == [
        "+ stream shop-events",
        "+ bucket shop-lake",
        "+ glue database twilio_events",
        "+ glue table twilio_events.archive",
        "+ firehose role twilio-es-firehose-shop-events-archive-us-east-1",
        "+ athena workgroup twilio-es",
        "+ delivery stream shop-events-archive",
        "+ sink events",
        "+ subscription messaging",
    ]

    applied = cli("apply", "--yes", "--timeout", "30")
    assert applied.exit_code == 0, applied.stderr
    assert "delivery stream shop-events-archive is ACTIVE" in applied.stderr
    # The archive is made before the sink: the proof's test event is archived too.
    assert applied.stderr.index("[7/9] create delivery stream") < applied.stderr.index(
        "[8/9] create sink events"
    )
    again = cli("plan", "--detailed-exitcode")
    assert again.exit_code == 0, again.stdout + again.stderr
    assert "No changes" in again.stdout

    # Twilio delivers (the emulator puts one CloudEvent per record, data as a JSON string).
    ministack_events.emit(
        "com.twilio.messaging.message.failed", 2, {"errorCode": 30007, "from": "+15551110000"}
    )
    ministack_events.emit("com.twilio.messaging.message.delivered", 1, {"from": "+15552220000"})
    keys = objects(archive_env, "shop-lake", "twilio-events/", at_least=4)
    folders = {"/".join(k.split("/")[1:3]) for k in keys}
    day = keys[0].split("date=")[1][:10]
    assert folders == {
        f"type=com.twilio.eventstreams.test-event/date={day}",
        f"type=com.twilio.messaging.message.failed/date={day}",
        f"type=com.twilio.messaging.message.delivered/date={day}",
    }
    # ministack: one object per record (delivery inside PutRecords, no buffering) and a
    # yyyy/MM/dd/HH/ folder after the custom prefix; AWS writes files right under date=.
    assert all(k.endswith(".parquet") and len(k.split("/")) == 8 for k in keys), keys
    failed = next(k for k in keys if "message.failed" in k)
    names, rows = parquet_rows(archive_env, "shop-lake", failed, tmp_path)
    assert names == [c["Name"] for c in table_columns()]  # converted through the Glue table
    row = dict(zip(names, rows[0], strict=True))
    assert row["specversion"] == "1.0" and row["id"].startswith("EZ")
    assert json.loads(row["data"])["errorCode"] == 30007
    assert row["shard_id"] is None and row["error_code"] is None  # Firehose: the CloudEvent only

    answer = cli("query", *DUCK, "failures-by-sender", "--since", "1d", "--json")
    assert answer.exit_code == 0, answer.stderr
    assert answer.json() == [{"sender": "+15551110000", "error_code": 30007, "messages": 2}]
    assert "SUCCEEDED" in answer.stderr and "scanned" in answer.stderr
    chart = cli("query", *DUCK, "delivery-status", "--since", "1d", "--chart")
    assert chart.exit_code == 0, chart.stderr
    assert "failed" in chart.stdout and "delivered" in chart.stdout
    table = cli(
        "query",
        *DUCK,
        "SELECT type, count(*) AS n FROM events GROUP BY type ORDER BY n DESC, type",
        "--csv",
    )
    assert table.stdout.splitlines() == [
        "type,n",
        "com.twilio.messaging.message.failed,2",
        "com.twilio.eventstreams.test-event,1",
        "com.twilio.messaging.message.delivered,1",
    ]


def test_status_doctor_and_export_see_the_archive(
    archive_env: str, ministack_events: EventsEmulator, cli: CliRunner, tmp_path: Path
) -> None:
    write(tmp_path / "twilio-es.yaml", FILE)
    assert cli("apply", "--yes", "--timeout", "30").exit_code == 0
    status = cli("status", "--json")
    assert status.exit_code == 0, status.stderr
    (archive,) = status.json()["archives"]
    assert archive["name"] == "shop-events-archive" and archive["status"] == "ACTIVE"
    assert (archive["stream"], archive["bucket"], archive["prefix"]) == (
        "shop-events",
        "shop-lake",
        "twilio-events/",
    )
    assert (archive["database"], archive["table"], archive["project"]) == (
        "twilio_events",
        "archive",
        "shop",
    )

    doctor = cli("doctor", "--archive", "--json")
    assert doctor.exit_code == 0, doctor.stdout + doctor.stderr
    checks = {c["name"]: c for c in doctor.json()["checks"]}
    assert all(c["status"] in ("ok", "skip") for c in checks.values()), checks
    assert "trusts firehose.amazonaws.com" in checks["Firehose may assume the role"]["detail"]
    assert "test-event" in checks["last delivery"]["detail"]  # the proof's test event
    assert (
        "projected on type (3 types) and date"
        in checks["Glue table and its partition projection"]["detail"]
    )

    exported = cli("export", "-o", "exported.yaml")
    assert exported.exit_code == 0, exported.stderr
    text = (tmp_path / "exported.yaml").read_text()
    assert "archive:\n  stream: shop-events\n  bucket: shop-lake\n" in text
    replan = cli("plan", "-f", "exported.yaml", "--detailed-exitcode")
    assert replan.exit_code == 0, replan.stdout + replan.stderr


def test_changes_are_made_in_place(
    archive_env: str, ministack_events: EventsEmulator, cli: CliRunner, tmp_path: Path
) -> None:
    path = write(tmp_path / "twilio-es.yaml", FILE)
    assert cli("apply", "--yes", "--timeout", "30").exit_code == 0
    changed = FILE + (
        "  buffer_interval_seconds: 120\n"
        "  scan_limit_gb: 1\n"
        "  extra_types: [com.twilio.messaging.message.sent]\n"
    )
    write(Path(path), changed)
    planned = cli("plan")
    assert "~ glue table twilio_events.archive: update" in planned.stdout
    assert "projected types + com.twilio.messaging.message.sent" in planned.stdout
    assert "per-query scan limit none -> 1 GB" in planned.stdout
    assert "buffering 128 MB / 300 s -> 128 MB / 120 s" in planned.stdout
    applied = cli("apply", "--yes")
    assert applied.exit_code == 0, applied.stderr
    assert cli("plan", "--detailed-exitcode").exit_code == 0

    firehose = boto_client("firehose", archive_env)
    description: Any = firehose.describe_delivery_stream(DeliveryStreamName="shop-events-archive")
    destination = description["DeliveryStreamDescription"]["Destinations"][0]
    hints = destination["ExtendedS3DestinationDescription"]["BufferingHints"]
    assert hints == {"SizeInMBs": 128, "IntervalInSeconds": 120}
    glue = boto_client("glue", archive_env)
    table = glue.get_table(DatabaseName="twilio_events", Name="archive")["Table"]
    assert "com.twilio.messaging.message.sent" in table["Parameters"]["projection.type.values"]
    workgroup = boto_client("athena", archive_env).get_work_group(WorkGroup="twilio-es")
    assert workgroup["WorkGroup"]["Configuration"]["BytesScannedCutoffPerQuery"] == 1_000_000_000


def test_records_firehose_cannot_partition_go_to_the_error_prefix(
    archive_env: str, cli: CliRunner, tmp_path: Path
) -> None:
    write(
        tmp_path / "twilio-es.yaml",
        """
        version: 1
        streams: {raw: {shards: 1}}
        archive: {stream: raw, bucket: raw-lake}
        """,
    )
    assert cli("apply", "--yes").exit_code == 0
    put_events(archive_env, "raw", [b"not json at all", {"specversion": "1.0", "id": "x"}])
    errors = objects(archive_env, "raw-lake", "twilio-events-errors/", at_least=2)
    assert all(k.startswith("twilio-events-errors/processing-failed/") for k in errors), errors
    assert objects(archive_env, "raw-lake", "twilio-events/") == []
    doctor = cli("doctor", "--archive")
    assert doctor.exit_code == 0, doctor.stdout
    assert "warn" in doctor.stdout and "processing-failed" in doctor.stdout
    assert "not json at all" not in doctor.stdout  # the record itself is never shown


def test_existing_bucket_is_used_and_a_missing_one_is_not_made_when_told(
    archive_env: str, cli: CliRunner, tmp_path: Path
) -> None:
    write(
        tmp_path / "twilio-es.yaml",
        """
        version: 1
        streams: {s1: {shards: 1}}
        archive:
          stream: s1
          bucket: not-there-yet
          create_bucket: false
        """,
    )
    refused = cli("plan")
    assert refused.exit_code == 4
    assert "S3 bucket not-there-yet does not exist and archive.create_bucket is false" in (
        refused.stderr
    )
    assert "twilio-es.yaml:6" in refused.stderr

    s3 = boto_client("s3", archive_env)
    s3.create_bucket(Bucket="not-there-yet")
    planned = cli("plan")
    assert "bucket not-there-yet: unchanged" in planned.stdout
    assert cli("apply", "--yes").exit_code == 0
    # An existing bucket is never changed: no public-access block was put on it.
    assert "PublicAccessBlockConfiguration" not in _public_access(s3, "not-there-yet")


def _public_access(s3: Any, bucket: str) -> dict[str, Any]:
    try:
        found: dict[str, Any] = s3.get_public_access_block(Bucket=bucket)
    except s3.exceptions.ClientError:
        return {}
    return found


def test_the_archived_stream_must_exist_or_be_declared(
    archive_env: str, cli: CliRunner, tmp_path: Path
) -> None:
    write(
        tmp_path / "twilio-es.yaml",
        """
        version: 1
        archive: {stream: nowhere, bucket: some-lake}
        """,
    )
    result = cli("plan")
    assert result.exit_code == 4
    assert "Kinesis stream nowhere does not exist in us-east-1 (twilio-es.yaml:2)" in result.stderr


def test_apply_dry_run_shows_the_plan_and_makes_nothing(
    archive_env: str, cli: CliRunner, tmp_path: Path
) -> None:
    write(tmp_path / "twilio-es.yaml", FILE)
    result = cli("apply", "--dry-run")
    assert result.exit_code == 0, result.stderr
    assert "+ delivery stream shop-events-archive: create" in result.stdout
    assert "9 to create" in result.stdout
    assert boto_client("s3", archive_env).list_buckets().get("Buckets", []) == []
    assert cli("plan", "--detailed-exitcode").exit_code == 2  # still everything to do


def test_the_firehose_role_is_never_taken_for_twilios(
    archive_env: str, cli: CliRunner, tmp_path: Path
) -> None:
    """Both roles live under /twilio-es/ and name the stream; only Twilio's is Twilio's."""
    write(
        tmp_path / "twilio-es.yaml",
        """
        version: 1
        streams: {shop-events: {shards: 1}}
        archive: {stream: shop-events, bucket: shop-lake}
        """,
    )
    assert cli("apply", "--yes").exit_code == 0
    iam = boto_client("iam", archive_env)
    twilio_role = "twilio-es-shop-events-us-east-1"
    for name in iam.list_role_policies(RoleName=twilio_role)["PolicyNames"]:
        iam.delete_role_policy(RoleName=twilio_role, PolicyName=name)
    iam.delete_role(RoleName=twilio_role)
    planned = cli("plan")
    assert "has no IAM role for Twilio: create it" in planned.stdout
    assert "firehose role twilio-es-firehose-shop-events-archive-us-east-1: unchanged" in (
        planned.stdout
    )
    assert cli("apply", "--yes").exit_code == 0
    assert cli("plan", "--detailed-exitcode").exit_code == 0
