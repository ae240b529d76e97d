"""People: names in any script, found or created by name."""

from __future__ import annotations

import unicodedata

from sqlalchemy import select
from sqlalchemy.orm import Session

from faceloop.db.models import Person


def normalise_name(name: str) -> str:
    """NFC and single spaces, so a name typed on macOS (NFD) and on Windows is one person."""
    return " ".join(unicodedata.normalize("NFC", name).split())


def find_or_create_person(session: Session, name: str) -> int:
    clean = normalise_name(name)
    if not clean:
        raise ValueError("a person needs a name")
    found = session.scalar(
        select(Person.id).where(Person.name == clean, Person.merged_into_id.is_(None))
    )
    if found is not None:
        return found
    person = Person(name=clean)
    session.add(person)
    session.flush()
    return person.id
