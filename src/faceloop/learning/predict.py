"""Let the current model guess every unlabelled face, so people only answer "is this X?".

Predictions are machine output in their own table: each run replaces the last one's, and
nothing here writes a decision or a label.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from faceloop.db.models import Face, Model, Prediction
from faceloop.learning.train import NoModel, crops, latest_model, load_estimator
from faceloop.learning.training_data import unlabelled_faces
from faceloop.workspace import Workspace

CHUNK = 20_000
#: guesses below the best one are kept only from this probability on: nobody picks a name the
#: model gives 0.1%, and five rows for every face made writing them the slowest step
MIN_SCORE = 0.01
Progress = Callable[[int, int | None, str], None]


@dataclass(frozen=True)
class PredictResult:
    model_id: int
    faces: int
    seconds: float


def _quiet(done: int, total: int | None, message: str) -> None:
    """The default progress reporter: say nothing."""


def predict(
    workspace: Workspace, model_id: int | None = None, progress: Progress = _quiet
) -> PredictResult:
    started = time.monotonic()
    model = latest_model(workspace) if model_id is None else get_model(workspace, model_id)
    guesses = guess(workspace, model, progress)
    write_guesses(workspace, model.id, guesses)
    total = sum(len(chunk) for chunk, _, _ in guesses)
    return PredictResult(model.id, total, time.monotonic() - started)


Guesses = list[tuple[np.ndarray, np.ndarray, np.ndarray]]


def guess(workspace: Workspace, model: Model, progress: Progress = _quiet) -> Guesses:
    """The model's top-k people and scores for every unlabelled face, in chunks of (face ids,
    people, scores); nothing is written."""
    estimator = load_estimator(workspace, model)
    k = min(workspace.settings.train.top_k, len(model.classes))
    with workspace.reader() as session:
        face_ids, embeddings = unlabelled_faces(session)
    total = len(face_ids)
    progress(0, total, f"predicting {total:,} faces with model {model.id}")
    guesses = []
    for start in range(0, total, CHUNK):
        chunk = face_ids[start : start + CHUNK]
        if model.kind == "head":
            X = embeddings[start : start + CHUNK]
        else:
            with workspace.reader() as session:
                X = crops(workspace, _crop_keys(session, chunk))
        guesses.append((chunk, *estimator.predict_top_k(X, k=k)))
        progress(min(start + CHUNK, total), total, "predicting")
    return guesses


def write_guesses(workspace: Workspace, model_id: int, guesses: Guesses) -> None:
    """Replace the stored predictions with these. Written after the model is done, not while
    it works, and in chunks: SQLite has one writer, and a labeller's answer must never wait
    long behind thousands of rows."""
    with workspace.transaction() as session:
        session.execute(delete(Prediction))
    for chunk, ids, scores in guesses:
        if not _write(workspace, model_id, _rows(model_id, chunk, ids, scores)):
            return


def _write(workspace: Workspace, model_id: int, rows: list[dict]) -> bool:
    """Insert one chunk; False when the model is gone. `forget` may run while the model
    works: it removes the models that knew the person (then nothing of theirs is written)
    and the photos left with no one else's face (the chunk is written again without those
    faces)."""
    try:
        with workspace.transaction() as session:
            session.execute(Prediction.__table__.insert(), rows)
        return True
    except IntegrityError:
        pass
    with workspace.transaction() as session:
        if session.get(Model, model_id) is None:
            return False
        faces: set[int] = set()
        wanted = sorted({r["face_id"] for r in rows})
        for start in range(0, len(wanted), 500):
            part = wanted[start : start + 500]
            faces.update(session.scalars(select(Face.id).where(Face.id.in_(part))))
        kept = [r for r in rows if r["face_id"] in faces]
        if kept:
            session.execute(Prediction.__table__.insert(), kept)
    return True


def _rows(model_id: int, face_ids: np.ndarray, ids: np.ndarray, scores: np.ndarray) -> list[dict]:
    rows = []
    for face_id, people, values in zip(
        face_ids.tolist(), ids.tolist(), scores.tolist(), strict=True
    ):
        for rank, (person, score) in enumerate(zip(people, values, strict=True)):
            if rank and score < MIN_SCORE:
                break
            rows.append(
                {
                    "model_id": model_id,
                    "face_id": face_id,
                    "rank": rank,
                    "person_id": person or None,
                    "score": score,
                }
            )
    return rows


def _crop_keys(session, face_ids: np.ndarray) -> list[str]:
    wanted = select(Face.id, Face.crop_key).where(Face.id.in_(face_ids.tolist()))
    keys = dict(session.execute(wanted).all())
    return [keys[i] for i in face_ids.tolist()]


def get_model(workspace: Workspace, model_id: int) -> Model:
    with workspace.reader() as session:
        model = session.get(Model, model_id)
    if model is None:
        raise NoModel(f"no model {model_id}")
    return model
