"""Resharding and AWS-style ListShards paging on kinesis-local (moto gets both wrong).

kinesis-local has no IAM: `describe` must still show the shards and only warn about the role.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from tests.conftest import boto_client
from tests.fixture_types import CliRunner
from twilio_es_cli import streams

if TYPE_CHECKING:
    from mypy_boto3_kinesis import KinesisClient


def _active_stream(kinesis_local_env: str, name: str, shards: int) -> KinesisClient:
    kinesis = boto_client("kinesis", kinesis_local_env)
    kinesis.create_stream(StreamName=name, ShardCount=shards)
    streams.wait_for_active(kinesis, name, timeout=60, sleep=time.sleep)
    return kinesis


def test_scale_then_describe_shows_closed_parent_and_open_children(
    cli: CliRunner, kinesis_local_env: str, unique_name: str
) -> None:
    _active_stream(kinesis_local_env, unique_name, 1)
    scaled = cli("stream", "scale", unique_name, "2", "--json")
    assert scaled.exit_code == 0, scaled.stderr
    assert scaled.json() == {"stream": unique_name, "old": 1, "new": 2, "status": "ACTIVE"}

    result = cli("stream", "describe", unique_name, "--json")
    assert result.exit_code == 0, result.stderr
    view = result.json()
    assert isinstance(view, dict)
    assert (view["open_shards"], view["closed_shards"]) == (2, 1)
    parents = [s["id"] for s in view["shards"] if not s["open"]]
    children = [s for s in view["shards"] if s["open"]]
    assert len(parents) == 1
    assert {c["parent"] for c in children} == {parents[0]}
    assert view["role"] is None
    assert "could not look up the IAM role" in result.stderr

    guard = cli("stream", "scale", unique_name, "5")
    assert guard.exit_code == 2
    assert "AWS allows 1 to 4" in guard.stderr


def test_delete_without_iam_says_nothing_was_deleted_and_keep_role_works(
    cli: CliRunner, kinesis_local_env: str, unique_name: str
) -> None:
    """An endpoint (or credentials) without IAM: refuse before deleting, and name the way out."""
    kinesis = _active_stream(kinesis_local_env, unique_name, 1)
    refused = cli("stream", "delete", unique_name, "--yes")
    assert refused.exit_code != 0
    assert "hint: Nothing was deleted. To delete only the stream, re-run with --keep-role" in (
        refused.stderr
    )
    assert streams.stream_summary(kinesis, unique_name) is not None

    kept = cli("stream", "delete", unique_name, "--yes", "--keep-role")
    assert kept.exit_code == 0, kept.stderr
    assert streams.stream_summary(kinesis, unique_name) is None


def test_list_on_an_endpoint_without_summaries(
    cli: CliRunner, kinesis_local_env: str, unique_name: str
) -> None:
    """kinesis-local answers ListStreams with names only: status and mode come from a
    DescribeStreamSummary per stream, as before."""
    _active_stream(kinesis_local_env, unique_name, 2)
    rows = cli("stream", "list", "--json").json()
    assert isinstance(rows, list)
    (row,) = [r for r in rows if r["name"] == unique_name]
    assert (row["status"], row["mode"]) == ("ACTIVE", "PROVISIONED")
    assert row["arn"].endswith(f":stream/{unique_name}")
