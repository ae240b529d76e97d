"""The nearest labelled faces of every unlabelled face, kept in step with the labels.

`nearest.nearest_people` offers each unlabelled face the person of its nearest labelled face
within the grouping threshold. With a hundred thousand faces, half of them labelled, that
compares fifty thousand faces with fifty thousand (close to a minute on two cores), and the
confirm page asks again after every answer. An answer changes little, though: the faces it
labels leave the unlabelled side and join the labelled one ("anchors"), where they can only
become the nearest of faces within the radius of them. So `follow` keeps, for each unlabelled
face, its `NEAREST` nearest anchors within the radius, and from one call to the next:

- a new anchor (a face labelled with a visible person) is compared with every unlabelled face
  and enters the lists of those within the radius;
- an anchor gone (undone, relabelled "unknown", its person hidden) is replaced by comparing the
  faces that listed it with every anchor again;
- a face that became unlabelled (an undo, an import, a refusal withdrawn) is compared with every
  anchor; a face labelled or refused loses its list.

The anchor offered is the first of the list whose person is not labelled in the face's photo
(one person, one face a photo), so faces in the photos of changed anchors choose again, as do
faces whose anchors changed person (merged people). Distances are exact (float64, pair by pair)
once a float32 product has found the candidates, so a list comes out the same whichever way it
was reached: tests/review/test_groups.py compares a followed index with one built afresh.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from faceloop.cluster.neighbours import BLOCK_ENTRIES, pairwise_sq
from faceloop.readmodel.group_space import Projected, Space, labelled_people, projected
from faceloop.readmodel.state import UNLABELLED, Snapshot

#: labelled faces kept per unlabelled face, nearest first, to find one of an allowed person
NEAREST = 8
#: slack on squared distances from the float32 product before the exact check (its rounding
#: is below 1e-5 for embeddings of norm about one)
SLACK = 1e-3
#: pairs whose exact distance is computed at once
PAIRS = 1 << 16


@dataclass(frozen=True)
class NearestPeople:
    """Every unlabelled face with a suggestion: its id, photo, person and distance, nearest
    first."""

    face_ids: np.ndarray
    image_ids: np.ndarray
    person_ids: np.ndarray
    distances: np.ndarray


@dataclass
class Index:
    """Per face of the snapshot (by position): whether it is an anchor and of whom, whether
    it waits for a suggestion, its nearest anchors within `radius` and the one chosen."""

    #: (space mark, state generation, radius): another key means another index
    key: tuple
    anchor: np.ndarray
    root: np.ndarray
    pool: np.ndarray
    near: np.ndarray
    dist: np.ndarray
    person: np.ndarray
    chosen: np.ndarray
    result: NearestPeople | None = None

    @classmethod
    def empty(cls, key: tuple, n: int) -> Index:
        return cls(
            key=key,
            anchor=np.zeros(n, dtype=bool),
            root=np.zeros(n, dtype=np.int64),
            pool=np.zeros(n, dtype=bool),
            near=np.full((n, NEAREST), -1, dtype=np.int64),
            dist=np.full((n, NEAREST), np.inf),
            person=np.zeros(n, dtype=np.int64),
            chosen=np.full(n, np.inf),
        )

    def grow(self, n: int) -> None:
        """Room for faces added to the state since (none of them an anchor or waiting yet)."""
        extra = n - len(self.anchor)
        if extra <= 0:
            return
        more = Index.empty(self.key, extra)
        for name in ("anchor", "root", "pool", "near", "dist", "person", "chosen"):
            setattr(self, name, np.concatenate([getattr(self, name), getattr(more, name)]))


@dataclass(frozen=True)
class Anchors:
    """What `follow` reads of a snapshot (`take`): the labelled faces and those waiting."""

    #: (space mark, state generation): an index is for one of these
    key: tuple
    found: Projected
    face_ids: np.ndarray
    image_ids: np.ndarray
    by_image: np.ndarray
    image_sorted: np.ndarray
    #: per face: labelled with a visible person, that person (merges resolved), unlabelled and
    #: never refused for anyone
    anchor: np.ndarray
    root: np.ndarray
    pool: np.ndarray


def take(state: Snapshot, space: Space) -> Anchors:
    """A snapshot never changes, so its arrays are kept by reference."""
    n = len(state.face_ids)
    named, people = labelled_people(state)
    anchor = np.zeros(n, dtype=bool)
    anchor[named] = True
    root = np.zeros(n, dtype=np.int64)
    root[named] = people
    pool = state.verdict == UNLABELLED
    if state.rejects:
        pool &= ~np.isin(state.face_ids, np.fromiter(state.rejects, dtype=np.int64))
    return Anchors(
        key=(space.mark, state.generation),
        found=projected(state, space),
        face_ids=state.face_ids,
        image_ids=state.image_ids,
        by_image=state.by_image,
        image_sorted=state.image_sorted,
        anchor=anchor,
        root=root,
        pool=pool,
    )


def follow(now: Anchors, radius: float, index: Index | None) -> tuple[Index, NearestPeople]:
    """`index` brought up to `now` (a new one when it was for another space, state generation or
    radius), and what it suggests. Changes `index` in place: one caller at a time."""
    n = len(now.face_ids)
    key = (*now.key, float(radius))
    if index is None or index.key != key:
        index = Index.empty(key, n)
    index.grow(n)

    added = now.anchor & ~index.anchor
    removed = index.anchor & ~now.anchor
    moved = now.anchor & index.anchor & (now.root != index.root)
    fresh = now.pool & ~index.pool
    if removed.any():
        listed = index.near >= 0
        lost = (removed[np.maximum(index.near, 0)] & listed).any(axis=1)
        fresh |= now.pool & index.pool & lost
    dropped = (index.pool & ~now.pool) | fresh
    index.near[dropped] = -1
    index.dist[dropped] = np.inf
    index.person[dropped] = 0
    index.chosen[dropped] = np.inf
    index.anchor, index.root, index.pool = now.anchor, now.root, now.pool

    anchors = np.flatnonzero(now.anchor)
    _merge(index, now.found, np.flatnonzero(fresh), anchors, radius)
    staying = np.flatnonzero(now.pool & ~fresh)
    touched = _merge(index, now.found, staying, np.flatnonzero(added), radius)

    again = fresh.copy()
    again[touched] = True
    if moved.any():
        again |= now.pool & (moved[np.maximum(index.near, 0)] & (index.near >= 0)).any(axis=1)
    changed = added | removed | moved
    if changed.any():
        photos = np.unique(now.image_ids[changed])
        again |= now.pool & np.isin(now.image_ids, photos)
    _choose(index, now, np.flatnonzero(again))
    if index.result is None or again.any() or dropped.any():
        index.result = _result(index, now)
    return index, index.result


def _merge(
    index: Index, found: Projected, rows: np.ndarray, anchors: np.ndarray, radius: float
) -> np.ndarray:
    """Enter into the lists of `rows` those of `anchors` within `radius`; returns the rows
    whose lists changed."""
    if len(rows) == 0 or len(anchors) == 0:
        return np.zeros(0, dtype=np.int64)
    pairs_row, pairs_anchor, pairs_dist = _within(found, rows, anchors, radius)
    if len(pairs_row) == 0:
        return np.zeros(0, dtype=np.int64)
    touched = np.unique(pairs_row)
    listed = index.near[touched]
    keep = listed >= 0
    all_row = np.concatenate([np.repeat(touched, keep.sum(axis=1)), pairs_row])
    all_anchor = np.concatenate([listed[keep], pairs_anchor])
    all_dist = np.concatenate([index.dist[touched][keep], pairs_dist])
    order = np.lexsort((all_anchor, all_dist, all_row))
    all_row, all_anchor, all_dist = all_row[order], all_anchor[order], all_dist[order]
    first = np.searchsorted(all_row, all_row, side="left")
    rank = np.arange(len(all_row)) - first
    top = rank < NEAREST
    index.near[touched] = -1
    index.dist[touched] = np.inf
    index.near[all_row[top], rank[top]] = all_anchor[top]
    index.dist[all_row[top], rank[top]] = all_dist[top]
    return touched


def _within(
    found: Projected, rows: np.ndarray, anchors: np.ndarray, radius: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(row, anchor, exact distance) of every pair within `radius`, by blocks of rows."""
    a = found.vectors[anchors]
    a_sq = found.squares[anchors]
    limit = radius * radius + SLACK
    block = max(1, BLOCK_ENTRIES // len(anchors))
    out_row, out_anchor, out_dist = [], [], []
    for start in range(0, len(rows), block):
        chunk = rows[start : start + block]
        d = pairwise_sq(found.vectors[chunk], a, found.squares[chunk], a_sq)
        i, j = np.divmod(np.flatnonzero(d <= limit), len(anchors))
        if len(i) == 0:
            continue
        i, j = _likely_first(i, j, d[i, j])
        pair_row, pair_anchor = chunk[i], anchors[j]
        exact = _exact(found.vectors, pair_row, pair_anchor)
        near = exact <= radius
        out_row.append(pair_row[near])
        out_anchor.append(pair_anchor[near])
        out_dist.append(exact[near])
    if not out_row:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, np.zeros(0)
    return np.concatenate(out_row), np.concatenate(out_anchor), np.concatenate(out_dist)


def _likely_first(
    i: np.ndarray, j: np.ndarray, values: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Of the candidate pairs (row i, anchor j) with squared distances `values` from the float32
    product, those that can be among a row's `NEAREST` nearest by exact distance: within
    `SLACK` of the row's NEAREST-th smallest value. Spares the exact distance of most pairs."""
    order = np.lexsort((values, i))
    i, j, values = i[order], j[order], values[order]
    first = np.searchsorted(i, i, side="left")
    last = np.searchsorted(i, i, side="right") - 1
    kth = values[np.minimum(first + NEAREST - 1, last)]
    keep = values <= kth + SLACK
    return i[keep], j[keep]


def _exact(vectors: np.ndarray, first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """Distance of each pair, computed pair by pair in float64: the same number whichever
    batch the pair came in."""
    out = np.empty(len(first))
    for start in range(0, len(first), PAIRS):
        stop = start + PAIRS
        diff = vectors[first[start:stop]].astype(np.float64)
        diff -= vectors[second[start:stop]]
        out[start:stop] = np.sqrt(np.einsum("ij,ij->i", diff, diff))
    return out


def _choose(index: Index, now: Anchors, rows: np.ndarray) -> None:
    """For each row, the first listed anchor whose person is not labelled in the row's photo."""
    if len(rows) == 0:
        return
    near = index.near[rows]
    listed = near >= 0
    people = np.where(listed, index.root[np.maximum(near, 0)], 0)
    images = now.image_ids[rows]
    keys = (images[:, None] << 32) | people
    allowed = listed & ~np.isin(keys, _photo_people(now, np.unique(images)))
    has = allowed.any(axis=1)
    first = np.argmax(allowed, axis=1)
    picked = np.arange(len(rows))
    index.person[rows] = np.where(has, people[picked, first], 0)
    index.chosen[rows] = np.where(has, index.dist[rows][picked, first], np.inf)


def _photo_people(now: Anchors, images: np.ndarray) -> np.ndarray:
    """(photo << 32) | person of every anchor in these photos."""
    lo = np.searchsorted(now.image_sorted, images, side="left")
    hi = np.searchsorted(now.image_sorted, images, side="right")
    sizes = hi - lo
    steps = np.arange(int(sizes.sum())) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    faces = now.by_image[np.repeat(lo, sizes) + steps]
    faces = faces[now.anchor[faces]]
    return (now.image_ids[faces] << 32) | now.root[faces]


def _result(index: Index, now: Anchors) -> NearestPeople:
    hit = np.flatnonzero(index.pool & (index.person > 0))
    order = hit[np.argsort(index.chosen[hit], kind="stable")]
    return NearestPeople(
        face_ids=now.face_ids[order],
        image_ids=now.image_ids[order],
        person_ids=index.person[order],
        distances=index.chosen[order],
    )
