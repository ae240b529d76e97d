"""Nearest neighbours among face embeddings: the candidate pairs that grouping looks at.

Grouping only ever merges faces that are near each other, so it needs, for each face, its nearest
few others rather than all N^2 distances. Up to `EXACT_LIMIT` faces the neighbours are exact
(distances in blocks, a few seconds at that size). Beyond it, comparing every pair costs minutes
on two cores, so the faces are first split into cells by k-means and each cell is compared only
with the cells whose centres are nearest to it (an inverted-file index, as in faiss, in numpy).
Faces of one person sit together, so the few neighbours that matter are almost always found.
"""

from __future__ import annotations

import numpy as np

#: largest number of faces whose neighbours are found by comparing every pair
EXACT_LIMIT = 20_000
#: entries of a distance block held at once (64 MB of float32)
BLOCK_ENTRIES = 1 << 24


def squared_norms(x: np.ndarray) -> np.ndarray:
    return np.einsum("ij,ij->i", x, x)


def pairwise_sq(a: np.ndarray, b: np.ndarray, a_sq: np.ndarray, b_sq: np.ndarray) -> np.ndarray:
    """Squared distances from the expansion |a|^2 + |b|^2 - 2ab: one matrix product, which is
    what makes all-pairs distances affordable; rounding can make it slightly negative."""
    d = a @ b.T
    d *= -2.0
    d += a_sq[:, None]
    d += b_sq[None, :]
    np.maximum(d, 0.0, out=d)
    return d


def _smallest(d: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Column positions and values of the k smallest entries of each row, nearest first."""
    k = min(k, d.shape[1])
    if k < d.shape[1]:
        part = np.argpartition(d, k - 1, axis=1)[:, :k]
    else:
        part = np.broadcast_to(np.arange(d.shape[1]), d.shape).copy()
    values = np.take_along_axis(d, part, axis=1)
    order = np.argsort(values, axis=1, kind="stable")
    return np.take_along_axis(part, order, axis=1), np.take_along_axis(values, order, axis=1)


def knn_graph(x: np.ndarray, k: int, *, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The k nearest other faces of every face: (indices (N, k), distances (N, k)), nearest
    first. Where a face has fewer than k others, missing entries are -1 with distance inf."""
    x = np.ascontiguousarray(x, dtype=np.float32)
    n = len(x)
    k = max(1, int(k))
    if n <= EXACT_LIMIT:
        idx, dist = _exact_knn(x, k)
    else:
        idx, dist = _ivf_knn(x, k, seed=seed)
    return idx, dist


def _exact_knn(x: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    n = len(x)
    idx = np.full((n, k), -1, dtype=np.int64)
    dist = np.full((n, k), np.inf, dtype=np.float32)
    if n < 2:
        return idx, dist
    sq = squared_norms(x)
    rows = max(1, BLOCK_ENTRIES // n)
    for start in range(0, n, rows):
        stop = min(n, start + rows)
        d = pairwise_sq(x[start:stop], x, sq[start:stop], sq)
        d[np.arange(stop - start), np.arange(start, stop)] = np.inf
        found, values = _smallest(d, min(k, n - 1))
        idx[start:stop, : found.shape[1]] = found
        dist[start:stop, : found.shape[1]] = np.sqrt(values)
    return idx, dist


def kmeans(
    x: np.ndarray, n_cells: int, *, iterations: int = 8, sample: int = 64, seed: int = 0
) -> np.ndarray:
    """Cell centres for the inverted file, trained on a sample of `sample` faces per cell:
    a few Lloyd iterations are enough, since the cells only have to keep near faces together."""
    rng = np.random.default_rng(seed)
    train = x[rng.choice(len(x), size=min(len(x), n_cells * sample), replace=False)]
    centres = train[rng.choice(len(train), size=n_cells, replace=False)].copy()
    train_sq = squared_norms(train)
    for _ in range(iterations):
        assign = _nearest_centre(train, train_sq, centres)
        counts = np.bincount(assign, minlength=n_cells)
        order = np.argsort(assign, kind="stable")
        filled = np.flatnonzero(counts)
        starts = np.searchsorted(assign[order], filled)
        sums = np.zeros_like(centres, dtype=np.float64)
        sums[filled] = np.add.reduceat(train[order].astype(np.float64), starts, axis=0)
        empty = counts == 0
        centres = (sums / np.maximum(counts, 1)[:, None]).astype(np.float32)
        if empty.any():
            centres[empty] = train[rng.choice(len(train), size=int(empty.sum()), replace=False)]
    return centres


def _nearest_centre(x: np.ndarray, x_sq: np.ndarray, centres: np.ndarray) -> np.ndarray:
    c_sq = squared_norms(centres)
    out = np.empty(len(x), dtype=np.int64)
    rows = max(1, BLOCK_ENTRIES // len(centres))
    for start in range(0, len(x), rows):
        stop = min(len(x), start + rows)
        out[start:stop] = pairwise_sq(x[start:stop], centres, x_sq[start:stop], c_sq).argmin(1)
    return out


def _ivf_knn(
    x: np.ndarray, k: int, *, probes: int = 12, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Approximate neighbours: each cell's faces are compared with the faces of the `probes`
    cells whose centres are nearest to that cell's centre (itself included)."""
    n = len(x)
    n_cells = max(2, int(2 * np.sqrt(n)))
    centres = kmeans(x, n_cells, seed=seed)
    sq = squared_norms(x)
    cell = _nearest_centre(x, sq, centres)
    order = np.argsort(cell, kind="stable")
    bounds = np.searchsorted(cell[order], np.arange(n_cells + 1))
    c_sq = squared_norms(centres)
    near_cells = _smallest(pairwise_sq(centres, centres, c_sq, c_sq), probes)[0]
    idx = np.full((n, k), -1, dtype=np.int64)
    dist = np.full((n, k), np.inf, dtype=np.float32)
    for c in range(n_cells):
        queries = order[bounds[c] : bounds[c + 1]]
        m = len(queries)
        if m == 0:
            continue
        others = [j for j in near_cells[c] if j != c][: probes - 1]
        pool = np.concatenate([queries, *(order[bounds[j] : bounds[j + 1]] for j in others)])
        # rank by |b|^2 - 2ab, adding |a|^2 only to the k kept: two fewer passes over the block
        d = x[queries] @ (-2.0 * x[pool]).T
        d += sq[pool][None, :]
        d[np.arange(m), np.arange(m)] = np.inf
        found, values = _smallest(d, min(k, len(pool) - 1))
        if found.shape[1] == 0:
            continue
        idx[queries, : found.shape[1]] = pool[found]
        dist[queries, : found.shape[1]] = np.sqrt(np.maximum(values + sq[queries][:, None], 0.0))
    missing = ~np.isfinite(dist)
    idx[missing] = -1
    return idx, dist


def nearest_faces(
    embeddings: np.ndarray,
    query: np.ndarray,
    k: int = 24,
    *,
    exclude: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """ "More like this": the k faces nearest to a query embedding, as (indices, distances),
    nearest first. `exclude` (indices or a boolean mask) leaves out faces the caller has already
    shown or decided, such as the query face itself. One query against 100,000 faces takes
    milliseconds, so no index is kept."""
    x = np.asarray(embeddings, dtype=np.float32)
    q = np.asarray(query, dtype=np.float32).reshape(-1)
    if len(x) == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
    d = np.sqrt(np.maximum(squared_norms(x) - 2.0 * (x @ q) + float(q @ q), 0.0))
    if exclude is not None:
        exclude = np.asarray(exclude)
        d[exclude if exclude.dtype != bool else np.flatnonzero(exclude)] = np.inf
    k = min(int(k), int(np.isfinite(d).sum()))
    if k <= 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
    found, values = _smallest(d[None, :], k)
    return found[0], values[0].astype(np.float32)
