"""Answering questions about faces: name them, say "not a face" or "unknown", skip, reject,
and take an answer back.

One rule lives here beside `decisions`: a person appears at most once in a photo. Naming a
second face of a photo with a person already named there is refused unless the labeller
confirms it (twins, a poster of oneself in the background), and the photo page flags it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from faceloop.db.models import Face, FaceLabel, Person
from faceloop.labels.decisions import (
    NAMES_PERSON,
    PERSON,
    Verdict,
    decide_all,
    new_batch,
    undo,
    undo_batch,
)
from faceloop.labels.names import exact_person
from faceloop.labels.people import merged_person_ids, root_person_id
from faceloop.labels.person_ops import create_person
from faceloop.options import DecisionOrigin, FaceVerdict, choose
from faceloop.workspace import Workspace

MAX_FACES_PER_ACTION = 1000


class SamePersonInPhoto(Exception):
    """Naming these faces would put one person twice in a photo; retry with confirm=True."""

    def __init__(self, person_id: int, name: str, conflicts: dict[int, list[int]]) -> None:
        self.person_id = person_id
        self.name = name
        #: for each face asked about, the other faces of its photo already this person
        self.conflicts = conflicts
        super().__init__(
            f"{name} is already labelled on another face of "
            + ("this photo" if len(conflicts) == 1 else f"{len(conflicts)} of these photos")
        )


@dataclass(frozen=True)
class LabelResult:
    batch: str
    decision_ids: list[int]
    verdict: str
    person_id: int | None = None
    person_name: str | None = None
    created_person: bool = False
    #: faces now sharing their person with another face of the same photo (confirmed)
    flagged: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class UndoResult:
    batch: str
    decision_ids: list[int]
    face_ids: list[int]


def label_faces(
    ws: Workspace,
    face_ids: Sequence[int],
    verdict: str,
    *,
    user_id: int | None,
    person_id: int | None = None,
    name: str | None = None,
    origin: str = "manual",
    confirm: bool = False,
    detail: dict | None = None,
    new_person: bool = False,
) -> LabelResult:
    """Record one action on one or more faces, as one batch (it undoes as a whole).

    A person is named by id or by `name`: an existing name or alias (any script, compared as
    autocomplete compares) picks that person, a new name creates one. For "reject" the person
    is the one the face is said not to be; a face currently labelled with them goes back to the
    queue.
    """
    verdict = choose(FaceVerdict, verdict, "verdict")
    origin = choose(DecisionOrigin, origin, "origin")
    unique = list(dict.fromkeys(face_ids))
    if not unique:
        raise ValueError("no faces given")
    if len(unique) > MAX_FACES_PER_ACTION:
        raise ValueError(f"at most {MAX_FACES_PER_ACTION} faces in one action")
    names_person = verdict in NAMES_PERSON
    if names_person and person_id is None and not (name and name.strip()):
        raise ValueError(f"'{verdict}' needs a person: give person_id or name")
    if not names_person and (person_id is not None or name):
        raise ValueError(f"'{verdict}' names no person")
    created = False
    if names_person and person_id is None:
        person_id = exact_person(ws, name)
    batch = new_batch()
    with ws.transaction() as session:
        _check_faces(session, unique)
        if names_person and person_id is None:
            person_id = create_person(session, name, user_id, new_person=new_person)
            created = True
        elif names_person:
            if session.get(Person, person_id) is None:
                raise LookupError(f"no person {person_id}")
            if verdict == PERSON:
                person_id = root_person_id(session, person_id)
        flagged: list[int] = []
        if verdict == PERSON:
            conflicts = same_person_conflicts(session, unique, person_id)
            if conflicts and not confirm:
                name_now = session.get(Person, person_id).name
                raise SamePersonInPhoto(person_id, name_now, conflicts)
            if conflicts:
                flagged = sorted(unique)
                detail = {**(detail or {}), "same_photo_confirmed": True}
        verdicts = [
            Verdict(
                face_id,
                verdict,
                _raw_label_of(session, face_id, person_id)
                if verdict != PERSON and names_person
                else person_id,
                detail,
            )
            for face_id in unique
        ]
        ids = [
            d.id for d in decide_all(session, verdicts, origin=origin, user_id=user_id, batch=batch)
        ]
        person_name = session.get(Person, person_id).name if person_id is not None else None
    return LabelResult(batch, ids, verdict, person_id, person_name, created, flagged)


def same_person_conflicts(
    session: Session, face_ids: Sequence[int], person_id: int
) -> dict[int, list[int]]:
    """For each face, the other faces of its photo already labelled with the person (or with
    anyone merged into them), including faces of the same action in the same photo."""
    members = merged_person_ids(session, root_person_id(session, person_id))
    rows = session.execute(select(Face.id, Face.image_id).where(Face.id.in_(face_ids))).all()
    image_of = dict(rows)
    labelled = session.execute(
        select(Face.id, Face.image_id)
        .join(FaceLabel, FaceLabel.face_id == Face.id)
        .where(
            Face.image_id.in_(set(image_of.values())),
            FaceLabel.verdict == PERSON,
            FaceLabel.person_id.in_(members),
        )
    ).all()
    by_image: dict[int, set[int]] = {}
    for face_id, image_id in [*labelled, *rows]:
        by_image.setdefault(image_id, set()).add(face_id)
    conflicts = {}
    for face_id, image_id in image_of.items():
        others = sorted(by_image[image_id] - {face_id})
        if others:
            conflicts[face_id] = others
    return conflicts


def undo_action(ws: Workspace, batch: str, user_id: int | None) -> UndoResult:
    """Take back a whole action (every decision in its batch that still stands)."""
    with ws.transaction() as session:
        events = undo_batch(session, batch, user_id)
        if not events:
            raise ValueError("this action was already undone")
        return UndoResult(events[0].batch, [e.id for e in events], [e.face_id for e in events])


def undo_decision(ws: Workspace, decision_id: int, user_id: int | None) -> UndoResult:
    with ws.transaction() as session:
        event = undo(session, decision_id, user_id)
        return UndoResult(event.batch, [event.id], [event.face_id])


def _check_faces(session: Session, face_ids: list[int]) -> None:
    found = set(session.scalars(select(Face.id).where(Face.id.in_(face_ids))))
    missing = [f for f in face_ids if f not in found]
    if missing:
        raise LookupError(f"no face {missing[0]}")


def _raw_label_of(session: Session, face_id: int, person_id: int) -> int:
    """A reject names the raw person the face carries when that person has been merged into the
    one named, so that un-merging keeps the reject where it belongs."""
    label = session.get(FaceLabel, face_id)
    if label is None or label.verdict != PERSON or label.person_id is None:
        return person_id
    if root_person_id(session, label.person_id) == root_person_id(session, person_id):
        return label.person_id
    return person_id
