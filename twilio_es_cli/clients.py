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
from twilio_es_cli.progress import TERMINAL, Reporter

if TYPE_CHECKING:
    from mypy_boto3_kinesis import KinesisClient

    from twilio_es_cli.aws import AwsClients
    from twilio_es_cli.config import Settings
    from twilio_es_cli.models import StreamRef
    from twilio_es_cli.tail.reader import ReadFn


class Clients:
    """Lazily built clients for one invocation's settings; ``report`` hears what building
    them has to say (reading a stream in another region than the configured one)."""

    def __init__(self, settings: Settings, report: Reporter = TERMINAL) -> None:
        self.settings = settings
        self.report = report
        self._aws: dict[str | None, AwsClients] = {}  # by region; None: the configured one
        self._twilio: Any = None

    def derived(self, settings: Settings) -> Clients:
        """A factory of the same kind for other settings (``quickstart --local`` points one at
        its sandbox), so a test's replacement factory reaches the sandbox's clients too."""
        return type(self)(settings, self.report)

    def aws(self, region: str | None = None) -> AwsClients:
        """The AWS clients for ``region`` (default: the configured one), built once per region.

        A region is for resources whose ARN says where they live (``doctor --sink`` asks the
        region of the sink's stream ARN, whatever --region says).
        """
        key = None if region is None or region == self.settings.region else region
        if key not in self._aws:
            from twilio_es_cli import aws  # looked up at call time: tests may swap AwsClients

            settings = self.settings
            if key is not None:
                settings = dataclasses.replace(settings, region=key)
            self._aws[key] = aws.AwsClients(settings)
        return self._aws[key]

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
        from twilio_es_cli import aws
        from twilio_es_cli.tail.reader import stream_reader

        aws_settings, note = _reader_settings(self.settings, stream)
        if note:
            self.report.warn(note)
        # The reader does its own backoff; botocore retries on top would only stretch the waits.
        return stream_reader(aws.AwsClients(aws_settings, max_attempts=1).kinesis(), stream.arn)


def _reader_settings(settings: Settings, stream: StreamRef) -> tuple[Settings, str | None]:
    """Settings to read a sink's stream: the region comes from its ARN.

    Returns the settings and, when they differ from the user's configured region, a note to
    show (reading the wrong region is the commonest "stream not found").
    """
    if settings.region == stream.region:
        return settings, None
    note = None
    if settings.region is not None:
        note = (
            f"reading stream {stream.name} in {stream.region} (from the sink's ARN), "
            f"not in your configured region {settings.region}"
        )
    return dataclasses.replace(settings, region=stream.region), note
