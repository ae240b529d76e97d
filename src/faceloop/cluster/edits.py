"""Changing groups by hand: which groups to merge, and how to split one.

Merge suggestions look just beyond the grouping threshold: any two groups within it were
already merged unless a photo held a face of each, so the pairs worth asking about lie between
the threshold and a little more (`MERGE_FACTOR`), sorted nearest first, never two groups that
share a photo. A split undoes the top merges of the group's own tree: the group is agglomerated
again with no threshold and cut into its most different parts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from faceloop.cluster.linkage import agglomerate, candidate_edges, cut
from faceloop.cluster.neighbours import knn_graph
from faceloop.cluster.stats import group_stats, rms_between

#: merge suggestions reach this far beyond the grouping threshold
MERGE_FACTOR = 1.15
#: nearest groups of each group that are considered for merging
MERGE_NEIGHBOURS = 10


@dataclass(frozen=True)
class MergeSuggestion:
    """Two groups (by id) that may be one person; distance is the rms distance between their
    faces, comparable with the grouping threshold."""

    first: int
    second: int
    distance: float


def merge_suggestions(
    embeddings: np.ndarray,
    groups: Sequence[np.ndarray],
    *,
    threshold: float,
    image_ids: np.ndarray | None = None,
    ids: Sequence[int] | None = None,
    factor: float = MERGE_FACTOR,
    limit: int | None = None,
) -> list[MergeSuggestion]:
    """Pairs of groups (index arrays into embeddings) whose faces are within threshold * factor
    of each other on average, nearest first; `ids` names the groups (default: their positions)."""
    x = np.asarray(embeddings, dtype=np.float32)
    ids = list(range(len(groups))) if ids is None else list(ids)
    if len(groups) < 2:
        return []
    means, spreads, _ = group_stats(x, list(groups))
    k = min(MERGE_NEIGHBOURS, len(groups) - 1)
    near, _ = knn_graph(means.astype(np.float32), k)
    first = np.repeat(np.arange(len(groups)), k)
    second = near.reshape(-1)
    keep = second >= 0
    first, second = np.minimum(first[keep], second[keep]), np.maximum(first[keep], second[keep])
    pairs = np.unique(np.stack([first, second], axis=1), axis=0)
    if len(pairs) == 0:
        return []
    a, b = pairs[:, 0], pairs[:, 1]
    distance = rms_between(means[a], spreads[a], means[b], spreads[b])
    close = distance <= threshold * factor
    a, b, distance = a[close], b[close], distance[close]
    photos = None if image_ids is None else [set(np.asarray(image_ids)[g].tolist()) for g in groups]
    out = []
    for i in np.argsort(distance, kind="stable"):
        if photos is not None and photos[a[i]] & photos[b[i]]:
            continue
        out.append(MergeSuggestion(ids[a[i]], ids[b[i]], float(distance[i])))
        if limit is not None and len(out) >= limit:
            break
    return out


def split_group(
    embeddings: np.ndarray,
    members: np.ndarray,
    *,
    parts: int = 2,
    threshold: float | None = None,
    neighbours: int = 30,
) -> list[np.ndarray]:
    """Split a group (an index array into embeddings) into sub-groups, largest first: into its
    `parts` most different parts, or, given a threshold, into the groups that threshold makes
    (a tighter one than the group was built with). Faces far from every other face of the group
    can come out as extra parts of their own."""
    members = np.asarray(members)
    if len(members) < 2:
        return [members]
    x = np.asarray(embeddings, dtype=np.float32)[members]
    idx, dist = knn_graph(x, min(neighbours, len(x) - 1))
    limit = np.inf if threshold is None else float(threshold)
    # the group holds no two faces of one photo already, so no cannot-link is needed here
    tree = agglomerate(x, np.arange(len(x)), candidate_edges(idx, dist, limit), limit)
    labels = tree.labels if threshold is not None else cut(len(x), tree.merges, parts - 1)
    order = np.argsort(labels, kind="stable")
    pieces = np.split(members[order], np.flatnonzero(np.diff(labels[order])) + 1)
    pieces = [np.sort(p) for p in pieces]
    pieces.sort(key=lambda p: (-len(p), int(p[0])))
    return pieces
