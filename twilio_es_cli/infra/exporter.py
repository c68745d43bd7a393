"""``twilio-es export``: the file for what exists, the way in from a hand-built setup.

What it writes plans to "no changes": sinks and subscriptions twilio-es marked keep their
names; unmarked ones are adopted explicitly by ``sid:`` (so ``apply`` never has to guess or
rename anything); a kinesis sink whose role twilio-es made for the stream is written as
``stream: NAME`` with that stream declared; every secret (external ids twilio-es did not make,
Segment write keys, the password in a webhook URL) becomes a ``${env:NAME}`` reference, and
the names are listed so the user can export the values before running ``plan``.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from twilio_es_cli import iam as iamdoc
from twilio_es_cli.infra.live import (
    LiveStream,
    is_proving,
    parse_marker,
    read_stream,
    read_twilio,
)
from twilio_es_cli.infra.schema import DEFAULT_PROJECT
from twilio_es_cli.models import Sink, StreamRef
from twilio_es_cli.subscriptions import Subscription

if TYPE_CHECKING:
    from twilio_es_cli.aws import AwsClients
    from twilio_es_cli.config import Settings

SCHEMA_URL = "https://github.com/twilio-es/twilio-es/raw/main/docs/twilio-es.schema.json"
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


@dataclass
class Exported:
    text: str
    env: dict[str, str] = field(default_factory=dict)  # variable -> sink SID it belongs to
    passwords: set[str] = field(default_factory=set)  # the variables that hold a URL password
    skipped: list[str] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
    # every project whose markers the account holds -> (sinks, subscriptions) carrying them
    projects: dict[str, tuple[int, int]] = field(default_factory=dict)

    @property
    def project(self) -> str:
        return str(self.data.get("project", DEFAULT_PROJECT))

    def counts(self) -> str:
        """``2 streams, 3 sinks, 1 subscription``: what the file declares."""
        parts = []
        for key in ("streams", "sinks", "subscriptions"):
            number = len(self.data.get(key) or {})
            parts.append(f"{number} {key if number != 1 else key[:-1]}")
        return ", ".join(parts)

    def others(self) -> dict[str, tuple[int, int]]:
        """The account's other projects (left out of this file), with what they hold."""
        return {name: n for name, n in sorted(self.projects.items()) if name != self.project}


def projects_in(sinks: list[Sink], subs: list[Subscription]) -> dict[str, tuple[int, int]]:
    """Project -> (sinks, subscriptions) whose markers name it."""
    found: dict[str, list[int]] = {}
    descriptions = [(0, s.description) for s in sinks] + [(1, s.description) for s in subs]
    for index, description in descriptions:
        mark = parse_marker(description)
        if mark is not None:
            found.setdefault(mark[0], [0, 0])[index] += 1
    return {name: (n[0], n[1]) for name, n in found.items()}


def _slug(text: str, fallback: str) -> str:
    slug = _UNSAFE.sub("-", text).strip("-.")[:60]
    return slug if slug and slug[0].isalnum() else fallback


def _unique(name: str, used: set[str]) -> str:
    candidate, n = name, 2
    while candidate in used:
        candidate, n = f"{name}-{n}", n + 1
    used.add(candidate)
    return candidate


def _env_name(name: str, key: str) -> str:
    return f"TWILIO_ES_{re.sub(r'[^A-Za-z0-9]+', '_', name).upper()}_{key.upper()}"


def _project(sinks: list[Sink], subs: list[Subscription], wanted: str | None) -> str:
    if wanted:
        return wanted
    items: list[Any] = [*sinks, *subs]
    marks = [m[0] for item in items if (m := parse_marker(item.description))]
    return Counter(marks).most_common(1)[0][0] if marks else DEFAULT_PROJECT


def _base_name(sink: Sink) -> str:
    config = sink.sink_configuration
    if sink.sink_type == "kinesis":
        ref = sink.kinesis_stream()
        return _slug(ref.name if ref else "kinesis", "kinesis")
    if sink.sink_type == "webhook":
        from urllib.parse import urlsplit

        return _slug(urlsplit(str(config.get("destination", ""))).hostname or "webhook", "webhook")
    return _slug(str(sink.sink_type or "sink"), "sink")


class _Exporter:
    def __init__(
        self, aws: AwsClients, client: Any, settings: Settings, project: str | None
    ) -> None:
        self.aws, self.client, self.settings = aws, client, settings
        self.sinks, self.subs = read_twilio(client)
        self.project = _project(self.sinks, self.subs, project)
        self.streams: dict[str, LiveStream | None] = {}
        self.out = Exported(text="")
        self.used: set[str] = set()

    def _name(self, item: Any, base: str) -> tuple[str, bool]:
        mark = parse_marker(item.description)
        if mark is not None and mark[0] == self.project:
            self.used.add(mark[1])
            return mark[1], True
        return _unique(base, self.used), False

    def _foreign(self, item: Any) -> bool:
        mark = parse_marker(item.description)
        if mark is not None and mark[0] != self.project:
            self.out.skipped.append(f"{item.sid} (managed by project {mark[0]})")
            return True
        return False

    def _stream(self, ref: StreamRef) -> LiveStream | None:
        if ref.region != self.aws.region:
            return None
        if ref.name not in self.streams:
            self.streams[ref.name] = read_stream(
                self.aws, ref.name, None, self.settings.twilio_principal
            )
        return self.streams[ref.name]

    def _description(self, item: Any, name: str, marked: bool) -> dict[str, Any]:
        if marked:
            mark = parse_marker(item.description)
            text = mark[2] if mark else ""
            return {} if text in ("", name) else {"description": text}
        return (
            {"sid": item.sid, "description": item.description}
            if item.description
            else {"sid": item.sid}
        )

    def sink_entry(self, sink: Sink, name: str, marked: bool) -> dict[str, Any]:
        config = sink.sink_configuration
        entry: dict[str, Any] = {"type": sink.sink_type}
        if sink.sink_type == "kinesis":
            ref = sink.kinesis_stream()
            live = self._stream(ref) if ref else None
            role = live.role if live else None
            if (
                live
                and role
                and config.get("role_arn") == role.arn
                and (config.get("external_id") in role.external_ids)
            ):
                entry["stream"] = live.name
            else:
                variable = _env_name(name, "external_id")
                self.out.env[variable] = sink.sid
                entry.update(
                    arn=config.get("arn"),
                    role_arn=config.get("role_arn"),
                    external_id=f"${{env:{variable}}}",
                )
        elif sink.sink_type == "webhook":
            entry["destination"] = self._destination(sink, name)
            entry["method"] = str(config.get("method") or "POST").upper()
            entry["batch_events"] = str(config.get("batch_events")).lower() == "true"
        else:
            variable = _env_name(name, "write_key")
            self.out.env[variable] = sink.sid
            entry["write_key"] = f"${{env:{variable}}}"
        entry.update(self._description(sink, name, marked))
        return entry

    def _destination(self, sink: Sink, name: str) -> Any:
        """The webhook URL, its Basic-auth password (``user:password@``) as ``${env:NAME}``:
        the file is meant to be committed, and the loader puts the value back."""
        from twilio_es_cli.safe_text import url_secret

        destination = sink.sink_configuration.get("destination")
        span = url_secret(destination) if isinstance(destination, str) else None
        if destination is None or span is None:
            return destination
        variable = _env_name(name, "destination_password")
        self.out.env[variable] = sink.sid
        self.out.passwords.add(variable)
        return f"{destination[: span[0]]}${{env:{variable}}}{destination[span[1] :]}"

    def stream_entry(self, live: LiveStream) -> dict[str, Any]:
        entry: dict[str, Any] = (
            {"on_demand": True} if live.mode == "ON_DEMAND" else {"shards": live.open_shards}
        )
        if live.retention_hours and live.retention_hours != 24:
            entry["retention_hours"] = live.retention_hours
        if live.role and live.role.name != iamdoc.default_role_name(live.name, self.aws.region):
            entry["role_name"] = live.role.name
        return entry

    def build(self, only_streams: list[str]) -> dict[str, Any]:
        sinks_out: dict[str, Any] = {}
        names: dict[str, str] = {}  # sink sid -> name
        items: list[Any] = [*self.sinks, *self.subs]
        for item in items:  # marked names first: derived ones avoid them
            mark = parse_marker(item.description)
            if mark is not None and mark[0] == self.project:
                self.used.add(mark[1])
        for sink in sorted(self.sinks, key=lambda s: s.sid):
            if self._foreign(sink):
                continue
            if is_proving(sink.description):  # half-made: apply proves or deletes it
                self.out.skipped.append(
                    f"{sink.sid} (an interrupted apply never finished proving it; "
                    "`twilio-es apply` proves it first)"
                )
                continue
            ref = sink.kinesis_stream()
            if only_streams and (ref is None or ref.name not in only_streams):
                continue
            name, marked = self._name(sink, _base_name(sink))
            names[sink.sid] = name
            sinks_out[name] = self.sink_entry(sink, name, marked)
        subs_out: dict[str, Any] = {}
        for sub in sorted(self.subs, key=lambda s: s.sid):
            if self._foreign(sub) or sub.sink_sid not in names:
                continue
            name, marked = self._name(sub, f"{names[sub.sink_sid]}-subscription")
            entry: dict[str, Any] = {
                "sink": names[sub.sink_sid],
                "types": sorted(f"{e.type}:{e.schema_version}" for e in sub.types),
            }
            entry.update(self._description(sub, name, marked))
            subs_out[name] = entry
        used_streams = {e["stream"] for e in sinks_out.values() if "stream" in e}
        streams_out = {
            name: self.stream_entry(live)
            for name, live in sorted(self.streams.items())
            if live is not None and name in used_streams
        }
        data: dict[str, Any] = {"version": 1, "project": self.project}
        for key, value in (
            ("streams", streams_out),
            ("sinks", sinks_out),
            ("subscriptions", subs_out),
        ):
            if value:
                data[key] = value
        archive = self._archive(only_streams, sinks_out, subs_out)
        if archive is not None:
            data["archive"] = archive
        return data

    def _archive(
        self, only_streams: list[str], sinks: dict[str, Any], subs: dict[str, Any]
    ) -> dict[str, Any] | None:
        """The project's archive block (infra/archive/export.py); credentials that may not
        list Firehose export none, said on stderr."""
        from twilio_es_cli.errors import TwilioEsError
        from twilio_es_cli.infra.archive.export import block

        subscribed: dict[str, set[str]] = {}
        for entry in subs.values():
            sink = sinks.get(entry["sink"], {})
            stream = sink.get("stream") or str(sink.get("arn") or "").rsplit("/", 1)[-1]
            subscribed.setdefault(stream, set()).update(t.split(":")[0] for t in entry["types"])
        try:
            return block(self.aws, self.project, only_streams, subscribed)
        except TwilioEsError as exc:
            self.out.skipped.append(f"the archive block ({exc.message})")
            return None


def export(
    aws: AwsClients, client: Any, settings: Settings, *, project: str | None, streams: list[str]
) -> Exported:
    """The YAML text for what exists (optionally only sinks on ``streams``)."""
    import yaml

    exporter = _Exporter(aws, client, settings, project)
    exporter.out.projects = projects_in(exporter.sinks, exporter.subs)
    data = exporter.build(streams)
    header = (
        f"# yaml-language-server: $schema={SCHEMA_URL}\n"
        "# Written by `twilio-es export`. Review it, then `twilio-es plan` should show no "
        "changes.\n"
    )
    if exporter.out.env:
        header += "# Set before planning: " + ", ".join(sorted(exporter.out.env)) + "\n"
    body = yaml.safe_dump(data, sort_keys=False, default_flow_style=False, width=100)
    exporter.out.text = header + body
    exporter.out.data = data
    return exporter.out
