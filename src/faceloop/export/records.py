"""The plain values that go into an export and come out of an import.

The database side builds `ExportFace` values one at a time and hands an iterator of them to a
writer; nothing here knows where they came from. Readers hand back `ImportedFace` values and report
what they could not read as `Problem` values instead of stopping, because one bad record in a
hundred thousand should cost that record, not the import.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Literal

import numpy as np

Split = Literal["train", "validation", "test"]
SPLITS: tuple[Split, ...] = ("train", "validation", "test")
OTHER_LABEL = 0
EMBEDDING_SIZE = 128

ImageChoice = Literal["crop", "chip", "photo"]
Progress = Callable[[int], None]


class ExportError(Exception):
    """An export that cannot go on; nothing is left under a final name when this is raised."""


@dataclass(frozen=True, slots=True)
class Provenance:
    """Where a face came from and how it got its label, so a dataset user can audit any row.

    Naive datetimes are taken as UTC, which is how the database stores them.
    """

    photo_sha256: str | None = None
    photo_path: str | None = None
    source_kind: str | None = None
    account: str | None = None
    post_url: str | None = None
    posted_at: datetime | None = None
    labelled_by: str | None = None
    labelled_at: datetime | None = None
    #: manual, suggestion, group, bulk or import
    label_origin: str | None = None


@dataclass(frozen=True, slots=True)
class ExportFace:
    """One labelled face, with every image an export may need and where it came from.

    `photo` may be a callable so that whole photos are only loaded when an export asks for them
    (``image="photo"``) and one at a time, never all at once.
    """

    face_id: int
    label: int
    split: Split
    crop_jpeg: bytes
    person_id: int | None = None
    person_name: str | None = None
    aliases: tuple[str, ...] = ()
    chip_jpeg: bytes | None = None
    photo: bytes | Callable[[], bytes] | None = None
    #: (left, top, right, bottom) in the source photo's pixels
    box: tuple[int, int, int, int] | None = None
    #: 128 float32 values; anything numpy can turn into that shape
    embedding: np.ndarray | Sequence[float] | None = None
    provenance: Provenance = field(default_factory=Provenance)

    def __post_init__(self) -> None:
        if self.split not in SPLITS:
            raise ValueError(f"face {self.face_id}: split {self.split!r} is not one of {SPLITS}")
        if self.label < 0:
            raise ValueError(f"face {self.face_id}: label {self.label} is negative")
        if not isinstance(self.aliases, tuple):
            object.__setattr__(self, "aliases", tuple(self.aliases))
        if self.embedding is not None and np.size(self.embedding) != EMBEDDING_SIZE:
            raise ValueError(
                f"face {self.face_id}: embedding has {np.size(self.embedding)} values, "
                f"not {EMBEDDING_SIZE}"
            )

    def embedding_bytes(self) -> bytes | None:
        """The embedding as 512 little-endian float32 bytes, the one layout every format stores."""
        if self.embedding is None:
            return None
        return np.asarray(self.embedding, dtype="<f4").reshape(-1).tobytes()


@dataclass(frozen=True, slots=True)
class DatasetCard:
    """Facts about how the dataset was made that only the caller knows; they go into README.md."""

    title: str = "faceloop dataset"
    faceloop_version: str | None = None
    model: str | None = None
    min_per_class: int | None = None
    other_ratio: float | None = None
    created: datetime | None = None
    description: str | None = None


@dataclass(frozen=True, slots=True)
class ExportOptions:
    """What every writer understands."""

    #: which image of each face the dataset holds: the 112x112 crop, the 150x150 aligned chip
    #: or the whole photo (stored as the loader returns it)
    image: ImageChoice = "crop"
    card: DatasetCard = field(default_factory=DatasetCard)
    contact_sheets: bool = True
    #: faces per contact sheet (a square grid of 56 px tiles); a 16-face sheet is about 90 KB
    sheet_faces: int = 16
    #: how often `progress` is called, in faces
    progress_every: int = 100


@dataclass(frozen=True, slots=True)
class TFRecordOptions(ExportOptions):
    faces_per_shard: int = 10_000
    #: "original" writes image_raw / label / id as the original workflow reads them;
    #: "common" writes image/encoded, image/format, image/class/label (+ text, source_id)
    keys: Literal["original", "common"] = "original"


@dataclass(frozen=True, slots=True)
class ParquetOptions(ExportOptions):
    row_group_size: int = 1_000


@dataclass(frozen=True, slots=True)
class SkippedFace:
    face_id: int
    reason: str


@dataclass(frozen=True, slots=True)
class ExportSummary:
    format: str
    out_dir: Path
    #: the top-level files and folders the export created in out_dir
    files: tuple[Path, ...]
    faces: int
    per_split: dict[str, int]
    #: label -> split -> count
    per_label: dict[int, dict[str, int]]
    #: bytes of image data written (the figure MB/s is computed from)
    image_bytes: int
    skipped: tuple[SkippedFace, ...] = ()


@dataclass(frozen=True, slots=True)
class ImportedFace:
    """One face image read back from a dataset, with whatever the dataset said about it."""

    image: bytes
    person_name: str | None
    label: int | None
    split: str | None
    #: the face id the exporting faceloop gave it, when the format keeps one
    source_face_id: int | None
    aliases: tuple[str, ...] = ()
    file: Path | None = None
    #: index of the record within `file` (TFRecord, Parquet), None for one-image files
    record: int | None = None
    #: (left, top, right, bottom) of the face in its source photo, when the dataset says; it
    #: places the face in `image` only when the image is that whole photo
    box: tuple[int, int, int, int] | None = None


@dataclass(frozen=True, slots=True)
class Problem:
    """Something a reader skipped, said so that a user can find it in the file."""

    file: Path
    record: int | None
    reason: str

    def __str__(self) -> str:
        where = str(self.file) if self.record is None else f"{self.file}, record {self.record}"
        return f"{where}: {self.reason}"
