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

Naming a group is one action: one batch of decisions (origin "group") that `undo_batch` takes
back whole. Deselected faces are refused for the person named, as on the confirm page, and leave
the group. A group's faces that were labelled since the run (here or on another page) no longer
count, so the listing always shows what is left to do.

The run's projection and threshold are kept beside the models (`grouping.npz`,
`group_space.py`), so distances on the pages are the ones the groups were built with. What the
pages read is kept in memory and follows each change instead of being rebuilt
(`group_view.py`): at a hundred thousand faces, rebuilding after every label cost a second.

Every write here that changes a group's members also sets the group's `updated_at`: that is how
`group_view` knows which groups to read again.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np
from sqlalchemy import delete, func, insert, select, update

from faceloop.cluster import (
    Anchors,
    Suggestion,
    fit_projection,
    group_faces,
    learn_threshold,
    split_group,
    start_threshold,
    suggest_people,
)
from faceloop.cluster.edits import MERGE_FACTOR
from faceloop.cluster.stats import rms_between
from faceloop.db.models import FaceGroup, FaceGroupMember, GroupCannotLink, GroupMerge, utcnow
from faceloop.labels.decisions import PERSON, REJECT, UNKNOWN, Verdict, decide_all
from faceloop.labels.labelling import label_faces
from faceloop.readmodel.group_space import (
    Space,
    labelled_people,
    load_space,
    projected,
    save_space,
)
from faceloop.readmodel.groups import (
    OPEN,
    REJECTED,
    GroupView,
    current,
    group_status,
    load_tables,
    open_faces,
)
from faceloop.readmodel.groups import GroupNotFound as GroupNotFound
from faceloop.readmodel.state import UNLABELLED, ReviewState, state_for
from faceloop.workspace import Workspace

#: faces shown for a group in a list, most central first
COVERS = 6
#: "these groups look like the same person" offered under a group
MERGE_CANDIDATES = 5
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
    state = state_for(ws.engine)
    with state.lock:
        pool = np.flatnonzero(state.verdict == UNLABELLED)
        faces_through = int(state.face_ids[-1]) if len(state.face_ids) else 0
        named, people = labelled_people(state)
        # replaced, never written in place, when faces are added: safe to read after the lock
        every_face = state.embeddings
        x_pool = state.embeddings[pool].copy()
        x_named = state.embeddings[named].copy()
        pool_faces = state.face_ids[pool].copy()
        pool_images = state.image_ids[pool].copy()
        named_images = state.image_ids[named].copy()
        rejects = {f: set(p) for f, p in state.rejects.items()}
        roots = dict(state.roots)
    with ws.sessions() as session:
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
    with ws.session() as session:
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


# ------------------------------------------------------------------ reading groups


def _summary(view: GroupView, state: ReviewState, i: int) -> GroupSummary:
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
    state = state_for(ws.engine)
    view = current(ws, state)
    eligible = np.flatnonzero(view.tables.open & (view.counts >= max(1, int(min_size))))
    order = eligible[np.lexsort((view.tables.ids[eligible], -view.counts[eligible]))]
    with state.lock:
        return [_summary(view, state, int(i)) for i in order[offset : offset + limit]]


def count_groups(ws: Workspace, *, min_size: int = 2) -> tuple[int, int]:
    """(open groups with at least `min_size` unlabelled faces, the faces in them)."""
    view = current(ws, state_for(ws.engine))
    eligible = view.tables.open & (view.counts >= max(1, int(min_size)))
    return int(eligible.sum()), int(view.counts[eligible].sum())


def count_ungrouped(ws: Workspace) -> int:
    """Unlabelled faces no grouping run has seen yet: those imported since the last run
    started (every unlabelled face before any run). What the import's end and the home page
    offer to group."""
    space = load_space(ws)
    if space.faces_through is None:
        return 0
    state = state_for(ws.engine)
    with state.lock:
        new = (state.verdict == UNLABELLED) & (state.face_ids > space.faces_through)
        return int(new.sum())


def group_detail(ws: Workspace, group_id: int) -> GroupDetail:
    state = state_for(ws.engine)
    view = current(ws, state)
    i = view.tables.index(group_id)
    with state.lock:
        faces, pos, distance = open_faces(view, i)
        images = state.image_ids[pos] if len(pos) else np.zeros(0, dtype=np.int64)
        summary = _summary(view, state, i)
        candidates = [
            _summary(view, state, j)
            for j in _merge_candidates(view, state, i, set(images.tolist()))
        ]
    return GroupDetail(
        summary=summary,
        faces=[
            GroupFace(int(f), int(m), float(d))
            for f, m, d in zip(faces.tolist(), images.tolist(), distance.tolist(), strict=True)
        ],
        merge_candidates=candidates,
    )


def _merge_candidates(view: GroupView, state: ReviewState, i: int, photos: set[int]) -> list[int]:
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
    review state (`group_space.projected`): no face is projected again per request."""
    state = state_for(ws.engine)
    space = load_space(ws)
    limit = max(0, min(int(limit), 500))
    with state.lock:
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


def background_faces(
    ws: Workspace, *, limit: int = 24, exclude: Iterable[int] = ()
) -> list[GroupFace]:
    """Faces that are most likely passers-by, for an "unknown person" page: unlabelled faces
    smaller than another face of their photo, in no group of two or more and like no one
    labelled (no nearest-person suggestion), the smallest (relative to the photo's largest
    face) first. `distance` here is that relative size."""
    from faceloop.review.look_alikes import nearest_people

    limit = max(0, min(int(limit), 500))
    state = state_for(ws.engine)
    view = current(ws, state)
    suggested = nearest_people(ws).face_ids
    with state.lock:
        boxes = state.boxes.astype(np.float64)
        area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
        largest = np.zeros(len(area))
        if len(area):
            order = state.by_image
            starts = np.flatnonzero(np.r_[True, np.diff(state.image_sorted) != 0])
            per_image = np.maximum.reduceat(area[order], starts)
            largest[order] = np.repeat(per_image, np.diff(np.r_[starts, len(order)]))
        relative = area / np.maximum(largest, 1.0)
        grouped_open = np.zeros(len(area), dtype=bool)
        member_group = np.repeat(np.arange(len(view.tables.ids)), np.diff(view.tables.starts))
        busy = view.open_member & view.tables.open[member_group] & (view.counts[member_group] >= 2)
        grouped_open[view.pos[busy]] = True
        candidates = np.flatnonzero(
            (state.verdict == UNLABELLED) & (relative < 1.0) & ~grouped_open
        )
        left_out = np.concatenate(
            [suggested, np.fromiter((int(f) for f in exclude), dtype=np.int64)]
        )
        candidates = candidates[~np.isin(state.face_ids[candidates], left_out)]
        candidates = candidates[np.argsort(relative[candidates], kind="stable")][:limit]
        return [
            GroupFace(int(state.face_ids[p]), int(state.image_ids[p]), float(relative[p]))
            for p in candidates.tolist()
        ]


# ------------------------------------------------------------------ acting on groups


def _members_now(ws: Workspace, group_id: int) -> tuple[str, list[int]]:
    """(stored status, unlabelled member face ids most central first) of one group."""
    state = state_for(ws.engine)
    view = current(ws, state)
    i = view.tables.index(group_id)
    faces, _, _ = open_faces(view, i)
    return (REJECTED if view.tables.rejected[i] else OPEN), [int(f) for f in faces]


def _touch(session, group_ids: Iterable[int]) -> None:
    session.execute(
        update(FaceGroup).where(FaceGroup.id.in_(list(group_ids))).values(updated_at=utcnow())
    )


def _chosen(
    ws: Workspace, group_id: int, exclude: Iterable[int], face_ids: Iterable[int] | None
) -> tuple[list[int], list[int]]:
    status, members = _members_now(ws, group_id)
    if status == REJECTED:
        raise ValueError(f"group {group_id} was marked 'not the same person'")
    excluded = set(int(f) for f in exclude)
    wanted = None if face_ids is None else set(int(f) for f in face_ids)
    chosen = [f for f in members if f not in excluded and (wanted is None or f in wanted)]
    left_out = [f for f in members if f in excluded]
    if not chosen:
        raise ValueError(f"no face of group {group_id} is left to label")
    return chosen, left_out


def label_group(
    ws: Workspace,
    group_id: int,
    *,
    person_id: int | None = None,
    name: str | None = None,
    exclude_face_ids: Iterable[int] = (),
    user_id: int | None = None,
    face_ids: Iterable[int] | None = None,
    confirm: bool = False,
    new_person: bool = False,
) -> str:
    """Name the group's unlabelled faces but the excluded ones as one person (by id, or by a
    name: an existing person's, else a new person), as one batch; returns its id. Excluded
    faces are refused for that person in the same batch and leave the group. `face_ids`, when
    given, limits the action to the faces the page showed (a re-run may have added some).
    `confirm` as in `label_faces` (the person already named elsewhere in one of the photos)."""
    chosen, left_out = _chosen(ws, group_id, exclude_face_ids, face_ids)
    user_id = ws.owner_id() if user_id is None else user_id
    result = label_faces(
        ws,
        chosen,
        PERSON,
        user_id=user_id,
        person_id=person_id,
        name=name,
        origin="group",
        confirm=confirm,
        detail={"group": int(group_id)},
        new_person=new_person,
    )
    with ws.session() as session:
        refused = [
            Verdict(face_id, REJECT, result.person_id, {"group": int(group_id)})
            for face_id in left_out
        ]
        decide_all(session, refused, origin="group", user_id=user_id, batch=result.batch)
        _leave(session, group_id, left_out)
    return result.batch


def mark_unknown(
    ws: Workspace,
    group_id: int,
    *,
    exclude_face_ids: Iterable[int] = (),
    user_id: int | None = None,
    face_ids: Iterable[int] | None = None,
) -> str:
    """Mark the group's unlabelled faces but the excluded ones "unknown person" (people nobody
    wants named: passers-by, crowds), as one batch; excluded faces leave the group."""
    chosen, left_out = _chosen(ws, group_id, exclude_face_ids, face_ids)
    user_id = ws.owner_id() if user_id is None else user_id
    result = label_faces(
        ws, chosen, UNKNOWN, user_id=user_id, origin="group", detail={"group": int(group_id)}
    )
    with ws.session() as session:
        _leave(session, group_id, left_out)
    return result.batch


def _leave(session, group_id: int, face_ids: list[int]) -> None:
    if face_ids:
        session.execute(
            delete(FaceGroupMember).where(
                FaceGroupMember.group_id == group_id, FaceGroupMember.face_id.in_(face_ids)
            )
        )
    _touch(session, [group_id])


def reject_group(ws: Workspace, group_id: int, *, user_id: int | None = None) -> None:
    """ "Not the same person": the group is dissolved and its faces are never grouped with each
    other again (until `undo_reject`); each can still join another group."""
    status, members = _members_now(ws, group_id)
    if status == REJECTED:
        return
    user_id = ws.owner_id() if user_id is None else user_id
    record = uuid.uuid4().hex
    with ws.session() as session:
        if members:
            session.execute(
                insert(GroupCannotLink),
                [
                    {
                        "record": record,
                        "kind": "reject",
                        "group_id": group_id,
                        "face_id": face_id,
                        "side": side,
                        "user_id": user_id,
                        "created_at": utcnow(),
                    }
                    for side, face_id in enumerate(members)
                ],
            )
        session.execute(delete(FaceGroupMember).where(FaceGroupMember.group_id == group_id))
        session.execute(
            update(FaceGroup)
            .where(FaceGroup.id == group_id)
            .values(status=REJECTED, size=0, updated_at=utcnow())
        )


def undo_reject(ws: Workspace, group_id: int, *, user_id: int | None = None) -> None:
    """Take back "not the same person": the cannot-links are withdrawn and the faces that are
    still unlabelled and in no other group come back to the group."""
    tables = load_tables(ws)
    i = tables.index(group_id)
    if not tables.rejected[i]:
        raise ValueError(f"group {group_id} was not marked 'not the same person'")
    state = state_for(ws.engine)
    with ws.session() as session:
        faces = list(
            session.scalars(
                select(GroupCannotLink.face_id).where(
                    GroupCannotLink.group_id == group_id,
                    GroupCannotLink.kind == "reject",
                    GroupCannotLink.undone_at.is_(None),
                )
            )
        )
        session.execute(
            update(GroupCannotLink)
            .where(
                GroupCannotLink.group_id == group_id,
                GroupCannotLink.kind == "reject",
                GroupCannotLink.undone_at.is_(None),
            )
            .values(undone_at=utcnow())
        )
        grouped = set(
            session.scalars(
                select(FaceGroupMember.face_id).where(FaceGroupMember.face_id.in_(faces))
            )
        )
        with state.lock:
            back = [
                f
                for f in faces
                if f not in grouped
                and (p := state.position(f)) is not None
                and state.verdict[p] == UNLABELLED
            ]
        if back:
            session.execute(
                insert(FaceGroupMember), [{"face_id": f, "group_id": group_id} for f in back]
            )
        session.execute(
            update(FaceGroup)
            .where(FaceGroup.id == group_id)
            .values(status=OPEN, size=len(back), updated_at=utcnow())
        )


def nearest_person(
    state: ReviewState, space: Space, pieces: list[np.ndarray]
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


def _suggest(
    state: ReviewState, space: Space, pieces: list[np.ndarray]
) -> list[tuple[int | None, float | None]]:
    """A confident "probably <person>" for groups given as state positions, or (None, None)."""
    return [
        (s.person_id, float(s.distance)) if s is not None and s.confident else (None, None)
        for s in nearest_person(state, space, pieces)
    ]


def split(ws: Workspace, group_id: int, *, user_id: int | None = None) -> list[int]:
    """Split a mixed group into its two most different parts: the larger keeps the id, the
    other gets a new one (a part of one face leaves the groups). Returns the resulting groups'
    ids, the kept one first. The parts are recorded as different people, so the next run does
    not join them again."""
    status, members = _members_now(ws, group_id)
    if status == REJECTED:
        raise ValueError(f"group {group_id} was marked 'not the same person'")
    if len(members) < 2:
        raise ValueError("a group needs two unlabelled faces to be split")
    state = state_for(ws.engine)
    space = load_space(ws)
    with state.lock:
        pos = np.array([state.position(f) for f in members], dtype=np.int64)
        x = projected(state, space).vectors[pos]
        pieces = split_group(x, np.arange(len(members)), parts=2)
        suggestions = _suggest(state, space, [pos[p] for p in pieces])
    user_id = ws.owner_id() if user_id is None else user_id
    now = utcnow()
    record = uuid.uuid4().hex
    result = [int(group_id)]
    with ws.session() as session:
        next_id = (session.scalar(select(func.max(FaceGroup.id))) or 0) + 1
        session.execute(
            insert(GroupCannotLink),
            [
                {
                    "record": record,
                    "kind": "split",
                    "group_id": group_id,
                    "face_id": members[k],
                    "side": side,
                    "user_id": user_id,
                    "created_at": now,
                }
                for side, piece in enumerate(pieces)
                for k in piece.tolist()
            ],
        )
        session.execute(delete(FaceGroupMember).where(FaceGroupMember.group_id == group_id))
        for n, (piece, (person, distance)) in enumerate(zip(pieces, suggestions, strict=True)):
            if n > 0 and len(piece) < 2:
                continue
            gid = group_id if n == 0 else next_id
            if n == 0:
                session.execute(
                    update(FaceGroup)
                    .where(FaceGroup.id == gid)
                    .values(
                        size=len(piece),
                        suggested_person_id=person,
                        suggested_distance=distance,
                        updated_at=now,
                    )
                )
            else:
                next_id += 1
                session.add(
                    FaceGroup(
                        id=gid,
                        status=OPEN,
                        size=len(piece),
                        suggested_person_id=person,
                        suggested_distance=distance,
                        created_at=now,
                        updated_at=now,
                    )
                )
                session.flush()
                result.append(gid)
            session.execute(
                insert(FaceGroupMember),
                [{"face_id": members[k], "group_id": gid} for k in piece.tolist()],
            )
    return result


def merge(ws: Workspace, group_id: int, other_id: int, *, user_id: int | None = None) -> int:
    """Join two groups that are one person; the one with more unlabelled faces keeps its id
    (ties: `group_id`) and the other is gone. Refused when a photo holds a face of each. The
    faces that moved are recorded, so that `undo_merge` can part them again."""
    if group_id == other_id:
        raise ValueError("a group cannot be merged with itself")
    first_status, first = _members_now(ws, group_id)
    second_status, second = _members_now(ws, other_id)
    if REJECTED in (first_status, second_status):
        raise ValueError("a group marked 'not the same person' cannot be merged")
    state = state_for(ws.engine)
    space = load_space(ws)
    with state.lock:
        first_pos = np.array([state.position(f) for f in first], dtype=np.int64)
        second_pos = np.array([state.position(f) for f in second], dtype=np.int64)
        if set(state.image_ids[first_pos].tolist()) & set(state.image_ids[second_pos].tolist()):
            raise ValueError("these groups hold two faces of one photo: they are two people")
        [(person, distance)] = _suggest(state, space, [np.concatenate([first_pos, second_pos])])
    keep, gone = (group_id, other_id) if len(first) >= len(second) else (other_id, group_id)
    moved = second if keep == group_id else first
    user_id = ws.owner_id() if user_id is None else user_id
    now = utcnow()
    record = uuid.uuid4().hex
    with ws.session() as session:
        if moved:
            session.execute(
                insert(GroupMerge),
                [
                    {
                        "record": record,
                        "group_id": keep,
                        "other_id": gone,
                        "face_id": face_id,
                        "user_id": user_id,
                        "created_at": now,
                    }
                    for face_id in moved
                ],
            )
        session.execute(
            update(FaceGroupMember).where(FaceGroupMember.group_id == gone).values(group_id=keep)
        )
        session.execute(delete(FaceGroup).where(FaceGroup.id == gone))
        session.execute(
            update(FaceGroup)
            .where(FaceGroup.id == keep)
            .values(
                size=len(first) + len(second),
                suggested_person_id=person,
                suggested_distance=distance,
                updated_at=utcnow(),
            )
        )
    return keep


def undo_split(ws: Workspace, group_id: int) -> list[int]:
    """Take back the last split of a group that still stands: its cannot-links are withdrawn
    and its faces come back to the group from the groups they are in now (those in none, if
    still unlabelled); a part left with no face is gone. Returns the group's id and the ids of
    the parts emptied."""
    load_tables(ws).index(group_id)
    with ws.session() as session:
        record = session.scalar(
            select(GroupCannotLink.record)
            .where(
                GroupCannotLink.group_id == group_id,
                GroupCannotLink.kind == "split",
                GroupCannotLink.undone_at.is_(None),
            )
            .order_by(GroupCannotLink.id.desc())
            .limit(1)
        )
        if record is None:
            raise ValueError(f"group {group_id} has no split to undo")
        faces = list(
            session.scalars(select(GroupCannotLink.face_id).where(GroupCannotLink.record == record))
        )
        session.execute(
            update(GroupCannotLink)
            .where(GroupCannotLink.record == record)
            .values(undone_at=utcnow())
        )
        emptied = _gather(ws, session, group_id, faces)
    return [int(group_id), *emptied]


def undo_merge(ws: Workspace, group_id: int) -> list[int]:
    """Take back the last merge into a group that still stands: the faces that came with the
    other group and are still unlabelled and in this group leave it for a group of their own
    (the other group's id when it is free). Returns both groups' ids."""
    load_tables(ws).index(group_id)
    with ws.session() as session:
        last = session.execute(
            select(GroupMerge.record, GroupMerge.other_id)
            .where(GroupMerge.group_id == group_id, GroupMerge.undone_at.is_(None))
            .order_by(GroupMerge.id.desc())
            .limit(1)
        ).first()
        if last is None:
            raise ValueError(f"no merge into group {group_id} to undo")
        record, other_id = last
        came = list(session.scalars(select(GroupMerge.face_id).where(GroupMerge.record == record)))
        session.execute(
            update(GroupMerge).where(GroupMerge.record == record).values(undone_at=utcnow())
        )
        here = set(
            session.scalars(
                select(FaceGroupMember.face_id).where(
                    FaceGroupMember.group_id == group_id, FaceGroupMember.face_id.in_(came)
                )
            )
        )
        leaving = [f for f in came if f in here and _unlabelled(ws, f)]
        if session.get(FaceGroup, other_id) is not None:
            other_id = (session.scalar(select(func.max(FaceGroup.id))) or 0) + 1
        now = utcnow()
        session.add(FaceGroup(id=other_id, status=OPEN, size=0, created_at=now, updated_at=now))
        session.flush()
        if leaving:
            session.execute(
                update(FaceGroupMember)
                .where(FaceGroupMember.face_id.in_(leaving))
                .values(group_id=other_id)
            )
        _resize(ws, session, [int(group_id), int(other_id)])
    return [int(group_id), int(other_id)]


def _unlabelled(ws: Workspace, face_id: int) -> bool:
    state = state_for(ws.engine)
    with state.lock:
        pos = state.position(face_id)
        return pos is not None and state.verdict[pos] == UNLABELLED


def _gather(ws: Workspace, session, group_id: int, faces: list[int]) -> list[int]:
    """Bring these faces into a group from the groups they are in now (and those in none
    that are still unlabelled); the open groups left with no member are deleted. Returns the
    deleted ids."""
    rows = session.execute(
        select(FaceGroupMember.face_id, FaceGroupMember.group_id).where(
            FaceGroupMember.face_id.in_(faces)
        )
    ).all()
    grouped = {f for f, _ in rows}
    back = [f for f in faces if f in grouped or _unlabelled(ws, f)]
    left = {gid for _, gid in rows if gid != group_id}
    session.execute(delete(FaceGroupMember).where(FaceGroupMember.face_id.in_(back)))
    if back:
        session.execute(
            insert(FaceGroupMember), [{"face_id": f, "group_id": group_id} for f in back]
        )
    emptied = [
        gid
        for gid in sorted(left)
        if session.scalar(
            select(func.count()).select_from(FaceGroupMember).where(FaceGroupMember.group_id == gid)
        )
        == 0
    ]
    if emptied:
        session.execute(
            delete(FaceGroup).where(FaceGroup.id.in_(emptied), FaceGroup.status == OPEN)
        )
    _resize(ws, session, [int(group_id), *(g for g in left if g not in emptied)])
    return emptied


def _resize(ws: Workspace, session, group_ids: list[int]) -> None:
    """Set these groups' sizes and their "probably <name>" again from their unlabelled
    members now."""
    state = state_for(ws.engine)
    space = load_space(ws)
    members = {
        gid: list(
            session.scalars(select(FaceGroupMember.face_id).where(FaceGroupMember.group_id == gid))
        )
        for gid in group_ids
    }
    with state.lock:
        pieces = {
            gid: np.array(
                [
                    p
                    for f in faces
                    if (p := state.position(f)) is not None and state.verdict[p] == UNLABELLED
                ],
                dtype=np.int64,
            )
            for gid, faces in members.items()
        }
        filled = [piece for piece in pieces.values() if len(piece)]
        found = iter(_suggest(state, space, filled))
    for gid in members:
        person, distance = next(found) if len(pieces[gid]) else (None, None)
        session.execute(
            update(FaceGroup)
            .where(FaceGroup.id == gid)
            .values(
                size=len(pieces[gid]),
                suggested_person_id=person,
                suggested_distance=distance,
                updated_at=utcnow(),
            )
        )


def grouping_threshold(ws: Workspace) -> float:
    """The distance the last run grouped at (the default before any run), in the space of
    `more_like_this`: "more like this" starts with only the faces within it chosen."""
    return load_space(ws).threshold
