"""The offline sandbox: a spec-faithful Events v1 emulator and its catalogue.

Kept light on purpose (constants only): ``twilio-es local --help`` imports this package, and the
heavy parts (the HTTP server, boto3 through :mod:`twilio_es_cli.aws`) load only when an emulator
is started.
"""

from __future__ import annotations

# Credentials the emulator accepts unless told otherwise. The account SID matches Twilio's
# ``^AC[0-9a-fA-F]{32}$`` pattern so responses validate against the OpenAPI spec.
DEFAULT_ACCOUNT_SID = "AC00000000000000000000000000000000"
DEFAULT_AUTH_TOKEN = "local-auth-token"
