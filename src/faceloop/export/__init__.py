"""Datasets in and out: TFRecord, image folders, Parquet and CSV, with manifests and a card.

Pure functions over plain values: writers take an iterator of `ExportFace` and a folder, readers
take a folder and yield `ImportedFace`. Nothing here knows about the database.
"""

from faceloop.export.csv_files import write_csv
from faceloop.export.image_folders import write_image_folders
from faceloop.export.images import guess_image_kind, image_size, sniff_format
from faceloop.export.labels import safe_name
from faceloop.export.parquet import write_parquet
from faceloop.export.readers import DatasetReader, detect_format, read_dataset
from faceloop.export.records import (
    OTHER_LABEL,
    SPLITS,
    DatasetCard,
    ExportError,
    ExportFace,
    ExportOptions,
    ExportSummary,
    ImportedFace,
    ParquetOptions,
    Problem,
    Provenance,
    SkippedFace,
    TFRecordOptions,
)
from faceloop.export.splits import assign_splits, parse_fractions, split_of
from faceloop.export.tfrecord import write_tfrecord

__all__ = [
    "OTHER_LABEL",
    "SPLITS",
    "DatasetCard",
    "DatasetReader",
    "ExportError",
    "ExportFace",
    "ExportOptions",
    "ExportSummary",
    "ImportedFace",
    "ParquetOptions",
    "Problem",
    "Provenance",
    "SkippedFace",
    "TFRecordOptions",
    "assign_splits",
    "detect_format",
    "guess_image_kind",
    "image_size",
    "parse_fractions",
    "read_dataset",
    "safe_name",
    "sniff_format",
    "split_of",
    "write_csv",
    "write_image_folders",
    "write_parquet",
    "write_tfrecord",
]
