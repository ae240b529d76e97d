"""``OUT/<split>/<person>/<face id>.jpg``: the layout torchvision's ImageFolder and Keras load.

Person folders are `safe_name`s (see labels.py), unique per export even when two names differ only
by case or by characters that had to be replaced; labels.json maps each folder back to its label,
name and aliases. Reading accepts that layout and also any plain folder-per-person tree of images
(with or without split folders above the person folders), so people can import what they have.
"""

from __future__ import annotations

import io
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from faceloop.export.card import SHEETS_DIR
from faceloop.export.images import EXTENSIONS, sniff_format
from faceloop.export.labels import LABELS_FILE, read_labels_json
from faceloop.export.records import (
    ExportFace,
    ExportOptions,
    ExportSummary,
    ImportedFace,
    Problem,
    Progress,
)
from faceloop.export.run import ExportRun
from faceloop.export.splits import split_from_name

_IGNORED_FILES = {"thumbs.db", "desktop.ini"}
_SPLIT_WORDS = {"train", "validation", "valid", "val", "eval", "test"}


def write_image_folders(
    records: Iterable[ExportFace],
    out_dir: Path | str,
    options: ExportOptions | None = None,
    *,
    progress: Progress | None = None,
) -> ExportSummary:
    """One image file per face under split and person folders, plus the common side files."""
    options = options or ExportOptions()
    with ExportRun("image_folders", out_dir, options, progress) as run:
        made: set[tuple[str, str]] = set()
        for face, info, image in run.faces(records):
            if (face.split, info.folder) not in made:
                (run.root / face.split / info.folder).mkdir(parents=True, exist_ok=True)
                made.add((face.split, info.folder))
            relative = (
                f"{face.split}/{info.folder}/{face.face_id}"
                f"{EXTENSIONS.get(sniff_format(image), '.bin')}"
            )
            (run.root / relative).write_bytes(image)
            run.written(face, image, relative)
        return run.finish(format_description="image folders: <split>/<person>/<face id>.jpg")


def _visible(path: Path) -> bool:
    return not path.name.startswith(".") and path.name.lower() not in _IGNORED_FILES


def read_image_tree(root: Path, report: Callable[[Problem], None]) -> Iterator[ImportedFace]:
    """Faces from a folder-per-person tree, with split folders above them or not.

    Without labels.json (a tree not made by faceloop), the person is the folder name and the
    label is unknown; every file under a person folder, at any depth, is one image.
    """
    labels_path = root / LABELS_FILE
    exported = labels_path.is_file()
    by_folder = {}
    if exported:
        by_folder = {info.folder: info for info in read_labels_json(labels_path).values()}
    top = sorted(p for p in root.iterdir() if _visible(p))
    folders = [p for p in top if p.is_dir() and not (exported and p.name == SHEETS_DIR)]
    for path in top:
        if path.is_file() and not exported:
            report(Problem(path, None, "not inside a person folder; skipped"))
    splits = {p: split_from_name(p.name) for p in folders}
    # split folders only when every folder is exactly a split name: a person may be called "Val"
    if folders and all(splits[p] and p.name.lower() in _SPLIT_WORDS for p in folders):
        people = [(person, splits[f]) for f in folders for person in _subfolders(f, report)]
    else:
        people = [(folder, None) for folder in folders]
    for person_dir, split in people:
        info = by_folder.get(person_dir.name)
        name = info.name if info else unicodedata.normalize("NFC", person_dir.name)
        for path in sorted(p for p in person_dir.rglob("*") if p.is_file()):
            inside = path.relative_to(person_dir).parts
            if any(part.startswith(".") for part in inside) or not _visible(path):
                continue
            image = _read_image(path, report)
            if image is None:
                continue
            yield ImportedFace(
                image=image,
                person_name=name,
                label=info.label if info else None,
                split=split,
                source_face_id=int(path.stem) if info and path.stem.isdigit() else None,
                aliases=info.aliases if info else (),
                file=path,
            )


def _subfolders(folder: Path, report: Callable[[Problem], None]) -> Iterable[Path]:
    for path in sorted(p for p in folder.iterdir() if _visible(p)):
        if path.is_dir():
            yield path
        else:
            report(Problem(path, None, "not inside a person folder; skipped"))


def _read_image(path: Path, report: Callable[[Problem], None]) -> bytes | None:
    try:
        data = path.read_bytes()
    except OSError as error:
        report(Problem(path, None, f"cannot be read: {error.strerror or error}"))
        return None
    if not data:
        report(Problem(path, None, "empty file"))
        return None
    if sniff_format(data) == "unknown":
        try:
            with Image.open(io.BytesIO(data)) as image:
                image.verify()
        except (UnidentifiedImageError, OSError, SyntaxError) as error:
            report(Problem(path, None, f"not an image ({type(error).__name__}); skipped"))
            return None
    return data
