"""The boto3 type stubs are a development dependency: the package never imports them at run time.

``aws.py`` and ``clients.py`` name ``mypy_boto3_kinesis.KinesisClient`` and friends for mypy
only (under ``TYPE_CHECKING``). A production install has boto3 but not boto3-stubs, so one
import of a stub module at run time would break every command there; this test environment
has the stubs installed, which is exactly why a stray import would go unnoticed without it.
"""

from __future__ import annotations

import subprocess
import sys

_PROGRAM = """
import importlib, pkgutil, sys
import twilio_es_cli
from twilio_es_cli.aws import AwsClients
from twilio_es_cli.clients import Clients
from twilio_es_cli.config import Settings

for module in pkgutil.walk_packages(twilio_es_cli.__path__, "twilio_es_cli."):
    if not module.name.endswith("__main__"):
        importlib.import_module(module.name)
env = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
settings = Settings(region="eu-west-1", endpoint_url="http://127.0.0.1:9", env=env)
aws = AwsClients(settings)
aws.kinesis(), aws.iam(), aws.sts(), aws.firehose(), aws.glue(), aws.athena(), aws.s3(), aws.logs()
Clients(settings).stream_kinesis("arn:aws:kinesis:us-west-2:123456789012:stream/x")
print(sorted(m for m in sys.modules if m.startswith(("mypy_boto3", "botocore_stubs"))))
"""


def test_no_stub_module_is_imported_by_the_package_or_its_clients() -> None:
    proc = subprocess.run(
        [sys.executable, "-c", _PROGRAM], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == "[]"
