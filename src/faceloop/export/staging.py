"""All-or-nothing output: an export is built in a hidden folder inside OUT and moved in at the end.

A dataset is many files (shards, image folders, labels, manifests), so renaming each file on its
own would still leave a half dataset after an interruption. Everything is written into
``OUT/.faceloop-partial-XXXX/`` (the same file system as OUT, so the final moves are renames) and
only a finished export is moved up into OUT. An exception removes the partial folder; a killed
process leaves only that hidden folder, never a file under a final name. README.md is moved last,
so its presence means the export is complete.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from types import TracebackType

from faceloop.export.records import ExportError

PARTIAL_PREFIX = ".faceloop-partial-"
_LAST = "README.md"


class Staging:
    def __init__(self, out_dir: Path | str) -> None:
        self.out_dir = Path(out_dir)
        if self.out_dir.exists() and not self.out_dir.is_dir():
            raise ExportError(f"{self.out_dir} exists and is not a folder")
        self.out_dir.mkdir(parents=True, exist_ok=True)
        clutter = [p.name for p in self.out_dir.iterdir() if not p.name.startswith(PARTIAL_PREFIX)]
        if clutter:
            shown = ", ".join(sorted(clutter)[:5])
            raise ExportError(
                f"{self.out_dir} is not empty ({shown}); export into a new or empty folder so that "
                "files of an older export are never mixed with this one"
            )
        self.root = Path(tempfile.mkdtemp(prefix=PARTIAL_PREFIX, dir=self.out_dir))

    def path(self, relative: str | Path) -> Path:
        """A path inside the partial folder, with its parent folders made."""
        target = self.root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        return target

    def commit(self) -> tuple[Path, ...]:
        entries = sorted(self.root.iterdir(), key=lambda p: (p.name == _LAST, p.name))
        moved = []
        for entry in entries:
            final = self.out_dir / entry.name
            os.replace(entry, final)
            moved.append(final)
        self.root.rmdir()
        return tuple(moved)

    def abort(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> Staging:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is not None:
            self.abort()
