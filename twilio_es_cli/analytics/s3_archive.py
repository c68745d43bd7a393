"""``archive --dir s3://BUCKET/PREFIX``: the archive's layout written straight to S3.

For teams that want the files in S3 without Firehose (or beside it: the layout is the one the
``archive:`` block's Glue table reads, so ``query --athena`` sees both). The writer is the
embedded archive's (:class:`~twilio_es_cli.analytics.writer.ArchiveWriter`: spools, rolling
by size and age, DuckDB writing Parquet); what changes is where a finished file goes and what
makes it durable:

- each file, once written and renamed in a local work directory, is PUT to
  ``s3://BUCKET/PREFIX/type=TYPE/date=DAY/part-....parquet`` and then deleted locally. A PUT
  is atomic (an object appears whole or not at all), so no hidden temporary name is needed
  in S3, and an event is *durable* once the PUT of its file returned: only then may the
  checkpoint pass it. ``kill -9`` at any moment loses nothing; the next run reads again what
  was not passed, and the views remove those repeats.
- records that are not CloudEvents go to ``PREFIX/_not-cloudevents/date=DAY/`` (a name
  Athena, Hive and Trino skip: the Glue table holds events only).

**The checkpoint** is kept locally, in the work directory (``$XDG_CACHE_HOME/twilio-es/
archive/BUCKET/PREFIX``, default ``~/.cache/...``), and copied to
``s3://BUCKET/PREFIX/.archive/checkpoint.json`` whenever it changed (checked when the
writer settles, and at the end). A run that finds no local checkpoint (a new machine, a
container) starts from the S3 copy. The copy may be one save behind the local file: a new
machine then reads a few events again (the views remove them), never skips one, because every
version of the checkpoint only passes events already in S3. Why not keep it only in S3: a
PUT per save would cost requests and time for nothing the local file does not already give;
why not only locally: a lost machine would lose its place.

One archiver per work directory (the embedded archive's lock). Two machines archiving the
same prefix each keep their own checkpoint: both write every event (repeats, removed by the
views), neither loses one.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from twilio_es_cli.analytics import layout
from twilio_es_cli.analytics.archive import ArchiveSink, ArchiveSummary
from twilio_es_cli.analytics.writer import ArchiveWriter
from twilio_es_cli.aws import aws_errors
from twilio_es_cli.errors import NotFoundError, UsageError
from twilio_es_cli.progress import TERMINAL, Reporter

if TYPE_CHECKING:
    import duckdb
    from mypy_boto3_kinesis import KinesisClient
    from mypy_boto3_s3 import S3Client

    from twilio_es_cli.analytics.writer import _Partition
    from twilio_es_cli.tail.options import TailOptions

HIDDEN_RAW = "_not-cloudevents"  # records that are not CloudEvents, hidden from the table
CHECKPOINT_KEY = f"{layout.STATE}/{layout.CHECKPOINT}"
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_PREFIX = re.compile(r"(?:[A-Za-z0-9_.=-]+/)*")


@dataclass(frozen=True)
class S3Location:
    """``s3://BUCKET/PREFIX/``: where the archive goes (prefix empty or ending in ``/``)."""

    bucket: str
    prefix: str

    @classmethod
    def parse(cls, text: str) -> S3Location | None:
        """The location ``text`` names; None when it is not an ``s3://`` URL; a malformed one
        is a usage error (exit 2)."""
        if not text.lower().startswith("s3://"):
            return None
        bucket, _, prefix = text[5:].partition("/")
        prefix = prefix if not prefix or prefix.endswith("/") else prefix + "/"
        if not _BUCKET.fullmatch(bucket) or not _PREFIX.fullmatch(prefix):
            raise UsageError(
                f"--dir {text} is not an S3 location twilio-es can write",
                hint="Write it as s3://BUCKET/PREFIX (bucket: lower case, digits, . and -; "
                "prefix: folders of letters, digits, _ . = and -).",
            )
        return cls(bucket, prefix)

    def key(self, relative: str) -> str:
        """The object key of a file at ``relative`` (a path in the layout)."""
        if relative.startswith(layout.NOT_CLOUDEVENTS + "/"):
            relative = HIDDEN_RAW + relative[len(layout.NOT_CLOUDEVENTS) :]
        return self.prefix + relative

    def __str__(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"


def work_dir(location: S3Location, env: dict[str, str] | None = None) -> Path:
    """The local work directory of ``location`` (spools, files on their way, checkpoint)."""
    env = dict(os.environ) if env is None else env
    cache = Path(env.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    digest = hashlib.sha256(location.prefix.encode()).hexdigest()[:10]
    readable = re.sub(r"[^A-Za-z0-9_.-]+", "_", location.prefix.strip("/"))[:60] or "_"
    return cache / "twilio-es" / "archive" / location.bucket / f"{readable}-{digest}"


class S3Publisher:
    """PUTs finished files and the checkpoint; remembers the checkpoint it last sent."""

    def __init__(self, s3: S3Client, location: S3Location, root: Path) -> None:
        self.s3 = s3
        self.location = location
        self.root = root
        self._sent: bytes | None = None
        self._lock = threading.Lock()  # files go from the writer's thread, checkpoints not

    def put_file(self, path: Path) -> None:
        key = self.location.key(path.relative_to(self.root).as_posix())
        with aws_errors(f"write s3://{self.location.bucket}/{key}"), path.open("rb") as body:
            self.s3.put_object(
                Bucket=self.location.bucket,
                Key=key,
                Body=body,
                ContentType="application/vnd.apache.parquet",
            )

    def put_checkpoint(self, path: Path) -> None:
        """Copy the local checkpoint to S3 when it changed since the last copy."""
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return
        with self._lock:
            if data == self._sent:
                return
            key = self.location.key(CHECKPOINT_KEY)
            with aws_errors(f"write s3://{self.location.bucket}/{key}"):
                self.s3.put_object(
                    Bucket=self.location.bucket,
                    Key=key,
                    Body=data,
                    ContentType="application/json",
                )
            self._sent = data

    def get_checkpoint(self, path: Path) -> bool:
        """Fetch the S3 copy of the checkpoint into ``path``; False when there is none."""
        from twilio_es_cli.files import write_private_atomic

        key = self.location.key(CHECKPOINT_KEY)
        try:
            with aws_errors(f"read s3://{self.location.bucket}/{key}"):
                data = self.s3.get_object(Bucket=self.location.bucket, Key=key)["Body"].read()
        except NotFoundError:
            return False
        write_private_atomic(path, data)
        self._sent = data
        return True


class S3Writer(ArchiveWriter):
    """The archive's writer, whose files become durable once PUT to S3 (module docstring)."""

    def __init__(
        self, root: Path, con: duckdb.DuckDBPyConnection, publisher: S3Publisher, **kwargs: Any
    ) -> None:
        super().__init__(root, con, **kwargs)
        self.publisher = publisher

    def _write(self, part: _Partition) -> None:
        super()._write(part)  # the file is whole in its folder of the work directory ...
        for path in sorted(part.folder.glob("part-*.parquet")):
            self.publisher.put_file(path)  # ... then in S3: now its events are durable
            path.unlink()


class S3Sink(ArchiveSink):
    """The archive sink, copying the checkpoint to S3 as it moves (and at the end)."""

    def __init__(
        self, writer: ArchiveWriter, publisher: S3Publisher, checkpoint: Path, report: Reporter
    ) -> None:
        super().__init__(writer, report)
        self.publisher = publisher
        self.checkpoint = checkpoint

    def settle(self) -> int | None:
        oldest = super().settle()
        self.publisher.put_checkpoint(self.checkpoint)  # the last save's, before the next
        return oldest

    def close(self) -> None:
        try:
            super().close()
        finally:
            self.publisher.put_checkpoint(self.checkpoint)  # the run's last save


@dataclass(frozen=True)
class S3ArchiveSummary(ArchiveSummary):
    """The summary, naming the S3 location rather than the work directory."""

    location: str = ""

    def line(self) -> str:
        return super().line().replace(f"under {self.root}", f"under {self.location}")


def remove_local_files(root: Path) -> int:
    """Files a killed run wrote locally but had not (or not known to have) PUT: their events
    were never checkpointed, so the next run writes them again."""
    removed = 0
    for path in [*root.glob("type=*/date=*/part-*.parquet"), *root.glob("*/date=*/part-*.parquet")]:
        if path.exists():
            path.unlink()
            removed += 1
    return removed


def run_s3_archive(
    kinesis: KinesisClient,
    s3: S3Client,
    stream: str,
    location: S3Location,
    options: TailOptions,
    *,
    max_bytes: int,
    max_age: float,
    efo: bool = False,
    report: Reporter = TERMINAL,
    root: Path | None = None,
    started: Callable[[], None] | None = None,
) -> ArchiveSummary:
    """Archive ``stream`` into ``location`` (see the module docstring); ``root`` is the work
    directory (default :func:`work_dir`); ``started`` is called once its lock is held."""
    from twilio_es_cli.analytics.engine import connect
    from twilio_es_cli.analytics.lock import DirectoryLock
    from twilio_es_cli.analytics.writer import clean_leftovers
    from twilio_es_cli.tail import runner

    root = root or work_dir(location)
    state = layout.state_dir(root)
    layout.ensure_dir(state)
    with DirectoryLock(state / layout.LOCK, what=f"{location} (work directory {root})"):
        if started is not None:
            started()
        clean_leftovers(root)
        remove_local_files(root)
        publisher = S3Publisher(s3, location, root)
        checkpoint = state / layout.CHECKPOINT
        if not checkpoint.exists() and publisher.get_checkpoint(checkpoint):
            report.note(f"resuming from the checkpoint in {location}{CHECKPOINT_KEY}")
        writer = S3Writer(
            root,
            connect(threads=1),
            publisher,
            max_bytes=max_bytes,
            max_age=max_age,
            background=True,
        )
        options = dataclasses.replace(options, checkpoint=checkpoint)

        def sink(stop: threading.Event) -> S3Sink:
            return S3Sink(writer, publisher, checkpoint, report)

        read = runner.run(kinesis, stream, options, sink=sink, efo=efo, report=report)
    return S3ArchiveSummary(read, writer.stats, root, str(location))
