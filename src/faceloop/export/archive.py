"""A finished export folder as a ZIP stream, for sending over HTTP as it is read.

The ZIP is written to a sink that is never seeked (sizes and CRCs go into data descriptors after
each file), so a download starts at once and memory holds one read buffer, however large the
dataset. Images and shards are stored as they are (JPEG and Parquet do not shrink); text files
(manifests, labels.json, the card) are deflated. Files over 2 GiB get ZIP64 records.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from pathlib import Path

_TEXT = {".csv", ".jsonl", ".json", ".md", ".txt"}
_BUFFER = 1 << 20
_ZIP64_FROM = 1 << 31


class _Sink:
    """Collects what zipfile writes until the stream takes it; zipfile sees no tell() and
    therefore writes a streamable archive."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []

    def write(self, data: bytes) -> int:
        self._parts.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        """zipfile flushes; there is nothing to do until the stream takes the bytes."""

    def take(self) -> bytes:
        data = b"".join(self._parts)
        self._parts = []
        return data


def zip_stream(folder: Path, top: str) -> Iterator[bytes]:
    """The files under `folder` (sorted, README.md of each folder last) as ZIP bytes, inside a
    top-level folder named `top`."""
    sink = _Sink()
    with zipfile.ZipFile(sink, "w", allowZip64=True) as archive:  # type: ignore[arg-type]
        files = sorted(
            (p for p in folder.rglob("*") if p.is_file()),
            key=lambda p: (p.parent.relative_to(folder).parts, p.name == "README.md", p.name),
        )
        for path in files:
            info = zipfile.ZipInfo.from_file(path, f"{top}/{path.relative_to(folder).as_posix()}")
            text = path.suffix.lower() in _TEXT
            info.compress_type = zipfile.ZIP_DEFLATED if text else zipfile.ZIP_STORED
            size = path.stat().st_size
            with (
                path.open("rb") as source,
                archive.open(info, "w", force_zip64=size >= _ZIP64_FROM) as target,
            ):
                while block := source.read(_BUFFER):
                    target.write(block)
                    chunk = sink.take()
                    if chunk:
                        yield chunk
            chunk = sink.take()
            if chunk:
                yield chunk
    yield sink.take()
