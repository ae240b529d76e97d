"""The "unknown person" page: faces most likely to be passers-by, a page at a time, marked
"unknown person" in one action.

In photos of people, most faces nobody wants named are the small ones beside the photo's
subject: a crowd, a waiter, a face on a poster. `background_faces` (grouping/run.py) finds
them: unlabelled faces smaller than another face of their photo, in no group and like no one
labelled, the smallest first. Naming them one at a time in the label queue costs an action
each; here a page of 24 costs one Enter, plus one deselection per face that is somebody.

A deselected face records nothing (there is no verdict for "not a passer-by"): the page keeps
it in its `exclude` list so it is not shown again there, and the face stays in the label queue.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass

from sqlalchemy import select

from faceloop.db.models import Face, FaceLabel
from faceloop.grouping.views import background_faces
from faceloop.labels.decisions import UNKNOWN
from faceloop.labels.labelling import label_faces
from faceloop.workspace import Workspace

PAGE = 24
#: recorded in each decision's detail, so the activity log says where the answer came from
DETAIL = {"page": "passers-by"}


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
