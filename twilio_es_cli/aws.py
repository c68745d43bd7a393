"""The only module that imports boto3/botocore: client factory and error translation.

Everything else asks :class:`AwsClients` for a client and wraps calls in :func:`aws_errors`, so
credentials, region, endpoint override (``--endpoint-url`` / ``AWS_ENDPOINT_URL``), timeouts and
retry policy are decided in one place, and every botocore failure becomes a one-line
:class:`~twilio_es_cli.errors.TwilioEsError` with the right exit code.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Literal, cast, overload

from twilio_es_cli.config import AWS_EXAMPLE, SANDBOX_HINT, Settings, check_url, is_loopback_url
from twilio_es_cli.errors import (
    ApiError,
    ConfigError,
    NotFoundError,
    TwilioEsError,
    UsageError,
    shown,
)

if TYPE_CHECKING:
    from botocore.session import Session as BotocoreSession

    # Type-checking only: the stubs (boto3-stubs, a test/dev dependency) are never imported
    # at run time, so production installs need nothing but botocore (tests/test_stubs_dev_only.py).
    from mypy_boto3_athena import AthenaClient
    from mypy_boto3_firehose import FirehoseClient
    from mypy_boto3_glue import GlueClient
    from mypy_boto3_iam import IAMClient
    from mypy_boto3_kinesis import KinesisClient
    from mypy_boto3_logs import CloudWatchLogsClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sts import STSClient
    from mypy_boto3_sts.type_defs import AssumeRoleRequestTypeDef

    AnyClient = (
        KinesisClient
        | IAMClient
        | STSClient
        | FirehoseClient
        | GlueClient
        | AthenaClient
        | S3Client
        | CloudWatchLogsClient
    )

#: The AWS services twilio-es talks to (each has its client type from boto3-stubs): Kinesis,
#: IAM and STS for streams and sinks; Firehose, Glue, Athena, S3 and CloudWatch Logs for the
#: archive at scale (the ``archive:`` block, ``query --athena``, ``archive --dir s3://``).
Service = Literal["kinesis", "iam", "sts", "firehose", "glue", "athena", "s3", "logs"]

# Error codes that mean "it is not there" across the services (Glue's EntityNotFound, S3's
# NoSuchBucket/NoSuchKey and the bare 404 of a HEAD request).
_NOT_FOUND_CODES = {
    "ResourceNotFoundException",
    "NoSuchEntity",
    "NoSuchEntityException",
    "EntityNotFoundException",
    "NoSuchBucket",
    "NoSuchKey",
    "404",
    "NotFound",
}
_AUTH_CODES = {
    "UnrecognizedClientException",
    "InvalidClientTokenId",
    "SignatureDoesNotMatch",
    "ExpiredToken",
    "ExpiredTokenException",
    "InvalidSignatureException",
    "AccessDenied",
    "AccessDeniedException",
}
_USAGE_CODES = {"ValidationException", "InvalidArgumentException", "ValidationError"}


class AwsClients:
    """Lazily built, profile/region/endpoint-aware botocore clients (one session per command).

    Tests point it at moto's server with ``endpoint_url``; the Events emulator reuses it to
    assume a sink's role and put records, exactly as Twilio would.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        credentials: dict[str, str] | None = None,
        max_attempts: int = 5,
    ) -> None:
        self.settings = settings
        self._credentials = credentials
        self._max_attempts = max_attempts
        self._session: BotocoreSession | None = None
        self._account: str | None = None
        self._clients: dict[str, AnyClient] = {}

    @property
    def session(self) -> BotocoreSession:
        """The botocore session; built on first use so ``--help`` never imports botocore.

        botocore's own session, as awscli uses: boto3's adds resources, S3 transfers and
        their imports (about 80 modules, ~25 ms of every command's start-up) and nothing
        for the clients made here.
        """
        if self._session is None:
            from botocore.exceptions import ProfileNotFound

            creds = self._credentials or {}
            try:
                with config_file_errors():
                    session = _botocore_session()
                    if self.settings.profile and not creds:
                        session.set_config_variable("profile", self.settings.profile)
                    if any(creds.values()):
                        session.set_credentials(
                            creds.get("AccessKeyId"),
                            creds.get("SecretAccessKey"),
                            creds.get("SessionToken"),
                        )
                    if self.settings.region is not None:
                        session.set_config_variable("region", self.settings.region)
                    # Reads the config and credentials files now, so a broken one (or a
                    # missing profile) is named here (exit 3) rather than deep inside the
                    # first request.
                    session.get_scoped_config()
            except ProfileNotFound as exc:
                raise ConfigError(
                    f"AWS profile {shown(self.settings.profile or '')} was not found",
                    hint="Check --profile / AWS_PROFILE against `aws configure list-profiles`.",
                ) from exc
            self._session = session
        return self._session

    @property
    def region(self) -> str:
        """The region every client uses; missing region is a configuration error (exit 3)."""
        region: str | None = self.session.get_config_variable("region")
        if not region:
            raise ConfigError(
                "No AWS region is configured",
                hint="Pass --region, or export AWS_REGION (e.g. us-east-1).",
            )
        return region

    @overload
    def client(self, service: Literal["kinesis"]) -> KinesisClient: ...
    @overload
    def client(self, service: Literal["iam"]) -> IAMClient: ...
    @overload
    def client(self, service: Literal["sts"]) -> STSClient: ...
    @overload
    def client(self, service: Literal["firehose"]) -> FirehoseClient: ...
    @overload
    def client(self, service: Literal["glue"]) -> GlueClient: ...
    @overload
    def client(self, service: Literal["athena"]) -> AthenaClient: ...
    @overload
    def client(self, service: Literal["s3"]) -> S3Client: ...
    @overload
    def client(self, service: Literal["logs"]) -> CloudWatchLogsClient: ...
    def client(self, service: Service) -> AnyClient:
        """A cached client for ``service`` honouring region, endpoint override and retries."""
        if service not in self._clients:
            from botocore.config import Config

            endpoint, source = self._endpoint_for(service)
            loopback = is_loopback_url(endpoint)
            config = Config(
                # On this machine a server answers at once or is not running.
                connect_timeout=1 if loopback else 5,
                read_timeout=30,
                retries={"max_attempts": self._max_attempts, "mode": "standard"},
                user_agent_extra="twilio-es",
            )
            if endpoint and service == "s3":
                # An endpoint override (an emulator, a VPC endpoint) has no bucket subdomains:
                # address buckets in the path there.
                config = config.merge(Config(s3={"addressing_style": "path"}))
            kwargs: dict[str, Any] = {"region_name": self.region, "config": config}
            if self.settings.endpoint_url:
                kwargs["endpoint_url"] = self.settings.endpoint_url
            if endpoint:
                check_url(endpoint, "AWS endpoint URL", source, example=AWS_EXAMPLE)
            from botocore.exceptions import InvalidRegionError

            try:
                with config_file_errors():
                    client = cast("AnyClient", self.session.create_client(service, **kwargs))
            except InvalidRegionError as exc:
                raise ConfigError(
                    f"AWS region {self.region!r} is not a valid region name",
                    hint="Pass --region (or AWS_REGION) as e.g. us-east-1.",
                ) from exc
            except ValueError as exc:  # botocore: "Invalid endpoint: http://"
                if not str(exc).startswith("Invalid endpoint"):
                    raise
                raise _bad_endpoint(endpoint or "?", source, str(exc)) from exc
            if loopback:
                # Before botocore's own retry handler, which is registered per service.
                event = f"needs-retry.{client.meta.service_model.service_id.hyphenize()}"
                client.meta.events.register_first(event, _no_retry_when_refused)
            self._clients[service] = client
        return self._clients[service]

    def _endpoint_for(self, service: str) -> tuple[str | None, str]:
        """The endpoint override ``service`` will use, and where it came from (for errors)."""
        if self.settings.endpoint_url:
            return self.settings.endpoint_url, "--endpoint-url"
        for name in (f"AWS_ENDPOINT_URL_{service.upper()}", "AWS_ENDPOINT_URL"):
            if self.settings.env.get(name):
                return self.settings.env[name], name
        return None, "--endpoint-url"

    def kinesis(self) -> KinesisClient:
        return self.client("kinesis")

    def iam(self) -> IAMClient:
        return self.client("iam")

    def sts(self) -> STSClient:
        return self.client("sts")

    def firehose(self) -> FirehoseClient:
        return self.client("firehose")

    def glue(self) -> GlueClient:
        return self.client("glue")

    def athena(self) -> AthenaClient:
        return self.client("athena")

    def s3(self) -> S3Client:
        return self.client("s3")

    def logs(self) -> CloudWatchLogsClient:
        return self.client("logs")

    def account_id(self) -> str:
        """The account these credentials act in (STS GetCallerIdentity, asked once): the
        archive's Glue, Logs and IAM ARNs and Firehose's trust condition name it."""
        if self._account is None:
            self._account = str(self.caller_identity()["Account"])
        return self._account

    def assume_role(
        self, role_arn: str, external_id: str | None, session_name: str = "twilio-es"
    ) -> AwsClients:
        """Clients acting as ``role_arn`` (what Twilio does when it writes to a sink's stream)."""
        with aws_errors(f"assume role {role_arn}"):
            kwargs: AssumeRoleRequestTypeDef = {
                "RoleArn": role_arn,
                "RoleSessionName": session_name,
            }
            if external_id:
                kwargs["ExternalId"] = external_id
            creds = self.sts().assume_role(**kwargs)["Credentials"]
        return AwsClients(
            self.settings,
            credentials={k: creds[k] for k in ("AccessKeyId", "SecretAccessKey", "SessionToken")},
            max_attempts=self._max_attempts,
        )

    def caller_identity(self) -> dict[str, Any]:
        """Who these credentials are (STS GetCallerIdentity): the cheapest proof that they work,
        and the account ``doctor`` compares with the sink's stream ARN."""
        with aws_errors("get the caller identity"):
            identity = self.sts().get_caller_identity()
        return dict(identity)


def _botocore_session() -> Any:
    """A botocore session whose responses parse epoch timestamps without dateutil.

    Why: botocore turns every epoch number (Kinesis' ``ApproximateArrivalTimestamp``, one per
    record) into a datetime in dateutil's ``tzlocal``, about 30 us each in pure Python: as much
    as the rest of a record's parsing, and then again whenever it is converted to UTC. The
    stdlib does it in under 1 us. Datetimes stay timezone-aware and name the same instant
    (they are in UTC instead of the machine's zone); strings (ISO 8601 in IAM/STS XML, rare
    epoch strings) still go through botocore's own parser.
    """
    import botocore.session

    session = botocore.session.get_session()
    # Lazily, as botocore registers its own: the data path is read once the profile is set.
    session.lazy_register_component(
        "data_loader", lambda: _data_loader(session.get_config_variable("data_path"))
    )
    factory = _parser_factory()  # and GetRecords answers parsed by wire.py
    factory.set_parser_defaults(timestamp_parser=parse_timestamp)
    session.register_component("response_parser_factory", factory)
    return session


@functools.cache
def _data_loader(data_path: str | None) -> Any:
    """botocore's model loader, one per process (per ``AWS_DATA_PATH``).

    Why: a new session parses endpoints.json and the Kinesis/IAM/STS models again (~0.2 s of
    JSON), although they never change in a process; doctor and sink validate make a second
    session for the assumed role, and the test suite runs the CLI a thousand times in one
    process. botocore's loader caches what it parsed, and sessions share it read-only (as all
    clients of one session already do).
    """
    from botocore.loaders import create_loader

    return create_loader(data_path)


def _parser_factory() -> Any:
    """botocore's response parser factory, whose JSON parser reads GetRecords fast.

    Why: for a 2,000-record GetRecords answer botocore's generic JSON walk cost more client
    CPU than everything else ``tail`` does per record. The GetRecords parser
    (:mod:`twilio_es_cli.tail.getrecords_parser`) parses that one answer to exactly botocore's
    result (the same ``json.loads``, then one loop per record planned from botocore's model)
    and declines anything unexpected, which botocore's own
    parser then handles as before. Only bodies of successful answers reach
    ``_handle_json_body``: errors, throttling and retries are botocore's, untouched. It is our
    session's component, so no other botocore user is changed.

    The safety net: these are botocore's private names. When one of them moved
    (:func:`wire_seam_problem`), botocore's own factory is returned: the same answers, parsed
    the slower way; tests/tail/test_getrecords_parser.py fails naming what moved.
    """
    from botocore.parsers import EventStreamJSONParser, JSONParser, ResponseParserFactory

    if wire_seam_problem() is not None:
        return ResponseParserFactory()

    from twilio_es_cli.tail import getrecords_parser as wire

    # Typed as Any: the stubs show only botocore's public names, and these are its internals
    # (tests/tail/test_getrecords_parser.py fails if they move).
    json_parser: Any = JSONParser
    event_parser: Any = EventStreamJSONParser
    factory_base: Any = ResponseParserFactory
    plans_of: dict[Any, Any] = {}  # output shape -> wire.answer_plan (None: not plannable)

    def fast(parser: Any, body: Any, shape: Any) -> dict[str, Any] | None:
        """``shape`` parsed from ``body`` by wire.py, or None (then botocore parses it)."""
        if not isinstance(body, bytes) or not _as_wire(parser):
            return None
        if shape not in plans_of:  # botocore makes a parser per answer: plan once
            plans_of[shape] = wire.answer_plan(shape)
        plans = plans_of[shape]
        if plans is None:
            return None
        timestamps = getattr(parser, "_timestamp_parser", None)
        if timestamps is None:
            return None
        return wire.parse_flat_answer(body, shape, plans, timestamps, parser._parse_shape)

    class FastEventsParser(event_parser):  # type: ignore[misc]
        """botocore's event-stream parser with wire.py for SubscribeToShard's record events."""

        def _parse_payload(
            self, response: Any, shape: Any, members: Any, final_parsed: dict[str, Any]
        ) -> None:
            whole_body = shape.serialization.get("event") and not any(
                m.serialization.get("eventpayload") for m in members.values()
            )
            if whole_body and shape.name == wire.SUBSCRIBE_TO_SHARD_EVENT:
                parsed = fast(self, response["body"], shape)
                if parsed is not None:
                    final_parsed.update(parsed)
                    return
            super()._parse_payload(response, shape, members, final_parsed)

    class FastRecordsParser(json_parser):  # type: ignore[misc]
        """botocore's JSON parser with :func:`wire.parse_flat_answer` for GetRecords."""

        EVENT_STREAM_PARSER_CLS = FastEventsParser

        def _handle_json_body(self, raw_body: Any, shape: Any) -> Any:
            if shape is not None and shape.name == wire.GET_RECORDS_OUTPUT:
                parsed = fast(self, raw_body, shape)
                if parsed is not None:
                    return parsed
            return super()._handle_json_body(raw_body, shape)

    class Factory(factory_base):  # type: ignore[misc]
        def create_parser(self, protocol_name: str) -> Any:
            if protocol_name == "json":
                return FastRecordsParser(**self._defaults)
            return super().create_parser(protocol_name)

    return Factory()


# botocore's private names the fast parser overrides or reads, with the arguments it passes
# (None: an attribute, not a method). Checked before it is installed: wire_seam_problem().
_WIRE_SEAM: tuple[tuple[str, str, tuple[str, ...] | None], ...] = (
    ("JSONParser", "_handle_json_body", ("self", "raw_body", "shape")),
    ("JSONParser", "_parse_shape", ("self", "shape", "node")),
    ("JSONParser", "_default_blob_parser", ("self", "value")),
    ("JSONParser", "EVENT_STREAM_PARSER_CLS", None),
    (
        "EventStreamJSONParser",
        "_parse_payload",
        ("self", "response", "shape", "member_shapes", "final_parsed"),
    ),
    ("ResponseParserFactory", "create_parser", ("self", "protocol_name")),
)
_WIRE_INSTANCE_SEAM = ("_timestamp_parser", "_blob_parser")  # set by ResponseParser.__init__


def wire_seam_problem() -> str | None:
    """What moved of the botocore internals :func:`_parser_factory` relies on, or None."""
    import botocore.parsers

    for owner, name, arguments in _WIRE_SEAM:
        found = getattr(getattr(botocore.parsers, owner, None), name, None)
        if found is None:
            return f"botocore.parsers.{owner}.{name} is gone"
        code = getattr(found, "__code__", None)
        if arguments is not None and (
            code is None or code.co_varnames[: len(arguments)] != arguments
        ):
            return f"botocore.parsers.{owner}.{name} no longer takes {arguments}"
    parser = botocore.parsers.JSONParser()
    missing = [name for name in _WIRE_INSTANCE_SEAM if not hasattr(parser, name)]
    if missing:
        return f"botocore's JSONParser no longer sets {', '.join(missing)}"
    if not isinstance(getattr(botocore.parsers.ResponseParserFactory(), "_defaults", None), dict):
        return "botocore's ResponseParserFactory has no _defaults"
    return None


def _as_wire(parser: Any) -> bool:
    """True while botocore's ``parser`` converts fields as :mod:`wire` assumes: plain types
    passed through unchanged, blobs with its own ``base64.b64decode``."""
    from twilio_es_cli.tail import getrecords_parser as wire

    if any(hasattr(parser, f"_handle_{name}") for name in wire.PLAIN_TYPES):
        return False
    # botocore's own default (the event-stream parser gets its outer parser's bound one)
    blob_parser = getattr(getattr(parser, "_blob_parser", None), "__func__", None)
    return blob_parser is not None and blob_parser is getattr(
        type(parser), "_default_blob_parser", None
    )


def parse_timestamp(value: Any) -> datetime:
    """A response timestamp as an aware datetime: epoch numbers in UTC, the rest as botocore."""
    if type(value) is float or type(value) is int:
        try:
            return datetime.fromtimestamp(value, timezone.utc)
        except (OverflowError, OSError, ValueError):
            pass  # out of the platform's range: botocore has a fallback for that
    from botocore.utils import parse_timestamp as botocore_parse

    parsed: datetime = botocore_parse(value)
    return parsed


def _no_retry_when_refused(caught_exception: BaseException | None = None, **_: Any) -> None:
    """botocore hook: a loopback endpoint that refuses the connection is not running, and
    retrying with backoff only makes the user wait for the same answer: fail at once."""
    from botocore.exceptions import ConnectTimeoutError, EndpointConnectionError

    if isinstance(caught_exception, EndpointConnectionError | ConnectTimeoutError):
        raise caught_exception


def _bad_endpoint(endpoint: str, source: str, why: str) -> ConfigError:
    """A malformed --endpoint-url / AWS_ENDPOINT_URL is configuration (exit 3), not a crash."""
    fix = "pass e.g. --endpoint-url http://127.0.0.1:4566"
    if source != "--endpoint-url":
        fix = f"fix or unset {source}, or " + fix
    return ConfigError(
        f"AWS endpoint URL {endpoint!r} ({source}) is not usable: {why}",
        hint=fix[0].upper() + fix[1:] + ".",
    )


def _config_file_error(exc: BaseException) -> ConfigError:
    """A config/credentials file botocore cannot parse: name it (exit 3), do not crash."""
    path = str(getattr(exc, "kwargs", {}).get("path") or "the AWS config file")
    return ConfigError(
        f"AWS configuration file {path} cannot be parsed",
        hint="Fix the file (INI sections like [default] with key = value lines), or point "
        "AWS_CONFIG_FILE / AWS_SHARED_CREDENTIALS_FILE at a good one.",
    )


@contextmanager
def config_file_errors() -> Iterator[None]:
    """Translate botocore's failures to read the config, credentials files or variables (exit 3)."""
    from botocore.exceptions import (
        ConfigParseError,
        NoCredentialsError,
        PartialCredentialsError,
    )

    try:
        yield
    except ConfigParseError as exc:
        raise _config_file_error(exc) from exc
    except (NoCredentialsError, PartialCredentialsError) as exc:
        # Raised while building a client (AWS_ACCESS_KEY_ID set, AWS_SECRET_ACCESS_KEY empty).
        raise translate(exc, "set up AWS credentials") from exc
    except UnicodeDecodeError as exc:  # a binary file botocore opened as text
        raise ConfigError(
            f"An AWS configuration file is not text: {exc.reason}",
            hint="Check AWS_CONFIG_FILE and AWS_SHARED_CREDENTIALS_FILE (default ~/.aws/config "
            "and ~/.aws/credentials).",
        ) from exc


def error_code(exc: BaseException | None) -> str | None:
    """The AWS error code of a botocore ``ClientError`` (None for anything else, and for no
    exception: ``error_code(translated.__cause__)`` reads the code behind a translated error)."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        code = response.get("Error", {}).get("Code")
        return str(code) if code else None
    return None


def translate(exc: BaseException, action: str) -> TwilioEsError:
    """Turn a botocore/boto3 exception into a user-facing error with a hint."""
    from botocore import exceptions as bce

    if isinstance(exc, bce.PartialCredentialsError):
        return ConfigError(
            f"AWS credentials are incomplete: {exc}",
            hint="Set both AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or neither, and use "
            "a profile).",
        )
    if isinstance(exc, bce.NoCredentialsError):
        return ConfigError(
            "No AWS credentials were found",
            hint="Configure credentials (aws configure, AWS_PROFILE, or AWS_ACCESS_KEY_ID/"
            "AWS_SECRET_ACCESS_KEY); for the offline sandbox run `twilio-es local up`.",
        )
    if isinstance(exc, bce.NoRegionError):
        return ConfigError(
            "No AWS region is configured", hint="Pass --region, or export AWS_REGION."
        )
    if isinstance(exc, bce.ConfigParseError):
        return _config_file_error(exc)
    if isinstance(exc, bce.ProfileNotFound):
        return ConfigError(str(exc), hint="Check --profile / AWS_PROFILE.")
    if isinstance(exc, bce.EndpointConnectionError | bce.ConnectTimeoutError) and is_loopback_url(
        str(getattr(exc, "kwargs", {}).get("endpoint_url", ""))
    ):
        return ApiError(
            f"Could not reach AWS to {action}: nothing is listening at "
            f"{exc.kwargs['endpoint_url']}",
            hint=f"{SANDBOX_HINT} Start it, or point --endpoint-url / AWS_ENDPOINT_URL at the "
            "URL it printed.",
        )
    if isinstance(exc, bce.EndpointConnectionError | bce.ConnectionClosedError):
        return ApiError(
            f"Could not reach AWS to {action}: {exc}",
            hint="Check your network, --region and --endpoint-url / AWS_ENDPOINT_URL.",
        )
    if isinstance(exc, bce.ClientError):
        code = error_code(exc) or "Error"
        message = exc.response.get("Error", {}).get("Message") or code
        text = f"AWS refused to {action}: {code}: {message}"
        if code in _NOT_FOUND_CODES:
            return NotFoundError(text)
        if code in _AUTH_CODES:
            return ConfigError(
                text,
                hint="Check that your AWS credentials are valid and allowed to do this "
                "(Kinesis, IAM and STS permissions).",
            )
        if code in _USAGE_CODES:
            return UsageError(text)
        return ApiError(text)
    if isinstance(exc, bce.BotoCoreError):
        return ApiError(f"AWS call failed while trying to {action}: {exc}")
    return ApiError(f"Failed to {action}: {exc}")


@contextmanager
def aws_errors(action: str) -> Iterator[None]:
    """Translate botocore exceptions raised inside the block (``action`` says what we tried)."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        yield
    except (ClientError, BotoCoreError) as exc:
        raise translate(exc, action) from exc


def sandbox_down(exc: BaseException) -> bool:
    """A connection to a loopback endpoint failed: the sandbox is not running (no retry)."""
    from botocore import exceptions as bce

    return isinstance(exc, bce.EndpointConnectionError | bce.ConnectTimeoutError) and (
        is_loopback_url(str(getattr(exc, "kwargs", {}).get("endpoint_url", "")))
    )


def is_connection_error(exc: BaseException) -> bool:
    """True for network-level failures worth retrying: unreachable, dropped, timed out.

    Used by long-running readers (``tail``) that retry on their own instead of failing.
    """
    from botocore import exceptions as bce

    return isinstance(exc, bce.ConnectionError | bce.HTTPClientError)


def http_status(exc: BaseException) -> int | None:
    """The HTTP status of a botocore ``ClientError`` (None for anything else)."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        return int(status) if status else None
    return None


# What a Kinesis reader may retry: throttling (back off) and outages (back off, say so).
THROTTLE_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "LimitExceededException",
        "ThrottlingException",
        "Throttling",
        "KMSThrottlingException",
        "RequestLimitExceeded",
    }
)
TRANSIENT_CODES = frozenset({"InternalFailure", "InternalFailureException", "ServiceUnavailable"})
THROTTLED, OUTAGE, REFUSED = "throttled", "outage", "refused"
NOT_IMPLEMENTED = 501  # the server lacks the operation: asking again cannot help


def classify(exc: BaseException) -> str:
    """The one retry classification of an AWS failure for the readers (reader.py, efo.py).

    ``THROTTLED`` (back off and retry), ``OUTAGE`` (connection lost, 5xx: retry, and tell the
    user while it lasts) or ``REFUSED`` (retrying cannot help: translate and stop).
    """
    if error_code(exc) in THROTTLE_CODES:
        return THROTTLED
    status = http_status(exc) or 0
    if (
        is_connection_error(exc)
        or error_code(exc) in TRANSIENT_CODES
        or (status >= 500 and status != NOT_IMPLEMENTED)
    ):
        return OUTAGE
    return REFUSED


def foreign_answer(exc: BaseException) -> str | None:
    """What a server answered instead of an AWS answer, or None when it was one.

    An HTTP error without an AWS error code (an HTML error page: botocore makes the status
    its code), a 501 Not Implemented, or a body botocore could not parse (a SubscribeToShard
    stream without ``initial-response``). For ``tail --efo``, which names the server's
    failing answer in one line instead of retrying it or quoting the page.
    """
    from botocore.parsers import ResponseParserError

    if isinstance(exc, ResponseParserError):
        first = (str(exc).strip().splitlines() or ["?"])[0][:120]
        return f"with a body botocore cannot read ({first})"
    status, code = http_status(exc), error_code(exc)
    if status is None or status < 400:
        return None
    if code is None or code.isdigit():
        return f"HTTP {status} without an AWS error code"
    if status == NOT_IMPLEMENTED:
        return f"HTTP 501 ({code})"
    return None


MAX_BACKOFF = 10.0  # seconds: the longest pause between two tries of one call


def backoff(attempt: int, base: float = 0.2) -> float:
    """Exponential backoff with full jitter (AWS architecture blog), capped: the one pause
    between retries of a reader's call (reader.py, efo.py, shards.py's listing)."""
    import random

    return random.uniform(0, min(MAX_BACKOFF, base * (2**attempt)))


def polls(
    timeout: float,
    sleep: Callable[[float], None] | None = None,
    *,
    growth: float = 1.6,
    cap: float = 5.0,
) -> Iterator[float]:
    """Yield the seconds left before each poll of something AWS is still making (a stream, a
    role, a delivery stream, a query), pausing between polls from 0.2 s up to ``cap``; the
    last yield is <= 0, and the caller then says what it waited for."""
    import time

    pause = sleep or time.sleep
    deadline = time.monotonic() + timeout
    delay = 0.2
    while True:
        left = deadline - time.monotonic()
        yield left
        if left <= 0:
            return
        pause(min(delay, left))
        delay = min(delay * growth, cap)


def stream_not_found(stream: str) -> NotFoundError:
    """The one "stream not found" error (exit 4) every reader raises, with the one hint."""
    from twilio_es_cli.arns import stream_name

    return NotFoundError(
        f"Kinesis stream {stream_name(stream)!r} was not found",
        hint="Check the name/ARN and --region: `twilio-es stream list`.",
    )


def is_stream_interrupted(exc: BaseException) -> bool:
    """True when a long-lived response body (a SubscribeToShard event stream) broke off.

    Reading an event stream goes straight to urllib3, so a dropped connection or a read
    timeout surfaces as urllib3's exception rather than botocore's; both mean "subscribe
    again from where we were", as :func:`is_connection_error` means "call again".
    """
    from botocore import exceptions as bce
    from urllib3 import exceptions as u3e

    return is_connection_error(exc) or isinstance(
        exc, bce.ReadTimeoutError | u3e.HTTPError | ConnectionError
    )


def as_connection_error(exc: BaseException) -> BaseException:
    """``exc`` as botocore's connection error (for retry policies that know only those)."""
    from botocore import exceptions as bce

    if is_connection_error(exc) or not isinstance(exc, Exception):
        return exc
    return bce.ConnectionError(error=exc)
