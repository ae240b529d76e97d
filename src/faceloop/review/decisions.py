"""Decisions are append-only events; a face's label is derived from them.

The current label is the latest decision that sets one (a person, "not a face" or "unknown
person") and has not been undone. Undo is itself a decision, so undoing an undo redoes.
`face_label` caches the result for fast queues and is recomputed here, nowhere else.

A "reject" says "this face is not person P". It sets no label, but it is remembered (the
learning loop learns from it and suggestions leave P out), and it withdraws a current label of
P: the face goes back to the queue rather than falling back to an older, overruled label.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from faceloop.db.models import Decision, FaceLabel

PERSON = "person"
NOT_FACE = "not_face"
UNKNOWN = "unknown"
SKIP = "skip"
REJECT = "reject"
UNDO = "undo"
LABELLING = (PERSON, NOT_FACE, UNKNOWN)
NAMES_PERSON = (PERSON, REJECT)
VERDICTS = (*LABELLING, SKIP, REJECT)
ORIGINS = ("manual", "suggestion", "bulk", "group", "import")


def new_batch() -> str:
    """One id for every decision made by a single action, so the action undoes as a whole."""
    return uuid.uuid4().hex


def decide(
    session: Session,
    face_id: int,
    verdict: str,
    *,
    person_id: int | None = None,
    origin: str = "manual",
    user_id: int | None = None,
    batch: str | None = None,
    detail: dict | None = None,
) -> Decision:
    if verdict not in VERDICTS:
        raise ValueError(f"unknown verdict {verdict!r}")
    if (verdict in NAMES_PERSON) != (person_id is not None):
        raise ValueError("a person is named exactly when the verdict is 'person' or 'reject'")
    if origin not in ORIGINS:
        raise ValueError(f"unknown origin {origin!r}")
    decision = Decision(
        face_id=face_id,
        verdict=verdict,
        person_id=person_id,
        origin=origin,
        user_id=user_id,
        batch=batch,
        detail=detail,
    )
    session.add(decision)
    session.flush()
    if verdict in LABELLING:
        _set_label(session, face_id, decision)
    elif verdict == REJECT:
        recompute_labels(session, [face_id])
    return decision


def undo(
    session: Session, decision_id: int, user_id: int | None = None, batch: str | None = None
) -> Decision:
    """Record that a decision is withdrawn and recompute the label it affected.

    Withdrawing a decision that is already withdrawn is refused, so a double click cannot
    stack two undos (which would take two redos to reverse).
    """
    target = session.get(Decision, decision_id)
    if target is None:
        raise LookupError(f"no decision {decision_id}")
    if is_undone(session, target):
        raise ValueError(f"decision {decision_id} is already undone")
    event = Decision(
        face_id=target.face_id,
        verdict=UNDO,
        undoes_id=target.id,
        origin="manual",
        user_id=user_id,
        batch=batch or new_batch(),
    )
    session.add(event)
    session.flush()
    recompute_labels(session, [target.face_id])
    return event


def undo_batch(session: Session, batch: str, user_id: int | None = None) -> list[Decision]:
    """Withdraw every decision of one action that still stands, as one new action."""
    targets = session.scalars(
        select(Decision).where(Decision.batch == batch).order_by(Decision.id.desc())
    ).all()
    if not targets:
        raise LookupError(f"no decisions in batch {batch}")
    undo_id = new_batch()
    return [
        undo(session, target.id, user_id, batch=undo_id)
        for target in targets
        if not is_undone(session, target)
    ]


def is_undone(session: Session, decision: Decision) -> bool:
    rows = session.scalars(
        select(Decision).where(Decision.face_id == decision.face_id).order_by(Decision.id)
    ).all()
    return decision.id in _undone_ids(rows)


def recompute_labels(session: Session, face_ids: Iterable[int]) -> None:
    for face_id in face_ids:
        rows = session.scalars(
            select(Decision).where(Decision.face_id == face_id).order_by(Decision.id)
        ).all()
        current = current_decision(rows)
        if current is None:
            session.execute(delete(FaceLabel).where(FaceLabel.face_id == face_id))
        else:
            _set_label(session, face_id, current)


def current_decision(decisions: list[Decision]) -> Decision | None:
    """The decision that sets the label, given all of one face's decisions in order."""
    undone = _undone_ids(decisions)
    rejected: set[int] = set()
    for decision in reversed(decisions):
        if decision.id in undone:
            continue
        if decision.verdict == REJECT:
            rejected.add(decision.person_id)
        elif decision.verdict in LABELLING:
            if decision.verdict == PERSON and decision.person_id in rejected:
                return None
            return decision
    return None


def _undone_ids(decisions: list[Decision]) -> set[int]:
    """Undo events can themselves be undone: walk from the newest so each counts once."""
    undone: set[int] = set()
    for decision in reversed(decisions):
        if decision.verdict == UNDO and decision.id not in undone:
            undone.add(decision.undoes_id)
    return undone


def _set_label(session: Session, face_id: int, decision: Decision) -> None:
    label = session.get(FaceLabel, face_id)
    if label is None:
        session.add(
            FaceLabel(
                face_id=face_id,
                decision_id=decision.id,
                verdict=decision.verdict,
                person_id=decision.person_id,
            )
        )
    else:
        label.decision_id = decision.id
        label.verdict = decision.verdict
        label.person_id = decision.person_id
