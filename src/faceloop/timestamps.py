"""Moments as the outside world reads them: the database keeps naive UTC, a reader needs the
zone said.

`UtcTime` is a `datetime` to Python code (naive UTC, as stored, so comparisons with the
database's values keep working) and an ISO 8601 moment ending in `Z` in JSON, which is what
the OpenAPI `date-time` format promises: without the zone a client in Tokyo read every time
nine hours off, and the schema was broken.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import PlainSerializer, WithJsonSchema


def iso_utc(moment: datetime) -> str:
    """`2026-12-03T10:00:00.123456Z`: a naive moment is taken as UTC, an aware one converted."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment.isoformat() + "Z"


#: a field type for dataclasses the API returns; its schema says `date-time`, as before
UtcTime = Annotated[
    datetime,
    PlainSerializer(iso_utc, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]
