"""twilio-es: Twilio Event Streams on Amazon Kinesis. Imports nothing so start-up stays cheap."""

__version__ = "0.4.0"
