"""CSV: the images as plain files under ``images/`` and ``manifest.csv`` naming each one.

The shape pandas, Keras' ``flow_from_dataframe`` and spreadsheet users start from: one row per
face with its image file, label, person, split, box and provenance (the manifest every format
writes, with the `file` column filled in). Reading it back follows the manifest's rows; a row
whose file is missing, outside the dataset or not an image is reported by its row number, and
the other rows are read.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from faceloop.export.images import EXTENSIONS, sniff_format
from faceloop.export.labels import LABELS_FILE, read_labels_json
from faceloop.export.manifest import MANIFEST_CSV
from faceloop.export.records import (
    OTHER_LABEL,
    ExportFace,
    ExportOptions,
    ExportSummary,
    ImportedFace,
    Problem,
    Progress,
)
from faceloop.export.run import ExportRun
from faceloop.export.splits import split_from_name

IMAGES_DIR = "images"
_REQUIRED = ("file", "label")
_BOX = ("box_left", "box_top", "box_right", "box_bottom")


def write_csv(
    records: Iterable[ExportFace],
    out_dir: Path | str,
    options: ExportOptions | None = None,
    *,
    progress: Progress | None = None,
) -> ExportSummary:
    """``images/<face id>.jpg`` per face, with manifest.csv (and the common side files)."""
    options = options or ExportOptions()
    with ExportRun("csv", out_dir, options, progress) as run:
        (run.root / IMAGES_DIR).mkdir()
        for face, _, image in run.faces(records):
            relative = f"{IMAGES_DIR}/{face.face_id}{EXTENSIONS.get(sniff_format(image), '.bin')}"
            (run.root / relative).write_bytes(image)
            run.written(face, image, relative)
        return run.finish(
            format_description="CSV: manifest.csv, one row per face, naming its file in images/"
        )


def is_csv_dataset(folder: Path) -> bool:
    return (folder / MANIFEST_CSV).is_file() and (folder / IMAGES_DIR).is_dir()


def read_csv_dataset(root: Path, report: Callable[[Problem], None]) -> Iterator[ImportedFace]:
    """Faces from manifest.csv and the files it names; row numbers count data rows from 0."""
    manifest = root / MANIFEST_CSV
    labels_path = root / LABELS_FILE
    labels = read_labels_json(labels_path) if labels_path.is_file() else {}
    inside = root.resolve()
    with manifest.open(encoding="utf-8", newline="") as file:
        rows = csv.DictReader(file)
        missing = [c for c in _REQUIRED if c not in (rows.fieldnames or ())]
        if missing:
            report(Problem(manifest, None, f"missing column(s): {', '.join(missing)}"))
            return
        for index, row in enumerate(rows):
            face = _row_face(row, root, inside, manifest, index, labels, report)
            if face is not None:
                yield face


def _row_face(
    row: dict,
    root: Path,
    inside: Path,
    manifest: Path,
    index: int,
    labels: dict,
    report: Callable[[Problem], None],
) -> ImportedFace | None:
    def problem(reason: str) -> None:
        report(Problem(manifest, index, reason))

    relative = (row.get("file") or "").strip()
    if not relative:
        problem("no file named")
        return None
    path = (root / relative).resolve()
    if not path.is_relative_to(inside):
        problem(f"{relative} is outside the dataset; skipped")
        return None
    try:
        image = path.read_bytes()
    except OSError as error:
        problem(f"{relative} cannot be read: {error.strerror or error}")
        return None
    if not _is_image(image):
        problem(f"{relative} is not an image; skipped")
        return None
    try:
        label = int(row["label"]) if (row.get("label") or "").strip() else None
        face_id = int(row["face_id"]) if (row.get("face_id") or "").strip() else None
        box_cells = [row.get(c) for c in _BOX]
        box = tuple(int(c) for c in box_cells) if all(box_cells) else None
    except ValueError as error:
        problem(f"face_id, label or box is not a whole number ({error})")
        return None
    info = labels.get(label) if label is not None else None
    name = (row.get("person") or "").strip() or None
    aliases: tuple[str, ...] = ()
    if info is not None:
        name, aliases = info.name, info.aliases
    elif row.get("aliases"):
        try:
            parsed = json.loads(row["aliases"])
            aliases = tuple(str(a) for a in parsed) if isinstance(parsed, list) else ()
        except json.JSONDecodeError:
            aliases = ()
    if label == OTHER_LABEL:
        name, aliases = None, ()
    split_text = (row.get("split") or "").strip()
    return ImportedFace(
        image=image,
        person_name=name,
        label=label,
        split=split_from_name(split_text) if split_text else None,
        source_face_id=face_id,
        aliases=aliases,
        file=path,
        box=box,  # type: ignore[arg-type]
    )


def _is_image(data: bytes) -> bool:
    if not data:
        return False
    if sniff_format(data) != "unknown":
        return True
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.verify()
    except (UnidentifiedImageError, OSError, SyntaxError):
        return False
    return True
