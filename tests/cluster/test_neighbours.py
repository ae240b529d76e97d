"""Neighbour lists: exact below the limit, and the inverted file finds the near ones above it."""

from __future__ import annotations

import numpy as np
from scipy.spatial.distance import cdist

from faceloop.cluster import neighbours
from faceloop.cluster.neighbours import knn_graph, nearest_faces
from faceloop.testing.embeddings import realistic_sizes, synthetic_faces


def test_exact_neighbours_match_brute_force(crowd) -> None:
    x = crowd.embeddings
    idx, dist = knn_graph(x, 5)
    full = cdist(x, x)
    np.fill_diagonal(full, np.inf)
    expected = np.sort(full, axis=1)[:, :5]
    np.testing.assert_allclose(dist, expected, atol=1e-4)
    assert (idx != np.arange(len(x))[:, None]).all()


def test_fewer_faces_than_neighbours() -> None:
    idx, dist = knn_graph(np.eye(3, 128, dtype=np.float32), 5)
    assert idx.shape == (3, 5)
    assert (idx[:, 2:] == -1).all() and np.isinf(dist[:, 2:]).all()


def test_inverted_file_finds_most_near_pairs(monkeypatch) -> None:
    monkeypatch.setattr(neighbours, "EXACT_LIMIT", 1000)
    x, _ = synthetic_faces(realistic_sizes(6000, seed=2), seed=2)
    idx, dist = knn_graph(x, 10)
    queries = np.arange(0, len(x), 20)
    full = cdist(x[queries], x)
    full[np.arange(len(queries)), queries] = np.inf
    near = full <= 0.45
    found = sum(np.isin(np.flatnonzero(near[i]), idx[q]).sum() for i, q in enumerate(queries))
    wanted = sum(min(10, n) for n in near.sum(axis=1))
    print(f"near pairs found: {found / wanted:.3f}")
    assert found / wanted > 0.8
    assert np.all(np.diff(dist, axis=1)[np.isfinite(dist[:, 1:])] >= 0)


def test_more_like_this_is_nearest_first_and_skips_excluded(crowd) -> None:
    x = crowd.embeddings
    found, distances = nearest_faces(x, x[7], 6, exclude=np.array([7]))
    assert 7 not in found and len(found) == 6
    assert np.all(np.diff(distances) >= 0)
    brute = np.linalg.norm(x - x[7], axis=1)
    brute[7] = np.inf
    assert set(found) == set(np.argsort(brute)[:6])
    assert len(nearest_faces(x[:0], x[0], 3)[0]) == 0
