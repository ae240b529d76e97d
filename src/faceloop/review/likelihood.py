"""How likely a suggestion is to be right, on one scale for a model's guess and a look-alike.

A model's guess gets the calibration fitted on its own held-out faces (stored in its metrics by
`learn.evaluate`); a model trained before calibrations were stored has none, and its guesses are
then never confident. A look-alike (the person whose mean face is nearest) gets a calibration of
that distance fitted on the workspace's own labelled faces: for a sample of them, is the nearest
person's mean (the face's own person's mean leaving the face out) the face's person? Faces
labelled "unknown person" count as always wrong, since strangers wait in the label queue too.

`CONFIDENT` is the probability from which a suggestion is "likely": Enter on an empty name
field takes it, and a confirm page pre-checks it. 0.99 is the precision the models' own
threshold aims for: one wrong name in a hundred Enters. With the calibration's shrinking, it
needs about a hundred right answers at that score before anything reads as sure, so a young
workspace arms nothing and the digits pick a suggestion instead.
"""

from __future__ import annotations

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from faceloop.cluster.neighbours import pairwise_sq, squared_norms
from faceloop.db.models import Model
from faceloop.learn.calibration import CONFIDENT, Calibration, fit
from faceloop.readmodel.state import LABEL_PERSON, LABEL_UNKNOWN, Snapshot, stable_random

#: labelled faces the look-alike calibration is fitted on: enough for steps of a few hundred
#: answers, few enough to fit in a fraction of a second with thousands of people
SAMPLE = 2000
#: the look-alike calibration is fitted again once the labelled faces grow or shrink by this
#: share (or by REFIT_MIN faces) since the last fit, not after every answer
REFIT_SHARE = 0.1
REFIT_MIN = 20


def is_confident(probability: float | None) -> bool:
    return probability is not None and probability >= CONFIDENT


def model_calibration(state: Snapshot, session: Session, model_id: int) -> Calibration | None:
    """The calibration a model stored with its metrics; a model's metrics never change, so it
    is read once per model."""
    key = ("model_calibration", model_id)
    if key not in state.cache:
        metrics = session.scalar(select(Model.metrics).where(Model.id == model_id))
        stored = metrics.get("calibration") if isinstance(metrics, dict) else None
        state.cache[key] = (Calibration.from_json(stored),)
    return state.cache[key][0]


def distance_calibration(state: Snapshot) -> Calibration:
    """P(the nearest person is right | distance to that person's mean face), fitted on the
    labelled faces and kept until they change by a tenth."""
    labelled = np.flatnonzero((state.verdict == LABEL_PERSON) | (state.verdict == LABEL_UNKNOWN))
    cached = state.cache.get("distance_calibration")
    if cached is not None:
        generation, count, calibration = cached
        drift = abs(len(labelled) - count)
        if generation == state.generation and drift < max(REFIT_MIN, REFIT_SHARE * count):
            return calibration
    calibration = _fit_distances(state, labelled)
    state.cache["distance_calibration"] = (state.generation, len(labelled), calibration)
    return calibration


def _fit_distances(state: Snapshot, labelled: np.ndarray) -> Calibration:
    centroids = state.centroids()
    if len(labelled) == 0 or len(centroids.person_ids) == 0:
        return fit(np.zeros(0), np.zeros(0, dtype=bool), higher_is_surer=False)
    # the same sample every time for the same faces, so the figures do not jitter
    sample = labelled[np.argsort(stable_random(state.face_ids[labelled]))[:SAMPLE]]
    shown = np.array(
        [
            not (state.people.get(int(p)) is None or state.people[int(p)].hidden)
            for p in centroids.person_ids
        ],
        dtype=bool,
    )
    faces = state.embeddings[sample].astype(np.float32)
    means = centroids.means.astype(np.float32)
    squared = pairwise_sq(faces, means, squared_norms(faces), squared_norms(means))
    distances = np.sqrt(squared).astype(np.float64)
    distances[:, ~shown] = np.inf
    index = {int(p): i for i, p in enumerate(centroids.person_ids)}
    own = np.array(
        [index.get(state.root(int(p)), -1) if p else -1 for p in state.person[sample]],
        dtype=np.int64,
    )
    rows = np.flatnonzero(own >= 0)
    counts = centroids.counts[own[rows]].astype(np.float64)
    # the face's own person's mean without the face: n / (n - 1) times as far; a person with
    # this face only is no one to suggest
    distances[rows, own[rows]] = np.where(
        counts > 1, distances[rows, own[rows]] * counts / np.maximum(counts - 1, 1), np.inf
    )
    nearest = distances.argmin(axis=1)
    best = distances[np.arange(len(sample)), nearest]
    right = (own >= 0) & (nearest == own)
    found = np.isfinite(best)
    return fit(best[found], right[found], higher_is_surer=False)
