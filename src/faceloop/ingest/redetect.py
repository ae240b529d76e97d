"""Detect and embed the faces of stored photos again, with the current [detect] settings.

An import stores each photo once and never looks at it again, so a photo imported with a bad
setting (a `min_face` too large, a detector that missed turned faces) would keep the faces it
got for good: this is the way back. Each photo's blob is analysed again and its new detections
are matched to the faces it has by box overlap:

- a face that carries a human decision (any decision, undone ones too, including a folder's
  label at import), a grouping action or a box drawn by hand is never removed and never
  changed: its row and id stay, so every decision stays attached, whether or not the new
  settings still find it;
- a stored face a new detection matches stays as it is too (its box and embedding are not
  refreshed: the groups, suggestions and predictions made from them stay true);
- a new detection that matches no stored face is stored as an import stores one;
- a face only a machine found, that no new detection matches, is removed with what the
  database hangs on it (predictions, group memberships) and its chip and crop.

Each photo is one transaction, blobs are journalled before they are written and settled after
the commit, so a crash halfway leaves every photo either as it was or done; a second run with
the same settings changes nothing. Near copies are skipped (their original's faces stand for
them), and so are photos of a dataset of face crops (the crop is the face).
"""

from __future__ import annotations

import fcntl
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import delete, exists, func, or_, select, update
from sqlalchemy.orm import Session

from faceloop.db.models import (
    BlobJournal,
    Decision,
    Face,
    FaceLabel,
    GroupCannotLink,
    GroupMerge,
    Image,
)
from faceloop.ingest.analyse import AnalysedPhoto, analyse
from faceloop.ingest.run import crash_if_asked, import_lock, recover_interrupted
from faceloop.ingest.store import FaceToStore, add_face_rows, face_blobs
from faceloop.labels.decisions import PERSON
from faceloop.labels.people import merged_person_ids
from faceloop.vision import DETECTORS, shared_pipeline
from faceloop.vision.pipeline import FacePipeline
from faceloop.workspace import Workspace

#: a new detection is the same face as a stored one when their boxes overlap by at least half
#: their union. The same face found at another scale or by the other detector overlaps by
#: 0.6 to 0.9; two faces side by side overlap far less, since each detector already drops a
#: box that overlaps a surer one by that much (non-maximum suppression). It is also the
#: usual threshold of detection benchmarks (PASCAL VOC).
SAME_FACE_IOU = 0.5

#: faces stored with another `detector` than a detector's name were drawn by a person
#: ("manual") or are a whole face crop ("crop"): no detection can stand for them
FOUND_BY_DETECTOR = DETECTORS
CROP_BOX = "crop"


class RedetectBusy(RuntimeError):
    """Another re-detection is running in this workspace."""


@dataclass
class RedetectProgress:
    """Sent after each photo, for progress bars and job status."""

    done: int = 0
    total: int = 0
    added: int = 0
    removed: int = 0
    failed: int = 0


@dataclass
class RedetectSummary:
    photos: int = 0
    #: photos whose faces changed
    changed: int = 0
    added: int = 0
    removed: int = 0
    #: faces with a human decision that no new detection matched, kept as they were
    kept_unmatched: int = 0
    #: stored faces a new detection matched
    matched: int = 0
    skipped: int = 0
    failed: int = 0
    seconds: float = 0.0
    #: photos that got new faces
    image_ids: list[int] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Stored:
    face_id: int
    box: tuple[int, int, int, int]
    #: a face that must stay: decided, grouped by hand, drawn by hand
    protected: bool


def select_photos(
    ws: Workspace, *, since: date | None = None, person_id: int | None = None
) -> list[int]:
    """The photos to analyse again: every photo, or those first seen on or after `since`,
    or those showing `person_id` (a face labelled with them or, for a photo of several
    faces, their name given at import); near copies never (their faces are the original's)."""
    query = select(Image.id).where(Image.near_copy_of_id.is_(None)).order_by(Image.id)
    if since is not None:
        query = query.where(Image.first_seen >= datetime.combine(since, datetime.min.time()))
    with ws.reader() as session:
        if person_id is not None:
            ids = merged_person_ids(session, person_id)
            labelled = (
                select(Face.image_id)
                .join(FaceLabel, FaceLabel.face_id == Face.id)
                .where(FaceLabel.verdict == PERSON, FaceLabel.person_id.in_(ids))
            )
            query = query.where(or_(Image.id.in_(labelled), Image.hint_person_id.in_(ids)))
        return list(session.scalars(query))


def redetect(
    ws: Workspace,
    image_ids: Sequence[int] | None = None,
    *,
    progress: Callable[[RedetectProgress], None] | None = None,
) -> RedetectSummary:
    """Analyse these photos again (default: `select_photos(ws)`) and bring their faces in line
    with what the current settings find, keeping every face a person decided about."""
    started = time.monotonic()
    with _redetect_lock(ws), import_lock(ws) as owner:
        recover_interrupted(ws, owner)
        wanted = select_photos(ws) if image_ids is None else list(image_ids)
        summary = RedetectSummary()
        told = RedetectProgress(total=len(wanted))
        if progress:
            progress(told)
        pipeline = shared_pipeline(ws.settings.detect)
        for image_id in wanted:
            _photo(ws, owner, image_id, pipeline, summary)
            told.done += 1
            told.added, told.removed, told.failed = summary.added, summary.removed, summary.failed
            if progress:
                progress(told)
    summary.seconds = time.monotonic() - started
    return summary


def _photo(
    ws: Workspace, owner: str, image_id: int, pipeline: FacePipeline, summary: RedetectSummary
) -> None:
    with ws.reader() as session:
        image = session.get(Image, image_id)
        if image is None:
            summary.problems.append(f"photo #{image_id}: not in the workspace")
            summary.failed += 1
            return
        sha, copy_of = image.sha256, image.near_copy_of_id
        crops = session.scalar(
            select(exists().where(Face.image_id == image_id, Face.detector == CROP_BOX))
        )
    if copy_of is not None or crops:
        summary.skipped += 1
        return
    try:
        data = ws.blobs.get(sha)
    except OSError as exc:
        summary.problems.append(f"photo #{image_id}: its file cannot be read ({exc})")
        summary.failed += 1
        return
    result = analyse(data, pipeline, ws.settings.imports.max_pixels)
    if not isinstance(result, AnalysedPhoto):
        summary.problems.append(f"photo #{image_id}: {result.reason}")
        summary.failed += 1
        return
    summary.photos += 1
    detector = ws.settings.detect.detector
    found = [FaceToStore.analysed(face, detector) for face in result.faces]
    with ws.reader() as session:
        before = _stored_faces(session, image_id)
    matches = match_boxes([s.box for s in before], [f.box for f in found])
    new = [f for j, f in enumerate(found) if j not in matches.values()]
    if not new and all(i in matches or s.protected for i, s in enumerate(before)):
        summary.matched += len(matches)
        summary.kept_unmatched += sum(1 for i in range(len(before)) if i not in matches)
        return
    _change(ws, owner, image_id, found, new, summary)


def _change(
    ws: Workspace,
    owner: str,
    image_id: int,
    found: list[FaceToStore],
    new: list[FaceToStore],
    summary: RedetectSummary,
) -> None:
    """Store the new faces and remove the lost ones in one transaction; the stored faces are
    read and matched again inside it, so a decision made meanwhile protects its face."""
    blobs = face_blobs(new)
    with ws.transaction() as session:
        for key in sorted(blobs):
            session.merge(BlobJournal(key=key, owner=owner))
    for key, data in blobs.items():
        ws.blobs.put_as(key, data)
    touched = set(blobs)
    with ws.transaction() as session:
        before = _stored_faces(session, image_id)
        matches = match_boxes([s.box for s in before], [f.box for f in found])
        # only detections whose blobs were written above; one that matched a face removed
        # meanwhile waits for the next run
        adding = [
            f for j, f in enumerate(found) if j not in matches.values() and any(f is n for n in new)
        ]
        lost = [s for i, s in enumerate(before) if i not in matches and not s.protected]
        lost_ids = [s.face_id for s in lost]
        for chip, crop in session.execute(
            select(Face.chip_key, Face.crop_key).where(Face.id.in_(lost_ids))
        ):
            for key in {chip, crop}:
                touched.add(key)
                session.merge(BlobJournal(key=key, owner=owner))
        # the database cascades to their predictions and group memberships
        session.execute(delete(Face).where(Face.id.in_(lost_ids)))
        add_face_rows(session, image_id, adding)
        count = session.scalar(select(func.count(Face.id)).where(Face.image_id == image_id))
        session.execute(
            update(Image)
            .where(or_(Image.id == image_id, Image.near_copy_of_id == image_id))
            .values(face_count=count)
        )
    crash_if_asked()
    _settle_blobs(ws, owner, touched)
    summary.matched += len(matches)
    summary.kept_unmatched += sum(
        1 for i, s in enumerate(before) if i not in matches and s.protected
    )
    summary.added += len(adding)
    summary.removed += len(lost_ids)
    summary.changed += bool(adding or lost_ids)
    if adding:
        summary.image_ids.append(image_id)


def _stored_faces(session: Session, image_id: int) -> list[_Stored]:
    decided = exists().where(Decision.face_id == Face.id)
    split = exists().where(GroupCannotLink.face_id == Face.id)
    merged = exists().where(GroupMerge.face_id == Face.id)
    protected = or_(decided, split, merged, Face.detector.not_in(FOUND_BY_DETECTOR))
    rows = session.execute(
        select(Face.id, Face.left, Face.top, Face.right, Face.bottom, protected)
        .where(Face.image_id == image_id)
        .order_by(Face.id)
    ).all()
    return [_Stored(row[0], (row[1], row[2], row[3], row[4]), bool(row[5])) for row in rows]


def match_boxes(
    stored: Sequence[tuple[int, int, int, int]],
    found: Sequence[tuple[int, int, int, int]],
    threshold: float = SAME_FACE_IOU,
) -> dict[int, int]:
    """Stored box index -> found box index, one to one, the best overlaps first, each pair
    overlapping by at least `threshold` of their union."""
    pairs = sorted(
        (
            (overlap, i, j)
            for i, a in enumerate(stored)
            for j, b in enumerate(found)
            if (overlap := iou(a, b)) >= threshold
        ),
        reverse=True,
    )
    matches: dict[int, int] = {}
    taken: set[int] = set()
    for _, i, j in pairs:
        if i not in matches and j not in taken:
            matches[i] = j
            taken.add(j)
    return matches


def iou(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> float:
    """Intersection over union of two (left, top, right, bottom) boxes."""
    width = min(a[2], b[2]) - max(a[0], b[0])
    height = min(a[3], b[3]) - max(a[1], b[1])
    if width <= 0 or height <= 0:
        return 0.0
    inter = width * height
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def _settle_blobs(ws: Workspace, owner: str, keys: set[str]) -> None:
    """Delete the blobs of these keys that no row uses (the removed faces' chips and crops)
    and that no other running import has journalled (it may be about to use them), then
    end this run's journal entries for them."""
    with ws.transaction() as session:
        for key in sorted(keys):
            used = session.scalar(
                select(
                    or_(
                        exists().where(or_(Face.chip_key == key, Face.crop_key == key)),
                        exists().where(Image.sha256 == key),
                        exists().where(BlobJournal.key == key, BlobJournal.owner != owner),
                    )
                )
            )
            if not used:
                ws.blobs.delete(key)
        session.execute(
            delete(BlobJournal).where(BlobJournal.owner == owner, BlobJournal.key.in_(keys))
        )


@contextmanager
def _redetect_lock(ws: Workspace) -> Iterator[None]:
    """One re-detection at a time: two would both add the face the settings now find."""
    ws.locks_dir.mkdir(exist_ok=True)
    with open(ws.locks_dir / "redetect.lock", "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RedetectBusy(
                "another re-detection is running in this workspace: wait for it to finish"
            ) from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


__all__ = [
    "SAME_FACE_IOU",
    "RedetectBusy",
    "RedetectProgress",
    "RedetectSummary",
    "iou",
    "match_boxes",
    "redetect",
    "select_photos",
]
