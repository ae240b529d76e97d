"""Import: one entry point for every format faceloop writes and for plain folders of images.

`read_dataset` looks at what is in the folder, picks the reader and streams faces. Problems (a bad
CRC, a missing column, a file that is no image) are collected on the reader and, if asked, passed
to a callback as they happen; reading goes on past them, so one bad file or record never costs
the rest of an import.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Literal

from faceloop.export.csv_files import is_csv_dataset, read_csv_dataset
from faceloop.export.image_folders import read_image_tree
from faceloop.export.labels import LABELS_FILE
from faceloop.export.parquet import read_parquet
from faceloop.export.records import ImportedFace, Problem
from faceloop.export.tfrecord import TFRECORD_SUFFIXES, read_tfrecord, tfrecord_files

Format = Literal["tfrecord", "parquet", "csv", "image_folders", "folder_tree"]


def _parquet_files(folder: Path) -> list[Path]:
    found = sorted(folder.glob("*.parquet"))
    return found or sorted(folder.glob("data/*.parquet"))


def detect_format(path: Path | str) -> Format:
    """Which reader fits: by suffix for a file, by content for a folder (shards, then Parquet
    files, then manifest.csv with an images/ folder, then folders of images)."""
    path = Path(path)
    if path.is_file():
        if path.suffix in TFRECORD_SUFFIXES:
            return "tfrecord"
        if path.suffix == ".parquet":
            return "parquet"
        raise ValueError(f"{path}: not a TFRecord or Parquet file")
    if not path.is_dir():
        raise FileNotFoundError(f"{path} does not exist")
    has_tfrecord, has_parquet = bool(tfrecord_files(path)), bool(_parquet_files(path))
    if has_tfrecord and has_parquet:
        raise ValueError(f"{path} holds both TFRecord and Parquet files; point at one of them")
    if has_tfrecord:
        return "tfrecord"
    if has_parquet:
        return "parquet"
    if is_csv_dataset(path):
        return "csv"
    if any(p.is_dir() and not p.name.startswith(".") for p in path.iterdir()):
        return "image_folders" if (path / LABELS_FILE).is_file() else "folder_tree"
    raise ValueError(f"{path}: no TFRecord or Parquet files and no folders of images")


class DatasetReader(Iterator[ImportedFace]):
    """An iterator of `ImportedFace` (one pass); `problems` fills as it is read."""

    def __init__(
        self, path: Path | str, on_problem: Callable[[Problem], None] | None = None
    ) -> None:
        self.path = Path(path)
        self.format: Format = detect_format(self.path)
        self.problems: list[Problem] = []
        self._on_problem = on_problem
        self._faces: Iterator[ImportedFace] | None = None

    def _report(self, problem: Problem) -> None:
        self.problems.append(problem)
        if self._on_problem is not None:
            self._on_problem(problem)

    def __next__(self) -> ImportedFace:
        if self._faces is None:
            self._faces = self._open()
        return next(self._faces)

    def _open(self) -> Iterator[ImportedFace]:
        single = self.path.is_file()
        root = self.path.parent if single else self.path
        if self.format == "tfrecord":
            files = [self.path] if single else tfrecord_files(self.path)
            return read_tfrecord(files, root, self._report)
        if self.format == "parquet":
            return read_parquet([self.path] if single else _parquet_files(self.path), self._report)
        if self.format == "csv":
            return read_csv_dataset(self.path, self._report)
        return read_image_tree(self.path, self._report)


def read_dataset(
    path: Path | str, on_problem: Callable[[Problem], None] | None = None
) -> DatasetReader:
    """Faces from a dataset folder (or one .tfrecord / .parquet file), streamed."""
    return DatasetReader(path, on_problem)
