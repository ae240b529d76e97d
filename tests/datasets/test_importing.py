"""`faceloop import-dataset`: folders of face crops and photos, split folders, and bad input
(a corrupt TFRecord, a Parquet file without its label column, files that are no image): each
named with its file and record, the rest imported, nothing stored half. Real ORL photos."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
from PIL import Image
from sqlalchemy import func, select
from typer.testing import CliRunner

from faceloop.cli import app
from faceloop.datasets.export import DatasetOptions, export_workspace
from faceloop.datasets.importing import CROP_BOX, import_dataset
from faceloop.db.models import BlobJournal, Decision, Face, FaceLabel, Person
from faceloop.db.models import Image as ImageRow
from faceloop.workspace import Workspace, init_workspace
from tests.conftest import DATA, jpeg_bytes, noise_image


def counts(ws: Workspace) -> dict[str, int]:
    with ws.reader() as session:
        return {
            name: session.scalar(select(func.count()).select_from(table))
            for name, table in [
                ("images", ImageRow),
                ("faces", Face),
                ("decisions", Decision),
                ("labels", FaceLabel),
                ("journal", BlobJournal),
            ]
        }


def assert_nothing_half_stored(ws: Workspace) -> None:
    """Every stored row has its blobs, and every blob belongs to a row."""
    with ws.reader() as session:
        keys = set(session.scalars(select(ImageRow.sha256)))
        for chip, crop in session.execute(select(Face.chip_key, Face.crop_key)):
            keys |= {chip, crop}
    on_disk = {p.name for p in (ws.root / "blobs").rglob("*") if p.is_file()}
    assert on_disk == keys
    assert counts(ws)["journal"] == 0


def test_a_folder_per_person_of_face_crops(orl_faces, tmp_path) -> None:
    embeddings, crops, subjects = orl_faces
    tree = tmp_path / "crops"
    originals = {}
    for subject, name in ((1, "Ada"), (2, "ボブ")):
        (tree / name).mkdir(parents=True)
        for i in np.flatnonzero(subjects == subject)[:5]:
            data = jpeg_bytes(Image.fromarray(crops[i]), quality=92)
            (tree / name / f"{i}.jpg").write_bytes(data)
            originals[data] = embeddings[i]
    (tree / "Ada" / "notes.txt").write_text("not an image")
    (tree / "ボブ" / "empty.jpg").write_bytes(b"")
    (tree / "Noise").mkdir()
    (tree / "Noise" / "n.jpg").write_bytes(jpeg_bytes(noise_image(112, 112)))

    with init_workspace(tmp_path / "ws") as ws:
        summary = import_dataset(ws, tree)
        assert summary.format == "folder_tree"
        assert (summary.read, summary.added, summary.labelled) == (11, 11, 11)
        assert sorted(p.file.name for p in summary.problems) == ["empty.jpg", "notes.txt"]
        assert all(str(p.file) in str(p) for p in summary.problems)
        with ws.reader() as session:
            rows = session.execute(
                select(Face.crop_key, Face.embedding, Face.detector, Person.name)
                .join(FaceLabel, FaceLabel.face_id == Face.id)
                .join(Person, Person.id == FaceLabel.person_id)
            ).all()
        for crop_key, embedding, detector, name in rows:
            crop = ws.blobs.get(crop_key)
            if name == "Noise":
                # no face found in it: the box is where faceloop's crops put the face
                assert detector == CROP_BOX
                continue
            # the 112 px crop is kept as it is, and embedded close to the original photo's face
            distance = np.linalg.norm(np.frombuffer(embedding, np.float32) - originals[crop])
            assert distance < 0.25 and detector == "hog"
        assert {r.name for r in rows} == {"Ada", "ボブ", "Noise"}
        before = counts(ws)
        again = import_dataset(ws, tree)
        assert (again.added, again.labelled, again.already) == (0, 0, 11)
        assert counts(ws) == before
        assert_nothing_half_stored(ws)


def test_split_folders_are_kept_in_later_exports(tmp_path) -> None:
    tree = tmp_path / "tree"
    layout = {"train": (1, 2, 3, 4), "val": (5,), "test": (6, 7)}
    for split, photos in layout.items():
        for subject, name in ((1, "Ada"), (2, "Cleo")):
            (tree / split / name).mkdir(parents=True)
            for n in photos:
                shutil.copy(DATA / "orl" / f"s{subject}" / f"{n}.pgm", tree / split / name)
    with init_workspace(tmp_path / "ws") as ws:
        summary = import_dataset(ws, tree)
        assert summary.labelled == 14 and summary.problems == []
        options = DatasetOptions(format="csv", min_per_class=1, other_ratio=0.0, seed=5)
        result = export_workspace(ws, tmp_path / "out", options)
    assert result.summary.per_label[1] == {"train": 4, "validation": 1, "test": 2}
    assert result.summary.per_label[2] == {"train": 4, "validation": 1, "test": 2}


def test_a_photo_with_several_faces_and_no_box_is_stored_unlabelled(tmp_path) -> None:
    tree = tmp_path / "tree"
    (tree / "kit_harington").mkdir(parents=True)
    shutil.copy(DATA / "group" / "face_recognition_kit_with_rose.jpg", tree / "kit_harington")
    with init_workspace(tmp_path / "ws") as ws:
        summary = import_dataset(ws, tree)
        assert (summary.added, summary.labelled) == (2, 0)
        (problem,) = summary.problems
        assert "2 faces in this photo and nothing says which is kit_harington" in str(problem)
        assert problem.file.name == "face_recognition_kit_with_rose.jpg"
        with ws.reader() as session:
            hint = session.scalar(select(ImageRow.hint_person_id))
            assert session.scalar(select(Person.name).where(Person.id == hint)) == "kit_harington"
        again = import_dataset(ws, tree)
        assert again.added == 0 and "nothing says which" in str(again.problems[0])


def small_export(ws: Workspace, out: Path, fmt: str) -> int:
    options = DatasetOptions(
        format=fmt, min_per_class=5, other_ratio=0.0, people=("Ada", "Cleo"), contact_sheets=False
    )
    return export_workspace(ws, out, options).summary.faces


def test_a_corrupt_tfrecord_costs_its_bad_records_only(orl_workspace, tmp_path) -> None:
    total = small_export(orl_workspace, tmp_path / "out", "tfrecord")
    train = next((tmp_path / "out").glob("train-*.tfrecord"))
    raw = bytearray(train.read_bytes())
    first_length = int.from_bytes(raw[:8], "little")
    second = 16 + first_length
    raw[second + 12 + 40] ^= 0xFF  # inside the second record's data: its data CRC fails
    train.write_bytes(raw)
    test = next((tmp_path / "out").glob("test-*.tfrecord"))
    test.write_bytes(test.read_bytes()[:-100])  # the last record cut short

    with init_workspace(tmp_path / "ws") as ws:
        summary = import_dataset(ws, tmp_path / "out")
        assert summary.added == summary.labelled == total - 2
        problems = sorted(summary.problems, key=lambda p: p.file.name)
        assert [(p.file, p.record) for p in problems] == [
            (test, 1),  # one face of each person in test: records 0 and 1
            (train, 1),
        ]
        assert problems[0].reason.startswith("truncated")
        assert "bad data CRC" in problems[1].reason
        assert f"{train}, record 1" in str(problems[1])
        assert_nothing_half_stored(ws)
        stored = counts(ws)
        assert stored["images"] == stored["faces"] == stored["decisions"] == total - 2


def test_a_parquet_file_without_labels_is_named_and_the_rest_imported(
    orl_workspace, tmp_path
) -> None:
    total = small_export(orl_workspace, tmp_path / "out", "parquet")
    broken = tmp_path / "out" / "test.parquet"
    lost = pq.read_metadata(broken).num_rows
    pq.write_table(pq.read_table(broken).drop_columns(["label"]), broken)
    with init_workspace(tmp_path / "ws") as ws:
        summary = import_dataset(ws, tmp_path / "out")
        assert summary.labelled == total - lost
        (problem,) = summary.problems
        assert problem.file == broken and "missing column(s): label" in str(problem)
        assert_nothing_half_stored(ws)


def test_the_import_dataset_command(orl_workspace, tmp_path) -> None:
    small_export(orl_workspace, tmp_path / "out", "imagefolder")
    (tmp_path / "out" / "train" / "Ada" / "bad.jpg").write_bytes(b"<html>not a photo</html>")
    runner = CliRunner(env={"COLUMNS": "300"})
    with init_workspace(tmp_path / "ws") as ws:
        base = ["--workspace", str(ws.root)]
        result = runner.invoke(app, ["import-dataset", str(tmp_path / "out"), *base])
        assert result.exit_code == 0, result.output
        assert "12 new, 12 labelled" in result.output and "bad.jpg" in result.output
        assert "New people (2): Ada, Cleo" in result.output
        missing = runner.invoke(app, ["import-dataset", str(tmp_path / "nowhere"), *base])
        assert missing.exit_code == 1 and "does not exist" in missing.output
        wrong = runner.invoke(app, ["import-dataset", str(tmp_path), "--images", "x", *base])
        assert wrong.exit_code == 2 and "--images must be" in wrong.output
