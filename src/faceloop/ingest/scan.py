"""Find the photo files under the paths a user names, one at a time (never a list of all).

Folders are full of surprises: symbolic links that point at their own parents, files that
cannot be read, names in an encoding that is not UTF-8, `.DS_Store` and thumbnail databases.
Each surprise becomes a `Problem` with a reason instead of an exception.
"""

from __future__ import annotations

import errno
import os
import stat
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

IMAGE_EXTENSIONS = frozenset(
    {
        *(".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".webp", ".gif", ".bmp", ".dib"),
        *(".tif", ".tiff", ".pgm", ".ppm", ".pbm", ".pnm", ".heic", ".heif", ".avif"),
    }
)


@dataclass(frozen=True)
class PhotoFile:
    path: Path
    #: the path as text for reports and the database, whatever the file system's encoding
    shown: str
    #: the name of the folder holding the file, NFC-normalised (the person with --by-folder)
    folder_name: str
    #: a note for the report, such as a name that is not valid UTF-8
    warning: str | None = None


@dataclass(frozen=True)
class Problem:
    shown: str
    reason: str


def shown_path(path: Path | str) -> str:
    """Text for any path: bytes that are not UTF-8 are written as \\xNN escapes."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def is_valid_utf8(path: Path) -> bool:
    try:
        os.fsencode(path).decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def scan(paths: list[Path], recursive: bool = False) -> Iterator[PhotoFile | Problem]:
    """Photo files named directly are always tried; inside folders only image extensions are,
    and hidden files are passed over."""
    seen_dirs: set[tuple[int, int]] = set()
    for path in paths:
        try:
            info = path.stat()
        except OSError as exc:
            yield Problem(shown_path(path), os_reason(exc))
            continue
        if stat.S_ISDIR(info.st_mode):
            yield from _walk(path, recursive, seen_dirs)
        else:
            yield _file(path, info)


def _walk(
    folder: Path, recursive: bool, seen: set[tuple[int, int]]
) -> Iterator[PhotoFile | Problem]:
    try:
        info = folder.stat()
    except OSError as exc:
        yield Problem(shown_path(folder), os_reason(exc))
        return
    identity = (info.st_dev, info.st_ino)
    if identity in seen:
        yield Problem(shown_path(folder), "folder already visited (a symbolic link loop)")
        return
    seen.add(identity)
    try:
        entries = sorted(os.scandir(folder), key=lambda e: os.fsencode(e.name))
    except OSError as exc:
        yield Problem(shown_path(folder), os_reason(exc))
        return
    subfolders = []
    for entry in entries:
        if entry.name.startswith("."):
            continue
        path = Path(entry.path)
        try:
            is_dir = entry.is_dir(follow_symlinks=True)
        except OSError as exc:
            yield Problem(shown_path(path), os_reason(exc))
            continue
        if is_dir:
            subfolders.append(path)
            continue
        if path.suffix.lower() not in IMAGE_EXTENSIONS:
            continue
        try:
            file_info = path.stat()
        except OSError as exc:
            yield Problem(shown_path(path), os_reason(exc))
            continue
        yield _file(path, file_info)
    if recursive:
        for sub in subfolders:
            yield from _walk(sub, recursive, seen)


def _file(path: Path, info: os.stat_result) -> PhotoFile | Problem:
    shown = shown_path(path)
    if not stat.S_ISREG(info.st_mode):
        return Problem(shown, "not a regular file")
    warning = None
    if not is_valid_utf8(path):
        warning = "file name is not valid UTF-8; stored with \\x escapes"
    folder = unicodedata.normalize("NFC", shown_path(path.parent.name))
    return PhotoFile(path, shown, folder, warning)


def os_reason(exc: OSError) -> str:
    """The report's wording for a file system error."""
    if exc.errno == errno.ELOOP:
        return "symbolic link loop"
    if exc.errno == errno.ENOENT:
        return "no such file or folder (or a broken symbolic link)"
    if exc.errno == errno.EACCES:
        return "permission denied: cannot read it"
    if exc.errno == errno.EISDIR:
        return "is a folder"
    return f"cannot read it: {exc.strerror or exc}"
