"""Average-linkage agglomeration over a sparse graph of near pairs, with cannot-link.

The linkage between two clusters is the root mean square of the distances between their members:
    rms(A, B)^2 = s(A) + s(B) + |mean(A) - mean(B)|^2,    s(C) = mean squared distance to C's mean,
which is exact for every pair of members yet costs O(dimensions) from each cluster's count, sum
and sum of squared norms. It is average linkage on squared distances (UPGMA), chosen because on
LFW and ORL average linkage gave the purest large groups of the linkages tried (single linkage and
Chinese whispers chain look-alikes together; complete linkage splits each person into many
groups); the root mean square weighs one far member more than a plain mean does, which errs on
the side of purity.

Merging all reciprocal nearest pairs at once, round after round, gives the same tree as merging
one pair at a time, because this linkage is reducible: the union of A and B is never nearer to C
than the nearer of A and B. The same property lets an edge whose linkage exceeds the threshold
be dropped for good, so the work shrinks every round. Only clusters joined by a near pair are
ever compared: two faces further apart than the threshold cannot start a group, so neighbour
lists are enough and 100,000 faces never need 10^10 distances.

Cannot-link: two faces of one photo are different people. A merge that would put two faces of
one photo together is refused and its edge dropped; refusing is final, since any later union that
contains the pair contains the conflict too. Pairs a person has said are different people ("not
the same person" on a group) are refused the same way.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: edges whose linkage is recomputed in one go (keeps gathered means near 64 MB)
EDGE_CHUNK = 1 << 16


@dataclass(frozen=True)
class Agglomeration:
    """labels: for each face, the smallest face index of its cluster. merges: (a, b, height)
    rows, one per merge, where a and b are faces of the two clusters joined and height their
    linkage; sorting them by height gives the merge order of one-at-a-time agglomeration."""

    labels: np.ndarray
    merges: np.ndarray


def candidate_edges(
    neighbours: np.ndarray, distances: np.ndarray, max_distance: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Unique undirected pairs (u < v) from neighbour lists, keeping those within max_distance,
    with their distances."""
    n, k = neighbours.shape
    rows = np.repeat(np.arange(n, dtype=np.int64), k)
    cols = neighbours.reshape(-1).astype(np.int64)
    dist = distances.reshape(-1)
    keep = (cols >= 0) & (dist <= max_distance)
    rows, cols, dist = rows[keep], cols[keep], dist[keep]
    u, v = np.minimum(rows, cols), np.maximum(rows, cols)
    key, first = np.unique(u * n + v, return_index=True)
    return key // n, key % n, dist[first]


class _Clusters:
    """Count, sum and sum of squared norms per cluster, indexed by the cluster's smallest face,
    with each cluster's mean and spread (mean squared distance to the mean) kept up to date."""

    def __init__(self, x: np.ndarray) -> None:
        self.count = np.ones(len(x), dtype=np.float64)
        self.total = x.astype(np.float64)
        self.squares = np.einsum("ij,ij->i", self.total, self.total)
        self.mean = x.astype(np.float32)
        self.spread = np.zeros(len(x), dtype=np.float64)

    def linkage(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Squared rms distance between the members of clusters a[i] and b[i]."""
        out = np.empty(len(a), dtype=np.float64)
        for start in range(0, len(a), EDGE_CHUNK):
            sa, sb = a[start : start + EDGE_CHUNK], b[start : start + EDGE_CHUNK]
            diff = self.mean[sa] - self.mean[sb]
            out[start : start + len(sa)] = (
                np.einsum("ij,ij->i", diff, diff) + self.spread[sa] + self.spread[sb]
            )
        return np.maximum(out, 0.0)

    def absorb(self, keep: np.ndarray, gone: np.ndarray) -> None:
        self.count[keep] += self.count[gone]
        self.total[keep] += self.total[gone]
        self.squares[keep] += self.squares[gone]
        n = self.count[keep]
        mean = self.total[keep] / n[:, None]
        self.mean[keep] = mean
        self.spread[keep] = np.maximum(
            self.squares[keep] / n - np.einsum("ij,ij->i", mean, mean), 0.0
        )


def _best_partners(
    u: np.ndarray, v: np.ndarray, w: np.ndarray, best: np.ndarray, only: np.ndarray | None
) -> None:
    """Set best[c] to the partner of c's lowest-linkage edge (ties: the smaller partner), or -1,
    for the clusters flagged in `only` (all when None); other entries are left as they are."""
    if only is not None:
        near = only[u] | only[v]
        u, v, w = u[near], v[near], w[near]
        best[only] = -1
    else:
        best[:] = -1
    ends = np.concatenate([u, v])
    partners = np.concatenate([v, u])
    weights = np.concatenate([w, w])
    if only is not None:
        mine = only[ends]
        ends, partners, weights = ends[mine], partners[mine], weights[mine]
    lowest = np.full(len(best), np.inf)
    np.minimum.at(lowest, ends, weights)
    tied = weights == lowest[ends]
    chosen = np.full(len(best), np.iinfo(np.int64).max)
    np.minimum.at(chosen, ends[tied], partners[tied])
    found = np.isfinite(lowest)
    best[found] = chosen[found]


def _conflicts(
    a: np.ndarray, b: np.ndarray, member_cluster: np.ndarray, member_image: np.ndarray, n: int
) -> np.ndarray:
    """Which of the disjoint proposed merges (a[i], b[i]) would join two faces of one photo.
    member_cluster / member_image describe only faces that share their photo with another."""
    conflict = np.zeros(len(a), dtype=bool)
    if len(member_cluster) == 0 or len(a) == 0:
        return conflict
    pair_of = np.full(n, -1, dtype=np.int64)
    pair_of[a] = np.arange(len(a))
    pair_of[b] = np.arange(len(a))
    pair = pair_of[member_cluster]
    involved = pair >= 0
    if not involved.any():
        return conflict
    pair, image = pair[involved], member_image[involved]
    order = np.lexsort((pair, image))
    pair, image = pair[order], image[order]
    clash = (pair[1:] == pair[:-1]) & (image[1:] == image[:-1])
    conflict[pair[1:][clash]] = True
    return conflict


def _pair_conflicts(a: np.ndarray, b: np.ndarray, first: np.ndarray, second: np.ndarray, n: int):
    """Which of the disjoint proposed merges (a[i], b[i]) would join the clusters of a
    cannot-link pair; first / second are the clusters of each pair's two faces."""
    conflict = np.zeros(len(a), dtype=bool)
    if len(first) == 0 or len(a) == 0:
        return conflict
    pair_of = np.full(n, -1, dtype=np.int64)
    pair_of[a] = np.arange(len(a))
    pair_of[b] = np.arange(len(a))
    p, q = pair_of[first], pair_of[second]
    hit = (p >= 0) & (p == q)
    conflict[p[hit]] = True
    return conflict


def agglomerate(
    x: np.ndarray,
    image_ids: np.ndarray,
    edges: tuple[np.ndarray, np.ndarray, np.ndarray],
    threshold: float,
    cannot_link: tuple[np.ndarray, np.ndarray] | None = None,
) -> Agglomeration:
    """Merge clusters joined by an edge, nearest first, while their linkage is at most the
    threshold and no photo would hold two faces of one cluster. edges are (u, v, distance)
    pairs of face indices with u < v, as `candidate_edges` gives them. cannot_link: pairs of
    face indices that must end in different clusters, beyond the faces of one photo."""
    n = len(x)
    u, v, _ = (np.asarray(e) for e in edges)
    u, v = u.astype(np.int64), v.astype(np.int64)
    clusters = _Clusters(x)
    limit = float(threshold) ** 2 if np.isfinite(threshold) else np.inf
    parent = np.arange(n, dtype=np.int64)
    w = clusters.linkage(u, v)
    keep = w <= limit
    u, v, w = u[keep], v[keep], w[keep]
    image_ids = np.asarray(image_ids)
    _, image_index, image_counts = np.unique(image_ids, return_inverse=True, return_counts=True)
    shared = np.flatnonzero(image_counts[image_index] > 1)
    member_cluster, member_image = parent[shared], image_index[shared]
    if cannot_link is None:
        cannot_link = (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64))
    link_first = np.asarray(cannot_link[0], dtype=np.int64)
    link_second = np.asarray(cannot_link[1], dtype=np.int64)
    best = np.full(n, -1, dtype=np.int64)
    _best_partners(u, v, w, best, None)
    merges: list[np.ndarray] = []
    while len(u):
        mutual = (best[u] == v) & (best[v] == u)
        a, b, h = u[mutual], v[mutual], w[mutual]
        clash = _conflicts(a, b, member_cluster, member_image, n)
        clash |= _pair_conflicts(a, b, link_first, link_second, n)
        affected = np.zeros(n, dtype=bool)
        if clash.any():
            # refused for good: any later union holding both sides holds the conflict too
            refused = np.flatnonzero(mutual)[clash]
            affected[u[refused]] = True
            affected[v[refused]] = True
            gone = np.ones(len(u), dtype=bool)
            gone[refused] = False
            u, v, w = u[gone], v[gone], w[gone]
            a, b, h = a[~clash], b[~clash], h[~clash]
        if len(a) == 0 and not affected.any():
            break
        if len(a):
            merges.append(np.stack([a, b, np.sqrt(h)], axis=1))
            clusters.absorb(a, b)
            parent[b] = a
            remap = np.arange(n, dtype=np.int64)
            remap[b] = a
            member_cluster = remap[member_cluster]
            link_first, link_second = remap[link_first], remap[link_second]
            involved = np.zeros(n, dtype=bool)
            involved[a] = True
            involved[b] = True
            changed = involved[u] | involved[v]
            affected[u[changed]] = True
            affected[v[changed]] = True
            cu, cv = remap[u[changed]], remap[v[changed]]
            cu, cv = np.minimum(cu, cv), np.maximum(cu, cv)
            loop = cu == cv
            key = np.unique(cu[~loop] * n + cv[~loop])
            cu, cv = key // n, key % n
            cw = clusters.linkage(cu, cv)
            # an edge beyond the threshold stays beyond it: a union's linkage to C is a
            # weighted mean of its parts' linkages to C
            near = cw <= limit
            u = np.concatenate([u[~changed], cu[near]])
            v = np.concatenate([v[~changed], cv[near]])
            w = np.concatenate([w[~changed], cw[near]])
        _best_partners(u, v, w, best, affected)
    labels = _resolve(parent)
    table = np.concatenate(merges) if merges else np.zeros((0, 3))
    return Agglomeration(labels=labels, merges=table)


def _resolve(parent: np.ndarray) -> np.ndarray:
    """Follow parent links to each face's root (the smallest face index of its cluster)."""
    root = parent.copy()
    while True:
        nxt = root[root]
        if np.array_equal(nxt, root):
            return root
        root = nxt


def cut(n: int, merges: np.ndarray, undo: int) -> np.ndarray:
    """Cluster labels after all merges but the `undo` highest: the tree cut into undo+1 more
    parts, which is how a group is split into its most different sub-groups."""
    if len(merges) == 0:
        return np.arange(n, dtype=np.int64)
    order = np.argsort(merges[:, 2], kind="stable")
    kept = merges[order[: max(0, len(merges) - undo)]]
    return components(n, kept[:, 0].astype(np.int64), kept[:, 1].astype(np.int64))


def components(n: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Connected components of the pairs (a, b), labelled by their smallest member."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    graph = coo_matrix((np.ones(len(a), dtype=np.int8), (a, b)), shape=(n, n))
    _, comp = connected_components(graph, directed=False)
    smallest = np.full(comp.max() + 1 if n else 0, n, dtype=np.int64)
    np.minimum.at(smallest, comp, np.arange(n))
    return smallest[comp]
