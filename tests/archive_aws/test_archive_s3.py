"""``archive --dir s3://BUCKET/PREFIX``: the archive's layout in S3, its checkpoint copied
beside it, and events durable only once their file is PUT.

On ministack's S3 (real HTTP, real objects); the files are read back with DuckDB and queried
through ministack's Athena over a Glue table made from the archive block's own document.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.archive_aws.conftest import objects, parquet_rows, put_events
from tests.conftest import aws_response, boto_client
from tests.fixture_types import CliRunner

STREAM = "s3-archived"


def _message(n: int, status: str, *, as_object: bool = False) -> dict[str, Any]:
    data = {"messageSid": f"SM{n:032d}", "messageStatus": status.upper(), "from": "+15551110000"}
    return {
        "specversion": "1.0",
        "id": f"EZ{n:032d}",
        "source": "/v1/Accounts/AC1/Messaging.MessageStatus",
        "type": f"com.twilio.messaging.message.{status}",
        "time": "2026-02-01T10:15:00.000Z",
        "data": data if as_object else json.dumps(data),
    }


@pytest.fixture
def stream(ministack_analytics_env: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    kinesis, s3 = (
        boto_client("kinesis", ministack_analytics_env),
        boto_client("s3", ministack_analytics_env),
    )
    kinesis.create_stream(StreamName=STREAM, ShardCount=1)
    s3.create_bucket(Bucket="lake")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "machine-1"))
    put_events(
        ministack_analytics_env,
        STREAM,
        [_message(1, "failed"), _message(2, "delivered", as_object=True), b"not a cloudevent"],
    )
    return ministack_analytics_env


def _archive(cli: CliRunner, *extra: str) -> Any:
    return cli(
        "archive",
        STREAM,
        "--dir",
        "s3://lake/events",
        "--from",
        "trim-horizon",
        "--no-follow",
        *extra,
    )


def test_the_layout_goes_to_s3_with_the_checkpoint_beside_it(
    stream: str, cli: CliRunner, tmp_path: Path
) -> None:
    result = _archive(cli)
    assert result.exit_code == 0, result.stderr
    assert "archived 3 events into 3 files" in result.stderr
    assert "under s3://lake/events/" in result.stderr
    keys = objects(stream, "lake", "events/")
    day = "date=2026-02-01"
    assert [k.rsplit("/", 1)[0] for k in keys] == [
        "events/.archive",
        f"events/_not-cloudevents/{day[:5]}{_arrival_day(keys)}",
        f"events/type=com.twilio.messaging.message.delivered/{day}",
        f"events/type=com.twilio.messaging.message.failed/{day}",
    ]
    assert all(k.rsplit("/", 1)[1].startswith("part-") for k in keys if "/.archive/" not in k)
    failed = next(k for k in keys if "message.failed" in k)
    names, rows = parquet_rows(stream, "lake", failed, tmp_path)
    row = dict(zip(names, rows[0], strict=True))
    assert row["status"] == "failed" and row["shard_id"] == "shardId-000000000000"
    assert row["event_key"] is not None  # the writer's own files, family columns stored
    checkpoint = json.loads(
        boto_client("s3", stream)
        .get_object(Bucket="lake", Key="events/.archive/checkpoint.json")["Body"]
        .read()
    )
    assert checkpoint["stream"] == STREAM and checkpoint["shards"]


def _arrival_day(keys: list[str]) -> str:
    raw = next(k for k in keys if "_not-cloudevents" in k)
    return raw.split("date=")[1][:10]


def test_another_machine_goes_on_from_the_checkpoint_in_s3(
    stream: str, cli: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert _archive(cli).exit_code == 0
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "machine-2"))  # nothing local here
    again = _archive(cli)
    assert again.exit_code == 0, again.stderr
    assert (
        "resuming from the checkpoint in s3://lake/events/.archive/checkpoint.json" in again.stderr
    )
    assert "archived 0 events" in again.stderr
    put_events(stream, STREAM, [_message(3, "sent")])
    more = _archive(cli)
    assert "archived 1 events into 1 file" in more.stderr
    assert len([k for k in objects(stream, "lake", "events/") if k.endswith(".parquet")]) == 4


def test_an_event_whose_file_was_not_put_is_read_again(stream: str, tmp_path: Path) -> None:
    """A PUT that fails stops the run; nothing past it was checkpointed, so nothing is lost."""
    from twilio_es_cli.analytics.s3_archive import S3Location, run_s3_archive
    from twilio_es_cli.aws import AwsClients
    from twilio_es_cli.config import resolve_settings
    from twilio_es_cli.errors import TwilioEsError
    from twilio_es_cli.progress import Collect
    from twilio_es_cli.tail.options import TailOptions
    from twilio_es_cli.tail.positions import StartPosition

    settings = resolve_settings()
    options = TailOptions(start=StartPosition.trim_horizon(), explicit_start=True, follow=False)
    location = S3Location.parse("s3://lake/events")
    assert location is not None
    failing = AwsClients(settings)
    puts: list[str] = []

    def deny_parquet(request: Any, **_: Any) -> Any:
        if not request.url.split("?")[0].endswith(".parquet"):
            return None
        puts.append(request.url)
        if len(puts) == 1:
            return None  # the first file goes in
        body = b"<Error><Code>AccessDenied</Code><Message>injected</Message></Error>"
        return aws_response(request.url, 403, {"Content-Type": "application/xml"}, _Body(body))

    failing.s3().meta.events.register("before-send.s3.PutObject", deny_parquet)
    kinesis = AwsClients(settings).kinesis()
    with pytest.raises(TwilioEsError, match="AccessDenied"):
        run_s3_archive(
            kinesis,
            failing.s3(),
            STREAM,
            location,
            options,
            max_bytes=1,
            max_age=0,
            report=Collect(),
        )
    written = [k for k in objects(stream, "lake", "events/") if k.endswith(".parquet")]
    assert len(written) == 1

    summary = run_s3_archive(
        kinesis,
        AwsClients(settings).s3(),
        STREAM,
        location,
        options,
        max_bytes=1,
        max_age=0,
        report=Collect(),
    )
    assert summary.written.events >= 2  # what the failed run did not make durable, again
    ids = set()
    for key in objects(stream, "lake", "events/type="):
        names, rows = parquet_rows(stream, "lake", key, tmp_path)
        ids |= {dict(zip(names, row, strict=True))["id"] for row in rows}
    assert ids == {f"EZ{1:032d}", f"EZ{2:032d}"}  # every event in S3, none lost


class _Body:
    def __init__(self, payload: bytes) -> None:
        self.payload = payload

    def stream(self, **_: Any) -> Any:
        yield self.payload


def test_athena_reads_them_beside_firehoses_files(
    archive_env: str, cli: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """archive --dir s3:// into the archive block's prefix: the views see each event once,
    with the family columns the archive stored and those extracted from Firehose's files.

    ministack reads only the columns its files hold (AWS reads the table's, NULL where a file
    lacks one), so a query there needs a Firehose file (which holds every column of the
    table) beside archive's (which hold their family's): here, as in the intended use.
    """
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    (tmp_path / "twilio-es.yaml").write_text(
        f"version: 1\nstreams: {{{STREAM}: {{shards: 1}}}}\n"
        f"archive: {{stream: {STREAM}, bucket: lake, prefix: events/}}\n"
    )
    assert cli("apply", "--yes").exit_code == 0
    put_events(archive_env, STREAM, [_message(1, "failed"), _message(2, "delivered")])
    assert len(objects(archive_env, "lake", "events/type=", at_least=2)) == 2  # Firehose's
    assert _archive(cli).exit_code == 0
    assert len(objects(archive_env, "lake", "events/type=", at_least=4)) == 4  # and archive's
    duck = ("query", "--athena", "--athena-dialect", "duckdb")
    result = cli(*duck, "SELECT event_id, status, sender FROM messages ORDER BY event_id", "--json")
    assert result.exit_code == 0, result.stderr
    assert result.json() == [
        {"event_id": f"EZ{1:032d}", "status": "failed", "sender": "+15551110000"},
        {"event_id": f"EZ{2:032d}", "status": "delivered", "sender": "+15551110000"},
    ]
    metadata = cli(*duck, "SELECT count(*) AS n, count(shard_id) AS read FROM events", "--json")
    assert metadata.json() == [{"n": 2, "read": 2}]  # one row each; archive's metadata kept


@pytest.mark.parametrize("where", ["s3://Bad_Bucket/x", "s3://lake/a b/", "s3://"])
def test_a_location_that_cannot_be_written_is_a_usage_error(
    cli: CliRunner, where: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    result = cli("archive", "some-stream", "--dir", where)
    assert result.exit_code == 2
    assert "is not an S3 location twilio-es can write" in result.stderr
