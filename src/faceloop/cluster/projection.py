"""A linear map fitted to the user's labelled faces, so distances suit this user's population.

dlib's descriptor was trained mostly on Western celebrities; for another population the ways one
person's photos vary (pose, light, make-up, age) can take up more of the distance than the ways
two people differ. Within-class covariance normalisation (WCCN) shrinks the directions along
which one person's faces spread and stretches the rest, estimated from labelled faces only:

    S = (1 - shrink) * S_within + shrink * mean_eigenvalue * I
    M = S^(-power / 2), scaled so that faces of one person stay as far apart on average as before

`shrink` falls as the number of labelled faces grows (d / (d + dof)), so a few labels barely move
the space; `power` 0.5 is half-way whitening. Measured by bench/cluster_quality.py on LFW, fitted
on half the people with 5+ photos and scored on the other half: same-person pairs accepted at a
false-match rate of 1e-4 went from 0.576 to 0.609 (split 0) and 0.555 to 0.560 (split 1), at
1e-3 from 0.915 to 0.925 and 0.876 to 0.877. In trials, full whitening (power 1), LDA and removing
the top within-person directions (NAP) all did worse on held-out people than no projection at
all: they fit the labelled people rather than the population. LFW is the descriptor's home
ground, so there is little to gain; where one person's photos vary along a few directions the
embedder did not learn to ignore, the gain is large (tests/cluster/test_projection.py: 0.82 to
1.00 of held-out pairs accepted at 1e-3).

The map keeps the space's scale, but distances change, so thresholds for projected faces are
learned from projected labelled faces.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: faces of a person beyond which their scatter is not trusted more (one person with hundreds
#: of photos would otherwise decide the whole within-person covariance)
MAX_PER_PERSON = 100


@dataclass(frozen=True)
class Projection:
    """x -> (x - mean) @ matrix. Plain arrays, so it is saved with `to_arrays` and restored with
    `from_arrays` (e.g. through numpy.savez) with no pickling."""

    mean: np.ndarray
    matrix: np.ndarray

    def transform(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float32)
        return ((x - self.mean) @ self.matrix).astype(np.float32)

    def to_arrays(self) -> dict[str, np.ndarray]:
        return {"mean": self.mean, "matrix": self.matrix}

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> Projection:
        return cls(
            mean=np.asarray(arrays["mean"], dtype=np.float32),
            matrix=np.asarray(arrays["matrix"], dtype=np.float32),
        )

    @classmethod
    def identity(cls, dimensions: int = 128) -> Projection:
        return cls(np.zeros(dimensions, np.float32), np.eye(dimensions, dtype=np.float32))


def within_scatter(
    x: np.ndarray, y: np.ndarray, *, max_per_person: int = MAX_PER_PERSON, seed: int = 0
) -> tuple[np.ndarray, int]:
    """Pooled within-person covariance and its degrees of freedom (faces minus people), from
    people with at least two labelled faces."""
    rng = np.random.default_rng(seed)
    d = x.shape[1]
    scatter = np.zeros((d, d))
    dof = 0
    for person in np.unique(y):
        faces = np.flatnonzero(y == person)
        if len(faces) < 2:
            continue
        if len(faces) > max_per_person:
            faces = rng.choice(faces, max_per_person, replace=False)
        centred = x[faces] - x[faces].mean(axis=0)
        scatter += centred.T @ centred
        dof += len(faces) - 1
    return scatter / max(dof, 1), dof


def fit_projection(
    embeddings: np.ndarray,
    person_ids: np.ndarray,
    *,
    power: float = 0.5,
    shrink: float | None = None,
    seed: int = 0,
) -> Projection:
    """Fit WCCN to labelled faces (see the module docstring). Returns the identity map when no
    person has two labelled faces. `shrink` None chooses d / (d + degrees of freedom)."""
    x = np.asarray(embeddings, dtype=np.float64)
    y = np.asarray(person_ids)
    d = x.shape[1]
    scatter, dof = within_scatter(x, y, seed=seed)
    if dof == 0:
        return Projection.identity(d)
    amount = d / (d + dof) if shrink is None else float(shrink)
    scale = np.trace(scatter) / d
    values, vectors = np.linalg.eigh((1 - amount) * scatter + amount * scale * np.eye(d))
    values = np.maximum(values, scale * 1e-6)
    matrix = vectors @ np.diag((values / scale) ** (-power / 2)) @ vectors.T
    # keep the mean within-person squared distance: trace(S M M^T) = trace(S)
    ratio = np.trace(scatter) / np.trace(matrix.T @ scatter @ matrix)
    matrix *= np.sqrt(ratio)
    mean = x.mean(axis=0)
    return Projection(mean.astype(np.float32), matrix.astype(np.float32))
