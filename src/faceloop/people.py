"""People: names in any script, found or created by name."""

from __future__ import annotations

import unicodedata

from sqlalchemy import select
from sqlalchemy.orm import Session

from faceloop.db.models import Person, PersonAlias


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


_KATAKANA = {code: code - 0x60 for code in range(0x30A1, 0x30F7)}


def search_key(text: str) -> str:
    """The form names are compared in: NFKC (full-width letters, half-width kana), case folded,
    katakana as hiragana and single spaces, so "ＡＹＡ", "aya" and "アヤ"/"あや" meet."""
    folded = unicodedata.normalize("NFKC", text).casefold().translate(_KATAKANA)
    return " ".join(folded.split())


def root_person_id(session: Session, person_id: int) -> int:
    """The person a merged person now counts as: follow `merged_into_id` to its end."""
    seen = {person_id}
    current = person_id
    while True:
        target = session.scalar(select(Person.merged_into_id).where(Person.id == current))
        if target is None or target in seen:
            return current
        seen.add(target)
        current = target


def merged_person_ids(session: Session, person_id: int) -> list[int]:
    """The person and everyone merged into them, directly or through another merge: labels
    keep their raw person id, so a person's faces are the faces of all of these."""
    found = [person_id]
    frontier = [person_id]
    while frontier:
        children = session.scalars(
            select(Person.id).where(Person.merged_into_id.in_(frontier))
        ).all()
        frontier = [child for child in children if child not in found]
        found.extend(frontier)
    return found


def people_named(session: Session, name: str) -> list[int]:
    """The people (merges resolved, hidden ones included) whose name or an alias is `name`,
    compared by `search_key`; "#12" names person 12. Several when the name is ambiguous."""
    text = name.strip()
    if text.startswith("#") and text[1:].isascii() and text[1:].isdigit():
        person_id = int(text[1:])
        if person_id >= 2**63:
            return []
        exists = session.scalar(select(Person.id).where(Person.id == person_id))
        return [root_person_id(session, person_id)] if exists is not None else []
    key = search_key(text)
    if not key:
        return []
    found: set[int] = set()
    for person_id, person_name in session.execute(select(Person.id, Person.name)):
        if search_key(person_name) == key:
            found.add(person_id)
    for person_id, alias in session.execute(select(PersonAlias.person_id, PersonAlias.alias)):
        if search_key(alias) == key:
            found.add(person_id)
    return sorted({root_person_id(session, person_id) for person_id in found})
