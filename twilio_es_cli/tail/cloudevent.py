"""The CloudEvent as a pydantic model: the definition every decoded record must match.

Kept apart from :mod:`twilio_es_cli.tail.decode` so that reading well-formed records never
imports pydantic: the fast path there parses with orjson and builds this model only when
someone asks for it (``DecodedEvent.event``: pretty output, ``--forward-to``) or when a record
is unusual enough that pydantic must decide. pydantic and pydantic_core cost ~45 ms of every
``tail``'s start-up otherwise (``python -X importtime -c "import pydantic"``).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


class CloudEvent(BaseModel):
    """A CloudEvents 1.0 event as Twilio sends it; extension attributes are kept (extra=allow)."""

    model_config = ConfigDict(extra="allow")

    specversion: str
    id: str
    source: str
    type: str
    time: str | None = None
    datacontenttype: str | None = None
    dataschema: str | None = None
    subject: str | None = None
    data: Any = None

    def attributes(self) -> dict[str, Any]:
        """Every attribute (extensions included) with ``data`` as decoded; None values dropped."""
        return {k: v for k, v in self.model_dump().items() if v is not None}
