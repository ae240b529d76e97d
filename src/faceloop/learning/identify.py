"""Who is in a photo: each face's box and its five most likely people, or "unknown".

"Unknown" is the honest answer below the threshold chosen on the model's held-out faces for
99% precision: a confident wrong name is worse than no name.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image
from sqlalchemy import select

from faceloop.db.models import Model, Person
from faceloop.learn import load_model
from faceloop.learn.estimator import TorchClassifier
from faceloop.learning.predict import get_model
from faceloop.learning.train import latest_model
from faceloop.vision import shared_pipeline
from faceloop.vision.base import Box
from faceloop.vision.decode import decode
from faceloop.workspace import Workspace

UNKNOWN = "unknown"
CANDIDATES = 5
#: the longest side of a preview: more than a page shows the photo at
PREVIEW_SIZE = 1600


@dataclass(frozen=True)
class Candidate:
    person_id: int | None
    name: str
    score: float


@dataclass(frozen=True)
class IdentifiedFace:
    box: Box
    #: the verdict: a person, or None for "unknown"
    person_id: int | None
    name: str
    score: float
    candidates: list[Candidate]


@dataclass(frozen=True)
class Identification:
    model_id: int
    threshold: float
    width: int
    height: int
    faces: list[IdentifiedFace]


@lru_cache(maxsize=4)
def _estimator(path: Path, mtime: float) -> TorchClassifier:
    return load_model(path).estimator


def identify(
    workspace: Workspace,
    photo: bytes,
    threshold: float | None = None,
    model_id: int | None = None,
) -> Identification:
    """Raises `UnreadableImage` for a photo that cannot be decoded and `NoModel` before any
    model is trained."""
    model = latest_model(workspace) if model_id is None else get_model(workspace, model_id)
    path = workspace.models_dir / model.file
    estimator = _estimator(path, path.stat().st_mtime)
    image = decode(photo, workspace.settings.imports.max_pixels).image
    faces = shared_pipeline(workspace.settings.detect).find_faces(image)
    cut = _threshold(workspace, model, threshold)
    if not faces:
        return Identification(model.id, cut, image.width, image.height, [])
    X = (
        np.stack([f.embedding for f in faces])
        if model.kind == "head"
        else np.stack([f.crop for f in faces])
    )
    ids, scores = estimator.predict_top_k(X, k=min(CANDIDATES, len(model.classes)))
    names = _names(workspace, {int(i) for i in ids.ravel() if i})
    found = []
    for face, row_ids, row_scores in zip(faces, ids.tolist(), scores.tolist(), strict=True):
        candidates = [
            Candidate(pid or None, names.get(pid, UNKNOWN) if pid else UNKNOWN, float(s))
            for pid, s in zip(row_ids, row_scores, strict=True)
        ]
        best = candidates[0]
        sure = best.person_id is not None and best.score >= cut
        found.append(
            IdentifiedFace(
                box=face.box,
                person_id=best.person_id if sure else None,
                name=best.name if sure else UNKNOWN,
                score=best.score,
                candidates=candidates,
            )
        )
    return Identification(model.id, cut, image.width, image.height, found)


def _threshold(workspace: Workspace, model: Model, asked: float | None) -> float:
    if asked is not None:
        return asked
    configured = workspace.settings.train.identify_threshold
    return configured if configured >= 0 else model.threshold


def _names(workspace: Workspace, person_ids: set[int]) -> dict[int, str]:
    with workspace.reader() as session:
        rows = session.execute(
            select(Person.id, Person.name).where(Person.id.in_(person_ids))
        ).all()
    return dict(rows)


def preview_jpeg(photo: bytes, max_pixels: int = 50_000_000, size: int = PREVIEW_SIZE) -> bytes:
    """The photo upright, as a JPEG of at most `size` pixels a side, for a browser that cannot
    show its own format (PGM, HEIC, TIFF). Same aspect as the photo, so boxes in its pixels
    still fall on the faces. Raises `UnreadableImage` as `identify` does."""
    picture = decode(photo, max_pixels).image
    picture.thumbnail((size, size), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    picture.save(buffer, "JPEG", quality=85)
    return buffer.getvalue()
