"""What the sandbox's Kinesis corrections need from moto, checked before they are applied.

The corrections (:mod:`~twilio_es_cli.local.kinesis_fix` and its siblings) replace moto
methods and read moto's models; a minor moto release may rename any of them, and then the
sandbox would break at the first GetRecords with a traceback. So:

- moto is held in ``pyproject.toml`` (the ``local`` extra: ``moto[server]>=5.2.6,<5.3``) to
  the minor versions in :data:`SUPPORTED`, from :data:`OLDEST` on: the corrections were tested
  there, and moto's internals move even between patch releases (5.2.0-5.2.5 serve no
  SubscribeToShard through them);
- :data:`NAMES` lists every moto name they use, with the parameters they call it with;
- :func:`check` (run by ``kinesis_fix.install``, so by ``local up``, ``quickstart --local``
  and the tests' moto server) refuses, in one line, a moto outside :data:`SUPPORTED` or one
  that lacks a name; tests/local/test_moto_contract.py checks the same on the moto installed.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Sequence
from typing import Any

from twilio_es_cli.errors import ConfigError

#: (major, minor) versions of moto the corrections were tested on; keep pyproject's cap equal.
SUPPORTED: tuple[tuple[int, int], ...] = ((5, 2),)
#: The oldest release the corrections pass on (``.ci/lowest`` installs it).
OLDEST = (5, 2, 6)
EXTRA_PIN = "moto[server]>=5.2.6,<5.3"

#: module -> {dotted attribute: parameter names (None: only that it exists)}.
NAMES: dict[str, dict[str, Sequence[str] | None]] = {
    "moto.kinesis.models": {
        "kinesis_backends": None,
        "KinesisBackend.describe_stream": ("self", "stream_arn", "stream_name"),
        "KinesisBackend.get_records": ("self", "stream_arn", "shard_iterator", "limit"),
        "Stream.__init__": (
            "self",
            "stream_name",
            "shard_count",
            "stream_mode",
            "retention_period_hours",
            "account_id",
            "region_name",
        ),
        "Stream.get_shard": ("self", "shard_id"),
        "Stream.get_shard_for_key": ("self", "partition_key", "explicit_hash_key"),
        "Stream.split_shard": ("self", "shard_to_split", "new_starting_hash_key"),
        "Stream.merge_shards": ("self", "shard_to_merge", "adjacent_shard_to_merge"),
        "Stream.update_shard_count": ("self", "target_shard_count"),
        "Stream.to_json_summary": ("self",),
        "Shard.__init__": (
            "self",
            "shard_id",
            "starting_hash",
            "ending_hash",
            "parent",
            "adjacent_parent",
        ),
        "Shard.shard_id": None,
        "Shard.put_record": ("self", "partition_key", "data", "explicit_hash_key"),
        "Shard.get_max_sequence_number": ("self",),
        "Shard.to_json": ("self",),
        "Record.__init__": (
            "self",
            "partition_key",
            "data",
            "sequence_number",
            "explicit_hash_key",
        ),
        "Record.to_json": ("self",),
    },
    "moto.kinesis.responses": {
        "KinesisResponse._get_param": ("self", "param_name", "if_none"),
        "KinesisResponse.kinesis_backend": None,
        **{
            f"KinesisResponse.{name}": ("self",)
            for name in (
                "get_records",
                "list_shards",
                "update_shard_count",
                "split_shard",
                "merge_shards",
                "register_stream_consumer",
                "describe_stream_consumer",
                "list_stream_consumers",
                "deregister_stream_consumer",
                "put_record",
                "put_records",
                "get_shard_iterator",
                "describe_stream",
                "describe_stream_summary",
                "create_stream",
                "list_streams",
                "delete_stream",
            )
        },
    },
    "moto.kinesis.utils": {"decompose_shard_iterator": ("shard_iterator",)},
    "moto.kinesis.exceptions": {
        "StreamCannotBeUpdatedError.__init__": ("self", "stream_name", "account_id"),
    },
    "moto.core.exceptions": {"JsonRESTError.__init__": None},
    "moto.core.responses": {"ActionResult": None, "EmptyResult": None},
    "moto.utilities.utils": {"md5_hash": None},
    "moto.moto_server.werkzeug_app": {
        "DomainDispatcherApplication.__init__": ("self", "create_app"),
        "MotoRequestHandler": None,
        "create_backend_app": ("service",),
    },
}

#: Attributes of moto's model instances the corrections read or set.
STREAM_FIELDS = (
    "stream_name",
    "arn",
    "account_id",
    "status",
    "shards",
    "consumers",
    "stream_mode",
    "retention_period_hours",
)
SHARD_FIELDS = (
    "_shard_id",
    "starting_hash",
    "ending_hash",
    "records",
    "is_open",
    "parent",
    "adjacent_parent",
)
RECORD_FIELDS = ("partition_key", "data", "sequence_number", "created_at")


def installed_version() -> str:
    from importlib.metadata import version

    return version("moto")


def version_problem(found: str) -> str | None:
    """Why moto ``found`` is not supported (None: it is)."""
    try:
        release = tuple(int(part) for part in found.split(".")[:3])
    except ValueError:
        release = (-1, -1, -1)
    if release[:2] in SUPPORTED and release >= OLDEST:
        return None
    oldest = ".".join(str(part) for part in OLDEST)
    minors = ", ".join(f"{a}.{b}.x" for a, b in SUPPORTED)
    return (
        f"the offline sandbox needs moto {minors} from {oldest} on, but moto {found} is "
        "installed (its Kinesis corrections were tested on those only)"
    )


def _resolve(module: str, dotted: str) -> Any:
    target: Any = importlib.import_module(module)
    for part in dotted.split("."):
        target = inspect.getattr_static(target, part) if part != "__init__" else target.__init__
    return target


def name_problems(names: dict[str, dict[str, Sequence[str] | None]] | None = None) -> list[str]:
    """Every listed moto name that is missing or takes other parameters."""
    problems = []
    for module, attributes in (NAMES if names is None else names).items():
        for dotted, parameters in attributes.items():
            where = f"{module}.{dotted}"
            try:
                target = _resolve(module, dotted)
            except (ImportError, AttributeError):
                problems.append(f"{where} is missing")
                continue
            if parameters is None:
                continue
            function = getattr(target, "__func__", target)
            try:
                found = tuple(inspect.signature(function).parameters)
            except (TypeError, ValueError):
                problems.append(f"{where} is not a function")
                continue
            if found != tuple(parameters):
                problems.append(f"{where} takes {found}, not {tuple(parameters)}")
    return problems + _field_problems()


def _field_problems() -> list[str]:
    """The instance attributes, read off a throw-away stream (no backend is touched)."""
    try:
        from moto.kinesis import models

        stream_class: Any = models.Stream  # mypy: moto's CloudFormation base is abstract
        stream = stream_class("contract-check", 1, None, None, "123456789012", "us-east-1")
        shard = next(iter(stream.shards.values()))
        record = models.Record("key", b"data", 1, "")
    except Exception as exc:  # a changed constructor: reported above, and here as this
        return [f"moto.kinesis.models could not build a Stream, Shard and Record ({exc!r})"]
    problems = []
    for kind, instance, names in (
        ("Stream", stream, STREAM_FIELDS),
        ("Shard", shard, SHARD_FIELDS),
        ("Record", record, RECORD_FIELDS),
    ):
        problems += [
            f"moto.kinesis.models.{kind} instances have no {name!r}"
            for name in names
            if not hasattr(instance, name)
        ]
    return problems


def check() -> None:
    """Raise one :class:`ConfigError` line if this moto cannot carry the corrections."""
    found = installed_version()
    problem = version_problem(found)
    if problem is None:
        missing = name_problems()
        if missing:
            problem = (
                f"moto {found} lacks what the offline sandbox's Kinesis corrections use: "
                + "; ".join(missing[:3])
                + (f" (and {len(missing) - 3} more)" if len(missing) > 3 else "")
            )
    if problem is not None:
        raise ConfigError(
            problem,
            hint=f"Install the supported moto: pip install '{EXTRA_PIN}' "
            "(or reinstall the extra: pip install 'twilio-es[local]').",
        )
