"""The one factory for service clients: AWS (boto3 through aws.py) and Twilio (twilio_api.py).

Commands used to build their clients each on their own, and the stream reader used by
``sink validate`` and ``quickstart`` was written twice word for word. A :class:`Clients` is
built from the invocation's :class:`Settings` (``cli._common.clients(ctx)``), builds each client
lazily and at most once, and is the single thing a test replaces to change what commands talk
to (put another ``Clients`` on the root context: ``cli._common.use_clients``).

Light at import: boto3, twilio and pydantic load only when a client is asked for.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from twilio_es_cli import arns

if TYPE_CHECKING:
    from mypy_boto3_kinesis import KinesisClient

    from twilio_es_cli.aws import AwsClients
    from twilio_es_cli.config import Settings
    from twilio_es_cli.models import StreamRef
    from twilio_es_cli.validation import ReadFn


class Clients:
    """Lazily built clients for one invocation's settings."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._aws: AwsClients | None = None
        self._twilio: Any = None

    def aws(self) -> AwsClients:
        """The AWS clients for the configured region (one per invocation)."""
        if self._aws is None:
            from twilio_es_cli import aws  # looked up at call time: tests may swap AwsClients

            self._aws = aws.AwsClients(self.settings)
        return self._aws

    def twilio(self) -> Any:
        """The Twilio REST client (one per invocation)."""
        if self._twilio is None:
            from twilio_es_cli.twilio_api import make_client

            self._twilio = make_client(self.settings)
        return self._twilio

    def stream_kinesis(self, stream: str) -> KinesisClient:
        """A Kinesis client for reading ``stream`` (name or ARN), in the region its ARN names.

        One botocore attempt per call: the reader's own backoff handles throttling, expired
        iterators and dropped connections, and can say so on stderr.
        """
        from twilio_es_cli import aws

        settings = self.settings
        region = arns.region_of(stream)
        if region and region != settings.region:
            # The ARN (e.g. from twilio-sink.json) says where the stream lives: ask that region.
            settings = dataclasses.replace(settings, region=region)
        return aws.AwsClients(settings, max_attempts=1).kinesis()

    def stream_reader(self, stream: StreamRef) -> ReadFn:
        """Read a sink's stream with these settings, in the stream's region (sink validate,
        quickstart); a region differing from the configured one is said once on stderr."""
        from twilio_es_cli import aws, output
        from twilio_es_cli.validation import reader_settings, stream_reader

        aws_settings, note = reader_settings(self.settings, stream)
        if note:
            output.warn(note)
        # The reader does its own backoff; botocore retries on top would only stretch the waits.
        return stream_reader(aws.AwsClients(aws_settings, max_attempts=1).kinesis(), stream.arn)
