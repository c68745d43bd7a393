"""Event Streams as code: one declarative file, and ``plan``/``apply``/``export``/``status``.

- :mod:`.schema`: the file's pydantic model (and the JSON Schema published for editors),
- :mod:`.loader`: YAML with line numbers, ``${env:NAME}`` references, every input check that
  needs no remote call (exit 2 with ``FILE:LINE``),
- :mod:`.live`: what exists (sinks, subscriptions, streams, roles) and the identity markers,
- :mod:`.planner`: the diff (create / update / replace / delete / unchanged, with reasons),
- :mod:`.executor`: apply in dependency order, proving delivery of new sinks, zero-gap
  replacement, and an honest account of what was and was not done on failure,
- :mod:`.exporter`, :mod:`.inventory`, :mod:`.rotate`: ``export``, ``status``, ``sink rotate``.

Everything here calls the existing core (streams, roles, sinks, subscriptions, catalog,
validation); nothing talks to boto3 or the twilio SDK directly.
"""
