"""TFRecord shards of tf.train.Example, readable by the original workflow and by tf.data.

Framing, per record: uint64 length, masked CRC-32C of those 8 bytes, the data, masked CRC-32C
of the data; all little-endian. Shards are written under a partial name while the stream runs and
renamed ``<split>-00000-of-00004.tfrecord`` at the end, when the number of shards is known.

Reading never trusts a length it has not checked: a record with a bad length CRC, a bad data CRC
or cut short is reported, and the reader looks for the next position where a header and its data
both check out (a false match needs two 32-bit CRCs to agree by chance) and goes on from there.
"""

from __future__ import annotations

import mmap
import struct
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import BinaryIO

import google_crc32c

from faceloop.export.example_proto import (
    bytes_feature,
    decode_example,
    encode_example,
    int64_feature,
)
from faceloop.export.images import sniff_format
from faceloop.export.labels import LABELS_FILE, OTHER_NAME, read_labels_json
from faceloop.export.records import (
    OTHER_LABEL,
    SPLITS,
    ExportFace,
    ExportSummary,
    ImportedFace,
    Problem,
    Progress,
    TFRecordOptions,
)
from faceloop.export.run import ExportRun
from faceloop.export.splits import split_from_name

TFRECORD_SUFFIXES = (".tfrecord", ".tfrecords", ".tfrec")
_HEADER = struct.Struct("<QI")
_CRC = struct.Struct("<I")
_MASK_DELTA = 0xA282EAD8


def masked_crc32c(data: bytes) -> int:
    """CRC-32C, rotated and offset as TFRecord stores it (a CRC of data holding CRCs is weak)."""
    crc = google_crc32c.value(data)
    return (((crc >> 15) | (crc << 17)) + _MASK_DELTA) & 0xFFFFFFFF


def frame_record(data: bytes) -> bytes:
    length = struct.pack("<Q", len(data))
    return length + _CRC.pack(masked_crc32c(length)) + data + _CRC.pack(masked_crc32c(data))


def _example(face: ExportFace, image: bytes, name: str | None, keys: str) -> bytes:
    if keys == "original":
        features = {
            "image_raw": bytes_feature([image]),
            "label": int64_feature([face.label]),
            "id": int64_feature([face.face_id]),
        }
    else:
        text = OTHER_NAME if face.label == OTHER_LABEL else name or ""
        features = {
            "image/encoded": bytes_feature([image]),
            "image/format": bytes_feature([sniff_format(image).encode()]),
            "image/class/label": int64_feature([face.label]),
            "image/class/text": bytes_feature([text.encode()]),
            "image/source_id": bytes_feature([str(face.face_id).encode()]),
        }
    return encode_example(features)


class _Shards:
    """The shard files of one split, each closed when it holds `per_shard` records."""

    def __init__(self, folder: Path, split: str, per_shard: int, stack: ExitStack) -> None:
        self._folder, self._split, self._per_shard, self._stack = folder, split, per_shard, stack
        self._file: BinaryIO | None = None
        self._in_shard = 0
        self.partial: list[Path] = []

    def write(self, framed: bytes) -> None:
        if self._file is None or self._in_shard == self._per_shard:
            self._close()
            path = self._folder / f".{self._split}-{len(self.partial):05d}.partial"
            self._file = self._stack.enter_context(path.open("wb", buffering=1 << 20))
            self.partial.append(path)
            self._in_shard = 0
        self._file.write(framed)
        self._in_shard += 1

    def _close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def finish(self) -> list[str]:
        self._close()
        total = len(self.partial)
        names = []
        for i, path in enumerate(self.partial):
            name = f"{self._split}-{i:05d}-of-{total:05d}.tfrecord"
            path.rename(path.with_name(name))
            names.append(name)
        return names


def write_tfrecord(
    records: Iterable[ExportFace],
    out_dir: Path | str,
    options: TFRecordOptions | None = None,
    *,
    progress: Progress | None = None,
) -> ExportSummary:
    """Sharded TFRecord files per split, labels.json, manifests, card and sheets in `out_dir`."""
    options = options or TFRecordOptions()
    if options.faces_per_shard < 1:
        raise ValueError("faces_per_shard must be at least 1")
    with ExportRun("tfrecord", out_dir, options, progress) as run, ExitStack() as stack:
        shards = {s: _Shards(run.root, s, options.faces_per_shard, stack) for s in SPLITS}
        for face, info, image in run.faces(records):
            shards[face.split].write(frame_record(_example(face, image, info.name, options.keys)))
            run.written(face, image, None)
        for split_shards in shards.values():
            split_shards.finish()
        described = (
            "TFRecord of tf.train.Example: image_raw (JPEG bytes), label (int64), id (int64)"
            if options.keys == "original"
            else "TFRecord of tf.train.Example: image/encoded, image/format, image/class/label, "
            "image/class/text, image/source_id"
        )
        return run.finish(format_description=described)


def read_records(path: Path, report: Callable[[Problem], None]) -> Iterator[tuple[int, bytes]]:
    """(record index, data) for every record whose CRCs check out; the rest go to `report`."""
    with path.open("rb") as file:
        size = path.stat().st_size
        if size == 0:
            return
        with mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ) as data:
            yield from _walk(data, size, path, report)


def _valid_at(data: mmap.mmap, pos: int, size: int) -> bool:
    if pos + _HEADER.size > size:
        return False
    length, length_crc = _HEADER.unpack_from(data, pos)
    if masked_crc32c(data[pos : pos + 8]) != length_crc:
        return False
    end = pos + _HEADER.size + length
    if end + _CRC.size > size:
        return False
    return masked_crc32c(data[pos + _HEADER.size : end]) == _CRC.unpack_from(data, end)[0]


def _resync(data: mmap.mmap, start: int, size: int) -> int | None:
    """The next offset >= start where a whole valid record begins.

    Record lengths are under 4 GiB, so bytes 4 to 7 of a header are zero: only offsets just
    before a run of four zero bytes are tried, which skips most of a JPEG in C.
    """
    pos = start
    while True:
        zeros = data.find(b"\x00\x00\x00\x00", pos + 4)
        if zeros < 0:
            return None
        run_end = zeros + 4
        while run_end < size and data[run_end] == 0:
            run_end += 1
        for candidate in range(max(pos, zeros - 4), run_end - 7):
            if _valid_at(data, candidate, size):
                return candidate
        pos = run_end - 3


def _walk(
    data: mmap.mmap, size: int, path: Path, report: Callable[[Problem], None]
) -> Iterator[tuple[int, bytes]]:
    pos = index = 0
    while pos < size:
        if size - pos < _HEADER.size:
            report(Problem(path, index, f"truncated: only {size - pos} bytes left for a header"))
            return
        length, length_crc = _HEADER.unpack_from(data, pos)
        end = pos + _HEADER.size + length
        if masked_crc32c(data[pos : pos + 8]) != length_crc:
            reason = f"bad length CRC at byte {pos}"
        elif end + _CRC.size > size:
            reason = f"truncated: the record needs {length + 4} bytes, {size - pos - 12} are left"
        elif masked_crc32c(data[pos + _HEADER.size : end]) != _CRC.unpack_from(data, end)[0]:
            reason = f"bad data CRC at byte {pos}"
            if end + _CRC.size == size or _valid_at(data, end + _CRC.size, size):
                report(Problem(path, index, reason))
                pos, index = end + _CRC.size, index + 1
                continue
        else:
            yield index, data[pos + _HEADER.size : end]
            pos, index = end + _CRC.size, index + 1
            continue
        following = _resync(data, pos + 1, size)
        if following is None:
            report(Problem(path, index, f"{reason}; no valid record after it"))
            return
        report(
            Problem(path, index, f"{reason}; skipped {following - pos} bytes to the next record")
        )
        pos, index = following, index + 1


def tfrecord_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix in TFRECORD_SUFFIXES)


def read_tfrecord(
    files: Iterable[Path], root: Path, report: Callable[[Problem], None]
) -> Iterator[ImportedFace]:
    """Faces from TFRecord files with either key set; names come from labels.json beside them."""
    labels_path = root / LABELS_FILE
    labels = read_labels_json(labels_path) if labels_path.is_file() else {}
    for path in files:
        split = split_from_name(path.name)
        for index, record in read_records(path, report):
            try:
                features = decode_example(record)
            except ValueError as error:
                report(Problem(path, index, f"not a tf.train.Example: {error}"))
                continue
            image = features.get("image_raw") or features.get("image/encoded")
            if not image or not isinstance(image[0], bytes):
                report(Problem(path, index, "no image_raw or image/encoded bytes feature"))
                continue
            label_values = features.get("label") or features.get("image/class/label")
            label = int(label_values[0]) if label_values else None
            face_id = _face_id(features)
            info = labels.get(label) if label is not None else None
            if info is not None:
                name, aliases = info.name, info.aliases
            else:
                text = features.get("image/class/text")
                name = text[0].decode("utf-8", "replace") if text else None
                name = None if label == OTHER_LABEL else name
                aliases = ()
            yield ImportedFace(
                image=image[0],
                person_name=name,
                label=label,
                split=split,
                source_face_id=face_id,
                aliases=aliases,
                file=path,
                record=index,
            )


def _face_id(features: dict) -> int | None:
    if features.get("id"):
        return int(features["id"][0])
    source = features.get("image/source_id")
    if source and isinstance(source[0], bytes) and source[0].strip().isdigit():
        return int(source[0])
    return None
