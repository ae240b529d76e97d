"""Any folder-per-person set of photos as the bench scripts read it, and what they skipped.

A real set is never clean: a truncated JPEG, a `notes.txt` beside the photos, a photo where no
face is found. A benchmark that stops at the first of them measures nothing, and one that
passes over them in silence measures a set nobody chose; so every script that reads photos
takes them from here and prints `skip_report` beside its figures.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select

from faceloop.db.models import Image, ImageOrigin
from faceloop.ingest.scan import IMAGE_EXTENSIONS, shown_path
from faceloop.workspace import Workspace

#: names shown per kind of skip; the count says how many more there are
SHOWN = 3

NOT_A_PHOTO = "not a photo"
UNREADABLE = "unreadable or corrupt"
NO_FACE = "no face found"


class PhotoSetError(ValueError):
    """A folder a bench cannot measure anything on, for the reason its message gives."""


@dataclass
class PhotoSet:
    """The photo files of each person folder (by extension, as `faceloop import` picks them
    inside folders) and the other files found there, which are skipped as not photos."""

    root: Path
    people: dict[str, list[Path]]
    not_photos: list[Path] = field(default_factory=list)

    @property
    def photos(self) -> list[Path]:
        return [photo for photos in self.people.values() for photo in photos]


def read_set(root: Path, min_photos: int = 1) -> PhotoSet:
    """The people of `root` with at least `min_photos` photo files, in name order; hidden
    files and loose files at the top are passed over, as an import by folder does."""
    if not root.is_dir():
        raise PhotoSetError(f"{root} is not a folder")
    people: dict[str, list[Path]] = {}
    not_photos: list[Path] = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        files = sorted(f for f in folder.iterdir() if f.is_file() and not f.name.startswith("."))
        photos = [f for f in files if f.suffix.lower() in IMAGE_EXTENSIONS]
        if len(photos) >= min_photos:
            people[folder.name] = photos
            not_photos.extend(f for f in files if f.suffix.lower() not in IMAGE_EXTENSIONS)
    if not people:
        raise PhotoSetError(f"no person folder in {root} has {min_photos} or more photos")
    return PhotoSet(root, people, not_photos)


def spread(photos: list[Path], count: int) -> list[Path]:
    """`count` photos evenly spread over the list, so a sample is not the first few names."""
    step = max(1, len(photos) // max(count, 1))
    return photos[::step][:count]


@dataclass
class Skipped:
    """What a bench left out of its figures: kind -> (name, reason) per file."""

    root: Path
    kinds: dict[str, list[tuple[str, str]]] = field(default_factory=lambda: defaultdict(list))

    def add(self, kind: str, path: Path | str, reason: str = "") -> None:
        self.kinds[kind].append((self._name(path), reason))

    @property
    def count(self) -> int:
        return sum(len(files) for files in self.kinds.values())

    def report(self, total: int) -> str:
        """A line for the count and one per kind with its first few names (and reasons)."""
        if not self.count:
            return f"skipped 0 of {total} files"
        lines = [f"skipped {self.count} of {total} files:"]
        for kind, files in self.kinds.items():
            names = ", ".join(f"{n} ({r})" if r else n for n, r in files[:SHOWN])
            more = f", and {len(files) - SHOWN} more" if len(files) > SHOWN else ""
            lines.append(f"  {kind:<22} {len(files):>5}  {names}{more}")
        return "\n".join(lines)

    def _name(self, path: Path | str) -> str:
        try:
            return str(Path(path).resolve().relative_to(self.root.resolve()))
        except ValueError:
            return str(path)


def import_skips(ws: Workspace, photo_set: PhotoSet, files: list[Path]) -> Skipped:
    """Of `files` given to an import into `ws`: those the workspace holds no photo for (with
    the reason the import's reports give) and those stored with no face; plus the set's files
    that are not photos."""
    skipped = Skipped(photo_set.root)
    for other in photo_set.not_photos:
        skipped.add(NOT_A_PHOTO, other)
    with ws.reader() as session:
        faces_of = dict(
            session.execute(
                select(ImageOrigin.path, Image.face_count).join(
                    Image, Image.id == ImageOrigin.image_id
                )
            ).all()
        )
    reasons = _failures(ws)
    for file in files:
        shown = shown_path(file)
        if shown not in faces_of:
            skipped.add(UNREADABLE, file, reasons.get(shown, "not imported"))
        elif not faces_of[shown]:
            skipped.add(NO_FACE, file)
    return skipped


def _failures(ws: Workspace) -> dict[str, str]:
    """Path -> reason, from every import report the workspace kept (latest last)."""
    reasons: dict[str, str] = {}
    for report in sorted(ws.reports_dir.glob("import-*.txt")) if ws.reports_dir.is_dir() else []:
        for line in report.read_text(encoding="utf-8", errors="replace").splitlines():
            kind, _, rest = line.partition("\t")
            if kind == "FAILED":
                shown, _, reason = rest.partition("\t")
                reasons[shown] = reason
    return reasons
