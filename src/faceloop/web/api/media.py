"""Face chips and photos, by id only (never by a path from the request), with ETags and long
caching: a face's chip and a photo never change for a given id."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, Response

from faceloop.review.photos import DISPLAY_SIZES, display_jpeg, face_blob
from faceloop.web.deps import WS
from faceloop.web.schemas import IdPath

router = APIRouter(tags=["media"])

CACHE = "private, max-age=31536000, immutable"
JPEG = {"content": {"image/jpeg": {}}, "description": "a JPEG"}


def _send(request: Request, path, etag: str) -> Response:
    tag = f'"{etag}"'
    if request.headers.get("if-none-match") == tag:
        return Response(status_code=304, headers={"etag": tag, "cache-control": CACHE})
    return FileResponse(
        path, media_type="image/jpeg", headers={"etag": tag, "cache-control": CACHE}
    )


@router.get("/faces/{face_id}/{kind}.jpg", response_class=FileResponse, responses={200: JPEG})
def face_image(
    ws: WS, request: Request, face_id: IdPath, kind: Literal["chip", "crop"]
) -> Response:
    """The aligned 150-pixel chip, or the 112-pixel crop, of a face."""
    path, etag = face_blob(ws, face_id, kind)
    return _send(request, path, etag)


@router.get("/photos/{image_id}/image.jpg", response_class=FileResponse, responses={200: JPEG})
def photo_image(
    ws: WS,
    request: Request,
    image_id: IdPath,
    size: Annotated[int, Query(description=f"one of {DISPLAY_SIZES}")] = 1024,
) -> Response:
    """The photo, upright, scaled to fit `size` pixels; face boxes are in the coordinates of
    the full photo (its width and height are in /photos/{id})."""
    path, etag = display_jpeg(ws, image_id, size)
    return _send(request, path, etag)
