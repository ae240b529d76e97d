from __future__ import annotations

import io
from datetime import UTC, datetime

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from PIL import Image

from faceloop.export import ParquetOptions, read_dataset, write_parquet

from .conftest import make_faces


def test_round_trip_and_columns(tmp_path, faces):
    summary = write_parquet(iter(faces), tmp_path / "out", ParquetOptions(row_group_size=7))
    files = {p.name for p in summary.files}
    assert {"train.parquet", "validation.parquet", "test.parquet", "README.md"} <= files
    reader = read_dataset(tmp_path / "out")
    assert reader.format == "parquet"
    back = {f.source_face_id: f for f in reader}
    assert reader.problems == []
    for face in faces:
        got = back[face.face_id]
        assert (got.image, got.label, got.split) == (face.crop_jpeg, face.label, face.split)
        assert (got.person_name, got.aliases) == (face.person_name, face.aliases)

    train = pq.ParquetFile(tmp_path / "out" / "train.parquet")
    assert train.metadata.num_row_groups == -(-summary.per_split["train"] // 7)
    row = train.read().slice(0, 1).to_pylist()[0]
    face = next(f for f in faces if f.face_id == row["face_id"])
    assert row["box"] == list(face.box)
    assert np.allclose(row["embedding"], face.embedding)
    assert row["photo_sha256"] == face.provenance.photo_sha256
    assert row["post_url"] == face.provenance.post_url
    assert row["posted_at"] == face.provenance.posted_at.replace(tzinfo=UTC)
    assert row["label_origin"] == face.provenance.label_origin
    assert row["image"]["path"] == f"{face.face_id}.jpg"


def test_hugging_face_datasets_loads_it(tmp_path, monkeypatch, faces):
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    import datasets

    out = tmp_path / "out"
    write_parquet(iter(faces), out)
    files = {s: str(out / f"{s}.parquet") for s in ("train", "validation", "test")}
    loaded = datasets.load_dataset("parquet", data_files=files, cache_dir=str(tmp_path / "cache"))
    assert {s: len(loaded[s]) for s in files} == {
        s: sum(f.split == s for f in faces) for s in files
    }
    row = loaded["train"][0]
    face = next(f for f in faces if f.face_id == row["face_id"])
    assert isinstance(row["image"], Image.Image) and row["image"].size == (112, 112)
    assert (row["label"], row["person"]) == (face.label, face.person_name)
    assert len(row["embedding"]) == 128
    # the dataset card's configs let `load_dataset(folder)` find the splits on its own
    by_folder = datasets.load_dataset(str(out), cache_dir=str(tmp_path / "cache2"))
    assert set(by_folder) == set(files)


def test_missing_columns_are_reported_and_other_files_read(tmp_path):
    out = tmp_path / "out"
    write_parquet(make_faces(20), out, ParquetOptions(contact_sheets=False))
    broken = out / "test.parquet"
    pq.write_table(pq.read_table(broken).drop_columns(["label"]), broken)
    reader = read_dataset(out)
    back = list(reader)
    assert back and all(f.split != "test" for f in back)
    assert len(reader.problems) == 1
    problem = reader.problems[0]
    assert problem.file == broken and "label" in problem.reason
    assert "test.parquet" in str(problem)


def test_foreign_parquet_with_binary_images_and_bad_rows(tmp_path):
    good = io.BytesIO()
    Image.new("RGB", (8, 8)).save(good, "PNG")
    table = pa.table({"image": [good.getvalue(), None, b""], "label": [1, 2, 3]})
    pq.write_table(table, tmp_path / "train-00000.parquet")
    (tmp_path / "validation.parquet").write_bytes(b"PAR1 not really")
    reader = read_dataset(tmp_path)
    back = list(reader)
    assert [(f.label, f.split, f.record) for f in back] == [(1, "train", 0)]
    assert sorted((p.file.name, p.record) for p in reader.problems) == [
        ("train-00000.parquet", 1),
        ("train-00000.parquet", 2),
        ("validation.parquet", None),
    ]


def test_aware_and_naive_times_are_both_utc(tmp_path):
    from dataclasses import replace
    from datetime import timedelta, timezone

    from .conftest import make_face

    tokyo = timezone(timedelta(hours=9))
    face = make_face(1, 1, split="train")
    face = replace(
        face,
        provenance=replace(face.provenance, posted_at=datetime(2024, 1, 1, 9, tzinfo=tokyo)),
    )
    write_parquet([face], tmp_path / "out", ParquetOptions(contact_sheets=False))
    row = pq.read_table(tmp_path / "out" / "train.parquet").to_pylist()[0]
    assert row["posted_at"] == datetime(2024, 1, 1, 0, tzinfo=UTC)
    assert row["labelled_at"] == datetime(2024, 6, 1, 9, 30, tzinfo=UTC)
