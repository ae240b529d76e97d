from __future__ import annotations

import csv
import io

from PIL import Image

from faceloop.export import ExportOptions, read_dataset, write_csv

from .conftest import make_jpeg


def test_round_trip(tmp_path, faces):
    summary = write_csv(iter(faces), tmp_path / "out", ExportOptions(contact_sheets=False))
    assert summary.faces == len(faces)
    assert {p.name for p in summary.files} >= {"images", "manifest.csv", "labels.json"}
    reader = read_dataset(tmp_path / "out")
    assert reader.format == "csv"
    back = {f.source_face_id: f for f in reader}
    assert reader.problems == []
    for face in faces:
        got = back[face.face_id]
        assert (got.image, got.label, got.split) == (face.crop_jpeg, face.label, face.split)
        assert got.person_name == (face.person_name if face.label else None)
        assert got.aliases == (face.aliases if face.label else ())
        assert got.box == face.box
        assert got.file == tmp_path / "out" / "images" / f"{face.face_id}.jpg"


def test_chips_and_photos_as_files(tmp_path, faces):
    write_csv(iter(faces[:5]), tmp_path / "out", ExportOptions(image="chip"))
    with Image.open(tmp_path / "out" / "images" / f"{faces[0].face_id}.jpg") as image:
        assert image.size == (150, 150)


def test_bad_rows_are_named_by_row_and_the_rest_read(tmp_path, faces):
    out = tmp_path / "out"
    write_csv(iter(faces[:6]), out, ExportOptions(contact_sheets=False))
    manifest = out / "manifest.csv"
    rows = list(csv.DictReader(io.StringIO(manifest.read_text("utf-8"))))
    (out / rows[1]["file"]).unlink()
    rows[2]["file"] = "../../outside.jpg"
    (tmp_path / "outside.jpg").write_bytes(make_jpeg(9))
    (out / rows[3]["file"]).write_text("not an image")
    rows[4]["label"] = "four"
    with manifest.open("w", encoding="utf-8", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    reader = read_dataset(out)
    back = list(reader)
    assert [f.source_face_id for f in back] == [int(rows[0]["face_id"]), int(rows[5]["face_id"])]
    assert [(p.file, p.record) for p in reader.problems] == [(manifest, i) for i in (1, 2, 3, 4)]
    reasons = [p.reason for p in reader.problems]
    assert "cannot be read" in reasons[0] and "outside the dataset" in reasons[1]
    assert "not an image" in reasons[2] and "not a whole number" in reasons[3]
    assert f"{manifest}, record 2" in str(reader.problems[1])


def test_a_manifest_without_its_file_column(tmp_path, faces):
    out = tmp_path / "out"
    write_csv(iter(faces[:3]), out, ExportOptions(contact_sheets=False))
    (out / "manifest.csv").write_text("face_id,label\n1,1\n", "utf-8")
    reader = read_dataset(out)
    assert list(reader) == []
    assert "missing column(s): file" in str(reader.problems[0])
