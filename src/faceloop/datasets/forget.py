"""Forgetting a person on request: their faces, crops, decisions and predictions leave the
workspace, and a record stays that they must not be collected again.

This is the one place where decisions are deleted rather than undone: a request to be forgotten
is about the data itself, and an undoable event would keep it. Everything goes in one
transaction. What is deleted:

- the person, and every person merged into them (one person under several names);
- the faces labelled with them, with those faces' decisions, labels, predictions and group
  memberships (the database cascades from the face);
- every other decision that names them ("this face is not P"), with the undo events about
  those decisions, and the labels of the faces concerned are recomputed;
- photos left with no face at all, and their near-copies;
- models that have a class for them (a model that recognises a person is their data too), and
  the predictions those models made;
- blobs (photos, chips, crops) that nothing left in the workspace uses, the scaled copies of
  deleted photos kept for display, and the files of the deleted models.

Photos that show other people too are kept, without the forgotten person's face in them.
Blobs are journalled in the same transaction and deleted after it, so a crash in between
leaves their removal to the next import's clean-up, never a missing blob for a kept row.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session

from faceloop.db.models import (
    Account,
    BlobJournal,
    Decision,
    Face,
    FaceGroup,
    FaceLabel,
    ForgottenPerson,
    Image,
    Model,
    Person,
    PersonAlias,
    PersonEvent,
    Prediction,
)
from faceloop.labels.decisions import PERSON, UNDO, recompute_labels
from faceloop.labels.people import merged_person_ids, people_named
from faceloop.workspace import Workspace

_OWNER_PREFIX = "forget-"


class UnknownPerson(LookupError):
    """No one, or more than one person, answers to the name given."""


@dataclass(frozen=True)
class ForgetPlan:
    """What forgetting a person will remove, for the confirmation prompt."""

    person_id: int
    name: str
    aliases: tuple[str, ...]
    #: the person's own id and the ids of people merged into them
    person_ids: tuple[int, ...]
    faces: int
    decisions: int
    models: int


@dataclass(frozen=True)
class ForgetResult:
    name: str
    faces: int
    decisions: int
    predictions: int
    photos: int
    models: int
    blobs: int
    #: photos kept because they show other people too
    photos_kept: int
    forgotten_id: int
    notes: tuple[str, ...] = field(default_factory=tuple)


def find_person(ws: Workspace, name: str) -> int:
    """The one person a name, an alias or "#id" means; UnknownPerson otherwise."""
    with ws.reader() as session:
        matches = people_named(session, name)
        if not matches:
            raise UnknownPerson(f"no person called {name!r} (check the name, or use #id)")
        if len(matches) > 1:
            listed = ", ".join(
                f"#{pid} {session.scalar(select(Person.name).where(Person.id == pid))}"
                for pid in matches
            )
            raise UnknownPerson(f"{name!r} names {len(matches)} people ({listed}); use #id")
        return matches[0]


def plan_forget(ws: Workspace, person_id: int) -> ForgetPlan:
    with ws.reader() as session:
        person = session.get(Person, person_id)
        if person is None:
            raise UnknownPerson(f"no person #{person_id}")
        ids = merged_person_ids(session, person_id)
        aliases = _aliases(session, ids, person.name)
        faces = session.scalar(
            select(func.count())
            .select_from(FaceLabel)
            .where(FaceLabel.verdict == PERSON, FaceLabel.person_id.in_(ids))
        )
        decisions = session.scalar(
            select(func.count()).select_from(Decision).where(Decision.person_id.in_(ids))
        )
        models = len(_models_with(session, ids))
        return ForgetPlan(person_id, person.name, aliases, tuple(ids), faces, decisions, models)


def forget_person(ws: Workspace, person_id: int, user_id: int | None = None) -> ForgetResult:
    """Remove the person and everything of theirs (see the module doc); irreversible."""
    owner = _OWNER_PREFIX + uuid.uuid4().hex[:16]
    with ws.transaction() as session:
        person = session.get(Person, person_id)
        if person is None:
            raise UnknownPerson(f"no person #{person_id}")
        ids = merged_person_ids(session, person_id)
        name = person.name
        aliases = _aliases(session, ids, name)
        doomed = _what_goes(session, ids)
        _delete_decisions_naming(session, ids, doomed)
        # the faces, and through the database's cascades their decisions, labels,
        # predictions and group memberships
        session.execute(delete(Face).where(Face.id.in_(doomed.face_ids)))
        photos, kept, photo_keys = _empty_photos(session, doomed.image_ids)
        keys = doomed.keys | photo_keys
        model_files = _delete_models(session, doomed.models)
        _detach_references(session, ids)
        _delete_people(session, ids)
        record = ForgottenPerson(name=name, aliases=list(aliases), user_id=user_id)
        session.add(record)
        session.flush()
        forgotten_id = record.id
        for key in sorted(keys):
            session.merge(BlobJournal(key=key, owner=owner))
    removed = _delete_unused_blobs(ws, keys, owner)
    _delete_model_files(ws, model_files)
    notes: list[str] = []
    if kept:
        notes.append(f"{kept} photo(s) show other people too and were kept, without this face")
    if models := len(doomed.models):
        notes.append(f"{models} model(s) knew this person and were deleted: train again")
    return ForgetResult(
        name=name,
        faces=len(doomed.face_ids),
        decisions=len(doomed.naming),
        predictions=doomed.predictions,
        photos=photos,
        models=models,
        blobs=removed,
        photos_kept=kept,
        forgotten_id=forgotten_id,
        notes=tuple(notes),
    )


@dataclass(frozen=True)
class _Doomed:
    """What forgetting these people removes, read before anything is deleted: the deletions
    cascade, so afterwards the faces and decisions could no longer be told apart."""

    #: faces labelled with them
    face_ids: set[int]
    #: every decision that names them, on any face
    naming: set[int]
    #: faces that stay but have a decision naming them ("this face is not P")
    other_faces: set[int]
    #: the decisions naming them on faces that stay, with the undos of those
    decisions_elsewhere: set[int]
    #: the chips and crops of their faces
    keys: set[str]
    #: the photos their faces are in
    image_ids: set[int]
    models: list[int]
    predictions: int


def _what_goes(session: Session, ids: list[int]) -> _Doomed:
    face_ids = set(
        session.scalars(
            select(FaceLabel.face_id).where(
                FaceLabel.verdict == PERSON, FaceLabel.person_id.in_(ids)
            )
        )
    )
    naming = set(session.scalars(select(Decision.id).where(Decision.person_id.in_(ids))))
    other_faces = (
        set(session.scalars(select(Decision.face_id).where(Decision.id.in_(naming)))) - face_ids
    )
    naming_elsewhere = set(
        session.scalars(
            select(Decision.id).where(Decision.id.in_(naming), Decision.face_id.in_(other_faces))
        )
    )
    face_rows = session.execute(
        select(Face.id, Face.image_id, Face.chip_key, Face.crop_key).where(Face.id.in_(face_ids))
    ).all()
    models = _models_with(session, ids)
    predictions = session.scalar(
        select(func.count())
        .select_from(Prediction)
        .where(or_(Prediction.person_id.in_(ids), Prediction.model_id.in_(models)))
    )
    return _Doomed(
        face_ids=face_ids,
        naming=naming,
        other_faces=other_faces,
        decisions_elsewhere=_with_undos(session, naming_elsewhere),
        keys={key for row in face_rows for key in (row.chip_key, row.crop_key)},
        image_ids={row.image_id for row in face_rows},
        models=models,
        predictions=predictions or 0,
    )


def _delete_decisions_naming(session: Session, ids: list[int], doomed: _Doomed) -> None:
    """The decisions naming them on faces that stay, what undid those, and their predictions;
    the faces that stay get their labels from the decisions left."""
    session.execute(delete(FaceLabel).where(FaceLabel.decision_id.in_(doomed.decisions_elsewhere)))
    _delete_decisions(session, doomed.decisions_elsewhere)
    recompute_labels(session, sorted(doomed.other_faces))
    session.execute(delete(Prediction).where(Prediction.person_id.in_(ids)))


def _detach_references(session: Session, ids: list[int]) -> None:
    """Rows that stay but point at them (a photo's hint, an account, a group's suggestion)
    point at no one, so no trace of the person is left in what is kept."""
    session.execute(update(Image).where(Image.hint_person_id.in_(ids)).values(hint_person_id=None))
    # their own accounts are never collected from again
    session.execute(
        update(Account)
        .where(Account.person_id.in_(ids))
        .values(person_id=None, do_not_collect=True)
    )
    session.execute(
        update(FaceGroup)
        .where(FaceGroup.suggested_person_id.in_(ids))
        .values(suggested_person_id=None, suggested_distance=None)
    )


def _delete_people(session: Session, ids: list[int]) -> None:
    """The people with their history and aliases; links between the rows (an undo naming an
    event, a merge) are cut first so no foreign key points at a deleted row."""
    their_events = select(PersonEvent.id).where(PersonEvent.person_id.in_(ids))
    session.execute(
        update(PersonEvent).where(PersonEvent.undoes_id.in_(their_events)).values(undoes_id=None)
    )
    session.execute(delete(PersonEvent).where(PersonEvent.person_id.in_(ids)))
    session.execute(delete(PersonAlias).where(PersonAlias.person_id.in_(ids)))
    session.execute(update(Person).where(Person.id.in_(ids)).values(merged_into_id=None))
    session.execute(delete(Person).where(Person.id.in_(ids)))


def _delete_model_files(ws: Workspace, model_files: list[str]) -> None:
    for name in model_files:
        # a model is <id>.json with its weights beside it in <id>.pt
        for path in ws.models_dir.glob(f"{Path(name).stem}.*"):
            path.unlink(missing_ok=True)


def _aliases(session: Session, ids: list[int], name: str) -> tuple[str, ...]:
    """Every other name they went by: aliases and the names of people merged into them."""
    found = list(session.scalars(select(PersonAlias.alias).where(PersonAlias.person_id.in_(ids))))
    found += list(session.scalars(select(Person.name).where(Person.id.in_(ids))))
    return tuple(a for a in dict.fromkeys(found) if a != name)


def _models_with(session: Session, ids: list[int]) -> list[int]:
    wanted = set(ids)
    return [
        model_id
        for model_id, classes in session.execute(select(Model.id, Model.classes))
        if wanted & {int(c) for c in classes or ()}
    ]


def _with_undos(session: Session, decision_ids: set[int]) -> set[int]:
    """The decisions and every undo that points at one of them, however deep."""
    found = set(decision_ids)
    frontier = set(decision_ids)
    while frontier:
        undos = set(
            session.scalars(
                select(Decision.id).where(
                    Decision.verdict == UNDO, Decision.undoes_id.in_(frontier)
                )
            )
        )
        frontier = undos - found
        found |= frontier
    return found


def _delete_decisions(session: Session, decision_ids: set[int]) -> None:
    # undo events point at what they undo: the newest go first
    for decision_id in sorted(decision_ids, reverse=True):
        session.execute(delete(Decision).where(Decision.id == decision_id))


def _empty_photos(session: Session, image_ids: set[int]) -> tuple[int, int, set[str]]:
    """Delete the photos left with no face, and their near-copies; (deleted, kept, keys)."""
    empty = set(
        session.scalars(
            select(Image.id).where(
                Image.id.in_(image_ids), ~select(Face.id).where(Face.image_id == Image.id).exists()
            )
        )
    )
    copies = set(session.scalars(select(Image.id).where(Image.near_copy_of_id.in_(empty))))
    doomed = empty | copies
    keys = set(session.scalars(select(Image.sha256).where(Image.id.in_(doomed))))
    session.execute(
        update(Image).where(Image.near_copy_of_id.in_(doomed)).values(near_copy_of_id=None)
    )
    session.execute(delete(Image).where(Image.id.in_(doomed)))
    return len(doomed), len(image_ids - empty), keys


def _delete_models(session: Session, model_ids: list[int]) -> list[str]:
    if not model_ids:
        return []
    files = [f for f in session.scalars(select(Model.file).where(Model.id.in_(model_ids))) if f]
    session.execute(delete(Prediction).where(Prediction.model_id.in_(model_ids)))
    session.execute(update(Model).where(Model.parent_id.in_(model_ids)).values(parent_id=None))
    session.execute(delete(Model).where(Model.id.in_(model_ids)))
    return files


def _delete_unused_blobs(ws: Workspace, keys: set[str], owner: str) -> int:
    removed = 0
    with ws.transaction() as session:
        for key in sorted(keys):
            used = session.scalar(
                select(func.count()).select_from(
                    select(Image.id)
                    .where(Image.sha256 == key)
                    .union_all(
                        select(Face.id).where(or_(Face.chip_key == key, Face.crop_key == key))
                    )
                    .subquery()
                )
            )
            if not used and ws.blobs.exists(key):
                ws.blobs.delete(key)
                removed += 1
            if not used:
                for scaled in (ws.root / "cache" / "display" / key[:2]).glob(f"{key}-*.jpg"):
                    scaled.unlink(missing_ok=True)
        session.execute(delete(BlobJournal).where(BlobJournal.owner == owner))
    return removed
