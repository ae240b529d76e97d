"""Train a classifier from the workspace's labels, warm-started from the last model.

This is where the database meets `faceloop.learn`: it gathers the labelled faces (and the
"no" answers), chooses the classes as the original workflow did (people with enough faces; the
rest is class 0, "other"), holds out a stratified share to measure the model, and stores the
model file and its figures.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image
from sqlalchemy import func, select

from faceloop.db.models import Decision, Model
from faceloop.learn import (
    EmbeddingHead,
    TrainingSet,
    build_training_set,
    evaluate,
    load_model,
    save_model,
    stratified_split,
)
from faceloop.learn.cnn import CnnClassifier
from faceloop.learn.estimator import TorchClassifier
from faceloop.learning.training_data import (
    LabelledFaces,
    Refusals,
    labelled_faces,
    standing_refusals,
)
from faceloop.workspace import Workspace

KINDS = ("head", "cnn")
HELD_OUT = 0.2
Progress = Callable[[int, int | None, str], None]


class NotEnoughLabels(Exception):
    """No person has enough labelled faces for a class of their own yet."""


class NoModel(Exception):
    """Suggestions need a trained model, and there is none (or not the one asked for)."""


@dataclass(frozen=True)
class TrainResult:
    model_id: int
    kind: str
    people: int
    faces: int
    accuracy: float
    threshold: float
    parent_id: int | None
    warm_started: bool
    seconds: float


def _quiet(done: int, total: int | None, message: str) -> None:
    """The default progress reporter: say nothing."""


def train(
    workspace: Workspace,
    kind: str | None = None,
    *,
    min_per_class: int | None = None,
    other_ratio: float | None = None,
    seed: int = 0,
    params: dict | None = None,
    progress: Progress = _quiet,
) -> TrainResult:
    """`params` go to the estimator (`EmbeddingHead` or `CnnClassifier`), e.g. max_epochs."""
    settings = workspace.settings.train
    kind = kind or settings.kind
    if kind not in KINDS:
        raise ValueError(f"unknown model kind {kind!r}; choose one of {KINDS}")
    min_per_class = settings.min_per_class if min_per_class is None else min_per_class
    other_ratio = settings.other_ratio if other_ratio is None else other_ratio
    started = time.monotonic()

    progress(0, 4, "gathering labelled faces")
    with workspace.reader() as session:
        labelled = labelled_faces(session)
        refusals = standing_refusals(session)
        last_decision = session.scalar(select(func.max(Decision.id))) or 0
        parent = _latest(session, kind)
    chosen = build_training_set(labelled.person_ids, min_per_class, other_ratio, seed)
    people = _people_in(chosen, labelled, min_per_class)

    progress(1, 4, f"loading {len(chosen.indices):,} faces")
    X = _inputs(workspace, kind, labelled.embeddings, labelled.crop_keys, chosen.indices)
    y = chosen.y
    negatives = _negatives(workspace, kind, refusals)

    progress(2, 4, f"training a {kind} on {people} people")
    train_idx, test_idx = stratified_split(y, test_fraction=HELD_OUT, seed=seed)
    previous = _load_parent(workspace, parent)
    estimator = _estimator(kind, seed, params or {})
    estimator.fit(
        X[train_idx], y[train_idx], classes=chosen.classes, negatives=negatives, init_from=previous
    )

    progress(3, 4, "measuring on held-out faces")
    metrics = evaluate(y[test_idx], estimator.predict_proba(X[test_idx]), estimator.classes_)
    metrics["train_faces"] = len(train_idx)
    metrics["held_out_faces"] = len(test_idx)
    metrics["warm_start"] = estimator.warm_start_
    metrics["refusals"] = len(refusals.face_ids)
    threshold = metrics["threshold"]["threshold"] if metrics["threshold"] else 0.0
    model_id = _store(workspace, kind, estimator, metrics, threshold, parent, last_decision)
    progress(4, 4, "done")
    return TrainResult(
        model_id=model_id,
        kind=kind,
        people=people,
        faces=len(train_idx),
        accuracy=float(metrics["accuracy"]),
        threshold=threshold,
        parent_id=parent.id if parent else None,
        warm_started=previous is not None,
        seconds=time.monotonic() - started,
    )


def _people_in(chosen: TrainingSet, labelled: LabelledFaces, min_per_class: int) -> int:
    """How many people have a class of their own; NotEnoughLabels, saying how far the best
    is from `min_per_class`, when no one has: a model of "other" alone would guess nothing."""
    people = int((chosen.classes != 0).sum())
    if people == 0:
        counts = np.bincount(labelled.person_ids) if len(labelled.person_ids) else np.zeros(1)
        best = int(counts[1:].max()) if len(counts) > 1 else 0
        raise NotEnoughLabels(
            f"no person has {min_per_class} labelled faces yet (the most any person has is "
            f"{best}); label more, or lower min_per_class"
        )
    return people


def _negatives(
    workspace: Workspace, kind: str, refusals: Refusals
) -> tuple[np.ndarray, np.ndarray] | None:
    """The refused faces as inputs with the person each is not, or None without any."""
    if not len(refusals.face_ids):
        return None
    X_neg = _inputs(
        workspace,
        kind,
        refusals.embeddings,
        refusals.crop_keys,
        np.arange(len(refusals.face_ids)),
    )
    return X_neg, refusals.person_ids


def _store(
    workspace: Workspace,
    kind: str,
    estimator: TorchClassifier,
    metrics: dict,
    threshold: float,
    parent: Model | None,
    last_decision: int,
) -> int:
    """The model's row and its file, in one transaction: the file is named by the row's id, so
    the row is flushed first and a failed save leaves no row pointing at nothing."""
    with workspace.transaction() as session:
        row = Model(
            kind=kind,
            classes=[int(c) for c in estimator.classes_],
            metrics=metrics,
            threshold=threshold,
            parent_id=parent.id if parent else None,
            file="",
            last_decision_id=last_decision,
        )
        session.add(row)
        session.flush()
        path = save_model(
            estimator,
            workspace.models_dir,
            str(row.id),
            parent_id=str(parent.id) if parent else None,
            metrics=metrics,
        )
        row.file = path.name
        return row.id


def _latest(session, kind: str) -> Model | None:
    return session.scalar(select(Model).where(Model.kind == kind).order_by(Model.id.desc()))


def latest_model(workspace: Workspace, kind: str | None = None) -> Model:
    """The model suggestions come from: the newest of the configured kind."""
    with workspace.reader() as session:
        model = _latest(session, kind or workspace.settings.train.kind)
    if model is None:
        raise NoModel("no model yet: label some faces, then train one (faceloop train)")
    return model


def load_estimator(workspace: Workspace, model: Model) -> TorchClassifier:
    return load_model(workspace.models_dir / model.file).estimator


def _load_parent(workspace: Workspace, parent: Model | None) -> TorchClassifier | None:
    """The last model, to start from; a missing or unreadable file means a cold start."""
    if parent is None or not parent.file:
        return None
    try:
        return load_estimator(workspace, parent)
    except (OSError, ValueError, RuntimeError, KeyError):
        return None


def _estimator(kind: str, seed: int, params: dict) -> TorchClassifier:
    make = EmbeddingHead if kind == "head" else CnnClassifier
    return make(seed=seed, **params)


def _inputs(
    workspace: Workspace,
    kind: str,
    embeddings: np.ndarray,
    crop_keys: list[str],
    indices: np.ndarray,
) -> np.ndarray:
    if kind == "head":
        return embeddings[indices]
    return crops(workspace, [crop_keys[i] for i in indices])


def crops(workspace: Workspace, keys: list[str]) -> np.ndarray:
    """The 112x112 face crops, decoded from the blob store."""
    out = np.zeros((len(keys), 112, 112, 3), dtype=np.uint8)
    for i, key in enumerate(keys):
        with Image.open(io.BytesIO(workspace.blobs.get(key))) as image:
            out[i] = np.asarray(image.convert("RGB").resize((112, 112)))
    return out


def model_path(workspace: Workspace, model: Model) -> Path:
    return workspace.models_dir / model.file
