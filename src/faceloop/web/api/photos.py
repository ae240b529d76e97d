"""A photo with its faces and labels, and faces drawn by hand where the detector missed one."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter

from faceloop.review.label_queue import QueueItem, queue_item
from faceloop.review.photos import PhotoInfo, add_face, photo_info
from faceloop.web.deps import WS, User
from faceloop.web.schemas import BoxBody, IdPath

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
