"""The projection learned from some people helps with people it never saw."""

from __future__ import annotations

import io

import numpy as np
from scipy.spatial.distance import pdist

from faceloop.cluster import Projection, fit_projection


def population(n_people: int, per_person: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """People whose photos vary most along four shared directions (pose, light), as an
    embedder trained on another population would leave them."""
    rng = np.random.default_rng(seed)
    nuisance = np.linalg.qr(np.random.default_rng(99).normal(size=(128, 4)))[0].T
    centres = 1.0 + rng.normal(scale=0.06, size=(n_people, 128))
    people = np.repeat(np.arange(n_people), per_person)
    faces = centres[people] + rng.normal(scale=0.02, size=(len(people), 128))
    faces += rng.normal(scale=0.25, size=(len(people), 4)) @ nuisance
    return faces.astype(np.float32), people


def accepted_at(x: np.ndarray, people: np.ndarray, false_rate: float) -> float:
    d = pdist(x)
    i, j = np.triu_indices(len(x), 1)
    same = people[i] == people[j]
    return float((d[same] <= np.quantile(d[~same], false_rate)).mean())


def test_gain_on_held_out_people() -> None:
    x_fit, y_fit = population(40, 6, seed=1)
    x_new, y_new = population(30, 6, seed=2)
    projection = fit_projection(x_fit, y_fit)
    before = accepted_at(x_new, y_new, 1e-3)
    after = accepted_at(projection.transform(x_new), y_new, 1e-3)
    print(f"held-out same-person pairs accepted at 0.1% false matches: {before:.3f} -> {after:.3f}")
    assert after > before + 0.1 and after > 0.95


def test_scale_is_kept_and_arrays_round_trip() -> None:
    x, y = population(20, 5, seed=3)
    projection = fit_projection(x, y)
    z = projection.transform(x)
    assert z.dtype == np.float32 and z.shape == x.shape

    def within(v: np.ndarray) -> float:
        return float(np.mean([((v[y == p] - v[y == p].mean(0)) ** 2).sum(1).mean() for p in y]))

    assert abs(within(z) / within(x) - 1) < 0.05
    buffer = io.BytesIO()
    np.savez(buffer, **projection.to_arrays())
    buffer.seek(0)
    restored = Projection.from_arrays(dict(np.load(buffer)))
    np.testing.assert_array_equal(restored.transform(x), z)


def test_no_pairs_give_the_identity() -> None:
    x = np.random.default_rng(0).normal(size=(5, 128)).astype(np.float32)
    projection = fit_projection(x, np.arange(5))
    np.testing.assert_allclose(projection.transform(x), x)
