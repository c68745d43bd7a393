"""The archive block's documents, checked against what AWS documents (no service needed).

What ministack cannot tell us: it ignores buffering hints and partition projection and
accepts any policy. So the documents are checked here against AWS's own rules: the table's
projection properties are Athena's documented names and values, the Firehose prefix and the
table's location template name the same folders, the error prefix has the expression Firehose
requires with dynamic partitioning, the buffers are within the limits of dynamic partitioning
and format conversion, and the role's policy allows exactly what Firehose needs (evaluated
with the project's policy evaluator, :func:`twilio_es_cli.iam.allows`).
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import pytest

from twilio_es_cli import iam as iamdoc
from twilio_es_cli.analytics.views import ARCHIVE, FAMILY_COLUMNS
from twilio_es_cli.infra.archive import spec as specs
from twilio_es_cli.infra.schema import ArchiveDecl

ACCOUNT = "123456789012"


def _spec(**fields: Any) -> specs.ArchiveSpec:
    decl = ArchiveDecl.model_validate({"stream": "shop-events", "bucket": "acme-lake", **fields})
    return specs.resolve(
        decl,
        project="shop",
        region="eu-west-1",
        account=ACCOUNT,
        subscribed=["com.twilio.messaging.message.failed", "com.twilio.messaging.message.sent"],
        today=date(2026, 3, 1),
    )


def test_table_has_the_archive_columns_and_the_two_partition_keys() -> None:
    table = _spec().table_input()
    names = [c["Name"] for c in table["StorageDescriptor"]["Columns"]]
    expected = [n for n, _, _ in ARCHIVE if n not in ("type", "date")]
    assert names == expected + [n for n, _ in FAMILY_COLUMNS]
    types = {c["Name"]: c["Type"] for c in table["StorageDescriptor"]["Columns"]}
    assert types["time"] == "timestamp" and types["error_code"] == "int"
    assert types["event_key"] == "bigint" and types["data"] == "string"
    assert table["PartitionKeys"] == [
        {"Name": "type", "Type": "string"},
        {"Name": "date", "Type": "date"},
    ]
    storage = table["StorageDescriptor"]
    assert storage["SerdeInfo"]["SerializationLibrary"].endswith("ParquetHiveSerDe")
    assert storage["Location"] == "s3://acme-lake/twilio-events/"


def test_projection_uses_athenas_documented_properties() -> None:
    """Athena's partition projection: enum and date types, NOW as the end of the range."""
    params = _spec(extra_types=["com.twilio.voice.x"]).table_input()["Parameters"]
    assert params["projection.enabled"] == "true"
    assert params["projection.type.type"] == "enum"
    assert params["projection.type.values"].split(",") == [
        "com.twilio.eventstreams.test-event",
        "com.twilio.messaging.message.failed",
        "com.twilio.messaging.message.sent",
        "com.twilio.voice.x",
    ]
    assert params["projection.date.type"] == "date"
    assert params["projection.date.format"] == "yyyy-MM-dd"
    assert params["projection.date.range"] == "2025-02-28,NOW"  # a year back, to now
    assert (params["projection.date.interval"], params["projection.date.interval.unit"]) == (
        "1",
        "DAYS",
    )
    assert params["storage.location.template"] == (
        "s3://acme-lake/twilio-events/type=${type}/date=${date}/"
    )
    # Every projected column has a type, and only the partition keys are projected.
    projected = {k.split(".")[1] for k in params if re.fullmatch(r"projection\.\w+\.type", k)}
    assert projected == {"type", "date"}


def test_an_existing_tables_projection_start_is_kept() -> None:
    table = {"Parameters": {"projection.date.range": "2024-05-01,NOW"}}
    first = specs.first_day_of(table)
    decl = ArchiveDecl.model_validate({"stream": "s", "bucket": "acme-lake"})
    spec = specs.resolve(
        decl, project="p", region="us-east-1", account=ACCOUNT, subscribed=(), first_day=first
    )
    assert spec.projection()["projection.date.range"] == "2024-05-01,NOW"
    assert specs.first_day_of({"Parameters": {"projection.date.range": "junk"}}) is None


def test_firehose_writes_the_folders_the_table_reads() -> None:
    spec = _spec(prefix="events/v1/")
    destination = spec.destination()
    written = (
        destination["Prefix"]
        .replace("!{partitionKeyFromQuery:type}", "${type}")
        .replace("!{partitionKeyFromQuery:date}", "${date}")
    )
    template = spec.projection()["storage.location.template"]
    assert f"s3://acme-lake/{written}" == template
    # The JQ query makes exactly the keys the prefix uses.
    query = spec.destination()["ProcessingConfiguration"]["Processors"][0]["Parameters"][0]
    assert query == {
        "ParameterName": "MetadataExtractionQuery",
        "ParameterValue": specs.EXTRACTION_QUERY,
    }
    keys = set(re.findall(r"(\w+): \.", specs.EXTRACTION_QUERY))
    assert keys == set(re.findall(r"partitionKeyFromQuery:(\w+)", destination["Prefix"]))


def test_firehose_destination_meets_dynamic_partitioning_rules() -> None:
    destination = _spec().destination()
    # With dynamic partitioning an error prefix is required and must name the error type.
    assert "!{firehose:error-output-type}" in destination["ErrorOutputPrefix"]
    assert destination["ErrorOutputPrefix"].startswith("twilio-events-errors/")
    assert destination["DynamicPartitioningConfiguration"]["Enabled"] is True
    assert destination["BufferingHints"] == {"SizeInMBs": 128, "IntervalInSeconds": 300}
    conversion = destination["DataFormatConversionConfiguration"]
    assert conversion["SchemaConfiguration"]["DatabaseName"] == "twilio_events"
    assert conversion["SchemaConfiguration"]["TableName"] == "archive"
    assert "ParquetSerDe" in conversion["OutputFormatConfiguration"]["Serializer"]
    assert "OpenXJsonSerDe" in conversion["InputFormatConfiguration"]["Deserializer"]
    # Format conversion refuses a compression besides the serializer's own.
    assert destination["CompressionFormat"] == "UNCOMPRESSED"


@pytest.mark.parametrize("size", [1, 32, 63, 129])
def test_buffers_below_what_dynamic_partitioning_allows_are_refused(size: int) -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        ArchiveDecl.model_validate({"stream": "s", "bucket": "acme-lake", "buffer_size_mb": size})


def test_role_trusts_only_firehose_of_this_account() -> None:
    trust = _spec().trust_policy()
    (statement,) = trust["Statement"]
    assert statement["Principal"] == {"Service": "firehose.amazonaws.com"}
    assert statement["Condition"] == {"StringEquals": {"sts:ExternalId": ACCOUNT}}


GRANTED = [
    ("kinesis:GetRecords", "arn:aws:kinesis:eu-west-1:123456789012:stream/shop-events"),
    ("kinesis:GetShardIterator", "arn:aws:kinesis:eu-west-1:123456789012:stream/shop-events"),
    ("kinesis:DescribeStream", "arn:aws:kinesis:eu-west-1:123456789012:stream/shop-events"),
    ("kinesis:ListShards", "arn:aws:kinesis:eu-west-1:123456789012:stream/shop-events"),
    ("s3:PutObject", "arn:aws:s3:::acme-lake/twilio-events/type=a/date=2026-01-01/x.parquet"),
    ("s3:PutObject", "arn:aws:s3:::acme-lake/twilio-events-errors/processing-failed/x"),
    ("s3:ListBucket", "arn:aws:s3:::acme-lake"),
    ("glue:GetTable", "arn:aws:glue:eu-west-1:123456789012:table/twilio_events/archive"),
    ("glue:GetTableVersions", "arn:aws:glue:eu-west-1:123456789012:database/twilio_events"),
    (
        "logs:PutLogEvents",
        "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/kinesisfirehose/"
        "shop-events-archive:log-stream:DestinationDelivery",
    ),
]
REFUSED = [
    ("kinesis:PutRecord", "arn:aws:kinesis:eu-west-1:123456789012:stream/shop-events"),
    ("kinesis:GetRecords", "arn:aws:kinesis:eu-west-1:123456789012:stream/other"),
    ("s3:PutObject", "arn:aws:s3:::acme-lake/athena-results/x.csv"),
    ("s3:PutObject", "arn:aws:s3:::acme-lake/elsewhere/x"),
    ("s3:PutObject", "arn:aws:s3:::other-bucket/twilio-events/x"),
    ("s3:DeleteObject", "arn:aws:s3:::acme-lake/twilio-events/x"),
    ("s3:ListBucket", "arn:aws:s3:::other-bucket"),
    ("glue:GetTable", "arn:aws:glue:eu-west-1:123456789012:table/twilio_events/other"),
    ("glue:UpdateTable", "arn:aws:glue:eu-west-1:123456789012:table/twilio_events/archive"),
    ("logs:PutLogEvents", "arn:aws:logs:eu-west-1:123456789012:log-group:/other:log-stream:x"),
]


@pytest.mark.parametrize(("action", "resource"), GRANTED)
def test_role_may_do_what_firehose_needs(action: str, resource: str) -> None:
    assert iamdoc.allows([_spec().permissions_policy()], action, resource)


@pytest.mark.parametrize(("action", "resource"), REFUSED)
def test_role_may_do_nothing_else(action: str, resource: str) -> None:
    assert not iamdoc.allows([_spec().permissions_policy()], action, resource)


def test_no_statement_grants_a_wildcard_resource() -> None:
    for statement in _spec().permissions_policy()["Statement"]:
        for resource in iamdoc.as_list(statement["Resource"]):
            assert resource != "*" and not resource.endswith(":*:*"), statement


def test_describe_answers_with_aws_defaults_are_not_drift() -> None:
    """AWS answers DescribeDeliveryStream with defaults the request never set."""
    spec = _spec()
    described = dict(spec.destination())
    described.update(
        S3BackupMode="Disabled",
        EncryptionConfiguration={"NoEncryptionConfig": "NoEncryption"},
        FileExtension="",
    )
    conversion = described["DataFormatConversionConfiguration"]
    conversion["InputFormatConfiguration"]["Deserializer"]["OpenXJsonSerDe"] = {
        "CaseInsensitive": True,
        "ConvertDotsInJsonKeysToUnderscores": False,
    }
    assert specs.destination_differences(spec, described) == []
    described["BufferingHints"] = {"SizeInMBs": 64, "IntervalInSeconds": 300}
    assert specs.destination_differences(spec, described) == [
        "buffering 64 MB / 300 s -> 128 MB / 300 s"
    ]


def test_table_differences_name_what_changed() -> None:
    spec = _spec()
    live = spec.table_input()
    assert specs.table_differences(spec, live) == []
    live["Parameters"] = {**live["Parameters"], "projection.enabled": "false"}
    live["Parameters"]["projection.type.values"] = "com.twilio.eventstreams.test-event,x.y"
    reasons = specs.table_differences(spec, live)
    assert "projection.enabled 'false' -> 'true'" in reasons
    assert "projected types - x.y" in reasons
    assert any(
        r.startswith("projected types + com.twilio.messaging.message.failed") for r in reasons
    )


def test_policy_comparison_ignores_order_sids_and_case() -> None:
    want = _spec().permissions_policy()
    shuffled = {
        "Version": "2012-10-17",
        "Statement": [
            {**s, "Sid": f"S{i}", "Action": [a.upper() for a in iamdoc.as_list(s["Action"])]}
            for i, s in enumerate(reversed(want["Statement"]))
        ],
    }
    assert not specs.document_differs(shuffled, want)
    fewer = {**want, "Statement": want["Statement"][1:]}
    assert specs.document_differs(fewer, want)
    assert specs.document_differs(None, want)


def test_long_names_fit_aws_limits() -> None:
    spec = _spec(stream="s" * 120, bucket="acme-lake")
    assert len(spec.delivery_name) <= 64 and len(spec.role_name) <= 64
    assert spec.delivery_name != _spec(stream="s" * 119).delivery_name
