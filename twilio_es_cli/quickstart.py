"""`twilio-es quickstart`: stream + role -> kinesis sink -> validation -> subscription, in one go.

Each step is an existing core call: :func:`twilio_es_cli.streams.create`,
:class:`~twilio_es_cli.sinks.SinkService`, :class:`~twilio_es_cli.sink_validation.Validator`,
:class:`~twilio_es_cli.subscriptions.Subscriptions` (with the catalogue's type resolution). This
module only decides what to reuse and in which order. Clients come from the one factory
(:class:`~twilio_es_cli.clients.Clients`), progress goes to the
:class:`~twilio_es_cli.progress.Reporter` the caller passes, and what each core made comes back
as data (``CreateResult.stream_created``), never read out of progress lines.

Why re-runs discover instead of keeping a state file: the resources themselves are the truth.
A state file goes stale the moment someone deletes a sink in the console or runs the command
from another directory; asking the APIs does not. So every step first looks for what an earlier
run (or the user, by hand) already made, and reports "already there" instead of making a twin:

1. ``streams.create`` recognises its own stream and role (by tag) and returns the same config;
2. a kinesis sink whose configuration names the same stream ARN, role ARN and external id is
   reused (a sink with another external id can never validate against this role);
3. a sink this run did not make is proven again (Test -> read back -> Validate): an
   ``active`` status proves nothing, and an earlier run may have stopped before its proof,
   so a re-run says "not proven yet" and proves it instead of claiming what never happened;
4. types already delivered to that sink (by any subscription on it) are not subscribed again,
   since a second subscription of the same type would deliver every event twice.

Event types are resolved against the catalogue *before* anything is created, so a typo costs
nothing. ``--local`` runs the same steps against a throw-away sandbox
(:func:`twilio_es_cli.local.session.sandbox_session`, which owns the sandbox's process and
environment handling; see :func:`run_local`) and then shows a few sample events through the
tail's reader/renderer. ``--local --webhook`` (:func:`run_local_webhook`) is the webhook
developer's variant: a ``webhook listen`` in a thread takes the stream's place, a webhook sink
points at it, and validation reads the test event back from the listener; the samples are
shown as the listener receives them, each with its signature verdict.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TextIO

from twilio_es_cli import arns, streams
from twilio_es_cli.catalog import AVAILABLE, Catalog, ResolvedType, TypeSpec, parse_type_spec
from twilio_es_cli.errors import CheckFailed, UsageError
from twilio_es_cli.progress import Muted, Nested, Reporter
from twilio_es_cli.subscriptions import covered_types, refuse_other_versions

if TYPE_CHECKING:
    from twilio_es_cli.clients import Clients
    from twilio_es_cli.config import Settings
    from twilio_es_cli.local.emulator import EventsEmulator
    from twilio_es_cli.models import KinesisSinkConfig, Sink
    from twilio_es_cli.subscriptions import Subscription
    from twilio_es_cli.tail.pipeline import TailSummary
    from twilio_es_cli.webhook.listen import Listener

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
ADDED = "types added"  # step 4 on a sink that already has its one subscription
# What each step leaves undone when it never finished (Ctrl-C): said in the step's own words.
UNDONE = {
    1: ("stream + role", "no stream or role yet (what this run had created was rolled back)"),
    2: ("sink", "no sink yet"),
    3: ("validated", "delivery not proven"),
    4: ("subscribed", "nothing subscribed yet: no events are delivered"),
}


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
    result: str  # CREATED | ALREADY_THERE | ADDED | VALIDATED | "" (the samples)
    detail: str

    def to_dict(self) -> dict[str, Any]:
        return {"step": self.number, "name": self.name, "result": self.result}

    def line(self) -> str:
        """The progress line (``1/5 stream + role: created (...)``)."""
        head = f"{self.number}/{STEPS} {self.name}"
        if self.result in (CREATED, ALREADY_THERE, ADDED):
            return f"{head}: {self.result} ({self.detail})"
        return f"{head} ({self.detail})"


@dataclass(frozen=True)
class Subscribed:
    """Where both quickstarts end: the sink, its subscription and the steps that got there."""

    sink: Sink
    subscription: Subscription
    types: list[tuple[ResolvedType, str]]  # (requested type as subscribed, subscription sid)
    default_types: bool
    steps: list[Step]

    def as_dict(self) -> dict[str, Any]:
        """The part of both `--json` summaries that describes the delivery."""
        return {
            "sink": {"sid": self.sink.sid, "status": self.sink.status},
            "subscription": {
                "sid": self.subscription.sid,
                "types": [
                    {"type": r.type, "schema_version": r.schema_version, "subscription_sid": sub}
                    for r, sub in self.types
                ],
            },
            "default_types": self.default_types,
            "steps": [s.to_dict() for s in self.steps],
        }


@dataclass(frozen=True)
class QuickstartResult:
    """Everything the quickstart made or found. ``config`` holds the external id: never render
    it except into the sink-config file the user asked for."""

    stream_name: str
    config: KinesisSinkConfig
    subscribed: Subscribed

    def as_dict(self) -> dict[str, Any]:
        """The `--json` summary (no external id)."""
        return {
            "stream": {"name": self.stream_name, "arn": self.config.arn},
            "role_arn": self.config.role_arn,
            **self.subscribed.as_dict(),
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


def default_specs(catalog: Catalog) -> list[TypeSpec]:
    """The default types the catalogue offers as available (at least the first one)."""
    status = {t.type: t.status for t in catalog.types()}
    chosen = [name for name in DEFAULT_TYPES if status.get(name) == AVAILABLE]
    return [TypeSpec(name) for name in chosen or DEFAULT_TYPES[:1]]


class Quickstart:
    """The five steps over one client factory.

    ``log`` (the caller's list, optional) receives every step as it finishes, the samples
    step too, so a caller can say where an interrupted run stopped. With ``quiet_cores`` the
    validator's own progress is muted (the sandbox is instant: only the step lines matter);
    otherwise its lines become notes under step 3.
    """

    def __init__(
        self,
        clients: Clients,
        reporter: Reporter,
        *,
        on_config: Callable[[KinesisSinkConfig], None] | None = None,
        quiet_cores: bool = False,
        log: list[Step] | None = None,
    ) -> None:
        from twilio_es_cli.sinks import SinkService
        from twilio_es_cli.subscriptions import Subscriptions

        twilio_client = clients.twilio()  # missing Twilio credentials: exit 3 before any AWS call
        self.clients = clients
        self.report = reporter
        self.cores: Reporter = Muted(reporter) if quiet_cores else Nested(reporter)
        self.on_config = on_config
        self.catalog = Catalog(twilio_client)
        self.sinks = SinkService(twilio_client)
        self.subscriptions = Subscriptions(twilio_client, self.catalog)
        self.steps: list[Step] = []
        self.log = log if log is not None else []

    def announce(self, step: Step) -> None:
        """Report a finished step and log it (the samples step is not in the summary)."""
        self.log.append(step)
        self.report.step(step.line())

    def _done(self, number: int, name: str, result: str, detail: str) -> None:
        step = Step(number, name, result, detail)
        self.steps.append(step)
        self.announce(step)

    def run(self, req: Request) -> QuickstartResult:
        resolved, default = self.resolve(req)
        config = self.stream_and_role(req)
        if self.on_config is not None:
            self.on_config(config)
        sink, is_new = self.sink(config, req.description)
        sink = self.validate(sink, req.timeout or VALIDATE_TIMEOUT, new=is_new)
        return QuickstartResult(
            req.stream, config, self.subscribed(sink, resolved, default, req.description)
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
            self.report.warn(warning)
        for note in resolution.expansions:  # the "latest" pins are shown in step 4
            self.report.note(note)
        return resolution.types, default

    def stream_and_role(self, req: Request) -> KinesisSinkConfig:
        # Its own progress lines would repeat the step line: muted, but its warnings (a
        # different shard count, a rollback) still show; the spinner covers the wait.
        timeout = req.timeout or STREAM_TIMEOUT
        with self.report.waiting(
            f"Stream {req.stream} and its IAM role: creating or checking", timeout
        ):
            made = streams.create(
                self.clients.aws(),
                streams.create_request(
                    req.stream,
                    req.shards,
                    on_demand=False,
                    principal=req.principal,
                    timeout=timeout,
                ),
                report=Muted(self.report),
            )
        role = arns.role_name(made.config.role_arn) or made.config.role_arn
        detail = (
            f"stream {req.stream}{' (new)' if made.stream_created else ''}, "
            f"IAM role {role}{' (new)' if made.role_created else ''}"
        )
        self._done(1, "stream + role", CREATED if made.created_any else ALREADY_THERE, detail)
        return made.config

    def sink(self, config: KinesisSinkConfig, description: str | None) -> tuple[Sink, bool]:
        """The matching sink (reused) or a new one; True when this run made it, so its
        delivery is still unproved."""
        from twilio_es_cli.models import KinesisSinkConfig

        found = matching_sinks(self.sinks.list(), config)
        if found:
            sink = found[0]
            more = f" ({len(found) - 1} more match)" if len(found) > 1 else ""
            self._done(2, "sink", ALREADY_THERE, f"kinesis sink {sink.sid}, {sink.status}{more}")
            return sink, False
        sink = self.sinks.create(KinesisSinkConfig(**config.as_dict()), description)
        self._done(2, "sink", CREATED, f"kinesis sink {sink.sid}, {sink.status}")
        return sink, True

    def validate(self, sink: Sink, timeout: float, *, new: bool = False) -> Sink:
        """Prove delivery into the sink (Test -> read back -> Validate), and make an inactive
        one active (old flow).

        Today Twilio creates sinks active, so status says nothing about delivery, and nothing
        in Twilio records that an earlier run proved it (that run may have been stopped with
        Ctrl-C half-way): a reused sink is proven again, and the run says so first.
        """
        from twilio_es_cli.sink_validation import Validator

        if not new:
            self.report.note(
                f"sink {sink.sid} ({sink.status}) was made earlier; its delivery is not proven "
                "by this run yet: proving it now"
            )
        result = Validator(self.sinks, self.cores).run(
            sink.sid, self.clients.stream_reader, timeout=timeout
        )
        waited = (
            f"; test event arrived after {result.seconds_to_event:g} s"
            if result.seconds_to_event is not None
            else ""
        )
        proved = "; delivery proved end to end" if result.proved else ""
        self._done(3, "validated", VALIDATED, f"sink {sink.sid} is {result.status}{waited}{proved}")
        return self.sinks.get(sink.sid)

    def subscribed(
        self, sink: Sink, wanted: list[ResolvedType], default: bool, description: str | None
    ) -> Subscribed:
        """Step 4, and what both quickstarts end with."""
        subscription, types = self.subscribe(sink, wanted, description)
        return Subscribed(sink, subscription, types, default, list(self.steps))

    def subscribe(
        self, sink: Sink, wanted: list[ResolvedType], description: str | None
    ) -> tuple[Subscription, list[tuple[ResolvedType, str]]]:
        existing = self.subscriptions.list(sink.sid)
        covered = covered_types(existing, wanted)
        missing = [r for r in wanted if r.type not in covered]
        refuse_other_versions(existing, missing)
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
        if existing:
            # Twilio takes one subscription per sink ("Sink with SID ... is in use"): the new
            # types join the one the sink has.
            subscription, _ = self.subscriptions.add_types(existing[0].sid, specs)
            result = ADDED
        else:
            subscription, _ = self.subscriptions.subscribe(
                sink.sid, specs, description or DEFAULT_SUBSCRIPTION_DESCRIPTION
            )
            result = CREATED
        for resolved in missing:
            types.append((resolved, subscription.sid))
        pins = [r for r in missing if r.latest]
        if pins:
            self.report.note(
                "pinned to today's latest schema versions, so a new release cannot change "
                "your payloads silently (choose one with --type TYPE:VERSION)"
            )
        self._done(4, "subscribed", result, f"{_types_text(types)} via {subscription.sid}")
        return subscription, types


def _types_text(types: Sequence[tuple[ResolvedType, str]], shown: int = 3) -> str:
    """``type:version`` list, cut after ``shown`` (a glob may match dozens)."""
    names = [f"{r.type}:{r.schema_version}" for r, _ in types]
    if len(names) <= shown:
        return ", ".join(names)
    return f"{len(names)} types: {', '.join(names[:shown])}, ..."


def rerun_command(req: Request, out: str | None) -> str:
    """The command line that continues an interrupted quickstart (the same request)."""
    import shlex

    words = ["twilio-es", "quickstart", req.stream]
    if req.shards != 1:
        words += ["--shards", str(req.shards)]
    for spec in req.specs:
        words += ["--type", spec.pattern + (f":{spec.version}" if spec.version else "")]
    if req.description:
        words += ["--description", req.description]
    if out:
        words += ["--out", out]
    return " ".join(shlex.quote(word) for word in words)


def run(
    clients: Clients,
    req: Request,
    reporter: Reporter,
    *,
    on_config: Callable[[KinesisSinkConfig], None] | None = None,
    log: list[Step] | None = None,
) -> QuickstartResult:
    """The quickstart against the accounts ``clients`` reach."""
    return Quickstart(clients, reporter, on_config=on_config, log=log).run(req)


# --------------------------------------------------------------------------- --local


@dataclass(frozen=True)
class SampleOutput:
    """Where ``--local`` shows its sample events: ``out`` in the tail's formats (pretty on a
    terminal, jsonl when piped), or gathered as documents for one `--json` summary."""

    out: TextIO
    tty: bool
    collect: bool = False

    @classmethod
    def to(cls, out: TextIO, *, collect: bool) -> SampleOutput:
        from twilio_es_cli.output import is_tty

        return cls(out, is_tty(out), collect)

    @property
    def format(self) -> str:
        return "pretty" if self.tty and not self.collect else "jsonl"

    def target(self) -> TextIO:
        """The stream to render into: a buffer when collecting."""
        return io.StringIO() if self.collect else self.out


def _documents(target: TextIO) -> list[dict[str, Any]]:
    """The jsonl documents gathered in a collecting target (none when shown directly)."""
    if not isinstance(target, io.StringIO):
        return []
    return [json.loads(line) for line in target.getvalue().splitlines() if line]


@dataclass(frozen=True)
class LocalResult:
    """The sandbox run: the quickstart's result plus the sample events shown."""

    result: QuickstartResult
    emitted: dict[str, int]  # type -> events emitted
    deliveries: int
    shown: int
    events: list[dict[str, Any]]  # the envelopes, when collected (--json)
    tail_line: str
    answer: Answer | None = None  # the samples archived and asked (None: no analytics extra)

    def as_dict(self) -> dict[str, Any]:
        data = self.result.as_dict()
        data["local"] = True
        data["sample_events"] = {
            "emitted": self.emitted,
            "shown": self.shown,
            "events": self.events,
        }
        data["answer"] = self.answer.as_dict() if self.answer is not None else None
        return data


ANSWER_QUERY = "delivery-status"


@dataclass(frozen=True)
class Answer:
    """One named query's answer over the sample events, archived as `twilio-es archive` does."""

    query: str
    columns: list[str]
    rows: list[list[Any]]
    files: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "query": self.query,
            "rows": [dict(zip(self.columns, row, strict=True)) for row in self.rows],
            "files": self.files,
        }


def answer_samples(clients: Clients, result: QuickstartResult, reporter: Reporter) -> Answer | None:
    """Archive the stream's events into a throw-away folder and ask it ANSWER_QUERY: what
    `twilio-es archive` then `twilio-es query` would show. None without DuckDB (the analytics
    extra is optional; the caller says how to get it)."""
    import tempfile
    from datetime import datetime, timezone
    from pathlib import Path

    from twilio_es_cli.analytics.engine import open_archive, require_duckdb
    from twilio_es_cli.errors import ConfigError

    try:
        require_duckdb()
    except ConfigError:
        return None
    from twilio_es_cli.analytics.archive import run_archive
    from twilio_es_cli.analytics.named import BY_NAME
    from twilio_es_cli.progress import Muted
    from twilio_es_cli.tail.options import TailOptions
    from twilio_es_cli.tail.positions import StartPosition

    options = TailOptions(
        start=StartPosition.trim_horizon(), follow=False, timeout=LOCAL_TAIL_TIMEOUT
    )
    kinesis = clients.stream_kinesis(result.config.arn)
    with tempfile.TemporaryDirectory(prefix="twilio-es-quickstart-") as tmp:
        root = Path(tmp) / "twilio-events"
        archived = run_archive(
            kinesis, result.config.arn, root, options, max_bytes=1 << 20, max_age=60.0,
            report=Muted(reporter),
        )  # fmt: skip
        if archived.read.interrupted:  # the runner took Ctrl-C as "stop": it still is one
            raise KeyboardInterrupt
        sql = BY_NAME[ANSWER_QUERY].render(datetime(1970, 1, 1, tzinfo=timezone.utc))
        cursor = open_archive(root, sql=sql).execute(sql)
        columns = [str(d[0]) for d in cursor.description or []]
        rows = [list(row) for row in cursor.fetchall()]
    return Answer(ANSWER_QUERY, columns, rows, archived.written.files)


def sample_plan(types: Sequence[str], total: int = SAMPLE_EVENTS) -> dict[str, int]:
    """Spread ``total`` events over ``types`` round-robin (at most ``total`` types)."""
    plan: dict[str, int] = {}
    for index in range(total):
        name = types[index % len(types)]
        plan[name] = plan.get(name, 0) + 1
    return plan


def _plan_text(plan: dict[str, int]) -> str:
    return ", ".join(f"{count} x {name}" for name, count in plan.items())


def _emit(emulator: EventsEmulator, plan: dict[str, int]) -> int:
    """Emit the samples; the number of deliveries (none at all is a broken sandbox)."""
    deliveries = sum(emulator.emit(name, count) for name, count in plan.items())
    if not deliveries:
        raise CheckFailed(
            "the sandbox delivered none of the sample events",
            hint="Please report this with the output of --debug.",
        )
    return deliveries


SANDBOX_SAMPLE_EVENTS = 30  # quickstart against a running sandbox (`local up`)


def sandbox_samples(
    settings: Settings, made: QuickstartResult, total: int = SANDBOX_SAMPLE_EVENTS
) -> dict[str, int] | None:
    """Against a running sandbox (``local up``), emit sample events of the subscribed types.

    A sandbox has no traffic of its own: without samples, ``tail``, ``archive`` and ``query``
    would find only the test event. Real Twilio (or an API that is not a twilio-es sandbox,
    which has no ``/emulator/emit``) gets nothing: None.
    """
    from twilio_es_cli.config import DEFAULT_TWILIO_API_URL
    from twilio_es_cli.errors import ConfigError
    from twilio_es_cli.local import admin

    if settings.twilio_api_url == DEFAULT_TWILIO_API_URL:
        return None
    plan = sample_plan([r.type for r, _ in made.subscribed.types], total)
    try:
        for name, count in plan.items():
            admin.emit(settings, name, count)
    except ConfigError:  # not a twilio-es sandbox: a proxy to Twilio, say
        return None
    return plan


def run_local(
    clients: Clients,
    req: Request,
    reporter: Reporter,
    samples: SampleOutput,
    *,
    on_config: Callable[[KinesisSinkConfig], None] | None = None,
    log: list[Step] | None = None,
    sample_events: int = SAMPLE_EVENTS,
) -> LocalResult:
    """The quickstart against a throw-away sandbox, then emit samples and show them.

    ``clients`` gives the debug setting; every client reaches the sandbox (see
    :func:`~twilio_es_cli.local.session.sandbox_session`).
    """
    from twilio_es_cli.local.session import sandbox_session

    with sandbox_session(
        clients,
        reporter,
        starting="Starting the offline sandbox (local Kinesis/IAM + Events API)",
        stopping="Stopping the sandbox",
    ) as session:
        sandbox = session.sandbox
        reporter.note(
            f"sandbox: AWS at {sandbox.aws_url}, Events API at {sandbox.events_url} "
            "(your own AWS/Twilio settings are not used)"
        )
        # instant in the sandbox: only the step lines matter
        quick = Quickstart(
            session.clients, reporter, on_config=on_config, quiet_cores=True, log=log
        )
        result = quick.run(req)
        plan = sample_plan([r.type for r, _ in result.subscribed.types], sample_events)
        deliveries = _emit(session.emulator, plan)
        quick.announce(
            Step(
                STEPS,
                "tail",
                "",
                f"emitted {_plan_text(plan)}; reading stream {result.stream_name} the way "
                "`twilio-es tail` does",
            )
        )
        target = samples.target()
        summary = _tail_samples(session.clients, result, plan, deliveries, samples, target)
        answer = answer_samples(session.clients, result, reporter)
    return LocalResult(
        result=result,
        emitted=plan,
        deliveries=deliveries,
        shown=summary.emitted,
        events=_documents(target),
        tail_line=summary.line(),
        answer=answer,
    )


def _tail_samples(
    clients: Clients,
    result: QuickstartResult,
    plan: dict[str, int],
    deliveries: int,
    samples: SampleOutput,
    target: TextIO,
) -> TailSummary:
    """Read the samples back from the stream the way `twilio-es tail` does."""
    from twilio_es_cli.tail.options import TailOptions
    from twilio_es_cli.tail.pipeline import run_tail
    from twilio_es_cli.tail.positions import StartPosition

    options = TailOptions(
        start=StartPosition.trim_horizon(),
        follow=False,
        max_events=deliveries,
        timeout=LOCAL_TAIL_TIMEOUT,
        types=tuple(plan),
        output=samples.format,
        tty=samples.tty and not samples.collect,
    )
    kinesis = clients.stream_kinesis(result.config.arn)
    return run_tail(kinesis, result.config.arn, options, out=target)


# --------------------------------------------------------------------------- --local --webhook


@dataclass(frozen=True)
class WebhookResult:
    """``quickstart --local --webhook``: the sink, the listener and what it received."""

    destination: str  # the sink's URL on the in-process listener
    subscribed: Subscribed
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
            **self.subscribed.as_dict(),
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

    def listener(self, listener: Listener) -> str:
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
        from twilio_es_cli.models import StreamRef
        from twilio_es_cli.sink_validation import Validator
        from twilio_es_cli.tail.reader import ReadFn

        def no_stream(stream: StreamRef) -> ReadFn:
            raise AssertionError("a webhook sink has no stream")

        result = Validator(self.sinks, self.cores).run(sink.sid, no_stream, timeout=timeout)
        self._done(
            3,
            "validated",
            VALIDATED,
            f"sink {sink.sid} is {result.status}; the listener received the test event with "
            "a valid signature; delivery proved end to end",
        )
        return self.sinks.get(sink.sid), result.proved

    def run_webhook(
        self,
        req: Request,
        listener: Listener,
        shown: _HeldOutput,
        emulator: EventsEmulator,
        sample_events: int,
    ) -> WebhookResult:
        """Steps 1-4, then the samples, counted as the listener answers them (the documents
        it wrote are added once it has closed)."""
        resolved, default = self.resolve(req)
        destination = self.listener(listener)
        sink = self.webhook_sink(destination, req.description)
        sink, proved = self.prove(sink, req.timeout or VALIDATE_TIMEOUT)
        subscribed = self.subscribed(sink, resolved, default, req.description)
        plan = sample_plan([r.type for r, _ in subscribed.types], sample_events)
        before = dict(listener.counts)
        shown.open = True
        self.announce(
            Step(
                STEPS,
                "samples",
                "",
                f"emitting {_plan_text(plan)}; the listener shows them as they arrive at "
                f"{destination}",
            )
        )
        deliveries = _emit(emulator, plan)
        _wait_for(listener, sum(before.values()) + deliveries, LOCAL_TAIL_TIMEOUT)
        return WebhookResult(
            destination,
            subscribed,
            proved,
            emitted=plan,
            deliveries=deliveries,
            valid=listener.counts["accepted"] - before["accepted"],
            rejected=listener.counts["rejected"] - before["rejected"],
            events=[],
        )


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
    clients: Clients,
    req: Request,
    reporter: Reporter,
    samples: SampleOutput,
    *,
    log: list[Step] | None = None,
    sample_events: int = SAMPLE_EVENTS,
) -> WebhookResult:
    """The webhook quickstart against a throw-away sandbox and an in-process listener."""
    from dataclasses import replace

    from twilio_es_cli.local.session import sandbox_session
    from twilio_es_cli.webhook.listen import Listener, ListenOptions

    with sandbox_session(
        clients,
        reporter,
        starting="Starting the offline sandbox (Events API; no stream needed)",
        stopping="Stopping the sandbox and the listener",
    ) as session:
        emulator = session.emulator
        reporter.note(
            f"sandbox: Events API at {session.sandbox.events_url} (your own AWS/Twilio settings "
            "are not used)"
        )
        shown = _HeldOutput(samples.target())
        listener = Listener(
            ListenOptions(emulator.auth_token, port=0, output=samples.format), shown
        )
        listener.start()
        try:
            quick = WebhookQuickstart(session.clients, reporter, quiet_cores=True, log=log)
            result = quick.run_webhook(req, listener, shown, emulator, sample_events)
        finally:
            listener.close()
    return replace(result, events=_documents(shown.target))
