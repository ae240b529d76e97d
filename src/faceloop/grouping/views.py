"""What the groups pages read: open groups largest first, one group with the groups that look
like it, "more like this", the likely passers-by and the person nearest a set of faces.

All of it comes from the in-memory group view (`readmodel/groups.py`) and the space the groups
were built in, so a listing costs no SQL at a hundred thousand faces.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from faceloop.cluster import (
    Anchors,
    Suggestion,
    suggest_people,
)
from faceloop.cluster.edits import MERGE_FACTOR
from faceloop.cluster.stats import rms_between
from faceloop.readmodel import snapshot
from faceloop.readmodel.group_space import (
    Space,
    labelled_people,
    load_space,
    projected,
)
from faceloop.readmodel.groups import GroupNotFound as GroupNotFound
from faceloop.readmodel.groups import (
    GroupView,
    current,
    group_status,
    open_faces,
)
from faceloop.readmodel.state import UNLABELLED, Snapshot
from faceloop.workspace import Workspace

#: faces shown for a group in a list, most central first
COVERS = 6


#: "these groups look like the same person" offered under a group
MERGE_CANDIDATES = 5


@dataclass(frozen=True)
class GroupFace:
    face_id: int
    image_id: int
    #: distance to the group's centre, in the space the groups were built in
    distance: float


@dataclass(frozen=True)
class GroupSummary:
    id: int
    #: faces of the group still unlabelled
    size: int
    #: up to six, most central first
    cover_face_ids: list[int]
    suggested_person_id: int | None
    suggested_name: str | None
    suggested_distance: float | None
    #: "open" | "labelled" | "rejected"
    status: str


@dataclass(frozen=True)
class GroupDetail:
    summary: GroupSummary
    #: most central first (outliers last)
    faces: list[GroupFace]
    #: groups that look like the same person, nearest first
    merge_candidates: list[GroupSummary]


def _summary(view: GroupView, state: Snapshot, i: int) -> GroupSummary:
    faces, _, _ = open_faces(view, i)
    person = int(view.tables.suggested[i]) or None
    name = None
    distance = None
    if person is not None:
        person = state.root(person)
        record = state.people.get(person)
        if record is None or record.hidden:
            person = None
        else:
            name = record.name
            distance = float(view.tables.suggested_distance[i])
    return GroupSummary(
        id=int(view.tables.ids[i]),
        size=int(view.counts[i]),
        cover_face_ids=[int(f) for f in faces[:COVERS]],
        suggested_person_id=person,
        suggested_name=name,
        suggested_distance=distance,
        status=group_status(view, i),
    )


def list_groups(
    ws: Workspace, *, limit: int = 50, offset: int = 0, min_size: int = 2
) -> list[GroupSummary]:
    """Open groups with at least `min_size` faces still unlabelled, largest first (ties: the
    older group first)."""
    limit = max(0, int(limit))
    offset = max(0, int(offset))
    state = snapshot(ws)
    view = current(ws, state)
    eligible = np.flatnonzero(view.tables.open & (view.counts >= max(1, int(min_size))))
    order = eligible[np.lexsort((view.tables.ids[eligible], -view.counts[eligible]))]
    return [_summary(view, state, int(i)) for i in order[offset : offset + limit]]


def count_groups(ws: Workspace, *, min_size: int = 2) -> tuple[int, int]:
    """(open groups with at least `min_size` unlabelled faces, the faces in them)."""
    view = current(ws, snapshot(ws))
    eligible = view.tables.open & (view.counts >= max(1, int(min_size)))
    return int(eligible.sum()), int(view.counts[eligible].sum())


def count_ungrouped(ws: Workspace) -> int:
    """Unlabelled faces no grouping run has seen yet: those imported since the last run
    started (every unlabelled face before any run). What the import's end and the home page
    offer to group."""
    space = load_space(ws)
    if space.faces_through is None:
        return 0
    state = snapshot(ws)
    new = (state.verdict == UNLABELLED) & (state.face_ids > space.faces_through)
    return int(new.sum())


def group_detail(ws: Workspace, group_id: int) -> GroupDetail:
    state = snapshot(ws)
    view = current(ws, state)
    i = view.tables.index(group_id)
    faces, pos, distance = open_faces(view, i)
    images = state.image_ids[pos] if len(pos) else np.zeros(0, dtype=np.int64)
    summary = _summary(view, state, i)
    candidates = [
        _summary(view, state, j) for j in _merge_candidates(view, state, i, set(images.tolist()))
    ]
    return GroupDetail(
        summary=summary,
        faces=[
            GroupFace(int(f), int(m), float(d))
            for f, m, d in zip(faces.tolist(), images.tolist(), distance.tolist(), strict=True)
        ],
        merge_candidates=candidates,
    )


def _merge_candidates(view: GroupView, state: Snapshot, i: int, photos: set[int]) -> list[int]:
    """Open groups whose unlabelled faces are within the threshold (and a little more) of the
    group's on average, nearest first, never one with a face in the group's photos."""
    if view.counts[i] == 0 or view.tables.rejected[i] or not view.tables.open[i]:
        return []
    live = np.flatnonzero(view.tables.open & (view.counts > 0))
    distance = rms_between(
        view.means[i][None, :], view.spreads[i : i + 1], view.means[live], view.spreads[live]
    )
    distance[live == i] = np.inf
    close = np.flatnonzero(distance <= view.space.threshold * MERGE_FACTOR)
    found = []
    for j in close[np.argsort(distance[close], kind="stable")].tolist():
        other = int(live[j])
        lo, hi = view.tables.starts[other], view.tables.starts[other + 1]
        pos = view.pos[lo:hi][view.open_member[lo:hi]]
        if photos & set(state.image_ids[pos].tolist()):
            continue
        found.append(other)
        if len(found) >= MERGE_CANDIDATES:
            break
    return found


def more_like_this(ws: Workspace, face_id: int, *, limit: int = 24) -> list[GroupFace]:
    """The unlabelled faces nearest to a face (labelled or not), nearest first; never the face
    itself nor another face of its photo. One product with the projected faces kept beside the
    snapshot (`group_space.projected`): no face is projected again per request."""
    state = snapshot(ws)
    space = load_space(ws)
    limit = max(0, min(int(limit), 500))
    pos = state.position(face_id)
    if pos is None:
        raise LookupError(f"no face {face_id}")
    found = projected(state, space)
    query = found.vectors[pos]
    distance = found.squares - 2.0 * (found.vectors @ query) + float(query @ query)
    np.sqrt(np.maximum(distance, 0.0), out=distance)
    distance[state.verdict != UNLABELLED] = np.inf
    distance[state.siblings(int(state.image_ids[pos]))] = np.inf
    k = min(limit, int(np.isfinite(distance).sum()))
    if k <= 0:
        return []
    nearest = np.argpartition(distance, k - 1)[:k] if k < len(distance) else np.arange(k)
    nearest = nearest[np.lexsort((nearest, distance[nearest]))]
    return [
        GroupFace(int(state.face_ids[p]), int(state.image_ids[p]), float(distance[p]))
        for p in nearest.tolist()
    ]


def nearest_person(
    state: Snapshot, space: Space, pieces: list[np.ndarray]
) -> list[Suggestion | None]:
    """The labelled person nearest each group given as state positions (confident or not), as
    the run compares groups with people (`suggest_people`); the caller holds the state's
    lock."""
    named, people = labelled_people(state)
    if not len(named) or not pieces:
        return [None] * len(pieces)
    flat = np.concatenate(pieces)
    vectors = projected(state, space).vectors
    x = vectors[flat]
    bounds = np.concatenate([[0], np.cumsum([len(p) for p in pieces])])
    groups = [np.arange(bounds[k], bounds[k + 1]) for k in range(len(pieces))]
    anchors = Anchors(vectors[named], people, state.image_ids[named])
    return suggest_people(
        x, groups, anchors, threshold=space.threshold, image_ids=state.image_ids[flat]
    )


def confident_people(
    state: Snapshot, space: Space, pieces: list[np.ndarray]
) -> list[tuple[int | None, float | None]]:
    """A confident "probably <person>" for groups given as state positions, or (None, None)."""
    return [
        (s.person_id, float(s.distance)) if s is not None and s.confident else (None, None)
        for s in nearest_person(state, space, pieces)
    ]
