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

    progress(1, 4, f"learning from {len(named):,} labelled faces")
    projection = None
    if adapt and len(named) >= MIN_PROJECTION_FACES and len(np.unique(people)) >= 2:
        projection = fit_projection(x_named, people)
    source = "given"
    if threshold is None:
        transform = None if projection is None else projection.transform
        space = x_named if transform is None else transform(x_named)
        _, sizes = np.unique(people, return_counts=True)
        enough = int((sizes >= 2).sum()) >= MIN_PEOPLE
        learned = (
            learn_threshold(space, people, target_precision=GROUP_PRECISION) if enough else None
        )
        if learned is not None and learned.learned:
            threshold, source = learned.value, "learned"
        else:
            threshold = start_threshold(every_face, transform=transform)
            source = "default"
    threshold = float(threshold)
    if not 0 < threshold < 2:
        raise ValueError("the threshold must be between 0 and 2 (dlib distances)")

    progress(2, 4, f"grouping {len(pool):,} unlabelled faces")
    anchors = Anchors(x_named, people, named_images) if len(named) else None
    grouping = group_faces(
        x_pool,
        pool_images,
        threshold=threshold,
        anchors=anchors,
        previous=previous,
        face_ids=pool_faces,
        projection=projection,
        next_id=next_id,
        cannot_link=links,
    )

    progress(3, 4, f"saving {len(grouping.groups):,} groups")
    now = utcnow()
    rows = []
    members = []
    for group in grouping.groups:
        suggestion = group.suggestion
        person = None
        distance = None
        if suggestion is not None and suggestion.confident:
            faces = pool_faces[group.members].tolist()
            person_root = roots.get(suggestion.person_id, suggestion.person_id)
            if not any(roots.get(p, p) == person_root for f in faces for p in rejects.get(f, ())):
                person, distance = suggestion.person_id, float(suggestion.distance)
        rows.append((group.id, group.size, person, distance))
        members.extend((int(f), group.id) for f in pool_faces[group.members].tolist())
    with ws.transaction() as session:
        stored = session.execute(select(FaceGroup.id, FaceGroup.status)).all()
        existing = {gid for gid, _ in stored}
        kept = {r[0] for r in rows}
        stale = [gid for gid, status in stored if status == OPEN and gid not in kept]
        session.execute(delete(FaceGroupMember))
        for start in range(0, len(stale), 500):
            session.execute(delete(FaceGroup).where(FaceGroup.id.in_(stale[start : start + 500])))
        fresh = [
            {
                "id": gid,
                "status": OPEN,
                "size": size,
                "suggested_person_id": person,
                "suggested_distance": distance,
                "created_at": now,
                "updated_at": now,
            }
            for gid, size, person, distance in rows
            if gid not in existing
        ]
        if fresh:
            session.execute(insert(FaceGroup), fresh)
        for gid, size, person, distance in rows:
            if gid in existing:
                session.execute(
                    update(FaceGroup)
                    .where(FaceGroup.id == gid)
                    .values(
                        status=OPEN,
                        size=size,
                        suggested_person_id=person,
                        suggested_distance=distance,
                        updated_at=now,
                    )
                )
        if members:
            session.execute(
                insert(FaceGroupMember), [{"face_id": f, "group_id": g} for f, g in members]
            )
    save_space(ws, projection, threshold, faces_through)
    progress(4, 4, "done")
    return ClusterRun(
        groups=len(grouping.groups),
        grouped_faces=len(members),
        unlabelled_faces=len(pool),
        threshold=threshold,
        threshold_source=source,
        seconds=time.monotonic() - started,
        suggested=sum(1 for r in rows if r[2] is not None),
        adapted=projection is not None,
        labelled_faces=len(named),
        vanished=list(grouping.vanished),
    )


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
