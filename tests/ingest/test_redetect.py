"""`faceloop redetect`: faces found again on stored photos with the current settings, real
photos through real dlib; faces with a decision survive, machine-only faces no longer found go,
and a second run changes nothing."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from sqlalchemy import func, select
from typer.testing import CliRunner

import faceloop
from faceloop.cli import app
from faceloop.db.models import BlobJournal, Decision, Face, FaceLabel, Prediction
from faceloop.db.models import Image as ImageRow
from faceloop.ingest.redetect import iou, match_boxes, redetect, select_photos
from faceloop.ingest.run import CRASH_AFTER_VARIABLE, import_photos
from faceloop.labels.decisions import PERSON, decide
from faceloop.workspace import Workspace, init_workspace, open_workspace
from tests.builders import make_person
from tests.conftest import DATA, needs_data
from tests.ingest.test_ingest import blob_files, referenced_blobs

KNOWN = DATA / "known" / "train"
GROUP = DATA / "group" / "face_recognition_obama_and_biden.jpg"
#: too large for any face in these photos (they are scaled down to find faces this big)
TOO_BIG = 800
SOURCE = Path(faceloop.__file__).resolve().parents[1]


def set_min_face(root: Path, min_face: int) -> None:
    settings = root / "faceloop.toml"
    text = re.sub(r"^min_face = .*$", f"min_face = {min_face}", settings.read_text(), flags=re.M)
    settings.write_text(text)


def reopen(ws: Workspace, min_face: int) -> Workspace:
    """The workspace as the next command sees it after `min_face` was changed in its file."""
    ws.close()
    set_min_face(ws.root, min_face)
    return open_workspace(ws.root)


def faces(ws: Workspace) -> dict[int, tuple[int, int, int, int]]:
    with ws.reader() as session:
        rows = session.execute(select(Face.id, Face.left, Face.top, Face.right, Face.bottom))
        return {row[0]: tuple(row[1:]) for row in rows}


def photo_folders(tmp_path: Path) -> Path:
    """A folder per person: obama/obama.jpg and biden/biden.jpg, one face each."""
    for name in ("obama", "biden"):
        (tmp_path / "photos" / name).mkdir(parents=True)
        shutil.copy(KNOWN / name / f"{name}.jpg", tmp_path / "photos" / name)
    return tmp_path / "photos"


def test_boxes_match_by_overlap_one_to_one() -> None:
    assert iou((0, 0, 10, 10), (0, 0, 10, 10)) == 1.0
    assert iou((0, 0, 10, 10), (20, 20, 30, 30)) == 0.0
    # the best overlap wins; a second found box of the same face is a new face
    stored = [(0, 0, 100, 100), (200, 0, 300, 100)]
    found = [(205, 5, 305, 105), (5, 5, 105, 105), (10, 10, 110, 110), (600, 0, 700, 100)]
    assert match_boxes(stored, found) == {0: 1, 1: 0}


@needs_data
def test_faces_missed_by_a_bad_setting_come_back_and_a_rerun_changes_nothing(
    tmp_path: Path,
) -> None:
    photos = photo_folders(tmp_path)
    ws = init_workspace(tmp_path / "ws")
    ws = reopen(ws, TOO_BIG)
    first = import_photos(ws, [photos], by_folder=True, workers=1)
    assert (first.imported, first.faces, first.labelled) == (2, 0, 0)
    # the import itself cannot help: the photos are stored, so they are exact duplicates now
    ws = reopen(ws, 40)
    again = import_photos(ws, [photos], by_folder=True, workers=1)
    assert (again.exact_duplicates, again.faces) == (2, 0)
    assert faces(ws) == {}

    summary = redetect(ws)
    assert (summary.photos, summary.added, summary.removed, summary.changed) == (2, 2, 0, 2)
    found = faces(ws)
    assert len(found) == 2
    with ws.reader() as session:
        assert sorted(session.scalars(select(ImageRow.face_count))) == [1, 1]
        assert session.scalar(select(func.count()).select_from(BlobJournal)) == 0
    assert blob_files(ws) == referenced_blobs(ws)
    # the faces now found get their folder's name when the folders are imported again
    labelled = import_photos(ws, [photos], by_folder=True, workers=1)
    assert labelled.labelled == 2

    files = blob_files(ws)
    rerun = redetect(ws)
    assert (rerun.added, rerun.removed, rerun.changed, rerun.matched) == (0, 0, 0, 2)
    assert faces(ws) == found
    assert blob_files(ws) == files
    ws.close()


@needs_data
def test_a_labelled_face_survives_and_machine_only_faces_no_longer_found_go(
    tmp_path: Path,
) -> None:
    ws = init_workspace(tmp_path / "ws")
    import_photos(ws, [GROUP], workers=1)
    before = faces(ws)
    assert len(before) == 3
    named, *others = sorted(before)
    person = make_person(ws, "Barack Obama")
    with ws.transaction() as session:
        decide(session, named, PERSON, person_id=person, user_id=ws.owner_id())
    with ws.engine.begin() as connection:
        # a prediction hangs on a face that will go: it must go with it, not dangle
        connection.execute(
            Prediction.__table__.insert().values(
                model_id=_model(connection), face_id=others[0], rank=0, person_id=person, score=0.9
            )
        )

    # settings that find no face at all: the labelled face stays, the other two go
    ws = reopen(ws, TOO_BIG)
    gone = redetect(ws)
    assert (gone.removed, gone.added, gone.kept_unmatched) == (2, 0, 1)
    assert faces(ws) == {named: before[named]}
    with ws.reader() as session:
        label = session.get(FaceLabel, named)
        assert (label.verdict, label.person_id) == (PERSON, person)
        assert session.scalar(select(func.count()).select_from(Prediction)) == 0
        assert session.scalar(select(ImageRow.face_count)) == 1
    assert blob_files(ws) == referenced_blobs(ws)
    assert redetect(ws).changed == 0

    # settings that find every face again: the labelled one is matched (same id, same box,
    # its decision attached), the two others come back as new faces
    ws = reopen(ws, 120)
    back = redetect(ws)
    assert (back.matched, back.added, back.removed) == (1, 2, 0)
    now = faces(ws)
    assert len(now) == 3 and now[named] == before[named]
    with ws.reader() as session:
        assert session.scalars(select(Decision.face_id)).all() == [named]
        assert session.scalar(select(ImageRow.face_count)) == 3
    assert redetect(ws).changed == 0
    ws.close()


def _model(connection) -> int:
    from faceloop.db.models import Model

    return connection.execute(
        Model.__table__.insert().values(kind="head", classes=[], metrics={}, file="")
    ).inserted_primary_key[0]


@needs_data
def test_photos_are_chosen_by_date_and_person_and_near_copies_are_left_out(
    workspace: Workspace, tmp_path: Path
) -> None:
    from datetime import date, timedelta

    from PIL import Image

    from tests.conftest import jpeg_bytes

    import_photos(workspace, [KNOWN / "obama", KNOWN / "biden"], person=None, workers=1)
    copy = Image.open(KNOWN / "obama" / "obama.jpg").convert("RGB")
    (tmp_path / "again.jpg").write_bytes(jpeg_bytes(copy, quality=60))
    assert import_photos(workspace, [tmp_path / "again.jpg"], workers=1).near_copies == 1
    with workspace.reader() as session:
        originals = sorted(
            session.scalars(select(ImageRow.id).where(ImageRow.near_copy_of_id.is_(None)))
        )
        face = session.scalars(select(Face.id).order_by(Face.id)).first()
    assert len(originals) == 4
    assert select_photos(workspace) == originals
    assert select_photos(workspace, since=date.today() + timedelta(days=1)) == []
    assert select_photos(workspace, since=date.today()) == originals
    person = make_person(workspace, "Barack Obama")
    assert select_photos(workspace, person_id=person) == []
    with workspace.transaction() as session:
        decide(session, face, PERSON, person_id=person, user_id=workspace.owner_id())
        image = session.scalar(select(Face.image_id).where(Face.id == face))
    assert select_photos(workspace, person_id=person) == [image]


@needs_data
def test_the_command_shows_what_changed_and_refuses_bad_options(tmp_path: Path) -> None:
    ws = init_workspace(tmp_path / "ws")
    ws = reopen(ws, TOO_BIG)
    import_photos(ws, [KNOWN / "obama" / "obama.jpg"], workers=1)
    ws.close()
    set_min_face(tmp_path / "ws", 40)
    runner = CliRunner()
    where = ["--workspace", str(tmp_path / "ws")]
    done = runner.invoke(app, ["redetect", "--no-group", *where])
    assert done.exit_code == 0, done.output
    assert "Faces added: 1. Removed (found by no one now): 0." in done.output
    for bad, message in [
        (["--since", "yesterday"], "--since 'yesterday': not a date like 2024-05-31"),
        (["--person", "Nobody"], "--person: no person called 'Nobody'"),
        (["--all", "--since", "2024-01-01"], "use --all alone"),
    ]:
        refused = runner.invoke(app, ["redetect", *bad, *where])
        assert refused.exit_code == 2, refused.output
        assert message in refused.output


@needs_data
def test_a_run_killed_after_one_photo_finishes_on_the_next_without_duplicates(
    tmp_path: Path,
) -> None:
    photos = photo_folders(tmp_path)
    ws = init_workspace(tmp_path / "ws")
    ws = reopen(ws, TOO_BIG)
    assert import_photos(ws, [photos], recursive=True, workers=1).imported == 2
    ws.close()
    set_min_face(tmp_path / "ws", 40)
    env = {**os.environ, "PYTHONPATH": str(SOURCE), CRASH_AFTER_VARIABLE: "1"}
    command = "from faceloop.cli import main; main()"
    killed = subprocess.run(
        [sys.executable, "-c", command, "redetect", "--no-group", "-w", str(tmp_path / "ws")],
        env=env,
        capture_output=True,
        timeout=300,
    )
    assert killed.returncode == -9, killed.stderr
    with open_workspace(tmp_path / "ws") as ws:
        assert len(faces(ws)) == 1
        summary = redetect(ws)
        assert (summary.added, summary.matched) == (1, 1)
        assert len(faces(ws)) == 2
        with ws.reader() as session:
            assert session.scalar(select(func.count()).select_from(BlobJournal)) == 0
        assert blob_files(ws) == referenced_blobs(ws)
