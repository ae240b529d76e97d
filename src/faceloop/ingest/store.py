"""Storing a photo and its faces: the one way image and face rows and their blobs are written,
whether the photo came from a folder import, a dataset import or a face drawn by hand.

Blobs go to disk before the rows that name them, so a reader never meets a row whose blob is
missing. An importer first journals the blobs under its owner (the import lock's id): a crash
between the blobs and the rows leaves journal entries, and the next import deletes the blobs
no row references (`faceloop.ingest.run.recover_interrupted`), so a killed import leaves no
orphan files. The rows, the photo's origin and whatever the caller decides about the new faces
(a folder's label, a dataset's label) are one transaction: a photo is stored whole or not at
all, and a rerun finds it by its sha256 rather than storing it twice. Two imports may store the
same photo at the same moment: the image row is inserted only if its sha256 is new, and the
import that comes second is told so (`StoredPhoto.already_stored`) and keeps nothing of its own.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import delete, exists, or_, select
from sqlalchemy.orm import Session

from faceloop.db.models import BlobJournal, Face, Image, ImageOrigin
from faceloop.db.upsert import insert_new
from faceloop.ingest.analyse import AnalysedFace
from faceloop.workspace import Workspace
from faceloop.workspace.blobs import BlobStore, sha256


@dataclass(frozen=True)
class FaceToStore:
    """A face as the database keeps it: where it is, what found it, and its aligned chip,
    display crop and embedding."""

    box: tuple[int, int, int, int]
    detector: str
    score: float
    landmarks: list[list[float]]
    chip_jpeg: bytes
    crop_jpeg: bytes
    embedding: bytes

    @classmethod
    def analysed(cls, face: AnalysedFace, detector: str) -> FaceToStore:
        return cls(
            face.box,
            detector,
            face.score,
            face.landmarks,
            face.chip_jpeg,
            face.crop_jpeg,
            face.embedding,
        )


@dataclass(frozen=True)
class PhotoToStore:
    """A photo's bytes and what was measured of it; `near_copy_of` links a near copy to the
    photo whose faces stand for it (a near copy stores no faces of its own)."""

    sha256: str
    data: bytes
    phash: int
    width: int
    height: int
    format: str
    near_copy_of: int | None = None


@dataclass(frozen=True)
class Origin:
    """Where a photo was seen: a source, the path shown for it (a file's path, an image's
    address), its folder (or the account that posted it), and the post it came in."""

    source_id: int
    path: str
    folder: str
    post_id: int | None = None


@dataclass(frozen=True)
class StoredPhoto:
    image_id: int
    #: in the order the faces were given
    face_ids: tuple[int, ...]
    #: another import stored the same bytes first: `image_id` is its photo, and nothing of this
    #: call (faces, origin, `then`) was stored
    already_stored: bool = False


def store_photo(
    ws: Workspace,
    owner: str,
    photo: PhotoToStore,
    faces: Sequence[FaceToStore],
    origin: Origin,
    *,
    face_count: int | None = None,
    then: Callable[[Session, StoredPhoto], None] | None = None,
) -> StoredPhoto:
    """Store a new photo with its faces, journalled under `owner`; `then` runs in the same
    transaction (to label the new faces), so the photo and its labels are committed together.
    `face_count` is what the photo's row says it holds when that differs from the faces stored
    (a near copy counts the faces it shares with its original)."""
    blobs = {photo.sha256: photo.data} | face_blobs(faces)
    keys = sorted(blobs)
    with ws.transaction() as session:
        for key in keys:
            session.merge(BlobJournal(key=key, owner=owner))
    for key in keys:
        ws.blobs.put_as(key, blobs[key])
    with ws.transaction(serialized=True) as session:
        image_id = insert_new(
            session,
            Image,
            ["sha256"],
            sha256=photo.sha256,
            phash=photo.phash,
            width=photo.width,
            height=photo.height,
            format=photo.format,
            size_bytes=len(photo.data),
            face_count=len(faces) if face_count is None else face_count,
            near_copy_of_id=photo.near_copy_of,
        )
        if image_id is None:
            first = session.scalar(select(Image.id).where(Image.sha256 == photo.sha256))
            drop_unclaimed(session, ws.blobs, owner, keys)
            return StoredPhoto(first, (), already_stored=True)
        session.add(
            ImageOrigin(
                image_id=image_id,
                source_id=origin.source_id,
                post_id=origin.post_id,
                path=origin.path,
                folder=origin.folder,
            )
        )
        stored = StoredPhoto(image_id, tuple(add_face_rows(session, image_id, faces)))
        if then is not None:
            then(session, stored)
        session.execute(
            delete(BlobJournal).where(BlobJournal.owner == owner, BlobJournal.key.in_(keys))
        )
    return stored


def add_face_to_photo(ws: Workspace, image_id: int, face: FaceToStore) -> int:
    """Add one face to a stored photo (one drawn by hand) and count it in the photo's row.
    Returns the face's id. No journal: the blobs are written by a request, not an import, and
    a crash before the row leaves at most two small blobs that no reader is sent to."""
    for key, data in face_blobs([face]).items():
        ws.blobs.put_as(key, data)
    with ws.transaction() as session:
        (face_id,) = add_face_rows(session, image_id, [face])
        session.get(Image, image_id).face_count += 1
        return face_id


def face_blobs(faces: Sequence[FaceToStore]) -> dict[str, bytes]:
    """The chip and crop of each face by their sha256 (equal ones once)."""
    blobs: dict[str, bytes] = {}
    for face in faces:
        blobs[sha256(face.chip_jpeg)] = face.chip_jpeg
        blobs[sha256(face.crop_jpeg)] = face.crop_jpeg
    return blobs


def add_face_rows(session: Session, image_id: int, faces: Sequence[FaceToStore]) -> list[int]:
    """The face rows of a photo whose blobs are already stored; their ids, in order."""
    rows = [
        Face(
            image_id=image_id,
            left=face.box[0],
            top=face.box[1],
            right=face.box[2],
            bottom=face.box[3],
            detector=face.detector,
            score=face.score,
            landmarks=face.landmarks,
            chip_key=sha256(face.chip_jpeg),
            crop_key=sha256(face.crop_jpeg),
            embedding=face.embedding,
        )
        for face in faces
    ]
    session.add_all(rows)
    session.flush()
    return [row.id for row in rows]


def drop_unclaimed(session: Session, blobs: BlobStore, owner: str, keys: Sequence[str]) -> int:
    """Forget `owner`'s journal entries for `keys` and delete the blobs that no row references
    and no other import has journalled (it may be about to store a row naming one). Returns
    how many were deleted. Run it in a serialized transaction, so no import journals a key
    between the check and the delete."""
    session.execute(
        delete(BlobJournal).where(BlobJournal.owner == owner, BlobJournal.key.in_(keys))
    )
    removed = 0
    for key in keys:
        if not _claimed(session, key):
            blobs.delete(key)
            removed += 1
    return removed


def _claimed(session: Session, key: str) -> bool:
    return bool(
        session.scalar(
            select(
                exists().where(Image.sha256 == key)
                | exists().where(or_(Face.chip_key == key, Face.crop_key == key))
                | exists().where(BlobJournal.key == key)
            )
        )
    )
