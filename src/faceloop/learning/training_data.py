"""The labelled and unlabelled faces of a workspace as arrays, for learning and grouping.

Labels come from `face_label` (derived from the decisions); a label naming a person who was
merged into another counts for the person merged into, and hidden people are left out.
Refusals ("this face is not P") that still stand come with them, so the next model learns from
every "no".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from faceloop.db.models import Decision, Face, FaceLabel, Person, merge_roots
from faceloop.labels.decisions import PERSON, REJECT, UNDO

OTHER = 0
EMBEDDING_SIZE = 128


@dataclass(frozen=True)
class LabelledFaces:
    face_ids: np.ndarray
    #: the person each face is (after merges), or 0 for "not a face" / "unknown person"
    person_ids: np.ndarray
    embeddings: np.ndarray
    crop_keys: list[str]


@dataclass(frozen=True)
class Refusals:
    face_ids: np.ndarray
    person_ids: np.ndarray
    embeddings: np.ndarray
    crop_keys: list[str]


def vectors(blobs: list[bytes]) -> np.ndarray:
    if not blobs:
        return np.zeros((0, EMBEDDING_SIZE), dtype=np.float32)
    return np.frombuffer(b"".join(blobs), dtype=np.float32).reshape(-1, EMBEDDING_SIZE)


def person_roots(session: Session) -> dict[int, int | None]:
    """Each person id to the person it counts as now (None for hidden people)."""
    rows = session.execute(select(Person.id, Person.merged_into_id, Person.hidden)).all()
    roots = merge_roots({pid: merged for pid, merged, _ in rows})
    hidden = {pid for pid, _, is_hidden in rows if is_hidden}
    return {pid: None if roots[pid] in hidden else roots[pid] for pid, _, _ in rows}


def labelled_faces(session: Session) -> LabelledFaces:
    rows = session.execute(
        select(Face.id, FaceLabel.verdict, FaceLabel.person_id, Face.embedding, Face.crop_key)
        .join(FaceLabel, FaceLabel.face_id == Face.id)
        .order_by(Face.id)
    ).all()
    roots = person_roots(session)
    kept = []
    for face_id, verdict, person_id, embedding, crop_key in rows:
        if verdict == PERSON:
            root = roots.get(person_id)
            if root is None:
                continue
            kept.append((face_id, root, embedding, crop_key))
        else:
            kept.append((face_id, OTHER, embedding, crop_key))
    return LabelledFaces(
        np.array([k[0] for k in kept], dtype=np.int64),
        np.array([k[1] for k in kept], dtype=np.int64),
        vectors([k[2] for k in kept]),
        [k[3] for k in kept],
    )


def standing_refusals(session: Session) -> Refusals:
    """ "No" answers that were not withdrawn, with the refused person after merges."""
    undone = undone_decision_ids(session)
    rows = session.execute(
        select(Decision.id, Decision.face_id, Decision.person_id, Face.embedding, Face.crop_key)
        .join(Face, Face.id == Decision.face_id)
        .where(Decision.verdict == REJECT)
        .order_by(Decision.id)
    ).all()
    roots = person_roots(session)
    kept = [
        (face_id, roots[person_id], embedding, crop_key)
        for decision_id, face_id, person_id, embedding, crop_key in rows
        if decision_id not in undone and roots.get(person_id) is not None
    ]
    return Refusals(
        np.array([k[0] for k in kept], dtype=np.int64),
        np.array([k[1] for k in kept], dtype=np.int64),
        vectors([k[2] for k in kept]),
        [k[3] for k in kept],
    )


def undone_decision_ids(session: Session) -> set[int]:
    """Every withdrawn decision. Undo events can themselves be undone, so walk from the newest:
    an undo that was itself undone withdraws nothing."""
    undone: set[int] = set()
    rows = session.execute(
        select(Decision.id, Decision.undoes_id)
        .where(Decision.verdict == UNDO)
        .order_by(Decision.id.desc())
    ).all()
    for decision_id, target in rows:
        if decision_id not in undone:
            undone.add(target)
    return undone


def unlabelled_faces(session: Session) -> tuple[np.ndarray, np.ndarray]:
    """(face ids, embeddings) of every face nobody has labelled yet."""
    rows = session.execute(
        select(Face.id, Face.embedding)
        .outerjoin(FaceLabel, FaceLabel.face_id == Face.id)
        .where(FaceLabel.face_id.is_(None))
        .order_by(Face.id)
    ).all()
    return np.array([r[0] for r in rows], dtype=np.int64), vectors([r[1] for r in rows])
