"""manifest.csv and manifest.jsonl: one row per face, beside every format.

The image formats keep only what training needs; the manifest keeps what a person auditing the
dataset needs: where each face came from (photo, source, account, post, time) and who labelled it,
when and how. CSV for spreadsheets, JSON Lines for scripts; both are written row by row.
"""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType

from faceloop.export.records import ExportFace

MANIFEST_CSV = "manifest.csv"
MANIFEST_JSONL = "manifest.jsonl"
_JSON = json.JSONEncoder(ensure_ascii=False)

CSV_COLUMNS = (
    "face_id",
    "label",
    "person_id",
    "person",
    "aliases",
    "split",
    "file",
    "box_left",
    "box_top",
    "box_right",
    "box_bottom",
    "photo_sha256",
    "photo_path",
    "source_kind",
    "account",
    "post_url",
    "posted_at",
    "labelled_by",
    "labelled_at",
    "label_origin",
)


def iso_utc(moment: datetime | None) -> str | None:
    """ISO 8601 in UTC with a Z; naive datetimes are UTC already, as faceloop keeps them."""
    if moment is None:
        return None
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment.isoformat() + "Z"


def manifest_row(face: ExportFace, file: str | None) -> dict:
    p = face.provenance
    return {
        "face_id": face.face_id,
        "label": face.label,
        "person_id": face.person_id,
        "person": face.person_name,
        "aliases": list(face.aliases),
        "split": face.split,
        "file": file,
        "box": list(face.box) if face.box is not None else None,
        "photo_sha256": p.photo_sha256,
        "photo_path": p.photo_path,
        "source_kind": p.source_kind,
        "account": p.account,
        "post_url": p.post_url,
        "posted_at": iso_utc(p.posted_at),
        "labelled_by": p.labelled_by,
        "labelled_at": iso_utc(p.labelled_at),
        "label_origin": p.label_origin,
    }


class ManifestWriter:
    def __init__(self, folder: Path) -> None:
        self._csv_file = (folder / MANIFEST_CSV).open("w", encoding="utf-8", newline="")
        self._jsonl = (folder / MANIFEST_JSONL).open("w", encoding="utf-8")
        self._csv = csv.writer(self._csv_file)
        self._csv.writerow(CSV_COLUMNS)

    def write(self, face: ExportFace, file: str | None = None) -> None:
        row = manifest_row(face, file)
        self._jsonl.write(_JSON.encode(row) + "\n")
        box = row.pop("box") or (None, None, None, None)
        row["aliases"] = _JSON.encode(row["aliases"]) if face.aliases else ""
        cells = dict(row, box_left=box[0], box_top=box[1], box_right=box[2], box_bottom=box[3])
        self._csv.writerow(["" if cells[c] is None else cells[c] for c in CSV_COLUMNS])

    def close(self) -> None:
        self._csv_file.close()
        self._jsonl.close()

    def __enter__(self) -> ManifestWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
