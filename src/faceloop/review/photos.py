"""One photo with all its faces and labels; faces the detector missed, drawn by hand; and the
photo scaled down for display.

A hand-drawn face goes through the same landmarks, alignment and embedding as a detected one
(`FacePipeline.describe`), so it is labelled, suggested and exported like any other. A false
detection is not deleted: it is labelled "not a face", which is a decision like any other and
can be undone.
"""

from __future__ import annotations

import io
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image as PILImage
from sqlalchemy import select

from faceloop.db.models import Decision, Face, FaceLabel, Image, ImageOrigin, Person, Source
from faceloop.ingest.analyse import to_analysed
from faceloop.ingest.store import FaceToStore, add_face_to_photo
from faceloop.labels.decisions import PERSON
from faceloop.readmodel import snapshot
from faceloop.vision import shared_pipeline
from faceloop.vision.base import Box
from faceloop.vision.decode import UnreadableImage, decode
from faceloop.workspace import Workspace

DISPLAY_SIZES = (256, 512, 1024, 2048)
MIN_FACE_SIDE = 8
MANUAL = "manual"


@dataclass(frozen=True)
class PhotoFaceInfo:
    face_id: int
    box: tuple[int, int, int, int]
    detector: str
    score: float
    verdict: str | None
    person_id: int | None
    name: str | None
    origin: str | None
    decision_id: int | None
    #: another face of this photo carries the same person
    flagged: bool


@dataclass(frozen=True)
class PhotoOrigin:
    source: str
    path: str
    folder: str


@dataclass(frozen=True)
class PhotoInfo:
    image_id: int
    sha256: str
    width: int
    height: int
    format: str
    near_copy_of: int | None
    hint_person_id: int | None
    hint_name: str | None
    origins: list[PhotoOrigin] = field(default_factory=list)
    faces: list[PhotoFaceInfo] = field(default_factory=list)


def photo_info(ws: Workspace, image_id: int) -> PhotoInfo:
    state = snapshot(ws)
    with ws.reader() as session:
        image = session.get(Image, image_id)
        if image is None:
            raise LookupError(f"no photo {image_id}")
        origins = [
            PhotoOrigin(f"{kind}: {name}", path, folder)
            for kind, name, path, folder in session.execute(
                select(Source.kind, Source.name, ImageOrigin.path, ImageOrigin.folder)
                .join(Source, Source.id == ImageOrigin.source_id)
                .where(ImageOrigin.image_id == image_id)
                .order_by(ImageOrigin.id)
            )
        ]
        rows = session.execute(
            select(Face, FaceLabel, Decision.origin)
            .outerjoin(FaceLabel, FaceLabel.face_id == Face.id)
            .outerjoin(Decision, Decision.id == FaceLabel.decision_id)
            .where(Face.image_id == image_id)
            .order_by(Face.left, Face.id)
        ).all()
        hint_name = None
        if image.hint_person_id is not None:
            hint_name = session.scalar(select(Person.name).where(Person.id == image.hint_person_id))
        people = []
        for _face, label, _origin in rows:
            person = None
            if label is not None and label.verdict == PERSON and label.person_id is not None:
                person = state.root(label.person_id)
            people.append(person)
        shared = {p for p in people if p is not None and people.count(p) > 1}
        faces = [
            PhotoFaceInfo(
                face_id=face.id,
                box=(face.left, face.top, face.right, face.bottom),
                detector=face.detector,
                score=face.score,
                verdict=label.verdict if label else None,
                person_id=person,
                name=state.people[person].name if person in state.people else None,
                origin=origin,
                decision_id=label.decision_id if label else None,
                flagged=person in shared,
            )
            for (face, label, origin), person in zip(rows, people, strict=True)
        ]
    return PhotoInfo(
        image_id=image.id,
        sha256=image.sha256,
        width=image.width,
        height=image.height,
        format=image.format,
        near_copy_of=image.near_copy_of_id,
        hint_person_id=image.hint_person_id,
        hint_name=hint_name,
        origins=origins,
        faces=faces,
    )


def add_face(ws: Workspace, image_id: int, box: tuple[int, int, int, int]) -> int:
    """Add a face the detector missed, from a box in the photo's own pixels (left, top, right,
    bottom); it is landmarked, aligned and embedded like a detected one. Returns its id."""
    left, top, right, bottom = box
    with ws.reader() as session:
        image = session.get(Image, image_id)
        if image is None:
            raise LookupError(f"no photo {image_id}")
        if image.near_copy_of_id is not None:
            raise ValueError(
                f"this photo is a copy of photo {image.near_copy_of_id}: add the face there"
            )
        width, height, key = image.width, image.height, image.sha256
    if not (0 <= left < right <= width and 0 <= top < bottom <= height):
        raise ValueError(f"the box must lie inside the photo ({width}x{height} pixels)")
    if min(right - left, bottom - top) < MIN_FACE_SIDE:
        raise ValueError(f"a face must be at least {MIN_FACE_SIDE} pixels wide and high")
    try:
        picture = decode(ws.blobs.get(key), ws.settings.imports.max_pixels).image
    except (OSError, UnreadableImage) as exc:
        raise ValueError(f"the photo cannot be read any more: {exc}") from exc
    found = shared_pipeline(ws.settings.detect).describe(picture, Box(left, top, right, bottom))
    return add_face_to_photo(ws, image_id, FaceToStore.analysed(to_analysed(found), MANUAL))


def display_jpeg(ws: Workspace, image_id: int, size: int) -> tuple[Path, str]:
    """The photo upright, scaled to fit `size` pixels, as a cached JPEG; and its ETag. The
    cache is keyed by content hash, so it never goes stale."""
    if size not in DISPLAY_SIZES:
        raise ValueError(f"size must be one of {', '.join(map(str, DISPLAY_SIZES))}")
    with ws.reader() as session:
        key = session.scalar(select(Image.sha256).where(Image.id == image_id))
    if key is None:
        raise LookupError(f"no photo {image_id}")
    folder = ws.root / "cache" / "display" / key[:2]
    target = folder / f"{key}-{size}.jpg"
    if target.exists():
        return target, f"{key[:16]}-{size}"
    try:
        picture = decode(ws.blobs.get(key), ws.settings.imports.max_pixels).image
    except (OSError, UnreadableImage) as exc:
        raise ValueError(f"the photo cannot be read any more: {exc}") from exc
    picture.thumbnail((size, size), PILImage.Resampling.LANCZOS)
    buffer = io.BytesIO()
    picture.save(buffer, "JPEG", quality=85, optimize=True)
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-")
    with os.fdopen(fd, "wb") as handle:
        handle.write(buffer.getvalue())
    os.replace(tmp, target)
    return target, f"{key[:16]}-{size}"


def face_blob(ws: Workspace, face_id: int, kind: str) -> tuple[Path, str]:
    """The stored chip (150 px, aligned) or crop (112 px) of a face, and its ETag."""
    column = {"chip": Face.chip_key, "crop": Face.crop_key}.get(kind)
    if column is None:
        raise ValueError("kind must be chip or crop")
    with ws.reader() as session:
        key = session.scalar(select(column).where(Face.id == face_id))
    if key is None:
        raise LookupError(f"no face {face_id}")
    path = ws.blobs.path(key)
    if not path.exists():
        raise LookupError(f"the {kind} of face {face_id} is missing from the blob store")
    return path, key[:32]
