"""Content-addressed storage of photos and face chips: a blob's key is the SHA-256 of its bytes.

The same bytes are stored once however often they are imported. Writes go to a temporary name
and are renamed into place, so a reader (or a crash) never sees half a file under a real key,
and a write the disk has no room for (or a read-only mount refuses) leaves no temporary behind
and stops the caller with `DiskFull` or `ReadOnlyWorkspace`: a full disk fails every photo after
it too, so carrying on would only report each of them as broken.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path

from faceloop.workspace.faults import from_os_error

_KEY = re.compile(r"^[0-9a-f]{64}$")


class BlobStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, key: str) -> Path:
        """Where a key lives; refuses anything that is not a SHA-256 so no path can escape."""
        if not _KEY.match(key):
            raise KeyError(f"not a blob key: {key!r}")
        return self.root / key[:2] / key[2:4] / key

    def put(self, data: bytes) -> str:
        key = hashlib.sha256(data).hexdigest()
        self.put_as(key, data)
        return key

    def put_as(self, key: str, data: bytes) -> None:
        """Store bytes whose hash the caller already computed."""
        target = self.path(key)
        if target.exists():
            return
        try:
            self._write(target, data)
        except OSError as exc:
            fault = from_os_error(exc, self.root.parent)
            if fault is None:
                raise
            raise fault from exc

    @staticmethod
    def _write(target: Path, data: bytes) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def get(self, key: str) -> bytes:
        return self.path(key).read_bytes()

    def exists(self, key: str) -> bool:
        return self.path(key).exists()

    def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)

    def remove_temporaries(self) -> int:
        """Delete files a killed writer left under temporary names."""
        removed = 0
        for tmp in self.root.glob("*/*/.tmp-*"):
            tmp.unlink(missing_ok=True)
            removed += 1
        return removed


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
