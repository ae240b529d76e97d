"""Photos dropped on the upload page, staged in the workspace until an import job takes them.

Files are written under `uploads/<id>/` with their folder structure (a dropped folder per
person keeps its names, for "name people by folder"), every path part cleaned so nothing can
land outside the staging folder. Files that are not photos are refused at once with a reason,
rather than discovered later in the import report.
"""

from __future__ import annotations

import re
import shutil
import unicodedata
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from PIL import Image, UnidentifiedImageError

import faceloop.vision.decode  # noqa: F401  (registers the HEIF opener with Pillow)
from faceloop.vision.decode import not_an_image
from faceloop.workspace import Workspace

_UPLOAD_ID = re.compile(r"^[0-9a-f]{32}$")
_UNSAFE = re.compile(r"[\x00-\x1f/\\:*?\"<>|]")
CHUNK = 1024 * 1024
MAX_DEPTH = 8


class NotAPhoto(ValueError):
    """The file is not a photo faceloop can read; the message names it and says why."""


@dataclass(frozen=True)
class StagedFile:
    name: str
    size: int


def uploads_dir(ws: Workspace) -> Path:
    return ws.root / "uploads"


def new_upload(ws: Workspace) -> str:
    upload_id = uuid.uuid4().hex
    (uploads_dir(ws) / upload_id).mkdir(parents=True)
    return upload_id


def upload_folder(ws: Workspace, upload_id: str) -> Path:
    """The staging folder of an upload; refuses anything but an id this module made."""
    if not _UPLOAD_ID.match(upload_id or ""):
        raise LookupError(f"no upload {upload_id!r}")
    folder = uploads_dir(ws) / upload_id
    if not folder.is_dir():
        raise LookupError(f"no upload {upload_id}")
    return folder


def safe_relative_path(name: str) -> Path:
    """A dropped file's relative path, each part cleaned: no "..", no absolute paths, no
    control characters, at most a few folders deep."""
    parts = []
    for part in re.split(r"[/\\]+", unicodedata.normalize("NFC", name or "")):
        part = _UNSAFE.sub("_", part).strip().strip(".")
        if part:
            parts.append(part[:150])
    if not parts:
        raise NotAPhoto(f"{name!r} is not a usable file name")
    return Path(*parts[-MAX_DEPTH:])


def stage_file(
    ws: Workspace, upload_id: str, name: str, stream: BinaryIO, max_bytes: int | None = None
) -> StagedFile:
    """Copy one uploaded file into the upload's folder; refuse it (and keep nothing) if it is
    not a photo or is too large."""
    folder = upload_folder(ws, upload_id)
    relative = safe_relative_path(name)
    limit = max_bytes or ws.settings.imports.max_file_mb * 1024 * 1024
    target = folder / relative
    stem, suffix, n = target.stem, target.suffix, 1
    while target.exists():
        target = target.with_name(f"{stem}-{n}{suffix}")
        n += 1
    target.parent.mkdir(parents=True, exist_ok=True)
    size = 0
    try:
        with open(target, "wb") as out:
            while chunk := stream.read(CHUNK):
                size += len(chunk)
                if size > limit:
                    raise NotAPhoto(
                        f"{relative.name} is over the {limit // 2**20} MB limit "
                        "(max_file_mb in faceloop.toml)"
                    )
                out.write(chunk)
        if size == 0:
            raise NotAPhoto(f"{relative.name} is empty (0 bytes)")
        _check_photo(target, relative.name)
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    return StagedFile(str(relative), size)


def _check_photo(path: Path, shown: str) -> None:
    try:
        with Image.open(path) as image:
            image.size  # noqa: B018  (reading the header is the check)
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        head = path.read_bytes()[:512]
        if isinstance(exc, UnidentifiedImageError):
            reason = not_an_image(head).removeprefix("not an image: ")
        else:
            reason = f"a damaged photo ({exc})"
        raise NotAPhoto(f"{shown} is not a photo faceloop can read: {reason}") from None


def staged_files(ws: Workspace, upload_id: str) -> list[Path]:
    folder = upload_folder(ws, upload_id)
    return sorted(p for p in folder.rglob("*") if p.is_file())


def discard_upload(ws: Workspace, upload_id: str) -> None:
    shutil.rmtree(upload_folder(ws, upload_id), ignore_errors=True)
