"""`twilio-es archive` and `twilio-es query`: Twilio's events as Parquet, answered with SQL.

- :mod:`.layout`: where files go (a Hive layout, ``type=.../date=YYYY-MM-DD/part-....parquet``),
  the archive's state folder, the lock that keeps a second archiver out;
- :mod:`.writer`: events in, durable Parquet files out (rolled by size and age, as Firehose's
  buffering does), and which events are durable (what the checkpoint may pass);
- :mod:`.archive`: the writer as tail's event sink, and ``run_archive`` (tail's runner with it:
  no reading loop of its own);
- :mod:`.views`: the SQL views (``events``, ``messages``, ``calls`` ...), written once in
  DuckDB's dialect, translated for Athena's Trino with sqlglot;
- :mod:`.named`: the named queries of ``query --list``;
- :mod:`.engine`: DuckDB, imported only here, with the views over a directory;
- :mod:`.results` and :mod:`.chart`: what a result looks like on a terminal, in JSON and CSV.

DuckDB and sqlglot are the ``analytics`` extra: nothing in this package imports them at module
level, so the rest of the tool (and every ``--help``) runs without them.
"""
