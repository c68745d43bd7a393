"""Fixtures for the archive at scale: ministack (Kinesis, Firehose, S3, Glue, Athena, IAM, STS,
Logs) and the project's Events emulator delivering into it as Twilio would.

ministack differs from AWS in ways each test that meets one says (docs/analytics.md, "Tested
on ministack"): it delivers inside PutRecords and ignores buffering hints, inserts
``yyyy/MM/dd/HH/`` folders after a custom prefix, reads partitions from folder names without
projection, and runs Athena's SQL with DuckDB (so queries go with ``--athena-dialect duckdb``;
the Trino text is checked in test_athena_sql.py).
"""

from __future__ import annotations

import json
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REGION, boto_client
from tests.fixture_types import EventsEmulator


@pytest.fixture(scope="session")
def ministack_events(ministack_analytics: str) -> Iterator[EventsEmulator]:
    """The Events emulator, its sinks' streams in the analytics ministack."""
    emulator = EventsEmulator(aws_endpoint_url=ministack_analytics, region=REGION)
    emulator.start()
    yield emulator
    emulator.stop()


@pytest.fixture
def archive_env(
    ministack_analytics_env: str,
    ministack_events: EventsEmulator,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> str:
    """A fresh ministack and emulator, TWILIO_* pointing at the emulator, the test's own
    folder as the working directory (where twilio-es.yaml is looked for); returns the URL."""
    ministack_events.reset()
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", ministack_events.account_sid)
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", ministack_events.auth_token)
    monkeypatch.setenv("TWILIO_ES_API_URL", ministack_events.url)
    monkeypatch.chdir(tmp_path)
    return ministack_analytics_env


def write(path: Path, text: str) -> str:
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return str(path)


def objects(url: str, bucket: str, prefix: str = "", *, at_least: int = 0) -> list[str]:
    """The keys under ``prefix``; waits (not a timed assertion: a bound on a wait) until there
    are ``at_least``, since ministack's S3 write lands just after PutRecords answers."""
    s3 = boto_client("s3", url)
    deadline = time.monotonic() + 30
    while True:
        pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        keys = [str(o["Key"]) for page in pages for o in page.get("Contents", [])]
        if len(keys) >= at_least or time.monotonic() > deadline:
            return sorted(keys)
        time.sleep(0.05)


def parquet_rows(url: str, bucket: str, key: str, tmp: Path) -> tuple[list[str], list[Any]]:
    """The column names and rows of one Parquet object (read with DuckDB)."""
    import duckdb

    path = tmp / "object.parquet"
    path.write_bytes(boto_client("s3", url).get_object(Bucket=bucket, Key=key)["Body"].read())
    relation = duckdb.connect().execute(f"SELECT * FROM read_parquet('{path}')")
    names = [d[0] for d in relation.description or []]
    return names, relation.fetchall()


def put_events(url: str, stream: str, events: list[Any]) -> None:
    """Put records as Twilio does: one CloudEvent JSON per record (bytes taken as given)."""
    kinesis = boto_client("kinesis", url)
    records = [
        {"Data": e if isinstance(e, bytes) else json.dumps(e).encode(), "PartitionKey": str(i)}
        for i, e in enumerate(events)
    ]
    answer = kinesis.put_records(StreamName=stream, Records=records)  # type: ignore[arg-type]
    assert answer.get("FailedRecordCount", 0) == 0
