"""Values as the outside world reads them in the API's JSON, with schemas clients can check.

Moments: the database keeps naive UTC, a reader needs the zone said.

`UtcTime` is a `datetime` to Python code (naive UTC, as stored, so comparisons with the
database's values keep working) and an ISO 8601 moment ending in `Z` in JSON, which is what
the OpenAPI `date-time` format promises: without the zone a client in Tokyo read every time
nine hours off, and the schema was broken.

Short fixed rows (`[name, faces]`): a tuple's schema (`prefixItems`) inside a list is rewritten by
schemathesis and older tools into a form that no longer validates, so `row_of` spells it as an
array of a fixed length instead.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

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


def row_of(kind: Any, description: str, *json_types: str) -> Any:
    """The field type of a tuple `kind` whose items have these JSON types, in this order."""
    return Annotated[
        kind,
        WithJsonSchema(
            {
                "type": "array",
                "items": {"type": sorted(set(json_types))},
                "minItems": len(json_types),
                "maxItems": len(json_types),
                "description": description,
            }
        ),
    ]
