"""One delivery attempt to a sink, the way Twilio makes it; failures carry Twilio's codes.

Kinesis: read the sink role's trust policy (IAM GetRole) and refuse unless it lets the
configured Twilio principal assume the role with the sink's external id, as AWS would (moto's
AssumeRole checks neither), then AssumeRole with the external id and PutRecords one CloudEvent
per record into the stream named by the sink's ARN, in the ARN's region, with ``data`` as a JSON
string (the form Twilio's Kinesis quickstart shows; ``kinesis_data_as_object`` writes it as an
object instead).

Webhook (:meth:`Deliverer.to_webhook`): one request carrying one CloudEvent, or a JSON array
with ``batch_events``. The destination is used exactly as configured: its query string goes out
byte for byte, ``bodySHA256`` is appended to it and the signature is computed over that URL
(:mod:`twilio_es_cli.signing`), so a handler validating against its configured URL with the
twilio SDK's ``RequestValidator`` succeeds. Credentials in the destination
(``https://user:pass@host/...``) become a Basic ``Authorization`` header (Twilio supports basic
auth there, not digest); the signed URL is the one without them, the only one a receiver can
rebuild. Redirects are not followed (a POST is never silently turned into a GET that drops the
event). ``method: GET`` sinks exist on Twilio (its sink resource page lists GET and POST) but no
page says how a GET carries an event: the sandbox sends the same JSON body and signature with
the GET, so nothing is lost and the handler sees what it would for a POST.

Every failure is a :class:`DeliveryError` with the Debugger code Twilio logs and whether Twilio
retries it, per its "Problems on delivery" FAQ: webhook 429, 5xx, timeouts and refused
connections are retried, other answers dropped (93101 either way); Kinesis 93101 write failed,
93102 assume-role failed and 93103 are retried, 93104 stream or region not found is dropped.
"""

from __future__ import annotations

import json
import threading
import urllib.parse
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from twilio_es_cli import arns
from twilio_es_cli.errors import NotFoundError, TwilioEsError

if TYPE_CHECKING:
    from mypy_boto3_kinesis.type_defs import PutRecordsRequestEntryTypeDef

    from twilio_es_cli.aws import AwsClients

WRITE_FAILED = 93101
ASSUME_ROLE_FAILED = 93102
SHARD_COUNT_FAILED = 93103
STREAM_NOT_FOUND = 93104
# "Problems on delivery" (Twilio's Event Streams FAQ): the Kinesis errors it retries.
KINESIS_RETRIED = frozenset({WRITE_FAILED, ASSUME_ROLE_FAILED, SHARD_COUNT_FAILED})
WEBHOOK_TIMEOUT_SECONDS = 5.0  # Twilio's webhook sink: "must respond within 5 seconds"
PUT_RECORDS_LIMIT = 500  # Kinesis' maximum records per PutRecords call
# Any credentials work against moto; the emulator plays "Twilio's AWS account".
EMULATOR_AWS_CREDENTIALS = {"AccessKeyId": "testing", "SecretAccessKey": "testing"}


class DeliveryError(Exception):
    """A sink could not receive an event: the Debugger ``code``, and whether Twilio retries."""

    def __init__(self, code: int, message: str, *, retry: bool | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.retry = code in KINESIS_RETRIED if retry is None else retry


def redact(url: str) -> str:
    """``url`` with the password of its credentials hidden (for logs and the queue view)."""
    parts = urllib.parse.urlsplit(url)
    if parts.password is None:
        return url
    userinfo, _, host = parts.netloc.rpartition("@")
    user = userinfo.partition(":")[0]
    return url.replace(parts.netloc, f"{user}:***@{host}", 1)


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def _principal_matches(candidate: str, principal: str) -> bool:
    """AWS treats ``123456789012`` and ``arn:aws:iam::123456789012:root`` as one principal."""
    if candidate in (principal, "*"):
        return True
    account = arns.account_of(principal)
    return candidate in (account, f"arn:aws:iam::{account}:root") and principal.endswith(":root")


def trust_problem(policy: Any, principal: str, external_id: str | None) -> str | None:
    """Why ``principal`` may not assume a role with this trust ``policy`` (None if it may).

    Follows AWS: an Allow statement for ``sts:AssumeRole`` naming the principal, whose
    ``StringEquals`` ``sts:ExternalId`` condition (if any) matches; an explicit Deny wins.
    """
    if isinstance(policy, str):
        policy = json.loads(urllib.parse.unquote(policy))
    statements = _as_list(policy.get("Statement")) if isinstance(policy, dict) else []
    allowed, reason = False, f"the trust policy does not name {principal}"
    for statement in statements:
        actions = [a.lower() for a in _as_list(statement.get("Action"))]
        if not {"sts:assumerole", "sts:*", "*"} & set(actions):
            continue
        raw_principal = statement.get("Principal")
        names = (
            ["*"]
            if raw_principal == "*"
            else _as_list((raw_principal or {}).get("AWS"))
            if isinstance(raw_principal, dict)
            else []
        )
        if not any(_principal_matches(str(name), principal) for name in names):
            continue
        condition = statement.get("Condition") or {}
        expected = _as_list((condition.get("StringEquals") or {}).get("sts:ExternalId"))
        if expected and external_id not in expected:
            reason = "the external id does not match the trust policy's sts:ExternalId"
            continue
        if statement.get("Effect") == "Deny":
            return f"the trust policy denies {principal}"
        if statement.get("Effect") == "Allow":
            allowed = True
    return None if allowed else reason


def _arn_parts(arn: str) -> tuple[str, str]:
    """(region, stream name) of ``arn:aws:kinesis:REGION:ACCOUNT:stream/NAME``."""
    parsed = arns.parse_stream(arn)
    if parsed is None:
        raise DeliveryError(STREAM_NOT_FOUND, f"{arn!r} is not a Kinesis stream ARN")
    return parsed.region, parsed.name


class Deliverer:
    """Writes events into sinks; AWS access goes through :class:`~twilio_es_cli.aws.AwsClients`."""

    def __init__(
        self,
        aws_endpoint_url: str | None,
        region: str,
        twilio_principal: str,
        *,
        auth_token: str = "",
        kinesis_data_as_object: bool = False,
        timeout: float = WEBHOOK_TIMEOUT_SECONDS,
    ) -> None:
        self.timeout = timeout
        self.aws_endpoint_url = aws_endpoint_url
        self.region = region
        self.twilio_principal = twilio_principal
        self.auth_token = auth_token  # signs webhook deliveries, as Twilio does
        self.kinesis_data_as_object = kinesis_data_as_object
        self._clients: dict[str, AwsClients] = {}
        self._lock = threading.Lock()

    def _aws(self, region: str) -> AwsClients:
        from twilio_es_cli.aws import AwsClients
        from twilio_es_cli.config import Settings

        with self._lock:
            if region not in self._clients:
                self._clients[region] = AwsClients(
                    Settings(endpoint_url=self.aws_endpoint_url, region=region),
                    credentials=dict(EMULATOR_AWS_CREDENTIALS),
                    max_attempts=2,
                )
            return self._clients[region]

    def deliver(self, sink_type: str, config: dict[str, Any], payload: Any) -> str:
        """One attempt: ``payload`` is a list of events (Kinesis), or the webhook body (one
        event, or a list with ``batch_events``). Returns what happened, for the queue view."""
        if sink_type == "kinesis":
            self.to_kinesis(config, payload)
            return f"{len(payload)} record(s) written"
        if sink_type == "webhook":
            return self.to_webhook(config, payload)
        return "accepted"  # segment/email: nothing to reach offline; the caller records them

    def _assume(self, config: dict[str, Any], region: str) -> AwsClients:
        from twilio_es_cli.aws import aws_errors

        role_arn = str(config.get("role_arn", ""))
        external_id = config.get("external_id")
        role_name = arns.role_name(role_arn) or role_arn.rsplit("/", 1)[-1]
        aws = self._aws(region)
        try:
            with aws_errors(f"read role {role_arn}"):
                role = aws.iam().get_role(RoleName=role_name)["Role"]
        except TwilioEsError as exc:
            raise DeliveryError(
                ASSUME_ROLE_FAILED, f"Could not assume role {role_arn}: {exc}"
            ) from exc
        if role.get("Arn") != role_arn:
            raise DeliveryError(ASSUME_ROLE_FAILED, f"Role {role_arn} does not exist")
        problem = trust_problem(
            role.get("AssumeRolePolicyDocument"), self.twilio_principal, external_id
        )
        if problem:
            raise DeliveryError(ASSUME_ROLE_FAILED, f"Could not assume role {role_arn}: {problem}")
        try:
            return aws.assume_role(role_arn, external_id, session_name="twilio-event-streams")
        except TwilioEsError as exc:
            raise DeliveryError(
                ASSUME_ROLE_FAILED, f"Could not assume role {role_arn}: {exc}"
            ) from exc

    def to_kinesis(self, config: dict[str, Any], events: Iterable[dict[str, Any]]) -> None:
        """One CloudEvent per record, partition key = event id; PutRecords in chunks of 500."""
        from twilio_es_cli.aws import aws_errors

        arn = str(config.get("arn", ""))
        region, stream = _arn_parts(arn)
        assumed = self._assume(config, region)
        records: list[PutRecordsRequestEntryTypeDef] = [
            {"Data": self.kinesis_record(e), "PartitionKey": str(e["id"])} for e in events
        ]
        for start in range(0, len(records), PUT_RECORDS_LIMIT):
            pending = records[start : start + PUT_RECORDS_LIMIT]
            for _attempt in range(3):  # retry only the records Kinesis refused (throttling)
                try:
                    with aws_errors(f"put records into {arn}"):
                        answer = assumed.kinesis().put_records(StreamName=stream, Records=pending)
                except NotFoundError as exc:
                    raise DeliveryError(
                        STREAM_NOT_FOUND, f"Stream {stream} not found in {region}: {exc}"
                    ) from exc
                except TwilioEsError as exc:
                    raise DeliveryError(
                        WRITE_FAILED, f"Failed to write to stream {arn}: {exc}"
                    ) from exc
                pending = [
                    record
                    for record, result in zip(pending, answer["Records"], strict=True)
                    if result.get("ErrorCode")
                ]
                if not pending:
                    break
            if pending:
                raise DeliveryError(
                    WRITE_FAILED, f"{len(pending)} records were refused by stream {arn}"
                )

    def kinesis_record(self, event: dict[str, Any]) -> bytes:
        """One record's bytes: the CloudEvent with ``data`` as a JSON string (by default)."""
        if not self.kinesis_data_as_object and not isinstance(event.get("data"), str):
            event = {**event, "data": json.dumps(event.get("data"), separators=(",", ":"))}
        return json.dumps(event, separators=(",", ":")).encode()

    def to_webhook(self, config: dict[str, Any], payload: Any) -> str:
        """Send ``payload`` (one event or a batch) as Twilio does; see the module docstring.

        The HTTP side is the project's own webhook poster (:mod:`twilio_es_cli.webhook.post`,
        which ``tail --forward-to`` uses too): credentials from the URL as Basic auth, no
        redirects followed, one timeout.
        """
        from twilio_es_cli.errors import UsageError
        from twilio_es_cli.signing import SIGNATURE_HEADER, sign_json_request
        from twilio_es_cli.webhook.post import Poster, Target

        destination = str(config.get("destination", ""))
        try:
            target = Target.parse(destination)
        except UsageError as exc:
            raise DeliveryError(
                WRITE_FAILED,
                f"Webhook destination {redact(destination)} is not usable: {exc}",
                retry=False,
            ) from exc
        method = "GET" if str(config.get("method") or "post").upper() == "GET" else "POST"
        body = json.dumps(payload).encode()
        url, signature = sign_json_request(self.auth_token, target.url, body)
        parts = urllib.parse.urlsplit(url)
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "Twilio-EventStreams",
            SIGNATURE_HEADER: signature,
        }
        poster = Poster(target, timeout=self.timeout)
        try:
            answer = poster.send(f"{parts.path or '/'}?{parts.query}", body, headers, method=method)
        finally:
            poster.close()
        if answer.status is None:
            raise DeliveryError(
                WRITE_FAILED,
                f"Webhook request to {redact(destination)} failed: {answer.error}",
                retry=True,
            )
        location = dict((k.lower(), v) for k, v in answer.headers).get("location")
        return _judge(answer.status, location, redact(destination))


def _judge(status: int, location: str | None, destination: str) -> str:
    """What Twilio does with an answer: 2xx done; 429 and 5xx retried; the rest dropped."""
    if 200 <= status < 300:
        return f"HTTP {status}"
    if status == 429 or status >= 500:
        raise DeliveryError(
            WRITE_FAILED, f"Webhook {destination} answered HTTP {status}; retrying", retry=True
        )
    if 300 <= status < 400:
        # Twilio documents no redirect handling; following a 301/302 as a GET would drop the
        # event, so the sandbox does not follow it and says where it pointed.
        raise DeliveryError(
            WRITE_FAILED,
            f"Webhook {destination} answered HTTP {status} (redirect to {location or '?'}); "
            "redirects are not followed, the event was dropped",
            retry=False,
        )
    raise DeliveryError(
        WRITE_FAILED,
        f"Webhook {destination} answered HTTP {status}; Twilio drops events on a 4xx other "
        "than 429",
        retry=False,
    )
