"""People: names in any script, found or created by name."""

from __future__ import annotations

import unicodedata

from sqlalchemy import select
from sqlalchemy.orm import Session

from faceloop.db.models import ForgottenPerson, Person, PersonAlias, merge_roots


def normalise_name(name: str) -> str:
    """NFC and single spaces, so a name typed on macOS (NFD) and on Windows is one person."""
    return " ".join(unicodedata.normalize("NFC", name).split())


def find_or_create_person(session: Session, name: str, *, folder: bool = False) -> int:
    """The person a name given on import means, found as autocomplete would find them (name or
    alias, any spelling); else a new person. A `folder` name becomes a display name with
    spaces, the folder name kept as an alias, so re-importing the folder finds them again."""
    clean = normalise_name(name)
    if not clean:
        raise ValueError("a person needs a name")
    found = people_named(session, clean)
    if found:
        exact = session.scalars(
            select(Person.id).where(Person.id.in_(found), Person.name == clean)
        ).first()
        return exact if exact is not None else found[0]
    display = folder_person_name(clean) if folder else clean
    person = Person(name=display)
    session.add(person)
    session.flush()
    if display != clean:
        session.add(PersonAlias(person_id=person.id, alias=clean))
        session.flush()
    return person.id


_KATAKANA = {code: code - 0x60 for code in range(0x30A1, 0x30F7)}


#: written between the words of a name where a space cannot be (folder and file names)
_SEPARATORS = str.maketrans({"_": " ", "-": " ", ".": " "})
#: the kana voicing marks: under NFKD they are combining marks too, but they make another kana
_KANA_MARKS = {"\u3099", "\u309a"}


def strict_key(text: str) -> str:
    """The form a typed name must have to BE a person's name or alias without asking: NFKC
    (full-width letters, half-width kana), case folded, katakana as hiragana, single spaces, so
    "ＡＹＡ", "aya" and "アヤ"/"あや" meet."""
    folded = unicodedata.normalize("NFKC", text).casefold().translate(_KATAKANA)
    return " ".join(folded.split())


def search_key(text: str) -> str:
    """The form names are found and compared in: `strict_key`, with underscores, hyphens and
    dots as spaces and the accents dropped (NFKD without its combining marks), so
    "Serena_Williams" meets "serena williams" and "Hugo Chávez" meets "Hugo_Chavez"."""
    decomposed = unicodedata.normalize("NFKD", strict_key(text).translate(_SEPARATORS))
    plain = "".join(ch for ch in decomposed if ch in _KANA_MARKS or not unicodedata.combining(ch))
    return " ".join(unicodedata.normalize("NFKC", plain).split())


def folder_person_name(folder: str) -> str:
    """The name a folder of one person's photos gives them: its underscores as spaces
    ("Serena_Williams" is Serena Williams); the folder's own name stays an alias."""
    return normalise_name(folder.replace("_", " ")) or normalise_name(folder)


class NameTaken(ValueError):
    """A new person would have the name (as `search_key` compares) of someone who exists: two
    spellings of one name are one person unless the labeller says otherwise."""

    def __init__(self, person_id: int, person_name: str, name: str) -> None:
        super().__init__(
            f"{person_name} already exists (person {person_id}); label as {person_name}, or "
            f"say new_person=true to create a second person called {name}"
        )
        self.person_id = person_id
        self.person_name = person_name
        self.name = name


def namesake(session: Session, name: str) -> tuple[int, str] | None:
    """The person (hidden ones included) whose name or an alias is `name` as `search_key`
    compares: (id, name), the oldest first when there are several. A "#12" reference names
    nobody here: it is no spelling of a name."""
    text = name.strip()
    if text.startswith("#") and text[1:].isascii() and text[1:].isdigit():
        return None
    found = people_named(session, text)
    if not found:
        return None
    return found[0], session.get(Person, found[0]).name


def merges(session: Session) -> dict[int, int | None]:
    """Every person's `merged_into_id`: the input `merge_roots` resolves."""
    return dict(session.execute(select(Person.id, Person.merged_into_id)).all())


def root_person_id(session: Session, person_id: int) -> int:
    """The person a merged person now counts as (see `merge_roots`)."""
    return merge_roots(merges(session)).get(person_id, person_id)


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
    roots = merge_roots(merges(session))
    return sorted({roots.get(person_id, person_id) for person_id in found})


def forgotten_keys(session: Session) -> set[str]:
    """The search keys of every name and alias forgotten on request: an import refuses them,
    a collection skips the accounts that bear them."""
    keys = set()
    for name, aliases in session.execute(select(ForgottenPerson.name, ForgottenPerson.aliases)):
        keys.add(search_key(name))
        keys.update(search_key(a) for a in aliases or ())
    return keys
