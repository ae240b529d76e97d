"""The agglomeration engine: same tree as textbook average linkage, cannot-link enforced."""

from __future__ import annotations

import numpy as np
from scipy.cluster.hierarchy import fcluster, linkage
from scipy.spatial.distance import pdist

from faceloop.cluster.linkage import agglomerate, candidate_edges, cut
from faceloop.cluster.neighbours import knn_graph


def same_partition(a: np.ndarray, b: np.ndarray) -> bool:
    pairs = np.unique(np.stack([a, b], axis=1), axis=0)
    return len(pairs) == len(np.unique(a)) == len(np.unique(b))


def test_matches_scipy_average_linkage_on_squared_distances(crowd) -> None:
    x = crowd.embeddings[:300]
    idx, dist = knn_graph(x, len(x) - 1)
    reference = linkage(pdist(x.astype(np.float64), "sqeuclidean"), "average")
    for threshold in (0.4, 0.45, 0.55):
        ours = agglomerate(x, np.arange(len(x)), candidate_edges(idx, dist, threshold), threshold)
        theirs = fcluster(reference, threshold**2, "distance")
        assert same_partition(ours.labels, theirs), threshold


def test_two_faces_of_one_photo_are_never_merged() -> None:
    rng = np.random.default_rng(0)
    centre = rng.normal(size=128).astype(np.float32)
    x = centre + rng.normal(scale=0.01, size=(6, 128)).astype(np.float32)
    photos = np.array([0, 0, 1, 2, 3, 3])
    idx, dist = knn_graph(x, 5)
    labels = agglomerate(x, photos, candidate_edges(idx, dist, 1.0), 1.0).labels
    for photo in np.unique(photos):
        faces = labels[photos == photo]
        assert len(np.unique(faces)) == len(faces)
    assert len(np.unique(labels)) == 2


def test_cut_undoes_the_highest_merges() -> None:
    rng = np.random.default_rng(1)
    centres = rng.normal(size=(3, 128)).astype(np.float32)
    x = np.repeat(centres, 5, axis=0) + rng.normal(scale=0.02, size=(15, 128)).astype(np.float32)
    idx, dist = knn_graph(x, 14)
    tree = agglomerate(x, np.arange(15), candidate_edges(idx, dist, np.inf), np.inf)
    assert len(np.unique(tree.labels)) == 1
    assert same_partition(cut(15, tree.merges, 2), np.repeat(np.arange(3), 5))


def test_cannot_link_pairs_are_never_merged() -> None:
    rng = np.random.default_rng(1)
    centre = rng.normal(size=128).astype(np.float32)
    x = centre + rng.normal(scale=0.01, size=(8, 128)).astype(np.float32)
    photos = np.arange(8)
    idx, dist = knn_graph(x, 7)
    edges = candidate_edges(idx, dist, 1.0)
    assert len(np.unique(agglomerate(x, photos, edges, 1.0).labels)) == 1
    first, second = np.array([0, 0, 5]), np.array([3, 6, 6])
    labels = agglomerate(x, photos, edges, 1.0, (first, second)).labels
    assert all(labels[a] != labels[b] for a, b in zip(first, second, strict=True))
    assert len(np.unique(labels)) <= 3
