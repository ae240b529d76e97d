"""The "unknown person" page over HTTP: the faces most likely to be passers-by, and marking a
page of them "unknown person" in one action (undo it with POST /batches/{batch}/undo)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Query

from faceloop.review.passers_by import PasserBy, PassersByResult, mark_passers_by, passers_by
from faceloop.web.deps import WS, User
from faceloop.web.schemas import ID_MAX, PassersByBody

router = APIRouter(tags=["groups"])


@dataclass(frozen=True)
class PassersByPage:
    #: the smallest faces (relative to their photo's largest face) first
    faces: list[PasserBy]


@router.get("/passers-by", response_model=PassersByPage)
def page(
    ws: WS,
    limit: Annotated[int, Query(ge=1, le=200)] = 24,
    exclude: Annotated[list[int] | None, Query(max_length=500)] = None,
) -> PassersByPage:
    """Unlabelled faces most likely to be passers-by: smaller than another face of their
    photo, in no group and like no one labelled. `exclude` leaves out faces the page showed
    already (the ones deselected, and those it holds)."""
    held = [face for face in exclude or () if 1 <= face <= ID_MAX]
    return PassersByPage(passers_by(ws, limit=limit, exclude=held))


@router.post("/passers-by", response_model=PassersByResult)
def mark(ws: WS, user: User, body: PassersByBody) -> PassersByResult:
    """Mark the faces the page showed, but `exclude_face_ids`, "unknown person" in one action.
    Faces labelled meanwhile keep their label (`already_labelled`); 422 when nothing is left
    to mark, 404 for a face that does not exist."""
    return mark_passers_by(ws, body.face_ids, exclude_face_ids=body.exclude_face_ids, user_id=user)
