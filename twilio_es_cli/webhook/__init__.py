"""Webhook tools: capture format, signature diagnosis, the local listener and the forwarder.

Split one job per module so each can be read (and tested) alone:

- :mod:`.capture`: a captured HTTP request (URL, headers, raw body) and the two file formats
  ``webhook verify`` reads (JSON, or the raw HTTP/1.1 text a proxy dumps);
- :mod:`.verify`: is a request signed right, and if not, exactly why (URL variants, body hash,
  token shape);
- :mod:`.post`: one keep-alive HTTP POST with Twilio's timeout, as the forwarder and the
  listener's ``--forward-to`` need it;
- :mod:`.forward`: ``tail --forward-to``: Twilio's delivery semantics (retries, drops,
  per-key order, rate) as a sink for the events ``tail`` decodes;
- :mod:`.listen`: ``webhook listen``, the local receiver;
- :mod:`.render`: how deliveries and received events are shown.

The signature algorithm itself lives in :mod:`twilio_es_cli.signing` (one copy for all).
"""
