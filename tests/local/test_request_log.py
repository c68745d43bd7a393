"""The `local up` window: one line per request to either API, errors as one line, no traceback.

(``--debug`` adds the traceback of a failure inside the sandbox.)
"""

from __future__ import annotations

import io
import json
import re
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from tests.conftest import boto_client
from tests.sandbox_support import RunningSandbox, start_sandbox
from twilio_es_cli.local.requestlog import Entry, RequestLog, format_entry

LINE = re.compile(
    r"(?P<clock>\d\d:\d\d:\d\d)  (?P<method>\S+)\s+(?P<operation>\S.*?)\s+(?P<status>\d{3})"
    r"\s+(?P<millis>[\d,]+) ms(  (?P<detail>.*))?"
)


def test_a_line_has_time_method_operation_status_and_milliseconds() -> None:
    line = format_entry(Entry("POST", "Kinesis.PutRecords", 200, 3.4), when=0)
    found = LINE.fullmatch(line)
    assert found, line
    assert (found["method"], found["operation"], found["status"], found["millis"]) == (
        "POST",
        "Kinesis.PutRecords",
        "200",
        "3",
    )
    assert found["detail"] is None
    slow = format_entry(Entry("POST", "Kinesis.SubscribeToShard", 200, 300_004.0, "x"), when=0)
    assert " 300,004 ms  x" in slow


def test_request_text_cannot_drive_the_terminal_or_break_the_line() -> None:
    line = format_entry(
        Entry("GET", "Events /v1/\x1b[2J", 404, 1, "20404: not\nfound\x07" + "y" * 1000), when=0
    )
    assert "\x1b" not in line and "\n" not in line and "\x07" not in line
    assert "\\x1b[2J" in line and "not found" in line
    assert len(line) < 500


def test_debug_adds_the_traceback_and_only_then() -> None:
    quiet, loud = io.StringIO(), io.StringIO()
    entry = Entry("POST", "Kinesis.Foo", 500, 1, "InternalFailure: boom")
    RequestLog(quiet).record(entry, traceback="Traceback (most recent call last):\n  x\n")
    RequestLog(loud, debug=True).record(entry, traceback="Traceback (most recent call last):\n")
    assert quiet.getvalue().count("\n") == 1 and "Traceback" not in quiet.getvalue()
    assert loud.getvalue().splitlines()[1] == "Traceback (most recent call last):"


def _unimplemented(
    sandbox: RunningSandbox, operation: str = "DescribeAccountSettings"
) -> tuple[int, dict[str, str]]:
    """A Kinesis operation moto 5.2 lacks, sent the way botocore sends it (signed)."""
    request = urllib.request.Request(
        sandbox.env["AWS_ENDPOINT_URL"] + "/",
        data=b"{}",
        method="POST",
        headers={
            "X-Amz-Target": f"Kinesis_20131202.{operation}",
            "Content-Type": "application/x-amz-json-1.1",
            "Authorization": "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/kinesis/"
            "aws4_request, SignedHeaders=host, Signature=00",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def _requests(window: str) -> list[str]:
    return window.split("Ctrl-C stops.\n", 1)[1].split("Stopping the sandbox")[0].splitlines()


# moto answers only what its botocore's model knows: DescribeAccountSettings reaches moto (and
# its NotImplementedError) with the lock's botocore, not with the oldest we support (1.35.16).
@pytest.mark.newer_botocore
def test_the_window_shows_one_line_per_request_and_errors_in_one_line(tmp_path: Path) -> None:
    sandbox = start_sandbox(tmp_path)
    try:
        assert sandbox.run("stream", "create", "logged", "1", cwd=tmp_path).exit_code == 0
        kinesis = boto_client("kinesis", sandbox.env["AWS_ENDPOINT_URL"])
        try:
            kinesis.update_shard_count(
                StreamName="logged", TargetShardCount=4, ScalingType="UNIFORM_SCALING"
            )
        except ClientError as exc:
            assert exc.response["Error"]["Code"] == "InvalidArgumentException"
        status, body = _unimplemented(sandbox)
        assert (status, body["__type"]) == (501, "NotImplemented")
        assert sandbox.run("sink", "list", cwd=tmp_path).exit_code == 0
        assert sandbox.run("sink", "show", "DG" + "0" * 32, cwd=tmp_path).exit_code == 4
    finally:
        code, window = sandbox.stop()
    assert code == 0
    assert "Traceback" not in window and "HTTP/1.1" not in window
    lines = _requests(window)
    parsed = [LINE.fullmatch(line) for line in lines]
    assert all(parsed), [line for line, p in zip(lines, parsed, strict=True) if not p]
    seen = {(p["method"], p["operation"], p["status"]) for p in parsed if p}
    assert ("POST", "Kinesis.CreateStream", "200") in seen
    assert ("POST", "IAM.CreateRole", "200") in seen
    assert ("POST", "Kinesis.UpdateShardCount", "400") in seen
    assert ("POST", "Kinesis.DescribeAccountSettings", "501") in seen
    assert ("GET", "Events /v1/Sinks", "200") in seen
    details = {p["operation"]: p["detail"] for p in parsed if p and p["detail"]}
    assert details["Kinesis.UpdateShardCount"].startswith("InvalidArgumentException: ")
    assert details["Kinesis.DescribeAccountSettings"].startswith(
        "NotImplemented: The offline sandbox does not implement Kinesis.DescribeAccountSettings"
    )
    assert details[f"Events /v1/Sinks/DG{'0' * 32}"].startswith("91001: ")  # sink not found


@pytest.mark.newer_botocore
def test_debug_shows_the_traceback_of_a_failure(tmp_path: Path) -> None:
    sandbox = start_sandbox(tmp_path, env={"TWILIO_ES_DEBUG": "1"})  # as --debug does
    try:
        assert _unimplemented(sandbox)[0] == 501
    finally:
        code, window = sandbox.stop()
    assert code == 0
    after = window.split("Kinesis.DescribeAccountSettings", 1)[1]
    assert "Traceback (most recent call last):" in after
    assert "NotImplementedError" in after


def test_an_operation_nobody_knows_is_answered_as_aws_answers_it(tmp_path: Path) -> None:
    """AWS answers an unknown ``X-Amz-Target`` with 400 UnknownOperationException (moto: an
    empty 404, which SDKs report as a bare "Not Found"); one log line, no traceback."""
    sandbox = start_sandbox(tmp_path)
    try:
        status, body = _unimplemented(sandbox, "NoSuchOperation")
        assert (status, body["__type"]) == (400, "UnknownOperationException")
        kinesis = boto_client("kinesis", sandbox.env["AWS_ENDPOINT_URL"])
        assert kinesis.list_streams()["StreamNames"] == []  # still serving
    finally:
        code, window = sandbox.stop()
    assert code == 0 and "Traceback" not in window
    lines = [line for line in _requests(window) if "NoSuchOperation" in line]
    assert len(lines) == 1 and LINE.fullmatch(lines[0]), lines
    assert " 400 " in lines[0] and "UnknownOperationException" in lines[0]
