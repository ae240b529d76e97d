"""The workspace as a dataset: classes and splits, every format round trip through a new
workspace, TFRecord checked by an independent reader, Parquet by Hugging Face `datasets`,
provenance in the manifests, and `faceloop export` itself. Real ORL and known photos."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import shutil
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import select, update
from typer.testing import CliRunner

from faceloop.cli import app
from faceloop.datasets.export import (
    DatasetOptions,
    NothingToExport,
    export_workspace,
    plan_export,
)
from faceloop.datasets.importing import import_dataset
from faceloop.db.models import Account, Decision, FaceLabel, ImageOrigin, Person, Post, Source
from faceloop.export import read_dataset
from faceloop.export.splits import quotas
from faceloop.ingest.run import import_photos
from faceloop.labels.decisions import NOT_FACE, decide
from faceloop.labels.person_ops import create_person, merge_people, set_hidden
from faceloop.options import ExportFormat, OptionError
from faceloop.workspace import init_workspace
from tests.conftest import DATA, ORL_PEOPLE, ORL_PHOTOS

FORMATS = ("tfrecord", "imagefolder", "parquet", "csv")
KIT, ROSE = "kit harington", "rose leslie"  # the folders kit_harington and rose_leslie


def face_ids_of(ws, name: str) -> list[int]:
    with ws.reader() as session:
        person = session.scalar(select(Person.id).where(Person.name == name))
        return list(
            session.scalars(
                select(FaceLabel.face_id)
                .where(FaceLabel.person_id == person)
                .order_by(FaceLabel.face_id)
            )
        )


def by_image(folder: Path) -> dict[str, tuple[str | None, str]]:
    """sha256 of each exported image -> (person, split), read back with faceloop's reader."""
    reader = read_dataset(folder)
    found = {hashlib.sha256(f.image).hexdigest(): (f.person_name, f.split) for f in reader}
    assert reader.problems == []
    return found


def test_classes_other_and_exactly_stratified_splits(orl_workspace) -> None:
    ws = orl_workspace
    with ws.transaction() as session:
        # Cleo becomes small (3 of 6 faces marked not-a-face), Dmitri is merged into Ada
        for face_id in face_ids_of(ws, "Cleo")[:3]:
            decide(session, face_id, NOT_FACE)
        ada = session.scalar(select(Person.id).where(Person.name == "Ada"))
        dmitri = session.scalar(select(Person.id).where(Person.name == "Dmitri"))
        merge_people(session, dmitri, ada, None)
        hidden = create_person(session, "Hidden", None)
        for face_id in face_ids_of(ws, "ボブ")[:2]:
            decide(session, face_id, "person", person_id=hidden)
        set_hidden(session, hidden, True, None)
    plan = plan_export(ws, DatasetOptions(min_per_class=4, other_ratio=0.25, seed=3))
    names = {i.label: (i.name, i.aliases) for i in plan.labels_info.values()}
    # Ada (with Dmitri's 6 faces and his name as an alias) and ボブ (4 left) are targets
    assert names == {0: (None, ()), 1: ("Ada", ("Dmitri",)), 2: ("ボブ", ())}
    counts = Counter(plan.labels.tolist())
    assert counts[1] == 12 and counts[2] == 4
    # other: Cleo's 3 faces and the 3 not-a-face, sampled to a quarter of the dataset
    assert counts[0] == round(0.25 / 0.75 * 16) == 5
    for label, info in plan.labels_info.items():
        n = counts[label]
        assert tuple(info.per_split.values()) == quotas(n, (0.8, 0.1, 0.1))
    assert plan.people == 2 and plan.labelled == 22

    again = plan_export(ws, DatasetOptions(min_per_class=4, other_ratio=0.25, seed=3))
    assert again.face_ids.tolist() == plan.face_ids.tolist()
    assert again.splits.tolist() == plan.splits.tolist()
    with pytest.raises(NothingToExport, match="no person has 50 labelled faces"):
        plan_export(ws, DatasetOptions(min_per_class=50))
    with pytest.raises(ValueError, match="no person called 'Zed'"):
        plan_export(ws, DatasetOptions(min_per_class=5, people=("Zed",)))
    only = plan_export(ws, DatasetOptions(min_per_class=4, other_ratio=0.0, people=("ぼぶ",)))
    assert [i.name for i in only.labels_info.values()] == ["ボブ"] and only.faces == 4
    small = plan_export(ws, DatasetOptions(min_per_class=4, people=("ada", "Cleo")))
    assert any("Cleo has 3 labelled faces" in note for note in small.notes)


@pytest.mark.parametrize("fmt", FORMATS)
def test_round_trip_through_a_new_workspace(orl_workspace, tmp_path, fmt) -> None:
    options = DatasetOptions(
        format=fmt, min_per_class=5, other_ratio=0.0, seed=11, fractions=(0.6, 0.2, 0.2)
    )
    first = export_workspace(orl_workspace, tmp_path / "first", options)
    assert first.summary.faces == 24 and first.summary.per_split["validation"] == 4
    exported = by_image(tmp_path / "first")
    assert Counter(person for person, _ in exported.values()) == Counter(
        {name: ORL_PHOTOS for name in ORL_PEOPLE.values()}
    )

    with init_workspace(tmp_path / "new") as ws:
        summary = import_dataset(ws, tmp_path / "first")
        assert (summary.read, summary.added, summary.labelled) == (24, 24, 24)
        assert sorted(summary.people_created) == sorted(ORL_PEOPLE.values())
        assert summary.problems == []
        # a different seed: imported faces keep the splits they came with
        second = export_workspace(
            ws,
            tmp_path / "second",
            DatasetOptions(format=fmt, seed=99, min_per_class=5, other_ratio=0.0),
        )
        rerun = import_dataset(ws, tmp_path / "first")
        assert (rerun.added, rerun.labelled, rerun.already) == (0, 0, 24)
    assert second.summary.per_split == first.summary.per_split
    # the 112 px crops come back byte for byte, with the same person and split each
    assert by_image(tmp_path / "second") == exported


def test_tfrecord_read_by_an_independent_reader(orl_workspace, tmp_path) -> None:
    from tests.export.test_tfrecord_independent import independent_records, parse

    options = DatasetOptions(min_per_class=5, other_ratio=0.0)
    export_workspace(orl_workspace, tmp_path / "out", options)
    labels = json.loads((tmp_path / "out" / "labels.json").read_text("utf-8"))
    with (tmp_path / "out" / "manifest.csv").open(encoding="utf-8", newline="") as file:
        manifest = {int(row["face_id"]): row for row in csv.DictReader(file)}
    seen = []
    for shard in sorted((tmp_path / "out").glob("*.tfrecord")):
        for data in independent_records(shard):  # both CRCs checked on every record
            features = parse(data)
            assert sorted(features) == ["id", "image_raw", "label"]
            face_id, label = features["id"][0], features["label"][0]
            row = manifest[face_id]
            assert labels[str(label)]["name"] == row["person"]
            assert shard.name.startswith(row["split"] + "-")
            with Image.open(io.BytesIO(features["image_raw"][0])) as image:
                image.load()
                assert image.size == (112, 112) and image.format == "JPEG"
            seen.append(face_id)
    assert sorted(seen) == sorted(manifest) and len(seen) == 24

    export_workspace(
        orl_workspace,
        tmp_path / "common",
        DatasetOptions(min_per_class=5, other_ratio=0.0, common_keys=True, crop="150"),
    )
    record = independent_records(next((tmp_path / "common").glob("train-*.tfrecord")))[0]
    features = parse(record)
    assert features["image/format"] == [b"jpeg"]
    with Image.open(io.BytesIO(features["image/encoded"][0])) as image:
        assert image.size == (150, 150)


def test_parquet_loads_with_hugging_face_datasets(orl_workspace, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    import datasets

    options = DatasetOptions(
        format="parquet", min_per_class=5, other_ratio=0.0, fractions=(0.6, 0.2, 0.2)
    )
    result = export_workspace(orl_workspace, tmp_path / "out", options)
    loaded = datasets.load_dataset(str(tmp_path / "out"), cache_dir=str(tmp_path / "cache"))
    assert {s: len(loaded[s]) for s in loaded} == result.summary.per_split
    row = loaded["train"][0]
    assert row["person"] in ORL_PEOPLE.values() and row["label"] in (1, 2, 3, 4)
    assert row["image"].size == (112, 112) and len(row["embedding"]) == 128
    assert row["label_origin"] == "import" and row["labelled_by"] == "owner"


@pytest.fixture(scope="module")
def known_template(tmp_path_factory) -> Path:
    """Photos of Kit Harington and Rose Leslie imported by folder with `faceloop import`, and
    a photo of the two, whose faces are labelled by hand."""
    if not DATA.is_dir():
        pytest.fail(f"the shared test photos are not at {DATA}")
    base = tmp_path_factory.mktemp("known")
    for name in ("kit_harington", "rose_leslie"):
        shutil.copytree(DATA / "known" / "train" / name, base / "photos" / name)
    shutil.copy(DATA / "group" / "face_recognition_kit_with_rose.jpg", base / "group.jpg")
    with init_workspace(base / "ws") as ws:
        import_photos(ws, [base / "photos"], by_folder=True, workers=1)
        import_photos(ws, [base / "group.jpg"], workers=1)
        with ws.transaction() as session:
            people = dict(session.execute(select(Person.name, Person.id)).all())
            group = session.scalar(
                select(ImageOrigin.image_id).where(ImageOrigin.path.like("%group.jpg"))
            )
            from faceloop.db.models import Face

            faces = session.execute(
                select(Face.id, Face.left).where(Face.image_id == group).order_by(Face.left)
            ).all()
            assert len(faces) == 2
            # Rose on the left, Kit on the right
            owner = ws.owner_id()
            decide(session, faces[0].id, "person", person_id=people[ROSE], user_id=owner)
            decide(session, faces[1].id, "person", person_id=people[KIT], user_id=owner)
    return base / "ws"


@pytest.fixture
def known_workspace(known_template, tmp_path):
    from faceloop.workspace import open_workspace

    shutil.copytree(known_template, tmp_path / "ws")
    with open_workspace(tmp_path / "ws") as ws:
        yield ws


def test_manifest_says_where_each_face_came_from_and_who_labelled_it(
    known_workspace, tmp_path
) -> None:
    ws = known_workspace
    with ws.transaction() as session:
        origin = session.scalar(select(ImageOrigin).where(ImageOrigin.path.like("%group.jpg")))
        source = session.get(Source, origin.source_id)
        account = Account(source_id=source.id, handle="@whitehouse")
        session.add(account)
        session.flush()
        post = Post(
            source_id=source.id,
            account_id=account.id,
            external_id="p1",
            url="https://example.com/p/1",
            posted_at=datetime(2024, 5, 1, 12, 0),
        )
        session.add(post)
        session.flush()
        origin.post_id = post.id
    options = DatasetOptions(format="csv", min_per_class=1, other_ratio=0.0)
    export_workspace(ws, tmp_path / "out", options)
    with (tmp_path / "out" / "manifest.csv").open(encoding="utf-8", newline="") as file:
        rows = list(csv.DictReader(file))
    assert Counter(r["person"] for r in rows) == Counter({KIT: 3, ROSE: 3})
    for row in rows:
        assert row["source_kind"] == "folder" and row["labelled_by"] == "owner"
        assert row["labelled_at"].endswith("Z") and len(row["photo_sha256"]) == 64
        assert (tmp_path / "out" / row["file"]).is_file()
    group = [r for r in rows if r["photo_path"].endswith("group.jpg")]
    assert {r["label_origin"] for r in group} == {"manual"}
    assert {r["label_origin"] for r in rows if r not in group} == {"import"}
    assert {(r["account"], r["post_url"], r["posted_at"]) for r in group} == {
        ("@whitehouse", "https://example.com/p/1", "2024-05-01T12:00:00Z")
    }
    left, right = sorted(group, key=lambda r: int(r["box_left"]))
    assert (left["person"], right["person"]) == (ROSE, KIT)


def test_whole_photos_find_their_face_again_by_the_box(known_workspace, tmp_path) -> None:
    options = DatasetOptions(format="parquet", min_per_class=1, other_ratio=0.0, crop="photo")
    export_workspace(known_workspace, tmp_path / "out", options)
    with init_workspace(tmp_path / "new") as ws:
        summary = import_dataset(ws, tmp_path / "out")
        assert summary.problems == [] and summary.labelled == 6
        # the photo of the two was stored once; each face got its own person
        again = export_workspace(
            ws,
            tmp_path / "again",
            DatasetOptions(format="csv", crop="photo", min_per_class=1, other_ratio=0.0),
        )
    with (tmp_path / "again" / "manifest.csv").open(encoding="utf-8", newline="") as file:
        rows = list(csv.DictReader(file))
    shared = [r for r in rows if Counter(x["photo_sha256"] for x in rows)[r["photo_sha256"]] == 2]
    assert [r["person"] for r in sorted(shared, key=lambda r: int(r["box_left"]))] == [ROSE, KIT]
    assert again.summary.faces == 6


def test_since_exports_the_recent_faces_with_the_splits_of_a_full_export(
    orl_workspace, tmp_path
) -> None:
    ws = orl_workspace
    old = face_ids_of(ws, "Ada")[:3] + face_ids_of(ws, "Cleo")
    with ws.transaction() as session:
        decisions = select(FaceLabel.decision_id).where(FaceLabel.face_id.in_(old))
        session.execute(
            update(Decision)
            .where(Decision.id.in_(decisions))
            .values(created_at=datetime(2020, 1, 1))
        )
    full = plan_export(ws, DatasetOptions(min_per_class=5, other_ratio=0.0))
    since = datetime(2020, 1, 1) + timedelta(days=1)
    recent = plan_export(ws, DatasetOptions(min_per_class=5, other_ratio=0.0, since=since.date()))
    assert recent.faces == 24 - len(old) == 15
    whole = dict(zip(full.face_ids.tolist(), full.splits.tolist(), strict=True))
    assert all(
        whole[f] == s for f, s in zip(recent.face_ids.tolist(), recent.splits.tolist(), strict=True)
    )
    assert not set(recent.face_ids.tolist()) & set(old)
    with pytest.raises(NothingToExport, match="since"):
        plan_export(ws, DatasetOptions(min_per_class=5, since=datetime(2100, 1, 1)))


def test_an_interrupted_export_leaves_no_file_under_a_final_name(orl_workspace, tmp_path) -> None:
    def interrupt(done: int, total: int) -> None:
        if done >= 10:
            raise KeyboardInterrupt

    out = tmp_path / "out"
    with pytest.raises(KeyboardInterrupt):
        export_workspace(orl_workspace, out, DatasetOptions(min_per_class=5), progress=interrupt)
    assert list(out.iterdir()) == []


def test_the_export_command(orl_workspace, tmp_path) -> None:
    runner = CliRunner(env={"COLUMNS": "300"})
    base = ["--workspace", str(orl_workspace.root)]
    out = tmp_path / "out"
    result = runner.invoke(
        app,
        [
            "export",
            str(out),
            "-f",
            "imagefolder",
            "--split",
            "0.6,0.2,0.2",
            "--seed",
            "4",
            "--min-per-class",
            "5",
            "--other-ratio",
            "0",
            "--people",
            "Ada",
            "--people",
            "Cleo",
            *base,
        ],
    )
    assert result.exit_code == 0, result.output
    assert "12 faces exported" in result.output and "Cleo" in result.output
    assert sorted(p.name for p in out.iterdir()) == [
        "README.md",
        "contact_sheets",
        "labels.json",
        "manifest.csv",
        "manifest.jsonl",
        "test",
        "train",
        "validation",
    ]
    counts = [len(list((out / s / "Ada").iterdir())) for s in ("train", "validation", "test")]
    assert counts == [4, 1, 1]
    for args, message in [
        (["-f", "xml"], "--format must be one of"),
        (["--split", "0.5,0.5"], "split must be three numbers"),
        (["--min-per-class", "99"], "no person has 99 labelled faces"),
        (["--people", "Nobody", "--min-per-class", "5"], "no person called 'Nobody'"),
        (["--since", "yesterday"], "Invalid isoformat"),
    ]:
        failed = runner.invoke(app, ["export", str(tmp_path / "x"), *args, *base])
        assert failed.exit_code in (1, 2) and message in failed.output, failed.output
        assert "Traceback" not in failed.output
    not_empty = runner.invoke(app, ["export", str(out), "--min-per-class", "5", *base])
    assert not_empty.exit_code == 1 and "is not empty" in not_empty.output


def test_options_are_checked_once_in_the_library_with_the_choices_named() -> None:
    """The CLI and the web pass the words through; the options object itself refuses a bad
    one and says which would do, and a good word becomes its member (equal to the word)."""
    with pytest.raises(OptionError, match=r"format must be one of tfrecord, imagefolder"):
        DatasetOptions(format="xml")
    with pytest.raises(OptionError, match=r"crop must be one of 112, 150, photo, not '99'"):
        DatasetOptions.from_text(crop="99")
    with pytest.raises(ValueError, match="min_per_class must be at least 1"):
        DatasetOptions(min_per_class=0)
    options = DatasetOptions.from_text(format="csv", split="60,20,20", since="2024-05-01")
    assert options.format is ExportFormat.CSV and options.format == "csv"
    assert options.fractions == (0.6, 0.2, 0.2) and options.since == datetime(2024, 5, 1)
