"""The confirm queue: "Is this <name>?" for faces the model has a guess for.

One face at a time (y / n / type a name / s), or a page of up to 24 faces predicted as the same
person where one Enter accepts all but the deselected ones. A "no" is a decision too: the face
is never offered as that person again, and the next model learns from it.

A page of faces each guessed as its own person (`review/confirm_page.py`, mode "mixed") takes
only the guesses at or above the model's own threshold (`model_threshold`): the one chosen on
held-out faces for 99% precision. With many people on one page, each face is looked at for a
moment only, so the page offers what is nearly always right.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

import numpy as np
from sqlalchemy import exists, func, select, tuple_
from sqlalchemy.orm import Session, aliased

from faceloop.db.models import Decision, Face, FaceLabel, Model, Person, Prediction
from faceloop.labels.decisions import PERSON, REJECT, SKIP, UNDO, Verdict, decide_all, new_batch
from faceloop.labels.people import merged_person_ids
from faceloop.learning.training_data import vectors
from faceloop.options import GuessOrder, choose

PAGE = 24
REFERENCES = 3
ORDERS = tuple(GuessOrder)


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


def _waiting(
    query,
    person_id: int | None = None,
    exclude: Collection[int] = (),
    min_score: float | None = None,
):
    """Narrow a query on `prediction` to top guesses for faces nobody has labelled, that no
    one has refused for that person; `exclude` leaves out faces a page already holds, and
    `min_score` the guesses less sure than that.

    The refusals are a subquery that does not depend on the row, so SQLite works it out once
    per query rather than once per prediction (there may be a hundred thousand)."""
    refused = aliased(Decision)
    withdrawn, redone = aliased(Decision), aliased(Decision)
    # a refusal that was undone (and the undo not itself undone) no longer stands; deeper
    # undo-of-undo chains are rare enough to read as the last two steps say
    refusal_undone = exists().where(
        withdrawn.face_id == refused.face_id,
        withdrawn.verdict == UNDO,
        withdrawn.undoes_id == refused.id,
        ~exists().where(
            redone.face_id == withdrawn.face_id,
            redone.verdict == UNDO,
            redone.undoes_id == withdrawn.id,
        ),
    )
    standing_refusals = select(refused.face_id, refused.person_id).where(
        refused.verdict == REJECT, ~refusal_undone
    )
    query = query.outerjoin(FaceLabel, FaceLabel.face_id == Prediction.face_id).where(
        Prediction.rank == 0,
        Prediction.person_id.is_not(None),
        FaceLabel.face_id.is_(None),
        tuple_(Prediction.face_id, Prediction.person_id).not_in(standing_refusals),
    )
    if person_id is not None:
        # every prediction is of one model (a run replaces the last one's): naming it lets
        # SQLite read the person's rows from the (model, person, rank, score) index
        current = aliased(Prediction)
        model = select(current.model_id).limit(1).scalar_subquery()
        query = query.where(Prediction.model_id == model, Prediction.person_id == person_id)
    if exclude:
        query = query.where(Prediction.face_id.not_in(list(exclude)))
    if min_score is not None:
        query = query.where(Prediction.score >= min_score)
    return query


def next_suggestions(
    session: Session,
    *,
    person_id: int | None = None,
    order: str = "confident",
    limit: int = 1,
    exclude: Collection[int] = (),
    min_score: float | None = None,
    skipped: bool = True,
) -> list[Suggestion]:
    """In the chosen order, faces someone skipped last (or, with `skipped` False, not at all:
    a page that takes other suggestions before them); `min_score` leaves out the guesses less
    sure than that."""
    order = choose(GuessOrder, order, "order")
    score = Prediction.score.desc() if order == GuessOrder.CONFIDENT else Prediction.score.asc()
    was_skipped = Prediction.face_id.in_(select(Decision.face_id).where(Decision.verdict == SKIP))
    query = _waiting(
        select(Prediction.face_id, Prediction.person_id, Prediction.score),
        person_id,
        exclude,
        min_score,
    )
    if not skipped:
        query = query.where(~was_skipped)
    rows = session.execute(
        query.order_by(was_skipped, score, Prediction.face_id).limit(limit)
    ).all()
    images = dict(
        session.execute(
            select(Face.id, Face.image_id).where(Face.id.in_([r.face_id for r in rows]))
        ).all()
    )
    return [Suggestion(r.face_id, images[r.face_id], r.person_id, r.score) for r in rows]


def confirm_page(
    session: Session,
    *,
    person_id: int | None = None,
    order: str = "confident",
    size: int = PAGE,
    exclude: Collection[int] = (),
) -> ConfirmPage | None:
    """Up to `size` faces predicted as one person: the given one, or else the person of the
    first suggestion in the chosen order. None when nothing waits."""
    if person_id is None:
        first = next_suggestions(session, order=order, limit=1, exclude=exclude)
        if not first:
            return None
        person_id = first[0].person_id
    suggestions = next_suggestions(
        session, person_id=person_id, order=order, limit=size, exclude=exclude
    )
    if not suggestions:
        return None
    pending = pending_count(session, person_id)
    name = session.scalar(select(Person.name).where(Person.id == person_id)) or "?"
    return ConfirmPage(person_id, name, suggestions, reference_faces(session, person_id), pending)


def pending_count(
    session: Session, person_id: int | None = None, min_score: float | None = None
) -> int:
    """Suggestions still waiting for an answer: for one person, or for everyone; `min_score`
    counts only the guesses at least that sure."""
    query = _waiting(select(func.count(Prediction.face_id)), person_id, min_score=min_score)
    return session.scalar(query)


def waiting_faces(session: Session, min_score: float | None = None) -> set[int]:
    """The faces with a guess waiting for an answer (at least `min_score` sure): what a page
    of everyone's faces can still offer."""
    return set(session.scalars(_waiting(select(Prediction.face_id), min_score=min_score)))


def model_threshold(session: Session) -> float | None:
    """The threshold of the model whose guesses are waiting (chosen on its held-out faces for
    99% precision; 0 when it had too few to choose one); None before any prediction."""
    current = select(Prediction.model_id).limit(1).scalar_subquery()
    return session.scalar(select(Model.threshold).where(Model.id == current))


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
    verdicts = [Verdict(face_id, PERSON, person_id) for face_id in accepted]
    verdicts += [Verdict(face_id, REJECT, person_id) for face_id in refused]
    decide_all(session, verdicts, origin="suggestion", user_id=user_id, batch=batch)
    return batch
