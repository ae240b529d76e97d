"""Decisions are append-only events; a face's label is derived from them.

The current label is the latest decision that sets one (a person, "not a face" or "unknown
person") and has not been undone. Undo is itself a decision, so undoing an undo redoes.
`face_label` caches the result for fast queues and is recomputed here, nowhere else.
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
UNDO = "undo"
LABELLING = (PERSON, NOT_FACE, UNKNOWN)
VERDICTS = (*LABELLING, SKIP)
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
    if (verdict == PERSON) != (person_id is not None):
        raise ValueError("a person is named exactly when the verdict is 'person'")
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
    return decision


def undo(session: Session, decision_id: int, user_id: int | None = None) -> Decision:
    """Record that a decision is withdrawn and recompute the label it affected."""
    target = session.get(Decision, decision_id)
    if target is None:
        raise LookupError(f"no decision {decision_id}")
    event = Decision(
        face_id=target.face_id,
        verdict=UNDO,
        undoes_id=target.id,
        origin="manual",
        user_id=user_id,
        batch=new_batch(),
    )
    session.add(event)
    session.flush()
    recompute_labels(session, [target.face_id])
    return event


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
    for decision in reversed(decisions):
        if decision.verdict in LABELLING and decision.id not in undone:
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
