"""A photo with its faces and labels, faces drawn by hand where the detector missed one, and
the faces of stored photos found again after the [detect] settings changed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from fastapi import APIRouter
from pydantic import Field

from faceloop.ingest.job import REDETECT
from faceloop.jobs.queue import JobInfo, get_job
from faceloop.jobs.rules import submit_once
from faceloop.review.label_queue import QueueItem, queue_item
from faceloop.review.photos import PhotoInfo, add_face, photo_info
from faceloop.web.deps import WS, User
from faceloop.web.schemas import Body, BoxBody, Id, IdPath

router = APIRouter(tags=["photos"])


@dataclass(frozen=True)
class AddedFace:
    face_id: int
    face: QueueItem


@router.get("/photos/{image_id}", response_model=PhotoInfo)
def photo(ws: WS, image_id: IdPath) -> PhotoInfo:
    """The photo's faces with their labels; `flagged` marks one person on two faces."""
    return photo_info(ws, image_id)


@router.post("/photos/{image_id}/faces", response_model=AddedFace, status_code=201)
def add(ws: WS, user: User, image_id: IdPath, body: BoxBody) -> AddedFace:
    """Add a face the detector missed: it is aligned and embedded like the others, then
    waits in the label queue (or is labelled at once with /faces/{id}/label)."""
    face_id = add_face(ws, image_id, (body.left, body.top, body.right, body.bottom))
    return AddedFace(face_id, queue_item(ws, face_id, user))


class RedetectBody(Body):
    """Which photos: every one, or those first seen since a day, or those showing a person."""

    #: an ISO date, as JSON text
    since: date | None = Field(default=None, strict=False)
    person_id: Id | None = None


@router.post("/photos/redetect", response_model=JobInfo, status_code=202)
def redetect(ws: WS, user: User, body: RedetectBody | None = None) -> JobInfo:
    """Find the faces of stored photos again with the current settings, in the background:
    faces with a decision stay, new ones are added, machine-only faces no longer found go.
    One run at a time: while one is queued or running, this returns it."""
    params: dict = {}
    if body is not None and body.since is not None:
        params["since"] = body.since.isoformat()
    if body is not None and body.person_id is not None:
        params["person_id"] = body.person_id
    return get_job(ws, submit_once(ws, REDETECT, params, user)[0])
