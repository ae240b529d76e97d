"""One Parquet file per split, with the image bytes and everything faceloop knows about each face.

The image column has the shape Hugging Face `datasets` gives its Image feature (a struct of
bytes and path) and the schema carries the `huggingface` features metadata, so
``load_dataset("parquet", ...)`` hands back decoded images with no conversion step. Rows are
buffered only up to one row group per split, then written: memory does not grow with the dataset.
Image bytes are stored uncompressed and without dictionary or statistics (JPEG does not shrink,
and min/max of a blob is useless); the other columns use zstd.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from faceloop.export.images import EXTENSIONS, sniff_format
from faceloop.export.records import (
    EMBEDDING_SIZE,
    SPLITS,
    ExportFace,
    ExportSummary,
    ImportedFace,
    ParquetOptions,
    Problem,
    Progress,
)
from faceloop.export.run import ExportRun
from faceloop.export.splits import split_from_name

_STRINGS = ("photo_sha256", "photo_path", "source_kind", "account", "post_url")
_TIMES = ("posted_at", "labelled_at")
_TIMESTAMP = pa.timestamp("us", tz="UTC")

_FIELDS = [
    ("face_id", pa.int64(), "int64"),
    ("image", pa.struct([("bytes", pa.binary()), ("path", pa.string())]), None),
    ("label", pa.int64(), "int64"),
    ("person_id", pa.int64(), "int64"),
    ("person", pa.string(), "string"),
    ("aliases", pa.list_(pa.string()), None),
    ("split", pa.string(), "string"),
    ("box", pa.list_(pa.int32(), 4), None),
    ("embedding", pa.list_(pa.float32(), EMBEDDING_SIZE), None),
    *[(name, pa.string(), "string") for name in _STRINGS],
    ("posted_at", _TIMESTAMP, "timestamp[us, tz=UTC]"),
    ("labelled_by", pa.string(), "string"),
    ("labelled_at", _TIMESTAMP, "timestamp[us, tz=UTC]"),
    ("label_origin", pa.string(), "string"),
]


def _hf_features() -> dict:
    # "Sequence" rather than the newer "List": both old and current `datasets` read it
    def value(dtype: str) -> dict:
        return {"dtype": dtype, "_type": "Value"}

    features = {name: value(dtype) for name, _, dtype in _FIELDS if dtype}
    features["image"] = {"_type": "Image"}
    features["aliases"] = {"feature": value("string"), "length": -1, "_type": "Sequence"}
    features["box"] = {"feature": value("int32"), "length": 4, "_type": "Sequence"}
    features["embedding"] = {
        "feature": value("float32"),
        "length": EMBEDDING_SIZE,
        "_type": "Sequence",
    }
    return {name: features[name] for name, _, _ in _FIELDS}


SCHEMA = pa.schema(
    [pa.field(name, kind) for name, kind, _ in _FIELDS],
    metadata={"huggingface": json.dumps({"info": {"features": _hf_features()}})},
)


def _leaf_paths(name: str, kind: pa.DataType) -> list[str]:
    if pa.types.is_struct(kind):
        return [f"{name}.{kind.field(i).name}" for i in range(kind.num_fields)]
    if pa.types.is_list(kind) or pa.types.is_fixed_size_list(kind):
        return [f"{name}.list.element"]
    return [name]


_LEAVES = [path for name, kind, _ in _FIELDS for path in _leaf_paths(name, kind)]
_BLOB = "image.bytes"
_COMPRESSION = {path: "none" if path == _BLOB else "zstd" for path in _LEAVES}
_NOT_FOR_BLOBS = [path for path in _LEAVES if path != _BLOB]
REQUIRED_COLUMNS = ("image", "label")
_READ_COLUMNS = ("image", "label", "face_id", "person", "aliases", "split", "box")


def _utc(moment: datetime | None) -> datetime | None:
    if moment is None or moment.tzinfo is None:
        return moment
    return moment.astimezone(UTC).replace(tzinfo=None)


class _SplitFile:
    """The Parquet file of one split and the rows waiting to become its next row group."""

    def __init__(self, path: Path, row_group_size: int) -> None:
        self.path = path
        self._size = row_group_size
        self._writer: pq.ParquetWriter | None = None
        self._rows: list[tuple[ExportFace, bytes]] = []

    def add(self, face: ExportFace, image: bytes) -> None:
        self._rows.append((face, image))
        if len(self._rows) >= self._size:
            self.flush()

    def flush(self) -> None:
        if not self._rows:
            return
        if self._writer is None:
            self._writer = pq.ParquetWriter(
                self.path,
                SCHEMA,
                compression=_COMPRESSION,
                use_dictionary=_NOT_FOR_BLOBS,
                write_statistics=_NOT_FOR_BLOBS,
            )
        self._writer.write_batch(_batch(self._rows), row_group_size=len(self._rows))
        self._rows = []

    def close(self) -> None:
        self.flush()
        self.discard()

    def discard(self) -> None:
        """Close without writing what is pending: the export is being abandoned."""
        self._rows = []
        if self._writer is not None:
            self._writer.close()
            self._writer = None


def _batch(rows: list[tuple[ExportFace, bytes]]) -> pa.RecordBatch:
    faces = [face for face, _ in rows]
    images = [image for _, image in rows]
    provenance = [face.provenance for face in faces]
    paths = [f"{f.face_id}{EXTENSIONS.get(sniff_format(i), '.bin')}" for f, i in rows]
    embeddings = [face.embedding_bytes() for face in faces]
    zero = bytes(4 * EMBEDDING_SIZE)
    flat = np.frombuffer(b"".join(e or zero for e in embeddings), dtype="<f4")
    columns = {
        "face_id": pa.array([f.face_id for f in faces], pa.int64()),
        "image": pa.StructArray.from_arrays(
            [pa.array(images, pa.binary()), pa.array(paths, pa.string())], ["bytes", "path"]
        ),
        "label": pa.array([f.label for f in faces], pa.int64()),
        "person_id": pa.array([f.person_id for f in faces], pa.int64()),
        "person": pa.array([f.person_name for f in faces], pa.string()),
        "aliases": pa.array([list(f.aliases) for f in faces], pa.list_(pa.string())),
        "split": pa.array([f.split for f in faces], pa.string()),
        "box": pa.array([f.box for f in faces], pa.list_(pa.int32(), 4)),
        "embedding": pa.FixedSizeListArray.from_arrays(
            pa.array(flat, pa.float32()),
            EMBEDDING_SIZE,
            mask=pa.array([e is None for e in embeddings]),
        ),
        **{
            name: pa.array([getattr(p, name) for p in provenance], pa.string()) for name in _STRINGS
        },
        **{
            name: pa.array([_utc(getattr(p, name)) for p in provenance], _TIMESTAMP)
            for name in _TIMES
        },
        "labelled_by": pa.array([p.labelled_by for p in provenance], pa.string()),
        "label_origin": pa.array([p.label_origin for p in provenance], pa.string()),
    }
    return pa.RecordBatch.from_arrays([columns[f.name] for f in SCHEMA], schema=SCHEMA)


def write_parquet(
    records: Iterable[ExportFace],
    out_dir: Path | str,
    options: ParquetOptions | None = None,
    *,
    progress: Progress | None = None,
) -> ExportSummary:
    """``<split>.parquet`` per split plus labels.json, manifests, card and sheets in `out_dir`."""
    options = options or ParquetOptions()
    if options.row_group_size < 1:
        raise ValueError("row_group_size must be at least 1")
    with ExportRun("parquet", out_dir, options, progress) as run, ExitStack() as stack:
        files = {}
        for split in SPLITS:
            files[split] = _SplitFile(
                run.root / f".{split}.parquet.partial", options.row_group_size
            )
            stack.callback(files[split].discard)
        for face, _, image in run.faces(records):
            files[face.split].add(face, image)
            run.written(face, image, f"{face.split}.parquet")
        data_files = {}
        for split, split_file in files.items():
            split_file.close()
            if split_file.path.exists():
                split_file.path.rename(split_file.path.with_name(f"{split}.parquet"))
                data_files[split] = f"{split}.parquet"
        return run.finish(
            format_description="Parquet, one file per split, Hugging Face Image column",
            data_files=data_files,
        )


def read_parquet(
    paths: Iterable[Path], report: Callable[[Problem], None]
) -> Iterator[ImportedFace]:
    """Faces from Parquet files that have at least an image and a label column.

    Read one row group at a time, so a damaged row group costs that group and the rest is read.
    """
    for path in paths:
        try:
            parquet = pq.ParquetFile(path)
        except (pa.ArrowException, OSError) as error:
            report(Problem(path, None, f"not a readable Parquet file: {error}"))
            continue
        names = set(parquet.schema_arrow.names)
        missing = [c for c in REQUIRED_COLUMNS if c not in names]
        if missing:
            report(Problem(path, None, f"missing column(s): {', '.join(missing)}; file skipped"))
            continue
        wanted = [c for c in _READ_COLUMNS if c in names]
        split_default = split_from_name(path.name)
        start = 0
        for group in range(parquet.num_row_groups):
            index = start
            try:
                for batch in parquet.iter_batches(
                    batch_size=256, row_groups=[group], columns=wanted
                ):
                    yield from _faces(batch, path, index, split_default, report)
                    index += batch.num_rows
            except (pa.ArrowException, OSError) as error:
                report(Problem(path, index, f"row group {group} unreadable: {error}"))
            start += parquet.metadata.row_group(group).num_rows
        parquet.close()


def _faces(
    batch: pa.RecordBatch,
    path: Path,
    first: int,
    split_default: str | None,
    report: Callable[[Problem], None],
) -> Iterator[ImportedFace]:
    names = batch.schema.names
    image_column = batch.column("image")
    if pa.types.is_struct(image_column.type):
        image_column = image_column.field("bytes")
    images = image_column.to_pylist()
    labels = batch.column("label").to_pylist()
    none = [None] * batch.num_rows
    face_ids = batch.column("face_id").to_pylist() if "face_id" in names else none
    people = batch.column("person").to_pylist() if "person" in names else none
    aliases = batch.column("aliases").to_pylist() if "aliases" in names else none
    splits = batch.column("split").to_pylist() if "split" in names else none
    boxes = batch.column("box").to_pylist() if "box" in names else none
    for i in range(batch.num_rows):
        if not images[i]:
            report(Problem(path, first + i, "no image bytes"))
            continue
        yield ImportedFace(
            image=images[i],
            person_name=people[i],
            label=labels[i],
            split=splits[i] or split_default,
            source_face_id=face_ids[i],
            aliases=tuple(aliases[i] or ()),
            file=path,
            record=first + i,
            box=_box(boxes[i]),
        )


def _box(value: object) -> tuple[int, int, int, int] | None:
    """A box column of another shape (a foreign file) is no box, not an error."""
    try:
        left, top, right, bottom = (int(v) for v in value)  # type: ignore[union-attr]
    except (TypeError, ValueError):
        return None
    return (left, top, right, bottom)
