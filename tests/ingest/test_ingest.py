"""Importing real photos: labels from folders, idempotence, near-copies, bad input, crashes."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

from PIL import Image
from sqlalchemy import func, select

from faceloop.db.models import BlobJournal, Decision, Face, FaceLabel, ImageOrigin
from faceloop.db.models import Image as ImageRow
from faceloop.ingest.run import CRASH_AFTER_VARIABLE, import_photos, recover_interrupted
from faceloop.workspace import Workspace, init_workspace
from tests.conftest import DATA, jpeg_bytes, needs_data, noise_image

FACELOOP = str(Path(sys.executable).with_name("faceloop"))
KNOWN = DATA / "known" / "train"
LFW = DATA / "lfw-devtrain"


def count(ws: Workspace, column) -> int:
    with ws.reader() as session:
        return session.scalar(select(func.count(column)))


def blob_files(ws: Workspace) -> set[str]:
    return {p.name for p in ws.blobs.root.glob("*/*/*") if not p.name.startswith(".")}


def referenced_blobs(ws: Workspace) -> set[str]:
    with ws.reader() as session:
        keys = set(session.scalars(select(ImageRow.sha256)))
        for chip, crop in session.execute(select(Face.chip_key, Face.crop_key)):
            keys.update((chip, crop))
    return keys


@needs_data
def test_by_folder_labels_single_face_photos(workspace: Workspace) -> None:
    summary = import_photos(workspace, [KNOWN], by_folder=True, workers=1)
    assert summary.imported == 9
    assert summary.failed == 0
    assert summary.faces == 9
    assert summary.labelled == 9
    with workspace.reader() as session:
        names = session.execute(
            select(Decision.origin, func.count()).group_by(Decision.origin)
        ).all()
        assert names == [("import", 9)]
        people = session.scalars(select(func.count(func.distinct(FaceLabel.person_id)))).one()
        assert people == 5


@needs_data
def test_several_faces_keep_the_folder_as_a_hint(workspace: Workspace, tmp_path: Path) -> None:
    folder = tmp_path / "Barack Obama"
    folder.mkdir()
    shutil.copy(DATA / "group" / "face_recognition_obama_and_biden.jpg", folder / "pair.jpg")
    summary = import_photos(workspace, [tmp_path], by_folder=True, workers=1)
    assert summary.imported == 1 and summary.faces == 3 and summary.labelled == 0
    with workspace.reader() as session:
        image = session.scalars(select(ImageRow)).one()
        assert image.face_count == 3
        assert image.hint_person_id is not None
    assert count(workspace, FaceLabel.face_id) == 0


@needs_data
def test_person_option_names_everyone(workspace: Workspace) -> None:
    summary = import_photos(workspace, [KNOWN / "obama"], person="Barack Obama", workers=1)
    assert summary.labelled == 2


@needs_data
def test_import_twice_adds_nothing(workspace: Workspace) -> None:
    import_photos(workspace, [KNOWN], by_folder=True, workers=1)
    before = (count(workspace, ImageRow.id), count(workspace, Face.id), blob_files(workspace))
    decisions = count(workspace, Decision.id)
    again = import_photos(workspace, [KNOWN], by_folder=True, workers=1)
    assert again.imported == 0
    assert again.exact_duplicates == 9
    after = (count(workspace, ImageRow.id), count(workspace, Face.id), blob_files(workspace))
    assert after == before
    assert count(workspace, Decision.id) == decisions


@needs_data
def test_near_copy_is_linked_not_added(workspace: Workspace, tmp_path: Path) -> None:
    original = KNOWN / "biden" / "biden.jpg"
    import_photos(workspace, [original], workers=1)
    image = Image.open(original).convert("RGB")
    smaller = image.resize((image.width * 3 // 4, image.height * 3 // 4))
    copy = tmp_path / "reposted.jpg"
    copy.write_bytes(jpeg_bytes(smaller, quality=70))
    faces_before = count(workspace, Face.id)
    summary = import_photos(workspace, [copy], workers=1)
    assert summary.near_copies == 1 and summary.imported == 0
    assert count(workspace, Face.id) == faces_before
    with workspace.reader() as session:
        linked = session.scalars(
            select(ImageRow).where(ImageRow.near_copy_of_id.is_not(None))
        ).one()
        assert linked.size_bytes == len(copy.read_bytes())


@needs_data
def test_near_copy_in_a_person_folder_labels_the_original(
    workspace: Workspace, tmp_path: Path
) -> None:
    import_photos(workspace, [KNOWN / "obama" / "obama.jpg"], workers=1)
    folder = tmp_path / "obama"
    folder.mkdir()
    image = Image.open(KNOWN / "obama" / "obama.jpg").convert("RGB")
    (folder / "again.jpg").write_bytes(jpeg_bytes(image, quality=60))
    summary = import_photos(workspace, [tmp_path], by_folder=True, workers=1)
    assert summary.near_copies == 1 and summary.labelled == 1


@needs_data
def test_pool_and_in_process_store_the_same(tmp_path: Path) -> None:
    photos = sorted(LFW.glob("A*/*.jpg"))[:12]
    results = []
    for workers in (1, 2):
        with init_workspace(tmp_path / f"ws{workers}") as ws:
            summary = import_photos(ws, photos, workers=workers)
            with ws.reader() as session:
                rows = session.execute(
                    select(ImageRow.sha256, func.count(Face.id))
                    .join(Face, isouter=True)
                    .group_by(ImageRow.sha256)
                ).all()
            results.append((summary.imported, sorted(rows)))
    assert results[0] == results[1]


def make_bad_folder(root: Path, good: Path) -> dict[str, str]:
    """Every kind of bad input, beside good photos; returns file name -> expected reason."""
    root.mkdir()
    shutil.copy(good, root / "good.jpg")
    data = good.read_bytes()
    (root / "empty.jpg").write_bytes(b"")
    (root / "truncated.jpg").write_bytes(data[: len(data) // 3])
    (root / "page.jpg").write_bytes(b"<html><body>Not found</body></html>")
    (root / "notes.png").write_bytes(b"shopping list: milk, eggs")
    from tests.vision.test_decode import png_header_only

    (root / "bomb.png").write_bytes(png_header_only(20000, 20000))
    (root / "thin.png").write_bytes(png_header_only(30000, 20))
    os.symlink("loop-b.jpg", root / "loop-a.jpg")
    os.symlink("loop-a.jpg", root / "loop-b.jpg")
    os.symlink("missing.jpg", root / "dangling.jpg")
    os.mkfifo(root / "pipe.jpg")
    (root / "sub").mkdir()
    os.symlink("..", root / "sub" / "up")
    os.symlink(".", root / "sub" / "here")
    (root / "README.txt").write_text("not a photo, and ignored by extension")
    os.rename(root / "good.jpg", os.fsencode(root) + b"/caf\xe9.jpg")
    noise_image(80, 60).save(root / "noface.png")
    return {
        "empty.jpg": "empty file",
        "truncated.jpg": "truncated or corrupt JPEG",
        "page.jpg": "HTML page",
        "notes.png": "the file is text",
        "bomb.png": "decompression bomb",
        "thin.png": "absurd dimensions",
        "loop-a.jpg": "symbolic link loop",
        "loop-b.jpg": "symbolic link loop",
        "dangling.jpg": "broken symbolic link",
        "pipe.jpg": "not a regular file",
        "caf\\xe9.jpg": "not valid UTF-8",
    }


def report_lines(path: Path) -> dict[str, str]:
    lines = {}
    for line in path.read_text("utf-8").splitlines():
        if line.startswith("#"):
            continue
        kind, shown, reason = line.split("\t")
        lines[Path(shown).name] = f"{kind}: {reason}"
    return lines


@needs_data
def test_bad_input_is_reported_and_the_rest_imported(workspace: Workspace, tmp_path: Path) -> None:
    expected = make_bad_folder(tmp_path / "bad", KNOWN / "biden" / "biden.jpg")
    import_photos(workspace, [KNOWN / "obama"], workers=1)
    stored = blob_files(workspace)
    summary = import_photos(workspace, [tmp_path / "bad"], recursive=True, workers=1)
    assert summary.imported == 2  # the photo with a non-UTF-8 name, and the one without faces
    assert summary.without_faces == 1
    lines = report_lines(summary.report)
    for name, reason in expected.items():
        assert reason in lines[name], (name, lines.get(name))
    assert "folder already visited" in lines["up"] or "folder already visited" in lines["here"]
    assert "README.txt" not in lines
    assert stored <= blob_files(workspace)  # nothing already stored was touched
    with workspace.reader() as session:
        paths = session.scalars(select(ImageOrigin.path)).all()
    assert any(p.endswith("caf\\xe9.jpg") for p in paths)


def run_cli(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([FACELOOP, *args], capture_output=True, text=True, timeout=600, **kwargs)


@needs_data
def test_cli_exit_status(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    assert run_cli("init", str(ws)).returncode == 0
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "a.jpg").write_bytes(b"")
    (bad / "b.jpg").write_text("hello")
    failed = run_cli("import", str(bad), "--workspace", str(ws), "--workers", "1")
    assert failed.returncode == 1
    assert "nothing could be imported" in failed.stderr
    mixed = run_cli(
        "import", str(bad), str(KNOWN / "obama"), "-r", "--workspace", str(ws), "--workers", "1"
    )
    assert mixed.returncode == 0, mixed.stderr
    assert "Imported 2 photos" in mixed.stdout
    assert "Failed: 2" in mixed.stdout
    # for scripts: the same run fails when anything failed, and still stores what it could
    (bad / "c.jpg").write_bytes(b"\xff\xd8\xff")
    strict = run_cli(
        "import", str(bad), str(KNOWN / "biden"), "-r", "--strict", "-w", str(ws), "--workers", "1"
    )
    assert strict.returncode == 1, strict.stdout
    assert "3 file(s) failed" in strict.stderr
    assert "Imported 2 photos" in strict.stdout
    status = run_cli("status", "--workspace", str(ws))
    assert status.returncode == 0
    assert "photos" in status.stdout


def test_cli_without_workspace_says_what_to_do(tmp_path: Path) -> None:
    result = run_cli("status", cwd=tmp_path, env={**os.environ, "FACELOOP_WORKSPACE": ""})
    assert result.returncode == 2
    assert "no faceloop workspace" in result.stderr
    assert "faceloop init" in result.stderr
    assert "Traceback" not in result.stderr


NO_DAC = "-dac_override,-dac_read_search"
AS_UNPRIVILEGED = (
    ["setpriv", f"--inh-caps={NO_DAC}", f"--bounding-set={NO_DAC}"] if os.geteuid() == 0 else []
)


@needs_data
def test_unreadable_file(tmp_path: Path) -> None:
    """Root reads every file, so there the import runs without the capabilities that allow it."""
    folder = tmp_path / "photos"
    folder.mkdir()
    shutil.copy(KNOWN / "obama" / "obama.jpg", folder / "ok.jpg")
    locked = folder / "locked.jpg"
    shutil.copy(KNOWN / "biden" / "biden.jpg", locked)
    locked.chmod(0)
    ws = tmp_path / "ws"
    assert run_cli("init", str(ws)).returncode == 0
    result = subprocess.run(
        [*AS_UNPRIVILEGED, FACELOOP, "import", str(folder), "-w", str(ws), "--workers", "1"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    assert "Imported 1 photos" in result.stdout
    report = next((ws / "reports").glob("import-*.txt"))
    assert "permission denied" in report_lines(report)["locked.jpg"]


def images_committed(db: Path) -> int:
    try:
        with sqlite3.connect(db, timeout=5) as connection:
            return connection.execute("select count(*) from image").fetchone()[0]
    except sqlite3.Error:
        return 0


@needs_data
def test_killed_import_resumes_without_duplicates(tmp_path: Path) -> None:
    photos = tmp_path / "photos"
    photos.mkdir()
    for path in sorted(LFW.glob("B*/*.jpg"))[:30]:
        shutil.copy(path, photos / path.name)
    ws = tmp_path / "ws"
    run_cli("init", str(ws))
    for crash_after, committed in ((4, 4), (11, 15)):
        process = subprocess.Popen(
            [FACELOOP, "import", str(photos), "-w", str(ws)],
            env={**os.environ, CRASH_AFTER_VARIABLE: str(crash_after)},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        assert process.wait(timeout=600) == -signal.SIGKILL
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)  # worker processes the crash left behind
        assert images_committed(ws / "faceloop.db") == committed
    assert run_cli("import", str(photos), "-w", str(ws)).returncode == 0

    with init_workspace(ws) as resumed, init_workspace(tmp_path / "clean") as reference:
        import_photos(reference, [photos], workers=1)
        assert blob_files(resumed) == referenced_blobs(resumed)
        assert count(resumed, BlobJournal.key) == 0
        for table in (ImageRow.id, Face.id):
            assert count(resumed, table) == count(reference, table)
        with resumed.reader() as session:
            shas = session.scalars(select(ImageRow.sha256)).all()
        assert len(shas) == len(set(shas))
        assert blob_files(resumed) == blob_files(reference)


def test_recovery_deletes_only_unreferenced_blobs(workspace: Workspace) -> None:
    """The state a kill between writing blobs and committing leaves behind."""
    kept = workspace.blobs.put(b"a photo that was committed")
    with workspace.transaction() as session:
        session.add(
            ImageRow(
                sha256=kept,
                phash=0,
                width=1,
                height=1,
                format="jpeg",
                size_bytes=1,
                face_count=0,
            )
        )
    orphan = workspace.blobs.put(b"a photo whose transaction never committed")
    with workspace.transaction() as session:
        session.add(BlobJournal(key=kept, owner="dead" * 8))
        session.add(BlobJournal(key=orphan, owner="dead" * 8))
    tmp = workspace.blobs.root / "ab" / "cd"
    tmp.mkdir(parents=True)
    (tmp / ".tmp-half-written").write_bytes(b"half")
    assert recover_interrupted(workspace) == 1
    assert workspace.blobs.exists(kept)
    assert not workspace.blobs.exists(orphan)
    assert not (tmp / ".tmp-half-written").exists()
    assert count(workspace, BlobJournal.key) == 0


@needs_data
def test_different_photos_with_similar_layout_are_not_near_copies(workspace: Workspace) -> None:
    """Pairs whose perceptual hashes differ in at most 6 bits, of different people."""
    pairs = [
        ("Mahathir_Mohamad/Mahathir_Mohamad_0001.jpg", "David_Beckham/David_Beckham_0002.jpg"),
        ("Martha_Bowen/Martha_Bowen_0002.jpg", "Gabrielle_Rose/Gabrielle_Rose_0001.jpg"),
        ("Tony_Blair/Tony_Blair_0037.jpg", "Colin_Powell/Colin_Powell_0230.jpg"),
    ]
    summary = import_photos(workspace, [LFW / p for pair in pairs for p in pair], workers=1)
    assert summary.near_copies == 0
    assert summary.imported == 6


@needs_data
def test_by_folder_names_people_with_spaces_and_a_reimport_finds_them(
    workspace: Workspace, tmp_path: Path
) -> None:
    """A folder "Rose_Leslie" is the person Rose Leslie (the folder name kept as an alias);
    another import of a folder so named, or of "kit_harington" after "Kit Harington" was
    made by hand, finds the same person instead of making a second one."""
    from faceloop.db.models import Person, PersonAlias
    from faceloop.labels.person_ops import create_person

    first, second = tmp_path / "first" / "Rose_Leslie", tmp_path / "second" / "Rose_Leslie"
    first.mkdir(parents=True)
    second.mkdir(parents=True)
    shutil.copy(KNOWN / "rose_leslie" / "img1.jpg", first)
    shutil.copy(KNOWN / "rose_leslie" / "img2.jpg", second)
    with workspace.transaction() as session:
        kit = create_person(session, "Kit Harington", None)
    import_photos(workspace, [tmp_path / "first"], by_folder=True, workers=1)
    import_photos(workspace, [tmp_path / "second"], by_folder=True, workers=1)
    import_photos(workspace, [KNOWN / "kit_harington"], by_folder=True, workers=1)
    with workspace.reader() as session:
        people = dict(session.execute(select(Person.name, Person.id)).all())
        aliases = set(session.execute(select(PersonAlias.person_id, PersonAlias.alias)).all())
        labelled = session.execute(
            select(FaceLabel.person_id, func.count()).group_by(FaceLabel.person_id)
        ).all()
    assert set(people) == {"Rose Leslie", "Kit Harington"}
    assert (people["Rose Leslie"], "Rose_Leslie") in aliases
    assert dict(labelled) == {people["Rose Leslie"]: 2, kit: 2}
