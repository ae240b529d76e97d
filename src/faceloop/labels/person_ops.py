"""What people do to people: create, rename, aliases, groups (tags), hide, merge, cover face.

Each operation is an event in `person_event`, so the activity page shows it and any of them can
be undone by a later event that applies the inverse. A merge of A into B only sets
`A.merged_into_id`: labels keep their raw person id and every query resolves merges, so
un-merging restores exactly the faces A had, however many were labelled since.
"""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from faceloop.db.models import (
    Account,
    FaceLabel,
    Person,
    PersonAlias,
    PersonEvent,
    PersonTag,
    Tag,
    utcnow,
)
from faceloop.labels.decisions import PERSON, keep_in_order
from faceloop.labels.people import (
    NameTaken,
    merged_person_ids,
    namesake,
    normalise_name,
    root_person_id,
    search_key,
)

CREATE = "create"
RENAME = "rename"
ALIAS_ADD = "alias_add"
ALIAS_REMOVE = "alias_remove"
TAG_ADD = "tag_add"
TAG_REMOVE = "tag_remove"
HIDE = "hide"
UNHIDE = "unhide"
MERGE = "merge"
UNMERGE = "unmerge"
COVER = "cover"
#: an author account of a collected source said to be (or no longer) the person's own
ACCOUNT_LINK = "account_link"
ACCOUNT_UNLINK = "account_unlink"
KINDS = (CREATE, RENAME, ALIAS_ADD, ALIAS_REMOVE, TAG_ADD, TAG_REMOVE, HIDE, UNHIDE, MERGE)
KINDS += (UNMERGE, COVER, ACCOUNT_LINK, ACCOUNT_UNLINK)
MAX_NAME = 200


class PersonOpError(ValueError):
    """The operation does not apply (a duplicate alias, a merge into oneself); the message
    says why in words the page can show."""


def get_person(session: Session, person_id: int) -> Person:
    person = session.get(Person, person_id)
    if person is None:
        raise LookupError(f"no person {person_id}")
    return person


def clean_name(name: str, what: str = "a name") -> str:
    clean = normalise_name(name)
    if not clean:
        raise PersonOpError(f"{what} cannot be empty")
    if len(clean) > MAX_NAME:
        raise PersonOpError(f"{what} can have at most {MAX_NAME} characters")
    return clean


def create_person(
    session: Session, name: str, user_id: int | None, *, new_person: bool = False
) -> int:
    """A new person called `name`. Refused (NameTaken) when someone already has that name or
    alias in another spelling (case, accents, underscores, width), unless `new_person`: the
    labeller said it is a second person of that name."""
    clean = clean_name(name)
    if not new_person:
        existing = namesake(session, clean)
        if existing is not None:
            raise NameTaken(*existing, clean)
    person = Person(name=clean)
    session.add(person)
    session.flush()
    _event(session, person.id, CREATE, {"name": clean}, user_id)
    return person.id


def rename_person(session: Session, person_id: int, name: str, user_id: int | None) -> int:
    person = get_person(session, person_id)
    clean = clean_name(name)
    if clean == person.name:
        raise PersonOpError(f"{person.name} is already called that")
    other = session.scalar(
        select(Person.id).where(
            Person.name == clean, Person.id != person_id, Person.merged_into_id.is_(None)
        )
    )
    if other is not None:
        raise PersonOpError(
            f"another person is already called {clean}; merge the two if they are one person"
        )
    detail = {"from": person.name, "to": clean}
    person.name = clean
    return _event(session, person_id, RENAME, detail, user_id)


def add_alias(session: Session, person_id: int, alias: str, user_id: int | None) -> int:
    person = get_person(session, person_id)
    clean = clean_name(alias, "an alias")
    existing = session.scalars(
        select(PersonAlias.alias).where(PersonAlias.person_id == person_id)
    ).all()
    if search_key(clean) in {search_key(a) for a in [*existing, person.name]}:
        raise PersonOpError(f"{person.name} already has the name {clean}")
    session.add(PersonAlias(person_id=person_id, alias=clean))
    return _event(session, person_id, ALIAS_ADD, {"alias": clean}, user_id)


def remove_alias(session: Session, person_id: int, alias: str, user_id: int | None) -> int:
    get_person(session, person_id)
    clean = normalise_name(alias)
    row = session.scalar(
        select(PersonAlias).where(PersonAlias.person_id == person_id, PersonAlias.alias == clean)
    )
    if row is None:
        raise PersonOpError(f"no alias {clean!r} to remove")
    session.delete(row)
    return _event(session, person_id, ALIAS_REMOVE, {"alias": clean}, user_id)


def add_tag(session: Session, person_id: int, tag: str, user_id: int | None) -> int:
    get_person(session, person_id)
    clean = clean_name(tag, "a group")
    tag_row = session.scalar(select(Tag).where(Tag.name == clean))
    if tag_row is None:
        tag_row = Tag(name=clean)
        session.add(tag_row)
        session.flush()
    elif session.get(PersonTag, (person_id, tag_row.id)) is not None:
        raise PersonOpError(f"already in {clean}")
    session.add(PersonTag(person_id=person_id, tag_id=tag_row.id))
    return _event(session, person_id, TAG_ADD, {"tag": clean}, user_id)


def remove_tag(session: Session, person_id: int, tag: str, user_id: int | None) -> int:
    get_person(session, person_id)
    clean = normalise_name(tag)
    tag_id = session.scalar(select(Tag.id).where(Tag.name == clean))
    if tag_id is None or session.get(PersonTag, (person_id, tag_id)) is None:
        raise PersonOpError(f"not in a group called {clean!r}")
    session.execute(
        delete(PersonTag).where(PersonTag.person_id == person_id, PersonTag.tag_id == tag_id)
    )
    return _event(session, person_id, TAG_REMOVE, {"tag": clean}, user_id)


def set_hidden(session: Session, person_id: int, hidden: bool, user_id: int | None) -> int:
    person = get_person(session, person_id)
    if person.hidden == hidden:
        raise PersonOpError(f"{person.name} is already {'hidden' if hidden else 'shown'}")
    person.hidden = hidden
    return _event(session, person_id, HIDE if hidden else UNHIDE, {}, user_id)


def merge_people(session: Session, source_id: int, target_id: int, user_id: int | None) -> int:
    """Merge `source` into `target`: from now on the source's faces, names and aliases count
    as the target's. Recorded on the source, so un-merging it restores exactly."""
    source = get_person(session, source_id)
    get_person(session, target_id)
    if source.merged_into_id is not None:
        raise PersonOpError(f"{source.name} is already merged into someone")
    target_root = root_person_id(session, target_id)
    if target_root == source_id:
        raise PersonOpError("a person cannot be merged into themselves")
    target = get_person(session, target_root)
    source.merged_into_id = target_root
    detail = {"into": target_root, "into_name": target.name, "name": source.name}
    return _event(session, source_id, MERGE, detail, user_id)


def unmerge_person(session: Session, person_id: int, user_id: int | None) -> int:
    person = get_person(session, person_id)
    if person.merged_into_id is None:
        raise PersonOpError(f"{person.name} is not merged into anyone")
    target = get_person(session, person.merged_into_id)
    detail = {"from": target.id, "from_name": target.name, "name": person.name}
    person.merged_into_id = None
    return _event(session, person_id, UNMERGE, detail, user_id)


def set_cover(session: Session, person_id: int, face_id: int | None, user_id: int | None) -> int:
    """Choose the face shown for the person in lists; None goes back to the automatic one."""
    get_person(session, person_id)
    if face_id is not None:
        label = session.get(FaceLabel, face_id)
        members = _members(session, person_id)
        if label is None or label.verdict != PERSON or label.person_id not in members:
            raise PersonOpError(f"face {face_id} is not one of this person's faces")
    previous = cover_face(session, person_id)
    return _event(session, person_id, COVER, {"face_id": face_id, "previous": previous}, user_id)


def cover_face(session: Session, person_id: int) -> int | None:
    """The cover a person chose, if any (the latest cover event)."""
    event = session.scalar(
        select(PersonEvent)
        .where(PersonEvent.person_id == person_id, PersonEvent.kind == COVER)
        .order_by(PersonEvent.id.desc())
        .limit(1)
    )
    return event.detail.get("face_id") if event is not None else None


def chosen_covers(session: Session) -> dict[int, int]:
    """Every person's chosen cover face, in one query."""
    covers: dict[int, int] = {}
    for person_id, detail in session.execute(
        select(PersonEvent.person_id, PersonEvent.detail)
        .where(PersonEvent.kind == COVER)
        .order_by(PersonEvent.id)
    ):
        face_id = (detail or {}).get("face_id")
        if face_id is None:
            covers.pop(person_id, None)
        else:
            covers[person_id] = face_id
    return covers


def _account(session: Session, account_id: int) -> Account:
    account = session.get(Account, account_id)
    if account is None:
        raise LookupError(f"no account {account_id}")
    return account


def link_account(session: Session, account_id: int, person_id: int, user_id: int | None) -> int:
    """Say an account is the person's own: her single-face photos from it then suggest her.
    Recorded on the person (with the person it was linked to before, if any), so the person's
    history shows it and undo puts the link back as it was."""
    account = _account(session, account_id)
    person = get_person(session, person_id)
    if account.person_id == person_id:
        raise PersonOpError(f"{account.handle} is already linked to {person.name}")
    detail = {"account_id": account.id, "handle": account.handle, "previous": account.person_id}
    account.person_id = person_id
    return _event(session, person_id, ACCOUNT_LINK, detail, user_id)


def unlink_account(session: Session, account_id: int, user_id: int | None) -> int:
    """The account is no longer said to be anyone's; recorded on the person it was linked to."""
    account = _account(session, account_id)
    if account.person_id is None:
        raise PersonOpError(f"{account.handle} is not linked to anyone")
    person_id = account.person_id
    account.person_id = None
    detail = {"account_id": account.id, "handle": account.handle}
    return _event(session, person_id, ACCOUNT_UNLINK, detail, user_id)


def undo_event(session: Session, event_id: int, user_id: int | None) -> int:
    """Apply the inverse of an event, recorded as a new event that names it."""
    target = session.get(PersonEvent, event_id)
    if target is None:
        raise LookupError(f"no person event {event_id}")
    if session.scalar(select(PersonEvent.id).where(PersonEvent.undoes_id == event_id)):
        raise PersonOpError("this change was already undone")
    detail = target.detail or {}
    pid = target.person_id
    kind = target.kind
    if kind == CREATE:
        raise PersonOpError(
            "creating a person cannot be undone; undo the labels that named them, or hide them"
        )
    if kind == RENAME:
        person = get_person(session, pid)
        if person.name != detail["to"]:
            raise PersonOpError(f"{person.name} was renamed again since; rename them directly")
        new_id = rename_person(session, pid, detail["from"], user_id)
    elif kind == ALIAS_ADD:
        new_id = remove_alias(session, pid, detail["alias"], user_id)
    elif kind == ALIAS_REMOVE:
        new_id = add_alias(session, pid, detail["alias"], user_id)
    elif kind == TAG_ADD:
        new_id = remove_tag(session, pid, detail["tag"], user_id)
    elif kind == TAG_REMOVE:
        new_id = add_tag(session, pid, detail["tag"], user_id)
    elif kind in (HIDE, UNHIDE):
        new_id = set_hidden(session, pid, kind == UNHIDE, user_id)
    elif kind == MERGE:
        person = get_person(session, pid)
        if person.merged_into_id != detail["into"]:
            raise PersonOpError(f"{person.name} is no longer merged into {detail['into_name']}")
        new_id = unmerge_person(session, pid, user_id)
    elif kind == UNMERGE:
        new_id = merge_people(session, pid, detail["from"], user_id)
    elif kind == COVER:
        new_id = set_cover(session, pid, detail.get("previous"), user_id)
    elif kind == ACCOUNT_LINK:
        account = _account(session, detail["account_id"])
        if account.person_id != pid:
            raise PersonOpError(f"{account.handle} was linked or unlinked again since")
        previous = detail.get("previous")
        if previous is not None and session.get(Person, previous) is not None:
            new_id = link_account(session, account.id, previous, user_id)
        else:
            new_id = unlink_account(session, account.id, user_id)
    elif kind == ACCOUNT_UNLINK:
        account = _account(session, detail["account_id"])
        if account.person_id is not None:
            raise PersonOpError(f"{account.handle} was linked again since")
        new_id = link_account(session, account.id, pid, user_id)
    else:
        raise PersonOpError(f"a {kind} event cannot be undone")
    session.get(PersonEvent, new_id).undoes_id = event_id
    return new_id


def _members(session: Session, person_id: int) -> set[int]:
    return set(merged_person_ids(session, root_person_id(session, person_id)))


def _event(session: Session, person_id: int, kind: str, detail: dict, user_id: int | None) -> int:
    now = utcnow()
    event = PersonEvent(
        person_id=person_id, kind=kind, detail=detail, user_id=user_id, created_at=now
    )
    session.add(event)
    session.flush()
    keep_in_order(session, PersonEvent, event.id, now)
    return event.id
