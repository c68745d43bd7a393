"""The ``archive:`` block of twilio-es.yaml: the archive at scale, made and checked by twilio-es.

What a team would otherwise build by hand so that Athena answers SQL over a year of events:
an S3 location, a Glue database and table (the embedded archive's columns, partitions
projected on ``type`` and ``date``), a Firehose delivery stream reading the Kinesis stream
(dynamic partitioning on the event's type and day, Parquet conversion through the table),
a least-privilege IAM role for Firehose, and an Athena workgroup with a results location.

- :mod:`.spec`: what the block means, resolved (names, ARNs, every request document), and
  what differs between a live resource and it (pure: no AWS calls);
- :mod:`.live`: what exists, read through :class:`~twilio_es_cli.aws.AwsClients`;
- :mod:`.plan`: one :class:`~twilio_es_cli.infra.planner.Change` per resource, with reasons;
- :mod:`.steps`: apply's steps for those changes, in dependency order (bucket, database,
  table, role, workgroup, delivery stream);
- :mod:`.checks`: what ``doctor --archive`` and ``status`` say about it (role trust and
  permissions, table and projection, partitions, the last delivery).

Identity: every resource is found by the name the file gives (or its default), never by
guesswork; the delivery stream, role and workgroup carry ``twilio-es:*`` tags saying which
project and stream they serve (``export`` finds them by those tags). Buckets and objects are
never deleted.
"""
