"""A dataset into a workspace: every format faceloop exports, and plain folder-per-person trees.

Each image becomes a photo with one labelled face (a decision with origin "import", so it is
undoable and the activity page shows it), and the face gets what a detected face gets: box,
landmarks, aligned chip, crop and embedding.

Face crops have no photo around them. A crop is still run through detection (upsampled, as any
small photo is), and the face found is aligned and embedded as usual. Measured on faceloop's
own 112 px crops of 390 ORL and 199 LFW faces: detection found the face in 585 of the 589
crops, and the embeddings came out 0.09 (median; 0.12 at the 90th percentile) from those of
the original photos, where different people are about 0.6 apart. Taking the whole crop as the
face's box instead did worse (LFW: 0.15 at the 90th percentile, 0.41 at the worst face against
0.22 with detection), so where detection finds nothing the box is where faceloop's crops put
the face, inside their padding (0.32 at the worst of those four faces). A 112 px JPEG crop or a
150 px JPEG chip is also kept byte for byte as the face's crop or chip, so re-exporting an
imported dataset gives back the same images.

The split each face had in the dataset is kept in its decision's detail, where a later export
finds it (no schema change for one value per imported face). Importing twice adds nothing:
an image is known by its SHA-256, and a face that already has a decision keeps it (a person's
answer is never overruled by an import). People are found by name or alias, or created with
the aliases the dataset gives; a person forgotten on request is refused. One face is one
transaction, with its blobs journalled first, so an interrupted import leaves nothing half
stored and the next import cleans up after it.
"""

from __future__ import annotations

import io
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image as PILImage
from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from faceloop.db.models import (
    Decision,
    Face,
    Image,
    Person,
    Source,
)
from faceloop.export import ImportedFace, Problem, guess_image_kind, read_dataset
from faceloop.export.manifest import MANIFEST_JSONL
from faceloop.export.records import OTHER_LABEL
from faceloop.ingest.analyse import jpeg
from faceloop.ingest.near_copies import phash
from faceloop.ingest.run import import_lock, recover_interrupted
from faceloop.ingest.store import FaceToStore, Origin, PhotoToStore, StoredPhoto, store_photo
from faceloop.labels.decisions import PERSON, UNKNOWN, decide
from faceloop.labels.people import forgotten_keys, normalise_name, people_named, search_key
from faceloop.labels.person_ops import PersonOpError, add_alias, create_person
from faceloop.options import ImportImages, choose
from faceloop.vision import shared_pipeline
from faceloop.vision.base import CHIP_PADDING, CHIP_SIZE, CROP_PADDING, CROP_SIZE, Box
from faceloop.vision.decode import UnreadableImage, decode
from faceloop.vision.dlib_backend import face_chip
from faceloop.vision.pipeline import FacePipeline
from faceloop.workspace import Workspace
from faceloop.workspace.blobs import sha256

#: faces embedded together: the network runs several times faster on a batch than face by face
BATCH = 32
SOURCE_KIND = "dataset"
MIN_BOX_IOU = 0.3
#: the detector name of a face whose box was not detected but taken from the crop's layout
CROP_BOX = "crop"


@dataclass
class DatasetImportSummary:
    path: Path
    format: str
    #: faces the dataset held that could be read
    read: int = 0
    #: faces new to the workspace
    added: int = 0
    #: decisions (labels) added
    labelled: int = 0
    #: faces already in the workspace with a decision, left as they are
    already: int = 0
    people_created: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    seconds: float = 0.0


class _Refused(Exception):
    """One face that cannot be imported; the message goes into a Problem."""


def import_dataset(
    ws: Workspace,
    path: Path | str,
    *,
    kind: ImportImages | str = ImportImages.AUTO,
    progress: Callable[[DatasetImportSummary], None] | None = None,
    on_problem: Callable[[Problem], None] | None = None,
) -> DatasetImportSummary:
    """Import every face a dataset holds; problems are reported and the rest goes on.

    `kind` says whether the images are face crops or whole photos; "auto" guesses from each
    image's size and shape (small and nearly square is a crop).
    """
    kind = choose(ImportImages, kind, "kind")
    started = time.monotonic()
    path = Path(path).expanduser().absolute()
    summary = DatasetImportSummary(path, "")

    def report(problem: Problem) -> None:
        summary.problems.append(problem)
        if on_problem is not None:
            on_problem(problem)

    reader = read_dataset(path, on_problem=report)
    summary.format = reader.format
    root = path if path.is_dir() else path.parent
    with import_lock(ws) as owner:
        recover_interrupted(ws, owner)
        run = _Run(ws, owner, root, kind, summary, report)
        batch: list[ImportedFace] = []
        for face in reader:
            summary.read += 1
            batch.append(face)
            if len(batch) == BATCH:
                run.add(batch)
                batch = []
                if progress is not None:
                    progress(summary)
        run.add(batch)
        if progress is not None:
            progress(summary)
    summary.seconds = time.monotonic() - started
    return summary


@dataclass
class _Found:
    box: Box
    #: the detector's score; None when the box was taken from the crop's layout
    score: float | None
    landmarks: np.ndarray
    chip: np.ndarray
    crop: np.ndarray
    embedding: np.ndarray | None = None


@dataclass
class _Prepared:
    """One new image, its faces located and aligned, waiting for the batch's embeddings."""

    face: ImportedFace
    verdict: str
    name: str | None
    sha: str
    format: str
    width: int
    height: int
    phash: int
    is_crop: bool
    found: list[_Found]
    #: which face the dataset's label is about; None when that cannot be told
    chosen: int | None


class _Run:
    def __init__(
        self,
        ws: Workspace,
        owner: str,
        root: Path,
        kind: ImportImages,
        summary: DatasetImportSummary,
        report: Callable[[Problem], None],
    ) -> None:
        self.ws = ws
        self.owner = owner
        self.root = root
        self.kind = kind
        self.summary = summary
        self.report = report
        self.user_id = ws.owner_id()
        self.people: dict[tuple[str, tuple[str, ...]], int] = {}
        self.source_id = _source_id(ws, str(root))
        with ws.reader() as session:
            self.forgotten = forgotten_keys(session)
        self.face_keys = _face_keys(ws)
        self._pipeline: FacePipeline | None = None
        self._boxes: dict[int, tuple[int, int, int, int]] | None = None

    @property
    def pipeline(self) -> FacePipeline:
        if self._pipeline is None:
            self._pipeline = shared_pipeline(self.ws.settings.detect)
        return self._pipeline

    def add(self, faces: list[ImportedFace]) -> None:
        """A batch: each face located and aligned, every chip embedded at once (much faster
        than one by one), then each face stored in its own transaction."""
        prepared: list[_Prepared] = []
        again: list[ImportedFace] = []
        shas: set[str] = set()
        for face in faces:
            try:
                item = self._prepare(face, shas)
            except _Refused as refusal:
                self._refused(face, refusal)
                continue
            if item is None:
                continue
            if item == "again":
                again.append(face)
            else:
                prepared.append(item)
                shas.add(item.sha)
        found = [f for item in prepared for f in item.found]
        if found:
            vectors = self.pipeline.embedder.embed(np.stack([f.chip for f in found]))
            for f, vector in zip(found, vectors, strict=True):
                f.embedding = vector
        for item in prepared:
            try:
                self._store(item)
            except _Refused as refusal:
                self._refused(item.face, refusal)
        for face in again:
            try:
                if self._prepare(face, set()) is not None:
                    raise _Refused("the same image as an earlier record, which was not stored")
            except _Refused as refusal:
                self._refused(face, refusal)

    def _refused(self, face: ImportedFace, refusal: _Refused) -> None:
        self.report(Problem(face.file or self.summary.path, face.record, str(refusal)))

    def _prepare(self, face: ImportedFace, batch_shas: set[str]) -> _Prepared | str | None:
        """None when the face was already in the workspace (and is now labelled if it was
        not), "again" when the same image is new earlier in this batch."""
        verdict, name = self._verdict(face)
        sha = sha256(face.image)
        if sha in batch_shas:
            return "again"
        with self.ws.reader() as session:
            known = _image_faces(session, sha)
        if known == []:
            raise _Refused("already in the workspace, where no face was found in it")
        if known is None and sha in self.face_keys:
            known = [self.face_keys[sha]]
        if known is not None:
            self._label_known(known, face, verdict, name)
            return None
        try:
            decoded = decode(face.image, self.ws.settings.imports.max_pixels)
        except UnreadableImage as error:
            raise _Refused(f"not a readable image: {error}") from None
        image = decoded.image
        is_crop = self._is_crop(face)
        found, chosen = self._locate(image, face, is_crop)
        return _Prepared(
            face,
            verdict,
            name,
            sha,
            decoded.format,
            image.width,
            image.height,
            phash(image),
            is_crop,
            found,
            chosen,
        )

    def _locate(
        self, image: PILImage.Image, face: ImportedFace, is_crop: bool
    ) -> tuple[list[_Found], int | None]:
        """The faces to store, and which of them is the labelled one (None: cannot tell)."""
        rgb = np.asarray(image)
        detections = self.pipeline.detect(image)
        if is_crop:
            if detections:
                best = max(detections, key=lambda d: d.box.width * d.box.height)
                return [self._align(rgb, best.box, best.score)], 0
            return [self._align(rgb, _inner_box(image.width, image.height), None)], 0
        if not detections:
            raise _Refused("no face found in this photo")
        found = [self._align(rgb, d.box, d.score) for d in detections]
        if len(found) == 1:
            return found, 0
        box = face.box or self._manifest_box(face.source_face_id)
        if box is not None:
            wanted = Box(*box)
            overlaps = [wanted.iou(f.box) for f in found]
            best_index = int(np.argmax(overlaps))
            if overlaps[best_index] >= MIN_BOX_IOU:
                return found, best_index
        return found, None

    def _align(self, rgb: np.ndarray, box: Box, score: float | None) -> _Found:
        points = self.pipeline.landmarker.landmarks(rgb, box)
        chip = face_chip(rgb, box, points, CHIP_SIZE, CHIP_PADDING)
        crop = face_chip(rgb, box, points, CROP_SIZE, CROP_PADDING)
        return _Found(box, score, points, chip, crop)

    def _store(self, item: _Prepared) -> None:
        """The photo with every face found in it, and the dataset's label on the one it names;
        when nothing says which face that is, the photo is stored unlabelled (with the person
        as its hint) and the face is reported."""
        face = item.face
        detector = self.ws.settings.detect.detector
        faces = []
        for i, found in enumerate(item.found):
            kept = item.is_crop and i == item.chosen
            faces.append(
                FaceToStore(
                    box=(found.box.left, found.box.top, found.box.right, found.box.bottom),
                    detector=CROP_BOX if found.score is None else detector,
                    score=0.0 if found.score is None else round(float(found.score), 4),
                    landmarks=[
                        [round(float(x), 1), round(float(y), 1)] for x, y in found.landmarks
                    ],
                    chip_jpeg=(_kept(face.image, CHIP_SIZE) if kept else None) or jpeg(found.chip),
                    crop_jpeg=(_kept(face.image, CROP_SIZE) if kept else None) or jpeg(found.crop),
                    embedding=np.asarray(found.embedding, dtype=np.float32).tobytes(),
                )
            )

        def label(session: Session, stored: StoredPhoto) -> None:
            self.summary.added += len(stored.face_ids)
            if item.chosen is None:
                if item.verdict == PERSON:
                    image = session.get(Image, stored.image_id)
                    image.hint_person_id = self._person(session, item.name, face)
            else:
                self._decide(session, stored.face_ids[item.chosen], face, item.verdict, item.name)

        stored = store_photo(
            self.ws,
            self.owner,
            PhotoToStore(item.sha, face.image, item.phash, item.width, item.height, item.format),
            faces,
            Origin(self.source_id, self._where(face), self._folder(face)),
            then=label,
        )
        if stored.already_stored:
            raise _Refused(
                "another import stored this photo at the same moment; import again to label it"
            )
        if item.chosen is None:
            raise _Refused(
                f"{len(faces)} faces in this photo and nothing says which is "
                f"{item.name or 'the labelled one'}; stored without a label"
            )

    def _verdict(self, face: ImportedFace) -> tuple[str, str | None]:
        name = face.person_name
        if name is None and face.label not in (None, OTHER_LABEL):
            name = f"label {face.label}"
        if name is None and face.label is None:
            raise _Refused("no label and no person name")
        if name is None:
            return UNKNOWN, None
        for text in (name, *face.aliases):
            if search_key(text) in self.forgotten:
                raise _Refused(f"{name} was forgotten on request and is not imported again")
        return PERSON, name

    def _is_crop(self, face: ImportedFace) -> bool:
        if self.kind != ImportImages.AUTO:
            return self.kind == ImportImages.CROP
        try:
            return guess_image_kind(face.image) == "crop"
        except ValueError:
            return False

    def _manifest_box(self, face_id: int | None) -> tuple[int, int, int, int] | None:
        """Where the exporting faceloop said the face was, from manifest.jsonl beside the
        images (TFRecord and image folders keep no box of their own)."""
        if face_id is None:
            return None
        if self._boxes is None:
            self._boxes = {}
            path = self.root / MANIFEST_JSONL
            if path.is_file():
                with path.open(encoding="utf-8") as lines:
                    for line in lines:
                        try:
                            row = json.loads(line)
                            box = row.get("box")
                            if isinstance(row.get("face_id"), int) and box and len(box) == 4:
                                self._boxes[row["face_id"]] = tuple(int(v) for v in box)
                        except (ValueError, TypeError, AttributeError):
                            continue
        return self._boxes.get(face_id)

    def _label_known(self, face_ids: list[int], face: ImportedFace, verdict: str, name) -> None:
        """The image is in the workspace already: label its face if nobody has decided on it."""
        with self.ws.transaction() as session:
            if len(face_ids) == 1:
                target = face_ids[0]
            else:
                target = self._match_box(session, face_ids, face)
                if target is None:
                    raise _Refused(
                        f"already in the workspace with {len(face_ids)} faces and nothing says "
                        "which is the labelled one"
                    )
            decided = session.scalar(select(exists().where(Decision.face_id == target)))
            if decided:
                self.summary.already += 1
                return
            self._decide(session, target, face, verdict, name)

    def _match_box(self, session: Session, face_ids: list[int], face: ImportedFace) -> int | None:
        box = face.box or self._manifest_box(face.source_face_id)
        if box is None:
            return None
        wanted = Box(*box)
        rows = session.execute(
            select(Face.id, Face.left, Face.top, Face.right, Face.bottom).where(
                Face.id.in_(face_ids)
            )
        ).all()
        best = max(rows, key=lambda r: wanted.iou(Box(r[1], r[2], r[3], r[4])))
        return (
            best[0] if wanted.iou(Box(best[1], best[2], best[3], best[4])) >= MIN_BOX_IOU else None
        )

    def _decide(
        self, session: Session, face_id: int, face: ImportedFace, verdict: str, name: str | None
    ) -> None:
        person_id = self._person(session, name, face) if verdict == PERSON else None
        detail = {"from": "dataset", "dataset": self.summary.format}
        if face.split:
            detail["split"] = face.split
        if face.source_face_id is not None:
            detail["source_face_id"] = face.source_face_id
        if face.label is not None:
            detail["label"] = face.label
        decide(
            session,
            face_id,
            verdict,
            person_id=person_id,
            origin="import",
            user_id=self.user_id,
            detail=detail,
        )
        self.summary.labelled += 1

    def _person(self, session: Session, name: str | None, face: ImportedFace) -> int:
        """The person a name (or alias) means; a new person, with the dataset's aliases, when
        there is none or the name is ambiguous and no one is called exactly that."""
        assert name is not None
        key = (name, face.aliases)
        if key in self.people:
            return self.people[key]
        matches = people_named(session, name)
        if len(matches) == 1:
            person_id = matches[0]
        else:
            clean = normalise_name(name)
            person_id = session.scalar(
                select(Person.id)
                .where(Person.name == clean, Person.merged_into_id.is_(None))
                .order_by(Person.id)
                .limit(1)
            )
            if person_id is None:
                person_id = create_person(session, clean, self.user_id, new_person=True)
                self.summary.people_created.append(clean)
        for alias in face.aliases:
            try:
                add_alias(session, person_id, alias, self.user_id)
            except PersonOpError:
                continue
        self.people[key] = person_id
        return person_id

    def _where(self, face: ImportedFace) -> str:
        """The file inside the dataset, and the record for formats with many per file."""
        file = face.file
        if file is None:
            text = ""
        else:
            text = str(file.relative_to(self.root) if file.is_relative_to(self.root) else file)
        return f"{text}#{face.record}" if face.record is not None else text

    def _folder(self, face: ImportedFace) -> str:
        file = face.file
        if file is None or not file.is_relative_to(self.root):
            return ""
        parent = file.parent.relative_to(self.root)
        return "" if str(parent) == "." else str(parent)


def _inner_box(width: int, height: int) -> Box:
    """Where faceloop's crops put the face: inside the padding (0.4 of the face on each side for
    112 px crops, 0.25 for 150 px chips)."""
    padding = CHIP_PADDING if max(width, height) == CHIP_SIZE else CROP_PADDING
    inset_x = round(width * padding / (1 + 2 * padding))
    inset_y = round(height * padding / (1 + 2 * padding))
    return Box(inset_x, inset_y, width - inset_x, height - inset_y)


def _kept(data: bytes, size: int) -> bytes | None:
    """The imported bytes themselves, when they already are a crop or chip of that size."""
    if not data.startswith(b"\xff\xd8"):
        return None
    try:
        with PILImage.open(io.BytesIO(data)) as image:
            return data if image.size == (size, size) else None
    except OSError:
        return None


def _image_faces(session: Session, sha: str) -> list[int] | None:
    """The faces of the stored image with these bytes; None when there is no such image."""
    image_id = session.scalar(select(Image.id).where(Image.sha256 == sha))
    if image_id is None:
        return None
    return list(session.scalars(select(Face.id).where(Face.image_id == image_id).order_by(Face.id)))


def _face_keys(ws: Workspace) -> dict[str, int]:
    """Crop and chip blob keys to their face: a dataset exported from this workspace holds the
    very bytes, and importing it back must find the faces it came from, not add copies."""
    keys: dict[str, int] = {}
    with ws.reader() as session:
        for face_id, crop_key, chip_key in session.execute(
            select(Face.id, Face.crop_key, Face.chip_key)
        ):
            keys.setdefault(crop_key, face_id)
            keys.setdefault(chip_key, face_id)
    return keys


def _source_id(ws: Workspace, name: str) -> int:
    with ws.transaction() as session:
        found = session.scalar(
            select(Source.id).where(Source.kind == SOURCE_KIND, Source.name == name)
        )
        if found is not None:
            return found
        source = Source(kind=SOURCE_KIND, name=name, settings={})
        session.add(source)
        session.flush()
        return source.id
