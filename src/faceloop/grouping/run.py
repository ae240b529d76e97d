"""Look-alike groups in the workspace: cluster the unlabelled faces, then name a group at once.

This is where the database meets `faceloop.cluster`. A run (`recluster`) groups every face
nobody has labelled, never two faces of one photo nor two faces a person said are different
people, at a threshold learned from the user's own labels (until there are enough, a start in
proportion to the workspace's own distances, `start_threshold`), in a space adapted to the
user's people once enough are labelled (`fit_projection`).
Labelled faces anchor the groups: a group near one labelled person is offered as "probably
<name>". Groups keep their ids across runs (`carry_over_ids`), so a group being reviewed does
not vanish under the reviewer, and a run writes only `face_group` and `face_group_member`:
decisions are never touched.

The run's projection and threshold are kept beside the models (`grouping.npz`,
`readmodel/group_space.py`), so distances on the pages are the ones the groups were built with.
What people do to groups is in `actions.py`, what the pages read in `views.py`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from sqlalchemy import delete, func, insert, select, update

from faceloop.cluster import (
    Anchors,
    Grouping,
    Projection,
    fit_projection,
    group_faces,
    learn_threshold,
    start_threshold,
)
from faceloop.db.models import FaceGroup, FaceGroupMember, GroupCannotLink, utcnow
from faceloop.readmodel import snapshot
from faceloop.readmodel.group_space import (
    labelled_people,
    load_space,
    save_space,
)
from faceloop.readmodel.groups import (
    OPEN,
)
from faceloop.readmodel.state import UNLABELLED
from faceloop.workspace import Workspace

#: labelled faces the projection needs before it is used: below this it barely moves the space
#: (its shrinkage is d / (d + dof)) and the threshold learned in it rests on too few pairs
MIN_PROJECTION_FACES = 128


#: people with two or more labelled faces needed before a threshold is learned: pairs of a few
#: people say how far one person's faces spread, not how near other people come
MIN_PEOPLE = 10


#: share of labelled pairs closer than the threshold that must be one person. Below the 99.5%
#: `learn_threshold` defaults to, because a person looks at every group before naming it: a
#: wrong face costs one deselection, while a person split over two groups costs another naming
#: and a confirm page (on LFW, 0.98 instead of 0.995 took the labelling simulation from 215 to
#: 169 actions for 46 people, with the same labels)
GROUP_PRECISION = 0.98


Progress = Callable[[int, int | None, str], None]


@dataclass(frozen=True)
class ClusterRun:
    groups: int
    grouped_faces: int
    unlabelled_faces: int
    threshold: float
    #: "learned" | "default" | "given"
    threshold_source: str
    seconds: float
    #: groups offered as "probably <name>"
    suggested: int = 0
    #: whether distances were adapted to the labelled people (a fitted projection)
    adapted: bool = False
    labelled_faces: int = 0
    vanished: list[int] = field(default_factory=list)


def _quiet(done: int, total: int | None, message: str) -> None:
    """The default progress reporter: say nothing."""


def recluster(
    ws: Workspace,
    *,
    threshold: float | None = None,
    progress: Progress | None = None,
    adapt: bool | None = None,
) -> ClusterRun:
    """Group every unlabelled face again (see the module docstring). `adapt` False keeps
    dlib's own distances even when there are enough labels for a projection (default: the
    workspace's `adapt_groups` setting)."""
    progress = progress or _quiet
    adapt = ws.settings.train.adapt_groups if adapt is None else adapt
    started = time.monotonic()
    progress(0, 4, "reading faces and labels")
    pool = _read_pool(ws)
    progress(1, 4, f"learning from {len(pool.named):,} labelled faces")
    projection = _projection(pool) if adapt else None
    threshold, source = _threshold(pool, projection, threshold)
    progress(2, 4, f"grouping {len(pool.faces):,} unlabelled faces")
    grouping = _group(pool, threshold, projection)
    progress(3, 4, f"saving {len(grouping.groups):,} groups")
    rows, members = _group_rows(pool, grouping)
    _write_groups(ws, rows, members)
    save_space(ws, projection, threshold, pool.faces_through)
    progress(4, 4, "done")
    return ClusterRun(
        groups=len(grouping.groups),
        grouped_faces=len(members),
        unlabelled_faces=len(pool.faces),
        threshold=threshold,
        threshold_source=source,
        seconds=time.monotonic() - started,
        suggested=sum(1 for r in rows if r["suggested_person_id"] is not None),
        adapted=projection is not None,
        labelled_faces=len(pool.named),
        vanished=list(grouping.vanished),
    )


@dataclass(frozen=True)
class _Pool:
    """What a run works from, copied out of the read model and the group tables at its
    start: one snapshot, so the whole run sees one moment."""

    #: the unlabelled faces: ids, embeddings, photos
    faces: np.ndarray
    x: np.ndarray
    images: np.ndarray
    #: the labelled faces (indices into the state), their embeddings, people and photos
    named: np.ndarray
    x_named: np.ndarray
    people: np.ndarray
    named_images: np.ndarray
    #: every face's embedding, for the start threshold
    every_face: np.ndarray
    faces_through: int
    rejects: dict[int, set[int]]
    roots: dict[int, int]
    #: face -> open group before this run, and the next free group id
    previous: dict[int, int]
    next_id: int
    cannot_link: tuple[np.ndarray, np.ndarray]


def _read_pool(ws: Workspace) -> _Pool:
    """The pool of faces to group, the labelled faces that anchor it, and the groups so far."""
    state = snapshot(ws)
    pool = np.flatnonzero(state.verdict == UNLABELLED)
    faces_through = int(state.face_ids[-1]) if len(state.face_ids) else 0
    named, people = labelled_people(state)
    # a snapshot never changes: its arrays can be read for the whole run
    every_face = state.embeddings
    x_pool = state.embeddings[pool].copy()
    x_named = state.embeddings[named].copy()
    pool_faces = state.face_ids[pool].copy()
    pool_images = state.image_ids[pool].copy()
    named_images = state.image_ids[named].copy()
    rejects = {f: set(p) for f, p in state.rejects.items()}
    roots = dict(state.roots)
    with ws.reader() as session:
        previous = dict(
            session.execute(
                select(FaceGroupMember.face_id, FaceGroupMember.group_id)
                .join(FaceGroup, FaceGroup.id == FaceGroupMember.group_id)
                .where(FaceGroup.status == OPEN)
            ).all()
        )
        next_id = (session.scalar(select(func.max(FaceGroup.id))) or 0) + 1
        links = _cannot_link_pairs(session, pool_faces)
    return _Pool(
        faces=pool_faces,
        x=x_pool,
        images=pool_images,
        named=named,
        x_named=x_named,
        people=people,
        named_images=named_images,
        every_face=every_face,
        faces_through=faces_through,
        rejects=rejects,
        roots=roots,
        previous=previous,
        next_id=next_id,
        cannot_link=links,
    )


def _projection(pool: _Pool) -> Projection | None:
    """A space adapted to the labelled people, once there are enough of their faces."""
    if len(pool.named) >= MIN_PROJECTION_FACES and len(np.unique(pool.people)) >= 2:
        return fit_projection(pool.x_named, pool.people)
    return None


def _threshold(
    pool: _Pool, projection: Projection | None, given: float | None
) -> tuple[float, str]:
    """(the threshold, "given" | "learned" | "default"): learned from the labelled pairs once
    enough people have two faces, else a start in proportion to the workspace's distances."""
    if given is None:
        transform = None if projection is None else projection.transform
        space = pool.x_named if transform is None else transform(pool.x_named)
        _, sizes = np.unique(pool.people, return_counts=True)
        enough = int((sizes >= 2).sum()) >= MIN_PEOPLE
        learned = (
            learn_threshold(space, pool.people, target_precision=GROUP_PRECISION)
            if enough
            else None
        )
        if learned is not None and learned.learned:
            chosen, source = learned.value, "learned"
        else:
            chosen, source = start_threshold(pool.every_face, transform=transform), "default"
    else:
        chosen, source = given, "given"
    chosen = float(chosen)
    if not 0 < chosen < 2:
        raise ValueError("the threshold must be between 0 and 2 (dlib distances)")
    return chosen, source


def _group(pool: _Pool, threshold: float, projection: Projection | None) -> Grouping:
    anchors = Anchors(pool.x_named, pool.people, pool.named_images) if len(pool.named) else None
    return group_faces(
        pool.x,
        pool.images,
        threshold=threshold,
        anchors=anchors,
        previous=pool.previous,
        face_ids=pool.faces,
        projection=projection,
        next_id=pool.next_id,
        cannot_link=pool.cannot_link,
    )


def _group_rows(pool: _Pool, grouping: Grouping) -> tuple[list[dict], list[dict]]:
    """The `face_group` rows and `face_group_member` rows of a run. A group is offered as a
    person only when the suggestion is confident and none of its faces was said not to be
    that person (merges followed)."""
    now = utcnow()
    rows, members = [], []
    for group in grouping.groups:
        faces = pool.faces[group.members].tolist()
        suggestion = group.suggestion
        person = distance = None
        if suggestion is not None and suggestion.confident:
            root = pool.roots.get(suggestion.person_id, suggestion.person_id)
            rejected = (pool.roots.get(p, p) for f in faces for p in pool.rejects.get(f, ()))
            if root not in rejected:
                person, distance = suggestion.person_id, float(suggestion.distance)
        rows.append(
            {
                "id": group.id,
                "status": OPEN,
                "size": group.size,
                "suggested_person_id": person,
                "suggested_distance": distance,
                "created_at": now,
                "updated_at": now,
            }
        )
        members.extend({"face_id": int(f), "group_id": group.id} for f in faces)
    return rows, members


def _write_groups(ws: Workspace, rows: list[dict], members: list[dict]) -> None:
    """Replace the open groups and every membership in one transaction: groups of earlier
    runs the run kept are updated in one executemany, new ones inserted, open ones it dropped
    deleted; groups no longer open are left as they are."""
    with ws.transaction() as session:
        stored = session.execute(select(FaceGroup.id, FaceGroup.status)).all()
        existing = {gid for gid, _ in stored}
        kept = {row["id"] for row in rows}
        stale = [gid for gid, status in stored if status == OPEN and gid not in kept]
        session.execute(delete(FaceGroupMember))
        for start in range(0, len(stale), 500):
            session.execute(delete(FaceGroup).where(FaceGroup.id.in_(stale[start : start + 500])))
        fresh = [row for row in rows if row["id"] not in existing]
        if fresh:
            session.execute(insert(FaceGroup), fresh)
        again = [
            {key: value for key, value in row.items() if key != "created_at"}
            for row in rows
            if row["id"] in existing
        ]
        if again:
            session.execute(update(FaceGroup), again)
        if members:
            session.execute(insert(FaceGroupMember), members)


def _cannot_link_pairs(session, pool_faces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Index pairs into the pool from the standing cannot-link records: faces of one record on
    different sides."""
    rows = session.execute(
        select(GroupCannotLink.record, GroupCannotLink.face_id, GroupCannotLink.side).where(
            GroupCannotLink.undone_at.is_(None)
        )
    ).all()
    empty = (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64))
    if not rows:
        return empty
    index = {int(f): i for i, f in enumerate(pool_faces.tolist())}
    records: dict[str, list[tuple[int, int]]] = {}
    for record, face_id, side in rows:
        if face_id in index:
            records.setdefault(record, []).append((index[face_id], side))
    first, second = [], []
    for faces in records.values():
        idx = np.array([f for f, _ in faces], dtype=np.int64)
        sides = np.array([s for _, s in faces], dtype=np.int64)
        i, j = np.triu_indices(len(idx), 1)
        differ = sides[i] != sides[j]
        first.append(idx[i[differ]])
        second.append(idx[j[differ]])
    if not first:
        return empty
    return np.concatenate(first), np.concatenate(second)


def grouping_threshold(ws: Workspace) -> float:
    """The distance the last run grouped at (the default before any run), in the space of
    `more_like_this`: "more like this" starts with only the faces within it chosen."""
    return load_space(ws).threshold
