"""What every writer shares: all-or-nothing output, streaming, progress, manifest, card, sheets."""

from __future__ import annotations

import csv
import json
from dataclasses import replace
from datetime import datetime

import pytest
from PIL import Image

from faceloop.export import (
    DatasetCard,
    ExportError,
    ExportOptions,
    ParquetOptions,
    TFRecordOptions,
    write_image_folders,
    write_parquet,
    write_tfrecord,
)

from .conftest import make_face, make_faces

WRITERS = [
    pytest.param(write_tfrecord, TFRecordOptions, id="tfrecord"),
    pytest.param(write_parquet, ParquetOptions, id="parquet"),
    pytest.param(write_image_folders, ExportOptions, id="image_folders"),
]


@pytest.mark.parametrize(("write", "options"), WRITERS)
def test_an_interrupted_export_leaves_nothing(tmp_path, write, options):
    def interrupted():
        yield from make_faces(30)
        raise KeyboardInterrupt

    out = tmp_path / "out"
    with pytest.raises(KeyboardInterrupt):
        write(interrupted(), out, options(row_group_size=4) if options is ParquetOptions else None)
    assert list(out.iterdir()) == []


@pytest.mark.parametrize(("write", "options"), WRITERS)
def test_inconsistent_labels_abort_and_leave_nothing(tmp_path, write, options):
    faces = [make_face(1, 1), replace(make_face(2, 1), person_id=999)]
    with pytest.raises(ExportError, match="one label must be one person"):
        write(iter(faces), tmp_path / "out")
    assert list((tmp_path / "out").iterdir()) == []


@pytest.mark.parametrize(("write", "options"), WRITERS)
def test_streams_and_reports_progress(tmp_path, write, options):
    events = []

    def stream():
        for face in make_faces(50):
            events.append(("read", face.face_id))
            yield face

    summary = write(
        stream(),
        tmp_path / "out",
        options(progress_every=10),
        progress=lambda n: events.append(("progress", n)),
    )
    progress = [n for kind, n in events if kind == "progress"]
    assert progress == [10, 20, 30, 40, 50]
    # progress for the first ten came before the eleventh face was read: nothing is gathered first
    assert events.index(("progress", 10)) < events.index(("read", 11))
    assert summary.faces == 50 and sum(summary.per_split.values()) == 50
    assert summary.image_bytes == sum(len(f.crop_jpeg) for f in make_faces(50))


def test_records_are_checked_when_made():
    with pytest.raises(ValueError, match="split"):
        replace(make_face(1, 1), split="dev")
    with pytest.raises(ValueError, match="embedding has 3 values"):
        replace(make_face(1, 1), embedding=[1.0, 2.0, 3.0])
    assert replace(make_face(1, 1), aliases=["a", "b"]).aliases == ("a", "b")


def test_out_dir_must_be_empty(tmp_path):
    (tmp_path / "old.tfrecord").write_bytes(b"old")
    with pytest.raises(ExportError, match="not empty"):
        write_tfrecord(make_faces(3), tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["old.tfrecord"]


def test_a_partial_folder_left_by_a_killed_export_does_not_block_the_next(tmp_path):
    (tmp_path / ".faceloop-partial-abc123").mkdir()
    summary = write_tfrecord(make_faces(3), tmp_path, TFRecordOptions(contact_sheets=False))
    assert summary.faces == 3
    assert (tmp_path / ".faceloop-partial-abc123").is_dir()


def test_faces_without_the_chosen_image_are_skipped_not_fatal(tmp_path):
    def broken_loader() -> bytes:
        raise FileNotFoundError("blob gone")

    faces = [make_face(1, 1), replace(make_face(2, 1), photo=broken_loader), make_face(3, 2)]
    faces[2] = replace(faces[2], photo=None)
    summary = write_tfrecord(iter(faces), tmp_path / "out", TFRecordOptions(image="photo"))
    assert summary.faces == 1
    assert [s.face_id for s in summary.skipped] == [2, 3]
    assert "blob gone" in summary.skipped[0].reason


def test_manifest_rows(tmp_path, faces):
    write_image_folders(iter(faces), tmp_path / "out", ExportOptions(contact_sheets=False))
    with (tmp_path / "out" / "manifest.csv").open(encoding="utf-8", newline="") as file:
        rows = list(csv.DictReader(file))
    jsonl = [
        json.loads(line)
        for line in (tmp_path / "out" / "manifest.jsonl").read_text("utf-8").splitlines()
    ]
    assert [int(r["face_id"]) for r in rows] == [f.face_id for f in faces]
    assert [r["face_id"] for r in jsonl] == [f.face_id for f in faces]
    face, row, doc = faces[0], rows[0], jsonl[0]
    assert row["person"] == doc["person"] == face.person_name
    assert row["split"] == doc["split"] == face.split
    assert row["file"] == doc["file"] == f"{face.split}/アリス/{face.face_id}.jpg"
    assert [int(row[k]) for k in ("box_left", "box_top", "box_right", "box_bottom")] == list(
        face.box
    )
    assert doc["box"] == list(face.box)
    assert json.loads(row["aliases"]) == doc["aliases"] == list(face.aliases)
    p = face.provenance
    for key in ("photo_sha256", "photo_path", "source_kind", "account", "post_url"):
        assert row[key] == doc[key] == getattr(p, key)
    assert row["labelled_by"] == "owner" and row["label_origin"] == p.label_origin
    assert row["posted_at"] == doc["posted_at"] == p.posted_at.isoformat() + "Z"
    assert row["labelled_at"] == "2024-06-01T09:30:00Z"


def test_card_and_contact_sheets(tmp_path):
    card = DatasetCard(
        title="Idols 2024",
        faceloop_version="0.1.0",
        model="embedding-head #12",
        min_per_class=10,
        other_ratio=0.5,
        created=datetime(2024, 7, 1, 8, 0),
    )
    faces = list(make_faces(200))
    summary = write_parquet(
        iter(faces), tmp_path / "out", ParquetOptions(card=card, sheet_faces=12)
    )
    text = (tmp_path / "out" / "README.md").read_text("utf-8")
    for expected in (
        "Idols 2024",
        "0.1.0",
        "embedding-head #12",
        "| Minimum faces per person | 10 |",
        "| Other ratio | 0.5 |",
        "2024-07-01T08:00:00Z",
        "アリス",
        "Mei-chan",
        'path: "train.parquet"',
    ):
        assert expected in text
    counts = summary.per_label[1]
    assert f"| 1 | アリス | Alice, ありす | {counts['train']} | {counts['validation']} |" in text
    assert f"| train | {summary.per_split['train']} |" in text

    sheets = sorted((tmp_path / "out" / "contact_sheets").glob("*.png"))
    assert [s.name.split("-")[0] for s in sheets] == ["0000", "0001", "0002", "0003", "0004"]
    for sheet in sheets:
        with Image.open(sheet) as image:
            assert image.size == (4 * 56, 3 * 56)
        assert f"(<contact_sheets/{sheet.name}>)" in text
    assert not list((tmp_path / "out").glob(".*"))


def test_contact_sheets_show_the_same_faces_when_faces_are_added(tmp_path):
    from faceloop.export.card import ContactSheets

    def chosen(count: int) -> set[int]:
        sheets = ContactSheets(tmp_path / f"spill{count}", 5)
        for face_id in range(count):
            sheets.add(1, face_id, b"x")
        picked = {entry[1] for entry in sheets._chosen[1]}
        sheets.close()
        return picked

    small, large = chosen(100), chosen(1000)
    assert len(small) == len(large) == 5
    # a face in the sample of the larger set was in the sample of the smaller one too
    assert large & set(range(100)) <= small
    assert not (tmp_path / "spill100").exists()
