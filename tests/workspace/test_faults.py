"""The ground giving way under a workspace, for real: a full disk during an import, an export
and a decision; a read-only mount; the database file deleted or replaced while it is open; a
clock that runs backwards. Small tmpfs disks (tests/disks.py), real photos, the real command."""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from faceloop.cli import app
from faceloop.datasets.export import DatasetOptions, export_workspace
from faceloop.db.models import BlobJournal, Decision, FaceLabel, Image, utcnow
from faceloop.ingest.run import import_photos
from faceloop.labels.activity import activity
from faceloop.labels.decisions import PERSON, decide, undo
from faceloop.labels.person_ops import create_person, rename_person
from faceloop.workspace import (
    DatabaseReplaced,
    DiskFull,
    ReadOnlyWorkspace,
    init_workspace,
    open_workspace,
)
from tests.builders import add_photo
from tests.disks import pull_database, faceloop, fill, remount, small_disk

BIG_PHOTO = Path("known/test/alex_lacamoire1.jpg")  # 774 KB: more than a full disk has left
PHOTO = Path("known/test/obama1.jpg")  # 79 KB, one face


def integrity(database: Path) -> str:
    with sqlite3.connect(database) as connection:
        return connection.execute("PRAGMA integrity_check").fetchone()[0]


def blobs_whole(root: Path) -> list[Path]:
    """Every file in the blob store, after checking each holds exactly the bytes its name
    (their SHA-256) promises and none is a leftover temporary."""
    files = sorted(p for p in (root / "blobs").rglob("*") if p.is_file())
    for path in files:
        assert not path.name.startswith(".tmp-"), path
        assert hashlib.sha256(path.read_bytes()).hexdigest() == path.name, path
    return files


def one_error_line(stderr: str, start: str) -> None:
    assert "Traceback" not in stderr, stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert lines and lines[-1].startswith(start), stderr
    assert sum(line.startswith("error:") for line in lines) == 1, stderr


# ------------------------------------------------------------------ a full disk


def test_an_import_on_a_full_disk_stops_cleanly_and_the_rerun_completes(
    tmp_path, shared_data
) -> None:
    with small_disk(tmp_path / "disk", 6 * 1024) as disk:
        root = disk / "ws"
        init_workspace(root).close()
        filler = fill(disk, leave=48 * 1024)
        done = faceloop("import", str(shared_data / BIG_PHOTO), "--workers", "1", "-w", str(root))
        assert done.returncode == 1, done.stdout + done.stderr
        one_error_line(done.stderr, "error: the disk is full: nothing more fits in")
        blobs_whole(root)
        assert integrity(root / "faceloop.db") == "ok"

        filler.unlink()
        with open_workspace(root) as ws:
            with ws.reader() as session:
                assert session.scalar(select(func.count(Image.id))) == 0
            summary = import_photos(ws, [shared_data / BIG_PHOTO], workers=1)
            assert (summary.imported, summary.failed) == (1, 0)
            again = import_photos(ws, [shared_data / BIG_PHOTO], workers=1)
            assert (again.imported, again.exact_duplicates) == (0, 1)
            with ws.reader() as session:
                assert session.scalar(select(func.count(Image.id))) == 1
                assert session.scalar(select(func.count()).select_from(BlobJournal)) == 0
        # the face blobs the stopped import wrote went with its journal: only stored ones left
        assert len(blobs_whole(root)) == 1 + 2 * summary.faces
        assert integrity(root / "faceloop.db") == "ok"


def test_a_decision_on_a_full_disk_is_refused_whole(tmp_path) -> None:
    with small_disk(tmp_path / "disk", 2 * 1024) as disk:
        with init_workspace(disk / "ws") as ws:
            _, (face,) = add_photo(ws, 1)
            with ws.transaction() as session:
                person = create_person(session, "Ada", ws.owner_id())
            filler = fill(disk)
            with pytest.raises(DiskFull, match="^the disk is full: "):
                with ws.transaction() as session:
                    decide(session, face, PERSON, person_id=person)
            with ws.reader() as session:
                assert session.scalar(select(func.count(Decision.id))) == 0
                assert session.get(FaceLabel, face) is None
            filler.unlink()
            with ws.transaction() as session:
                decide(session, face, PERSON, person_id=person)
            with ws.reader() as session:
                assert session.get(FaceLabel, face).person_id == person
        assert integrity(disk / "ws" / "faceloop.db") == "ok"
        open_workspace(disk / "ws").close()


def test_an_export_to_a_full_disk_leaves_nothing_and_says_so(orl_workspace, tmp_path) -> None:
    runner = CliRunner(env={"COLUMNS": "80"})
    with small_disk(tmp_path / "disk", 2048) as disk:
        out = disk / "out"
        filler = fill(disk, leave=16 * 1024)
        result = runner.invoke(
            app,
            [
                "export",
                str(out),
                "-f",
                "imagefolder",
                "--min-per-class",
                "5",
                "-w",
                str(orl_workspace.root),
            ],
        )
        assert result.exit_code == 1, result.output
        one_error_line(result.output, "error: the disk is full: nothing more fits in")
        assert not out.exists() or list(out.iterdir()) == []

        with pytest.raises(DiskFull):
            export_workspace(orl_workspace, out, DatasetOptions(format="csv", min_per_class=5))
        assert list(out.iterdir()) == []

        filler.unlink()
        done = export_workspace(
            orl_workspace, out, DatasetOptions(format="imagefolder", min_per_class=5)
        )
        assert done.summary.faces > 0
        assert (out / "README.md").is_file()


# ------------------------------------------------------------------ a read-only workspace


def test_a_read_only_workspace_refuses_writes_and_still_answers_reads(
    tmp_path, shared_data
) -> None:
    with small_disk(tmp_path / "disk", 4 * 1024) as disk:
        root = disk / "ws"
        with init_workspace(root) as ws:
            import_photos(ws, [shared_data / PHOTO], workers=1)
        remount(disk, "ro")

        with pytest.raises(ReadOnlyWorkspace, match=f"^the workspace {root} is read-only"):
            open_workspace(root)
        for command in (["import", str(shared_data / PHOTO)], ["cluster"], ["forget", "x"]):
            done = faceloop(*command, "-w", str(root))
            assert done.returncode == 2, done.stdout + done.stderr
            one_error_line(done.stderr, f"error: the workspace {root} is read-only")

        done = faceloop("status", "-w", str(root))
        assert done.returncode == 0, done.stderr
        assert "photos" in done.stdout and "1" in done.stdout
        done = faceloop(
            "export", str(tmp_path / "out"), "-f", "csv", "--min-per-class", "1", "-w", str(root)
        )
        assert "Traceback" not in done.stderr
        with open_workspace(root, read_only_ok=True) as ws:
            assert ws.read_only
            with ws.reader() as session:
                assert session.scalar(select(func.count(Image.id))) == 1
            with pytest.raises(ReadOnlyWorkspace):
                with ws.transaction() as session:
                    create_person(session, "Ada", None)
        assert not (root / "faceloop.db-wal").exists()


def test_a_read_only_copy_left_with_a_wal_shows_its_last_commits(tmp_path) -> None:
    """A workspace copied (or its disk remounted) while faceloop ran keeps its last commits in
    the WAL file: opened read-only, they are read, not silently left out."""
    with init_workspace(tmp_path / "live") as live:
        add_photo(live, 1)
        with sqlite3.connect(live.root / "faceloop.db") as holder:
            holder.execute("PRAGMA wal_autocheckpoint=0")
            add_photo(live, 2, folder="/photos/b")
            with small_disk(tmp_path / "disk", 4 * 1024) as disk:
                shutil.copytree(live.root, disk / "ws")
                assert (disk / "ws" / "faceloop.db-wal").stat().st_size > 0
                remount(disk, "ro")
                with open_workspace(disk / "ws", read_only_ok=True) as ws:
                    with ws.reader() as session:
                        assert session.scalar(select(func.count(Image.id))) == 2


# ------------------------------------------------------------------ the database file replaced


@pytest.mark.parametrize("how", ["deleted", "replaced"])
def test_a_database_file_deleted_or_replaced_under_an_open_workspace_is_refused(
    tmp_path, how
) -> None:
    ws = init_workspace(tmp_path / "ws")
    try:
        _, (face,) = add_photo(ws, 1)
        with ws.transaction() as session:
            person = create_person(session, "Ada", ws.owner_id())
        pull_database(ws.root / "faceloop.db", how, tmp_path)
        with pytest.raises(DatabaseReplaced, match="deleted or replaced while faceloop"):
            with ws.transaction() as session:
                decide(session, face, PERSON, person_id=person)
        with pytest.raises(DatabaseReplaced):
            with ws.reader() as session:
                session.scalar(select(func.count(Decision.id)))
    finally:
        ws.close()
    if how == "replaced":
        with open_workspace(tmp_path / "ws") as again:
            with again.reader() as session:
                assert session.scalar(select(func.count(Decision.id))) == 0


# ------------------------------------------------------------------ a clock that runs backwards


@pytest.fixture
def backwards_clock(monkeypatch) -> list[datetime]:
    """Every faceloop module's `utcnow` (the clock, as the code sees it) goes back an hour at
    each call; returns the times it gave."""
    given: list[datetime] = []
    start = utcnow()

    def clock() -> datetime:
        given.append(start - timedelta(hours=len(given)))
        return given[-1]

    for name, module in list(sys.modules.items()):
        if name.startswith("faceloop") and getattr(module, "utcnow", None) is utcnow:
            monkeypatch.setattr(module, "utcnow", clock)
    return given


def test_with_the_clock_going_backwards_order_is_the_order_of_events(
    workspace, backwards_clock
) -> None:
    ws = workspace
    _, (face, other) = add_photo(ws, 2)
    owner = ws.owner_id()
    with ws.transaction() as session:
        ada = create_person(session, "Ada", owner)
        bea = create_person(session, "Bea", owner)
    with ws.transaction() as session:
        decide(session, face, PERSON, person_id=ada, user_id=owner)
    with ws.transaction() as session:
        second = decide(session, face, PERSON, person_id=bea, user_id=owner)
    with ws.transaction() as session:
        rename_person(session, bea, "Beatrix", owner)
    with ws.transaction() as session:
        third = decide(session, other, PERSON, person_id=ada, user_id=owner)
    with ws.transaction() as session:
        undone = undo(session, second.id, owner)
    assert len(backwards_clock) >= 4

    with ws.reader() as session:
        # the latest decision wins, the undo took back the one it names: face back to Ada
        assert session.get(FaceLabel, face).person_id == ada
        assert session.get(FaceLabel, other).decision_id == third.id
        stamps = list(session.scalars(select(Decision.created_at).order_by(Decision.id)))

    newest_first = [(e.kind, e.action) for e in activity(ws).entries]
    assert newest_first == [
        ("decision", "undo"),
        ("decision", PERSON),
        ("person", "rename"),
        ("decision", PERSON),
        ("decision", PERSON),
        ("person", "create"),
        ("person", "create"),
    ]
    assert activity(ws).entries[0].id == undone.id
    # each action stamped after the one before: time says "no earlier than" while it is back
    assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)
    paged, before = [], None
    while True:
        page = activity(ws, limit=2, before=before)
        paged += [(e.kind, e.id) for e in page.entries]
        if page.next_before is None:
            break
        before = page.next_before
    assert paged == [(e.kind, e.id) for e in activity(ws).entries]
