"""The confirm queue: "Is this <name>?" for faces the model has a guess for.

One face at a time (y / n / type a name / s), or a page of up to 24 faces predicted as the same
person where one Enter accepts all but the deselected ones. A "no" is a decision too: the face
is never offered as that person again, and the next model learns from it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sqlalchemy import and_, exists, func, select
from sqlalchemy.orm import Session, aliased

from faceloop.dataset import vectors
from faceloop.db.models import Decision, Face, FaceLabel, Person, Prediction
from faceloop.people import merged_person_ids
from faceloop.review.decisions import PERSON, REJECT, SKIP, decide, new_batch

PAGE = 24
REFERENCES = 3
ORDERS = ("confident", "uncertain")


@dataclass(frozen=True)
class Suggestion:
    face_id: int
    image_id: int
    person_id: int
    score: float


@dataclass(frozen=True)
class ConfirmPage:
    person_id: int
    person_name: str
    suggestions: list[Suggestion]
    #: typical labelled faces of the person, to compare against
    reference_face_ids: list[int]
    #: suggestions for this person still waiting, this page included
    pending: int


def _pending(person_id: int | None = None):
    """Top guesses for faces nobody has labelled, that no one has refused for that person."""
    refused = aliased(Decision)
    skipped = aliased(Decision)
    query = (
        select(
            Prediction.face_id,
            Face.image_id,
            Prediction.person_id,
            Prediction.score,
            exists()
            .where(skipped.face_id == Prediction.face_id, skipped.verdict == SKIP)
            .label("skipped"),
        )
        .join(Face, Face.id == Prediction.face_id)
        .outerjoin(FaceLabel, FaceLabel.face_id == Prediction.face_id)
        .where(
            Prediction.rank == 0,
            Prediction.person_id.is_not(None),
            FaceLabel.face_id.is_(None),
            ~exists().where(
                and_(
                    refused.face_id == Prediction.face_id,
                    refused.verdict == REJECT,
                    refused.person_id == Prediction.person_id,
                )
            ),
        )
    )
    if person_id is not None:
        query = query.where(Prediction.person_id == person_id)
    return query


def _ordered(query, order: str):
    if order not in ORDERS:
        raise ValueError(f"unknown order {order!r}; choose one of {ORDERS}")
    score = Prediction.score.desc() if order == "confident" else Prediction.score.asc()
    return query.order_by("skipped", score, Prediction.face_id)


def next_suggestions(
    session: Session, *, person_id: int | None = None, order: str = "confident", limit: int = 1
) -> list[Suggestion]:
    rows = session.execute(_ordered(_pending(person_id), order).limit(limit)).all()
    return [Suggestion(r.face_id, r.image_id, r.person_id, r.score) for r in rows]


def confirm_page(
    session: Session,
    *,
    person_id: int | None = None,
    order: str = "confident",
    size: int = PAGE,
) -> ConfirmPage | None:
    """Up to `size` faces predicted as one person: the given one, or else the person of the
    first suggestion in the chosen order. None when nothing waits."""
    if person_id is None:
        first = next_suggestions(session, order=order, limit=1)
        if not first:
            return None
        person_id = first[0].person_id
    suggestions = next_suggestions(session, person_id=person_id, order=order, limit=size)
    if not suggestions:
        return None
    pending = session.scalar(select(func.count()).select_from(_pending(person_id).subquery()))
    name = session.scalar(select(Person.name).where(Person.id == person_id)) or "?"
    return ConfirmPage(person_id, name, suggestions, reference_faces(session, person_id), pending)


def reference_faces(session: Session, person_id: int, count: int = REFERENCES) -> list[int]:
    """The person's most typical labelled faces: nearest the mean of (up to 500 of) them."""
    people = merged_person_ids(session, person_id)
    rows = session.execute(
        select(Face.id, Face.embedding)
        .join(FaceLabel, FaceLabel.face_id == Face.id)
        .where(FaceLabel.verdict == PERSON, FaceLabel.person_id.in_(people))
        .order_by(Face.id.desc())
        .limit(500)
    ).all()
    if not rows:
        return []
    X = vectors([r.embedding for r in rows])
    distances = np.linalg.norm(X - X.mean(axis=0), axis=1)
    return [rows[i].id for i in np.argsort(distances, kind="stable")[:count]]


def answer_page(
    session: Session,
    person_id: int,
    accepted: list[int],
    refused: list[int],
    user_id: int | None = None,
) -> str:
    """One action: the accepted faces are the person, the deselected ones are not. Returns the
    batch id, which undoes the whole page at once."""
    batch = new_batch()
    for face_id in accepted:
        decide(
            session,
            face_id,
            PERSON,
            person_id=person_id,
            origin="suggestion",
            user_id=user_id,
            batch=batch,
        )
    for face_id in refused:
        decide(
            session,
            face_id,
            REJECT,
            person_id=person_id,
            origin="suggestion",
            user_id=user_id,
            batch=batch,
        )
    return batch
