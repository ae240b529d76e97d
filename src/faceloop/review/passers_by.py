"""The "unknown person" page: faces most likely to be passers-by, a page at a time, marked
"unknown person" in one action.

In photos of people, most faces nobody wants named are the small ones beside the photo's
subject: a crowd, a waiter, a face on a poster. `background_faces` finds
them: unlabelled faces smaller than another face of their photo, in no group and like no one
labelled, the smallest first. Naming them one at a time in the label queue costs an action
each; here a page of 24 costs one Enter, plus one deselection per face that is somebody.

A deselected face records nothing (there is no verdict for "not a passer-by"): the page keeps
it in its `exclude` list so it is not shown again there, and the face stays in the label queue.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass

import numpy as np
from sqlalchemy import select

from faceloop.db.models import Face, FaceLabel
from faceloop.grouping.views import GroupFace
from faceloop.labels.decisions import UNKNOWN
from faceloop.labels.labelling import label_faces
from faceloop.readmodel import snapshot
from faceloop.readmodel.groups import current
from faceloop.readmodel.state import UNLABELLED
from faceloop.review.look_alikes import nearest_people
from faceloop.workspace import Workspace

PAGE = 24
#: recorded in each decision's detail, so the activity log says where the answer came from
DETAIL = {"page": "passers-by"}


def background_faces(
    ws: Workspace, *, limit: int = 24, exclude: Iterable[int] = ()
) -> list[GroupFace]:
    """Faces that are most likely passers-by, for an "unknown person" page: unlabelled faces
    smaller than another face of their photo, in no group of two or more and like no one
    labelled (no nearest-person suggestion), the smallest (relative to the photo's largest
    face) first. `distance` here is that relative size."""
    limit = max(0, min(int(limit), 500))
    state = snapshot(ws)
    view = current(ws, state)
    suggested = nearest_people(ws).face_ids
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
    candidates = np.flatnonzero((state.verdict == UNLABELLED) & (relative < 1.0) & ~grouped_open)
    left_out = np.concatenate([suggested, np.fromiter((int(f) for f in exclude), dtype=np.int64)])
    candidates = candidates[~np.isin(state.face_ids[candidates], left_out)]
    candidates = candidates[np.argsort(relative[candidates], kind="stable")][:limit]
    return [
        GroupFace(int(state.face_ids[p]), int(state.image_ids[p]), float(relative[p]))
        for p in candidates.tolist()
    ]


@dataclass(frozen=True)
class PasserBy:
    face_id: int
    image_id: int
    #: the face's area over the area of the largest face of its photo (below 1)
    relative_size: float


@dataclass(frozen=True)
class PassersByResult:
    """What marking a page did: undo the whole action with its batch."""

    batch: str
    #: the faces marked "unknown person"
    face_ids: list[int]
    #: the faces deselected on the page: left as they were
    excluded_face_ids: list[int]
    #: faces someone labelled after the page showed them: left as they were
    already_labelled: list[int]


def passers_by(
    ws: Workspace, *, limit: int = PAGE, exclude: Collection[int] = ()
) -> list[PasserBy]:
    """Up to `limit` faces most likely to be passers-by, the smallest (relative to their
    photo's largest face) first; `exclude` leaves out faces the page showed already."""
    return [
        PasserBy(face.face_id, face.image_id, round(face.distance, 4))
        for face in background_faces(ws, limit=limit, exclude=exclude)
    ]


def mark_passers_by(
    ws: Workspace,
    face_ids: Iterable[int],
    *,
    exclude_face_ids: Iterable[int] = (),
    user_id: int | None = None,
) -> PassersByResult:
    """Mark the faces a page showed, but the excluded ones, "unknown person" as one batch
    (origin "bulk"). Faces labelled since the page showed them keep their label: a bulk
    answer never overrules a person's own."""
    shown = list(dict.fromkeys(int(f) for f in face_ids))
    if not shown:
        raise ValueError("no faces given")
    excluded = {int(f) for f in exclude_face_ids}
    with ws.reader() as session:
        found = set(session.scalars(select(Face.id).where(Face.id.in_(shown))))
        missing = [f for f in shown if f not in found]
        if missing:
            raise LookupError(f"no face {missing[0]}")
        labelled = set(
            session.scalars(select(FaceLabel.face_id).where(FaceLabel.face_id.in_(shown)))
        )
    kept = [f for f in shown if f not in excluded]
    if not kept:
        raise ValueError("every face is deselected: nothing to mark")
    chosen = [f for f in kept if f not in labelled]
    if not chosen:
        raise ValueError("every chosen face was labelled meanwhile: nothing to mark")
    user_id = ws.owner_id() if user_id is None else user_id
    result = label_faces(ws, chosen, UNKNOWN, user_id=user_id, origin="bulk", detail=DETAIL)
    return PassersByResult(
        batch=result.batch,
        face_ids=chosen,
        excluded_face_ids=[f for f in shown if f in excluded],
        already_labelled=[f for f in kept if f in labelled],
    )
