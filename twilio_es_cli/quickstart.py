"""`twilio-es quickstart`: stream + role -> kinesis sink -> validation -> subscription, in one go.

Each step is an existing core call: :func:`twilio_es_cli.streams.create`,
:class:`~twilio_es_cli.sinks.SinkService`, :class:`~twilio_es_cli.validation.Validator`,
:class:`~twilio_es_cli.subscriptions.Subscriptions` (with the catalogue's type resolution). This
module only decides what to reuse and in which order.

Why re-runs discover instead of keeping a state file: the resources themselves are the truth.
A state file goes stale the moment someone deletes a sink in the console or runs the command
from another directory; asking the APIs does not. So every step first looks for what an earlier
run (or the user, by hand) already made, and reports "already there" instead of making a twin:

1. ``streams.create`` recognises its own stream and role (by tag) and returns the same config;
2. a kinesis sink whose configuration names the same stream ARN, role ARN and external id is
   reused (a sink with another external id can never validate against this role);
3. an active sink is not validated again;
4. types already delivered to that sink (by any subscription on it) are not subscribed again,
   since a second subscription of the same type would deliver every event twice.

Event types are resolved against the catalogue *before* anything is created, so a typo costs
nothing. ``--local`` runs the same steps against an in-process :class:`~.local.sandbox.Sandbox`
(see :func:`run_local`) and then shows a few sample events through the tail's reader/renderer.
``--local --webhook`` (:func:`run_local_webhook`) is the webhook developer's variant: a
``webhook listen`` in a thread takes the stream's place, a webhook sink points at it, and
validation reads the test event back from the listener; the samples are shown as the listener
receives them, each with its signature verdict.
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, TextIO

from twilio_es_cli import arns, output, streams
from twilio_es_cli.catalog import AVAILABLE, Catalog, ResolvedType, TypeSpec, parse_type_spec
from twilio_es_cli.config import Settings
from twilio_es_cli.errors import CheckFailed, UsageError

if TYPE_CHECKING:
    from twilio_es_cli.models import KinesisSinkConfig, Sink, StreamRef
    from twilio_es_cli.subscriptions import Subscription
    from twilio_es_cli.tail import TailSummary
    from twilio_es_cli.validation import ReadFn

DEFAULT_STREAM = "twilio-events"
# Delivery receipts: what most people want to see first. `failed` is offered only while the
# catalogue lists it as available (it may be deprecated in favour of `undelivered`).
DEFAULT_TYPES = (
    "com.twilio.messaging.message.delivered",
    "com.twilio.messaging.message.undelivered",
    "com.twilio.messaging.message.failed",
)
DEFAULT_SUBSCRIPTION_DESCRIPTION = "twilio-es quickstart"
STREAM_TIMEOUT = streams.DEFAULT_TIMEOUT  # waiting for ACTIVE, unless --timeout
VALIDATE_TIMEOUT = 120.0  # waiting for the test event, unless --timeout
SAMPLE_EVENTS = 5  # --local: events emitted and shown
LOCAL_TAIL_TIMEOUT = 15.0  # --local: give up showing them after this long
STEPS = 5
LISTENER_PATH = "/events"  # --local --webhook: the sink's destination on the listener
CREATED, ALREADY_THERE, VALIDATED = "created", "already there", "validated"


# --------------------------------------------------------------------------- input


@dataclass(frozen=True)
class Request:
    """Validated input of `quickstart` (see :func:`make_request`)."""

    stream: str
    shards: int
    specs: tuple[TypeSpec, ...]  # empty: the default types, checked against the catalogue
    description: str | None
    timeout: float | None
    principal: str


def make_request(
    stream: str,
    shards: int,
    types: Sequence[str],
    *,
    description: str | None,
    timeout: float | None,
    principal: str,
) -> Request:
    """Check every input before any remote call (exit 2 on the first problem)."""
    from twilio_es_cli import iam

    streams.validate_stream_name(stream)
    streams.validate_shard_count(shards, "--shards")
    specs = tuple(parse_type_spec(t) for t in types)
    if description is not None:
        description = description.strip()
        if not description:
            raise UsageError("--description must not be empty")
    if timeout is not None:
        streams.validate_timeout(timeout)
    return Request(
        stream=stream,
        shards=shards,
        specs=specs,
        description=description,
        timeout=timeout,
        principal=iam.normalize_principal(principal),
    )


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class Step:
    """One finished step: its number, a short name, what happened and the details."""

    number: int
    name: str
    result: str  # CREATED | ALREADY_THERE | VALIDATED
    detail: str

    def to_dict(self) -> dict[str, Any]:
        return {"step": self.number, "name": self.name, "result": self.result}


class Reporter(Protocol):
    def step(self, step: Step) -> None: ...  # a finished step
    def note(self, text: str) -> None: ...  # context while a step runs


def _subscription_dict(sid: str, types: list[tuple[ResolvedType, str]]) -> dict[str, Any]:
    """The subscription part of both quickstarts' `--json` summaries."""
    return {
        "sid": sid,
        "types": [
            {"type": r.type, "schema_version": r.schema_version, "subscription_sid": sub}
            for r, sub in types
        ],
    }


@dataclass
class Outcome:
    """Everything the quickstart made or found. ``config`` holds the external id: never render
    it except into the sink-config file the user asked for."""

    stream_name: str
    config: KinesisSinkConfig
    sink: Sink
    subscription: Subscription
    types: list[tuple[ResolvedType, str]]  # (requested type as subscribed, subscription sid)
    default_types: bool
    steps: list[Step] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """The `--json` summary (no external id)."""
        return {
            "stream": {"name": self.stream_name, "arn": self.config.arn},
            "role_arn": self.config.role_arn,
            "sink": {"sid": self.sink.sid, "status": self.sink.status},
            "subscription": _subscription_dict(self.subscription.sid, self.types),
            "default_types": self.default_types,
            "steps": [s.to_dict() for s in self.steps],
        }


# --------------------------------------------------------------------------- the steps


def matching_sinks(sinks: Sequence[Sink], config: KinesisSinkConfig) -> list[Sink]:
    """Kinesis sinks writing to ``config``'s stream through its role with its external id.

    Best first: active, then in progress, then failed (validation can still rescue those).
    A sink whose view omits the external id is taken as matching on stream and role alone.
    """
    order = {"active": 0, "validating": 1, "initialized": 2, "failed": 3}
    found = []
    for sink in sinks:
        conf = sink.sink_configuration
        if sink.sink_type != "kinesis":
            continue
        if conf.get("arn") != config.arn or conf.get("role_arn") != config.role_arn:
            continue
        if conf.get("external_id") not in (None, "", config.external_id):
            continue
        found.append(sink)
    return sorted(found, key=lambda s: order.get(s.status or "", 4))


def covered_types(
    subscriptions: Sequence[Subscription], wanted: Sequence[ResolvedType]
) -> dict[str, tuple[int | None, str]]:
    """Wanted types some subscription already delivers: type -> (its version, subscription).

    A type the user pinned must have that version; one resolved to "latest" matches any
    version (an earlier run pinned the latest of its day, and that is still what was asked).
    """

    def fits(sub: Subscription, resolved: ResolvedType) -> bool:
        have = {t.type: t.schema_version for t in sub.types}
        return resolved.type in have and (
            resolved.latest or have[resolved.type] == resolved.schema_version
        )

    # The subscription delivering most of the wanted types first: one that has them all is
    # named alone rather than mixed with partial ones.
    ranked = sorted(subscriptions, key=lambda sub: -sum(fits(sub, r) for r in wanted))
    covered: dict[str, tuple[int | None, str]] = {}
    for sub in ranked:
        have = {t.type: t.schema_version for t in sub.types}
        for resolved in wanted:
            if resolved.type not in covered and fits(sub, resolved):
                covered[resolved.type] = (have[resolved.type], sub.sid)
    return covered


def default_specs(catalog: Catalog) -> list[TypeSpec]:
    """The default types the catalogue offers as available (at least the first one)."""
    status = {t.type: t.status for t in catalog.types()}
    chosen = [name for name in DEFAULT_TYPES if status.get(name) == AVAILABLE]
    return [TypeSpec(name) for name in chosen or DEFAULT_TYPES[:1]]


class _ValidationReporter:
    """Validator progress as sub-notes of step 3 (muted when the cores are quieted)."""

    def __init__(self, reporter: Reporter, *, muted: bool) -> None:
        self.reporter = reporter
        self.muted = muted

    def step(self, text: str) -> None:
        if not self.muted:
            self.reporter.note(text)

    def note(self, text: str) -> None:
        if not self.muted:
            self.reporter.note(text)


class Quickstart:
    """The five steps over an AWS ``Clients`` and a twilio client; ``reader_for`` reads a sink's
    stream for validation (bind it with :func:`reader_for`)."""

    def __init__(
        self,
        aws: streams.Clients,
        twilio_client: Any,
        reporter: Reporter,
        *,
        reader_for: Callable[[StreamRef], ReadFn],
        on_config: Callable[[KinesisSinkConfig], None] | None = None,
        quiet_cores: bool = False,
    ) -> None:
        from twilio_es_cli.sinks import SinkService
        from twilio_es_cli.subscriptions import Subscriptions

        self.aws = aws
        self.report = reporter
        self.reader_for = reader_for
        self.on_config = on_config
        self.quiet_cores = quiet_cores  # hide the validator's progress lines
        self._sink_is_new = False  # set by sink(): made by this run, so delivery is unproved
        self.catalog = Catalog(twilio_client)
        self.sinks = SinkService(twilio_client)
        self.subscriptions = Subscriptions(twilio_client, self.catalog)
        self.steps: list[Step] = []

    def _done(self, number: int, name: str, result: str, detail: str) -> None:
        step = Step(number, name, result, detail)
        self.steps.append(step)
        self.report.step(step)

    def run(self, req: Request) -> Outcome:
        resolved, default = self.resolve(req)
        config = self.stream_and_role(req)
        if self.on_config is not None:
            self.on_config(config)
        sink = self.sink(config, req.description)
        sink = self.validate(sink, req.timeout or VALIDATE_TIMEOUT, new=self._sink_is_new)
        subscription, types = self.subscribe(sink, resolved, req.description)
        return Outcome(
            stream_name=req.stream,
            config=config,
            sink=sink,
            subscription=subscription,
            types=types,
            default_types=default,
            steps=list(self.steps),
        )

    def resolve(self, req: Request) -> tuple[list[ResolvedType], bool]:
        """Check the types against the catalogue before anything is created."""
        specs = list(req.specs)
        default = not specs
        if default:
            specs = default_specs(self.catalog)
            self.report.note(
                "no --type given: using "
                + ", ".join(s.pattern for s in specs)
                + " (see `twilio-es types list`)"
            )
        resolution = self.subscriptions.resolve(specs)
        for warning in resolution.warnings:
            output.warn(warning)
        for note in resolution.notes:
            if "matched" in note:  # glob expansions; "latest" pins are shown in step 4
                self.report.note(note)
        return resolution.types, default

    def stream_and_role(self, req: Request) -> KinesisSinkConfig:
        # Its own progress lines would repeat the step line; warnings (a different shard
        # count, a rollback) still show, and the spinner covers the wait for ACTIVE.
        with (
            output.progress(f"Stream {req.stream} and its IAM role: creating or checking"),
            output.quieted(),
        ):
            outcome = streams.create(
                self.aws,
                streams.create_request(
                    req.stream,
                    req.shards,
                    on_demand=False,
                    principal=req.principal,
                    timeout=req.timeout or STREAM_TIMEOUT,
                ),
            )
        role = arns.role_name(outcome.config.role_arn) or outcome.config.role_arn
        new_stream = f"stream {req.stream}" in outcome.created
        new_role = f"IAM role {role}" in outcome.created
        detail = (
            f"stream {req.stream}{' (new)' if new_stream else ''}, "
            f"IAM role {role}{' (new)' if new_role else ''}"
        )
        self._done(1, "stream + role", CREATED if outcome.created else ALREADY_THERE, detail)
        return outcome.config

    def sink(self, config: KinesisSinkConfig, description: str | None) -> Sink:
        from twilio_es_cli.models import KinesisSinkConfig

        found = matching_sinks(self.sinks.list(), config)
        if found:
            sink = found[0]
            more = f" ({len(found) - 1} more match)" if len(found) > 1 else ""
            self._done(2, "sink", ALREADY_THERE, f"kinesis sink {sink.sid}, {sink.status}{more}")
            self._sink_is_new = False
            return sink
        self._sink_is_new = True
        sink = self.sinks.create(KinesisSinkConfig(**config.as_dict()), description)
        self._done(2, "sink", CREATED, f"kinesis sink {sink.sid}, {sink.status}")
        return sink

    def validate(self, sink: Sink, timeout: float, *, new: bool = False) -> Sink:
        """Validate an inactive sink (old flow), and prove delivery into a NEW sink.

        Today Twilio creates sinks active, so status alone says nothing about delivery: a sink
        made by this run still goes through Test -> read -> Validate. A sink reused from an
        earlier run that is active was proved then (or by the user) and is left alone.
        """
        from twilio_es_cli.validation import Validator

        if sink.status == "active" and not new:
            self._done(3, "validated", ALREADY_THERE, f"sink {sink.sid} is active")
            return sink
        outcome = Validator(
            self.sinks, _ValidationReporter(self.report, muted=self.quiet_cores)
        ).run(sink.sid, self.reader_for, timeout=timeout)
        waited = (
            f"; test event arrived after {outcome.seconds_to_event:g} s"
            if outcome.seconds_to_event is not None
            else ""
        )
        proved = "; delivery proved end to end" if outcome.proved else ""
        self._done(
            3, "validated", VALIDATED, f"sink {sink.sid} is {outcome.status}{waited}{proved}"
        )
        return self.sinks.get(sink.sid)

    def subscribe(
        self, sink: Sink, wanted: list[ResolvedType], description: str | None
    ) -> tuple[Subscription, list[tuple[ResolvedType, str]]]:
        existing = self.subscriptions.list(sink.sid)
        covered = covered_types(existing, wanted)
        missing = [r for r in wanted if r.type not in covered]
        _refuse_other_versions(existing, missing)
        types: list[tuple[ResolvedType, str]] = []
        for resolved in wanted:
            if resolved.type in covered:
                version, sid = covered[resolved.type]
                pinned = ResolvedType(resolved.type, version or resolved.schema_version)
                types.append((pinned, sid))
        if not missing:
            sids = list(dict.fromkeys(sid for _, sid in types))  # most covering first
            primary = next(s for s in existing if s.sid == sids[0])
            self._done(
                4, "subscribed", ALREADY_THERE, f"{_types_text(types)} via {', '.join(sids)}"
            )
            return primary, types
        if covered:
            self.report.note(
                "already subscribed on this sink: "
                + ", ".join(sorted(covered))
                + " (not subscribed twice: each event would arrive twice)"
            )
        specs = [TypeSpec(r.type, r.schema_version) for r in missing]
        subscription, _ = self.subscriptions.subscribe(
            sink.sid, specs, description or DEFAULT_SUBSCRIPTION_DESCRIPTION
        )
        for resolved in missing:
            types.append((resolved, subscription.sid))
        pins = [r for r in missing if r.latest]
        if pins:
            self.report.note(
                "pinned to today's latest schema versions, so a new release cannot change "
                "your payloads silently (choose one with --type TYPE:VERSION)"
            )
        self._done(4, "subscribed", CREATED, f"{_types_text(types)} via {subscription.sid}")
        return subscription, types


def _refuse_other_versions(
    existing: Sequence[Subscription], missing: Sequence[ResolvedType]
) -> None:
    """A pinned type the sink already gets at another version would arrive twice: refuse."""
    for resolved in missing:
        for sub in existing:
            for event in sub.types:
                if event.type == resolved.type:
                    raise UsageError(
                        f"sink {sub.sink_sid} already receives {event.type} at schema version "
                        f"{event.schema_version} (subscription {sub.sid}), not "
                        f"{resolved.schema_version}",
                        hint=f"Change it with `twilio-es subscription set-version {sub.sid} "
                        f"{event.type} {resolved.schema_version}`, or re-run with "
                        f"--type {event.type}:{event.schema_version}.",
                    )


def _types_text(types: Sequence[tuple[ResolvedType, str]], shown: int = 3) -> str:
    """``type:version`` list, cut after ``shown`` (a glob may match dozens)."""
    names = [f"{r.type}:{r.schema_version}" for r, _ in types]
    if len(names) <= shown:
        return ", ".join(names)
    return f"{len(names)} types: {', '.join(names[:shown])}, ..."


def reader_for(settings: Settings) -> Callable[[StreamRef], ReadFn]:
    """Read a sink's stream with these settings, in the stream's region (as `sink validate`)."""

    from twilio_es_cli.clients import Clients

    return Clients(settings).stream_reader


def run(
    settings: Settings,
    req: Request,
    reporter: Reporter,
    *,
    on_config: Callable[[KinesisSinkConfig], None] | None = None,
) -> Outcome:
    """The quickstart against the accounts ``settings`` point at."""
    from twilio_es_cli.aws import AwsClients
    from twilio_es_cli.twilio_api import make_client

    client = make_client(settings)  # missing Twilio credentials: exit 3 before any AWS call
    quick = Quickstart(
        AwsClients(settings),
        client,
        reporter,
        reader_for=reader_for(settings),
        on_config=on_config,
    )
    return quick.run(req)


# --------------------------------------------------------------------------- --local


@dataclass
class LocalOutcome:
    """The sandbox run: the quickstart's outcome plus the sample events shown."""

    outcome: Outcome
    emitted: dict[str, int]  # type -> events emitted
    deliveries: int
    shown: int
    events: list[dict[str, Any]]  # the envelopes, when collected (--json)
    tail_line: str

    def as_dict(self) -> dict[str, Any]:
        data = self.outcome.as_dict()
        data["local"] = True
        data["sample_events"] = {
            "emitted": self.emitted,
            "shown": self.shown,
            "events": self.events,
        }
        return data


@contextmanager
def sandbox_environment() -> Iterator[None]:
    """Hide the user's AWS and Twilio settings from everything in this process while it runs.

    botocore reads ``AWS_PROFILE``, ``AWS_ENDPOINT_URL*``, ``~/.aws/config`` and credential
    variables from the process environment on its own (not only through our Settings), and so
    does the emulator's delivery thread; a real profile must neither be used nor break the
    sandbox. Proxies are bypassed for loopback. Everything is restored afterwards.
    """
    saved = dict(os.environ)
    try:
        for name in list(os.environ):
            if name.startswith(("AWS_", "TWILIO_")):
                del os.environ[name]
        os.environ["AWS_CONFIG_FILE"] = os.devnull
        os.environ["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull
        os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
        for name in ("NO_PROXY", "no_proxy"):
            current = os.environ.get(name, "")
            os.environ[name] = ",".join(p for p in (current, "127.0.0.1", "localhost") if p)
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def sample_plan(types: Sequence[str], total: int = SAMPLE_EVENTS) -> dict[str, int]:
    """Spread ``total`` events over ``types`` round-robin (at most ``total`` types)."""
    plan: dict[str, int] = {}
    for index in range(total):
        name = types[index % len(types)]
        plan[name] = plan.get(name, 0) + 1
    return plan


def run_local(
    base: Settings,
    req: Request,
    reporter: Reporter,
    *,
    out: TextIO,
    output_format: str,
    tty: bool,
    collect: bool = False,
    on_config: Callable[[KinesisSinkConfig], None] | None = None,
    sample_events: int = SAMPLE_EVENTS,
) -> LocalOutcome:
    """The quickstart against a throw-away sandbox, then emit samples and show them.

    Events are rendered to ``out`` in ``output_format`` (the tail's renderers); with
    ``collect`` they are gathered as envelopes instead (for one `--json` document).
    """
    from twilio_es_cli.aws import AwsClients
    from twilio_es_cli.local.sandbox import Sandbox
    from twilio_es_cli.reader import StartPosition
    from twilio_es_cli.tail import TailOptions, run_tail
    from twilio_es_cli.twilio_api import make_client

    with sandbox_environment():
        sandbox = Sandbox()
        with output.progress("Starting the offline sandbox (local Kinesis/IAM + Events API)"):
            sandbox.start()
        try:
            # What `local up` asks users to export, so boto3's own chain finds the sandbox's
            # credentials too (the validation reader and the tail build their own clients).
            os.environ.update(sandbox.env())
            settings = sandbox.settings(Settings(debug=base.debug))
            reporter.note(
                f"sandbox: AWS at {sandbox.aws_url}, Events API at {sandbox.events_url} "
                "(your own AWS/Twilio settings are not used)"
            )
            quick = Quickstart(
                AwsClients(settings),
                make_client(settings),
                reporter,
                reader_for=reader_for(settings),
                on_config=on_config,
                quiet_cores=True,  # instant in the sandbox: only the step lines matter
            )
            outcome = quick.run(req)
            emulator = sandbox.emulator
            assert emulator is not None  # started above
            plan = sample_plan([r.type for r, _ in outcome.types], sample_events)
            deliveries = sum(emulator.emit(name, count) for name, count in plan.items())
            if not deliveries:
                raise CheckFailed(
                    "the sandbox delivered none of the sample events",
                    hint="Please report this with the output of --debug.",
                )
            reporter.step(
                Step(
                    STEPS,
                    "tail",
                    "",
                    "emitted "
                    + ", ".join(f"{count} x {name}" for name, count in plan.items())
                    + f"; reading stream {outcome.stream_name} the way `twilio-es tail` does",
                )
            )
            sink_out: TextIO = io.StringIO() if collect else out
            options = TailOptions(
                start=StartPosition.trim_horizon(),
                follow=False,
                max_events=deliveries,
                timeout=LOCAL_TAIL_TIMEOUT,
                types=tuple(plan),
                output="jsonl" if collect else output_format,
                tty=tty and not collect,
            )
            tail_kinesis = AwsClients(settings, max_attempts=1).kinesis()
            summary: TailSummary = run_tail(tail_kinesis, outcome.config.arn, options, out=sink_out)
            events: list[dict[str, Any]] = []
            if isinstance(sink_out, io.StringIO):
                events = [json.loads(line) for line in sink_out.getvalue().splitlines() if line]
        finally:
            with output.progress("Stopping the sandbox"):
                sandbox.stop()
    return LocalOutcome(
        outcome=outcome,
        emitted=plan,
        deliveries=deliveries,
        shown=summary.emitted,
        events=events,
        tail_line=summary.line(),
    )


# --------------------------------------------------------------------------- --local --webhook


@dataclass
class WebhookOutcome:
    """``quickstart --local --webhook``: the sink, the listener and what it received."""

    destination: str  # the sink's URL on the in-process listener
    sink: Sink
    subscription: Subscription
    types: list[tuple[ResolvedType, str]]
    default_types: bool
    steps: list[Step]
    proved: str | None
    emitted: dict[str, int]  # type -> events emitted
    deliveries: int
    valid: int  # sample requests the listener accepted (signature valid)
    rejected: int
    events: list[dict[str, Any]]  # the listener's jsonl documents, when collected (--json)

    @property
    def received(self) -> int:
        return self.valid + self.rejected

    def as_dict(self) -> dict[str, Any]:
        return {
            "local": True,
            "webhook": {"listener": self.destination, "proved": self.proved},
            "sink": {"sid": self.sink.sid, "status": self.sink.status},
            "subscription": _subscription_dict(self.subscription.sid, self.types),
            "default_types": self.default_types,
            "steps": [s.to_dict() for s in self.steps],
            "sample_events": {
                "emitted": self.emitted,
                "received": self.received,
                "signatures": {"valid": self.valid, "invalid": self.rejected},
                "events": self.events,
            },
        }


class _HeldOutput(io.StringIO):
    """The listener's output, held back until the samples: the test event validation reads
    is a step, not a sample. Writes before :attr:`open` is set are dropped."""

    def __init__(self, out: TextIO) -> None:
        super().__init__()
        self.target = out
        self.open = False

    def write(self, text: str) -> int:
        if self.open:
            self.target.write(text)
        return len(text)

    def flush(self) -> None:
        if self.open:
            self.target.flush()


class WebhookQuickstart(Quickstart):
    """The five steps with a webhook sink on an in-process ``webhook listen``."""

    def listener(self, listener: Any) -> str:
        host, port = listener.address
        destination = f"http://{host}:{port}{LISTENER_PATH}"
        self._done(
            1,
            "listener",
            CREATED,
            f"`twilio-es webhook listen` on http://{host}:{port}/, checking signatures with "
            "the sandbox's auth token",
        )
        return destination

    def webhook_sink(self, destination: str, description: str | None) -> Sink:
        from twilio_es_cli.models import WebhookSinkConfig

        config = WebhookSinkConfig(destination=destination, method="POST", batch_events=False)
        sink = self.sinks.create(config, description)
        self._done(2, "sink", CREATED, f"webhook sink {sink.sid} -> {destination}, {sink.status}")
        return sink

    def prove(self, sink: Sink, timeout: float) -> tuple[Sink, str | None]:
        """Test -> read the test event back from the listener -> Validate (one step)."""
        from twilio_es_cli.validation import Validator

        def no_stream(stream: StreamRef) -> ReadFn:
            raise AssertionError("a webhook sink has no stream")

        outcome = Validator(
            self.sinks, _ValidationReporter(self.report, muted=self.quiet_cores)
        ).run(sink.sid, no_stream, timeout=timeout)
        self._done(
            3,
            "validated",
            VALIDATED,
            f"sink {sink.sid} is {outcome.status}; the listener received the test event with "
            "a valid signature; delivery proved end to end",
        )
        return self.sinks.get(sink.sid), outcome.proved


def _wait_for(listener: Any, count: int, timeout: float) -> None:
    """Until the listener has answered ``count`` requests (emit is synchronous in the sandbox;
    this only guards against a slow machine)."""
    import threading
    import time

    deadline = time.monotonic() + timeout
    pause = threading.Event()
    while sum(listener.counts.values()) < count and time.monotonic() < deadline:
        pause.wait(0.05)


def run_local_webhook(
    base: Settings,
    req: Request,
    reporter: Reporter,
    *,
    out: TextIO,
    output_format: str,
    collect: bool = False,
    sample_events: int = SAMPLE_EVENTS,
) -> WebhookOutcome:
    """The webhook quickstart against a throw-away sandbox and an in-process listener."""
    from twilio_es_cli.aws import AwsClients
    from twilio_es_cli.local.sandbox import Sandbox
    from twilio_es_cli.twilio_api import make_client
    from twilio_es_cli.webhook.listen import Listener, ListenOptions

    with sandbox_environment():
        sandbox = Sandbox()
        with output.progress("Starting the offline sandbox (Events API; no stream needed)"):
            sandbox.start()
        listener: Listener | None = None
        try:
            emulator = sandbox.emulator
            assert emulator is not None  # started above
            settings = sandbox.settings(Settings(debug=base.debug))
            reporter.note(
                f"sandbox: Events API at {sandbox.events_url} (your own AWS/Twilio settings are "
                "not used)"
            )
            shown = _HeldOutput(io.StringIO() if collect else out)
            fmt = "jsonl" if collect else output_format
            listener = Listener(ListenOptions(emulator.auth_token, port=0, output=fmt), shown)
            listener.start()
            quick = WebhookQuickstart(
                AwsClients(settings),
                make_client(settings),
                reporter,
                reader_for=reader_for(settings),
                quiet_cores=True,
            )
            resolved, default = quick.resolve(req)
            destination = quick.listener(listener)
            sink = quick.webhook_sink(destination, req.description)
            sink, proved = quick.prove(sink, req.timeout or VALIDATE_TIMEOUT)
            subscription, types = quick.subscribe(sink, resolved, req.description)
            plan = sample_plan([r.type for r, _ in types], sample_events)
            before = dict(listener.counts)
            shown.open = True
            reporter.step(
                Step(
                    STEPS,
                    "samples",
                    "",
                    "emitting "
                    + ", ".join(f"{count} x {name}" for name, count in plan.items())
                    + f"; the listener shows them as they arrive at {destination}",
                )
            )
            deliveries = sum(emulator.emit(name, count) for name, count in plan.items())
            if not deliveries:
                raise CheckFailed(
                    "the sandbox delivered none of the sample events",
                    hint="Please report this with the output of --debug.",
                )
            _wait_for(listener, sum(before.values()) + deliveries, LOCAL_TAIL_TIMEOUT)
            valid = listener.counts["accepted"] - before["accepted"]
            rejected = listener.counts["rejected"] - before["rejected"]
        finally:
            if listener is not None:
                listener.close()
            with output.progress("Stopping the sandbox and the listener"):
                sandbox.stop()
    events: list[dict[str, Any]] = []
    if collect and isinstance(shown.target, io.StringIO):
        events = [json.loads(line) for line in shown.target.getvalue().splitlines() if line]
    return WebhookOutcome(
        destination=destination,
        sink=sink,
        subscription=subscription,
        types=types,
        default_types=default,
        steps=list(quick.steps),
        proved=proved,
        emitted=plan,
        deliveries=deliveries,
        valid=valid,
        rejected=rejected,
        events=events,
    )
