"""``twilio-es tail``: read every shard of a Kinesis stream, decode Twilio's CloudEvents, and
hand them to a sink (a renderer, ``--forward-to``, ``--stats``; ``archive`` next).

Imports nothing: start-up is a budget, and each module loads what it needs itself. Modules, in
the order a record meets them (each imports only modules above it; no cycles,
tests/test_import_graph.py):

- ``positions``        StartPosition, SHARD_END, ``--from``/``--since`` parsing
- ``records``          KinesisRecord, and answers' ``Records`` made into them
- ``getrecords_parser`` GetRecords/SubscribeToShard answers parsed fast, equal to botocore's
  (aws.py installs it; pure)
- ``shard_reader``     THE SEAM between the stream reader and how one shard's records arrive:
  ShardReader (Protocol), ShardContext, Retry, and the messages Batch/ShardEnded/CaughtUp/Failed
- ``polling``          the default ShardReader: GetRecords
- ``efo``              ``--efo``: EfoConsumer (a registered consumer's life) and its ShardReader
- ``reader``           read_stream: every shard, planned from a start or a checkpoint, parents
  before children, resharding followed; stream_reader for bounded reads (``sink validate``)
- ``cloudevent``       the CloudEvent pydantic model (imported only when needed)
- ``decode``           records -> DecodedEvent (fast path, gzip, KPL de-aggregation)
- ``filters``          ``--type`` (TypeFilter) and ``--dedupe`` (Deduper)
- ``options``          TailOptions: what a run was asked to do
- ``sink``             THE SEAM where events leave: EventSink (write/drain/settle/finish/close),
  BaseSink, TextSink
- ``summary``          the one-line summary of an event's data (pretty output, ``--stats``)
- ``render``           the output formats (jsonl/json/raw/pretty), each a TextSink
- ``checkpoint``       the checkpoint file and CheckpointSaver (moves only past durable events)
- ``pipeline``         run_tail: read -> decode -> filter -> dedupe -> sink -> checkpoint
- ``status_line``      the waiting line on a terminal's stderr
- ``stats``            ``--stats``: counts, the live view, JSON summaries, LastEvents (its sink)
- ``runner``           one run in a process: signals, stop flag, EFO and sink lifetimes, the
  status line or ``--stats`` wired in; what cli/tail.py calls

Plugging in another consumer of the stream (``twilio-es archive``, issue 24), with no copy of
the reading loop:

1. Write an :class:`~twilio_es_cli.tail.sink.EventSink`: ``write(record, decoded)`` takes each
   event that passed the filters, in stream order per shard; ``drain()`` hands on what is
   buffered when the reader waits; ``settle()`` makes durable what it can and returns the
   number (0 = the first event written in this run) of the oldest written event that is not
   durable yet, or None when all are; ``finish()`` comes before the run's last checkpoint
   save, however the run ends (roll what is open); ``close()`` ends it.
2. Call ``runner.run(kinesis, stream, TailOptions(...), sink=lambda stop: YourSink(...),
   efo=...)``: every shard, resharding, throttling, ``--from/--since``, ``--no-follow``,
   ``--efo``, signals and the checkpoint (``TailOptions.checkpoint``, locked for the run:
   one consumer per file) come with it. The
   checkpoint moves a shard only past records whose events, and every event written before
   them, are durable, so a ``kill -9`` repeats events and never loses one.
3. Render the returned :class:`~twilio_es_cli.tail.pipeline.TailSummary` in the command.

A new way to read a shard (another push protocol, a replay from files) is a
:class:`~twilio_es_cli.tail.shard_reader.ShardReader` passed to ``read_stream`` /
``run_tail`` as ``shard_reader``: planning, ordering and checkpoints stay in ``reader``.
"""
