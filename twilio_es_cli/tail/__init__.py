"""``twilio-es tail``: reading every shard of a Kinesis stream, decoding and showing its events.

Imports nothing: start-up is a budget, and each module here loads what it needs itself.
"""
