"""One run of ``tail`` in a process: signals, the stop flag, the EFO consumer's lifetime, the
sink's lifetime and what watches the run (``--stats`` or the status line).

:func:`twilio_es_cli.tail.pipeline.run_tail` reads, decodes, filters and hands events to a
sink against a client and an output stream; this module is what a command adds around it, so
the command itself only parses its options, calls :func:`run` and renders the summary it gets
back. Another consumer of the stream (``archive``) calls :func:`run` with its own sink factory
and gets the same reading: every shard, resharding, throttling, ``--from``/``--since``,
``--no-follow``, ``--efo`` and a checkpoint that only moves past durable events.

Signals: Ctrl-C and SIGTERM (systemd, ``docker stop``, ``kill``) only ask the run to stop; it
does so between two records, so the event on screen is counted and in the checkpoint (a
KeyboardInterrupt could land between writing an event and recording it). A second Ctrl-C
interrupts at once, for a run stuck writing to a paused terminal or a full pipe. Handlers are
installed only in the main thread (Python's rule) and only for signals not ignored (``cmd &``
ignores SIGINT), and are restored however the run ends.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TextIO

from twilio_es_cli.progress import TERMINAL, Reporter

if TYPE_CHECKING:
    from mypy_boto3_kinesis import KinesisClient

    from twilio_es_cli.tail.checkpoint import CheckpointLock
    from twilio_es_cli.tail.options import TailOptions
    from twilio_es_cli.tail.pipeline import TailObserver, TailSummary
    from twilio_es_cli.tail.shard_reader import ShardReader
    from twilio_es_cli.tail.sink import EventSink
    from twilio_es_cli.tail.stats import JsonStats, LiveStats
    from twilio_es_cli.tail.status_line import StatusLine

#: Makes the run's sink, given the run's stop flag (a sink with threads of its own, such as the
#: forwarder, stops with it); the runner closes it when the run ends.
SinkFactory = Callable[[threading.Event], "EventSink"]


@dataclass(frozen=True)
class Streams:
    """The terminal a run talks to: passed in, so callers and tests choose (default: sys's)."""

    stdin: TextIO = field(default_factory=lambda: sys.stdin)
    stdout: TextIO = field(default_factory=lambda: sys.stdout)
    stderr: TextIO = field(default_factory=lambda: sys.stderr)


def is_tty(stream: TextIO) -> bool:
    """Whether ``stream`` is an interactive terminal (False for anything that cannot say)."""
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def run(
    kinesis: KinesisClient,
    stream: str,
    options: TailOptions,
    *,
    sink: SinkFactory | None = None,
    efo: bool = False,
    stats: float | None = None,
    streams: Streams | None = None,
    report: Reporter = TERMINAL,
    checkpoint_lock: CheckpointLock | None = None,
) -> TailSummary:
    """Run ``tail`` on ``stream`` until a stop rule, a signal or a closed pipe ends it.

    ``sink`` makes what receives the events (default: the renderer of ``options.output`` on
    stdout); ``efo`` reads through a stream consumer of our own, registered for this run only;
    ``stats`` (seconds between JSON summaries when stdout is not a terminal) shows ``--stats``
    instead of the events. ``checkpoint_lock``: the lock on ``options.checkpoint`` when the
    caller already holds it (else the run takes and releases it). Returns the summary, with
    ``interrupted`` set after Ctrl-C and the reason saying a SIGTERM; a closed pipe
    propagates as BrokenPipeError (checkpoint saved).
    """
    from twilio_es_cli.tail.pipeline import run_tail

    streams = streams or Streams()
    stop = threading.Event()
    watch = _Watch(stream, options, stop, stats, streams, report)
    made = sink(stop) if sink is not None and watch.sink is None else None
    with _signals_stop(stop) as received:
        try:
            with _shard_reader(kinesis, stream, stop, watch.report, efo=efo) as reader, watch:
                summary = run_tail(
                    kinesis,
                    stream,
                    options,
                    out=streams.stdout,
                    stop=stop,
                    sink=watch.sink or made,
                    shard_reader=reader,
                    observer=watch.observer,
                    report=watch.report,
                    checkpoint_lock=checkpoint_lock,
                )
        finally:
            if made is not None:
                made.close()
    if signal.SIGINT in received:
        summary.interrupted, summary.reason = True, "interrupted"
    elif signal.SIGTERM in received:  # a clean stop, like --max: exit 0 (as `local up`)
        summary.reason = "stopped by SIGTERM"
    return summary


@contextlib.contextmanager
def _signals_stop(stop: threading.Event) -> Iterator[list[int]]:
    """SIGINT and SIGTERM set ``stop`` while the block runs (see the module docstring); yields
    the signals received, in order."""
    received: list[int] = []

    def on_signal(signum: int, frame: object) -> None:
        if signum == signal.SIGINT and stop.is_set():
            raise KeyboardInterrupt
        received.append(signum)
        stop.set()

    previous = {}
    if threading.current_thread() is threading.main_thread():  # signals need it
        for signum in (signal.SIGINT, signal.SIGTERM):
            if signal.getsignal(signum) is not signal.SIG_IGN:  # e.g. `cmd &` ignores SIGINT
                previous[signum] = signal.signal(signum, on_signal)
    try:
        yield received
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


class _Watch:
    """What watches the run: the --stats view (full screen or JSON lines), or the status line
    on a terminal's stderr while the stream is quiet, or nothing. A context manager: the
    full-screen view is entered around the run and the screen restored however it ends.
    ``report`` is where the run's messages go (erasing the status line first)."""

    def __init__(
        self,
        stream: str,
        options: TailOptions,
        stop: threading.Event,
        stats: float | None,
        streams: Streams,
        report: Reporter,
    ) -> None:
        from twilio_es_cli.tail.stats import JsonStats, LastEvents, LiveStats, StatsCollector
        from twilio_es_cli.tail.status_line import StatusLine

        self.report = report
        self.sink: LastEvents | None = None
        self.observer: TailObserver | None = None
        self.view: LiveStats | JsonStats | None = None
        self.status: StatusLine | None = None
        if stats is not None:
            collector = StatsCollector(stream)
            self.sink = LastEvents(collector)
            if options.tty:
                keys = streams.stdin.buffer if is_tty(streams.stdin) else None
                self.view = LiveStats(collector, streams.stdout, stop, keys=keys)
            else:
                self.view = JsonStats(collector, streams.stdout, stats)
            self.observer = self.view
        elif is_tty(streams.stderr) and shows_on_terminal(streams.stdout):
            self.status = StatusLine(streams.stderr)
            self.observer = self.status
            self.report = self.status.around(report)

    def __enter__(self) -> _Watch:
        from twilio_es_cli.tail.stats import LiveStats

        if isinstance(self.view, LiveStats):
            self.view.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        from twilio_es_cli.tail.stats import JsonStats, LiveStats

        if isinstance(self.view, LiveStats):
            self.view.__exit__(*exc)
        elif isinstance(self.view, JsonStats) and not isinstance(exc[1], BrokenPipeError):
            with contextlib.suppress(BrokenPipeError):
                self.view.emit()  # the final counts
        elif self.status is not None:
            self.status.clear()


def shows_on_terminal(out: TextIO) -> bool:
    """True when what tail writes cannot land on the status line's row behind its back: a
    terminal (tail erases the line first) or a file, not a pipe whose reader prints later."""
    from twilio_es_cli.tail.sink import is_regular_file

    return is_tty(out) or is_regular_file(out)


@contextlib.contextmanager
def _shard_reader(
    kinesis: KinesisClient, stream: str, stop: threading.Event, report: Reporter, *, efo: bool
) -> Iterator[ShardReader | None]:
    """None (GetRecords polling), or with ``efo`` a registered consumer's SubscribeToShard
    reader, deregistered when the block ends however it ends."""
    if not efo:
        yield None
        return
    from twilio_es_cli.tail.efo import EfoConsumer

    with EfoConsumer(kinesis, stream, report=report, stop=stop) as consumer:
        yield consumer.read_shard
