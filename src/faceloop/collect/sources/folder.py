"""A folder watched for new photos: each run imports the files that appeared since the last.

    faceloop source add folder ~/Pictures/idols

A file is a post whose id is its path below the folder, so a photo moved within the folder is
a new post of the same photo (stored once, seen twice). The cursor is the newest modification
time stored; files as new as it are looked at again and skipped by their post id.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from faceloop.collect.base import FetchedPost, ImageLink, Page, SourceContext, SourceError
from faceloop.ingest.scan import IMAGE_EXTENSIONS

PAGE = 200


@dataclass(frozen=True)
class Folder:
    name: str = "folder"
    summary: str = "a folder on this machine: new photos in it are imported"
    examples: tuple[str, ...] = ("faceloop source add folder ~/Pictures/idols",)

    def settings(self, target: str, options: Mapping[str, Any]) -> dict[str, Any]:
        path = Path(target).expanduser().resolve()
        if not path.is_dir():
            raise SourceError(f"{target}: not a folder")
        return {"path": str(path)}

    def describe(self, settings: Mapping[str, Any]) -> str:
        return settings["path"]

    def secrets_needed(self, settings: Mapping[str, Any]) -> tuple[str, ...]:
        return ()

    def pages(
        self, settings: Mapping[str, Any], cursor: str | None, context: SourceContext
    ) -> Iterator[Page]:
        root = Path(settings["path"])
        if not root.is_dir():
            raise SourceError(f"{root}: the folder is gone (moved, or its disk not mounted)")
        since = json.loads(cursor)["mtime_ns"] if cursor else 0
        found = sorted(
            (stat.st_mtime_ns, path) for path, stat in _photos(root) if stat.st_mtime_ns >= since
        )
        for start in range(0, len(found), PAGE):
            chunk = found[start : start + PAGE]
            posts = tuple(
                FetchedPost(
                    external_id=path.relative_to(root).as_posix(),
                    images=(ImageLink(f"file://{path}"),),
                    posted_at=datetime.fromtimestamp(mtime / 1e9, UTC).replace(tzinfo=None),
                )
                for mtime, path in chunk
            )
            yield Page(posts, json.dumps({"mtime_ns": chunk[-1][0]}))


def _photos(root: Path) -> Iterator[tuple[Path, os.stat_result]]:
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in files:
            if name.startswith(".") or Path(name).suffix.lower() not in IMAGE_EXTENSIONS:
                continue
            path = Path(folder) / name
            try:
                yield path, path.stat()
            except OSError:
                continue


KIND = Folder()
