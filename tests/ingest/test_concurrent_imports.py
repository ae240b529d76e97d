"""Imports that overlap in one workspace: two `faceloop import` runs, or an upload's import job
and a run from the command line, over the same photos. Both finish, every photo is stored once
with its faces once, and a folder's label is given once."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

from fastapi.testclient import TestClient

from faceloop.jobs import queue as jobs
from faceloop.web.app import WebSettings, create_app
from faceloop.workspace import DATABASE_FILE, init_workspace
from tests.conftest import DATA, needs_data

FACELOOP = str(Path(sys.executable).with_name("faceloop"))
PEOPLE = 12


def some_people(into: Path, people: int = PEOPLE) -> Path:
    """Real photos of the first people with several photos, a folder each, copied beside the
    test so both imports read the same files."""
    everyone = [f for f in sorted((DATA / "lfw-devtrain").iterdir()) if f.is_dir()]
    folders = [f for f in everyone if len(list(f.iterdir())) > 2]
    for folder in folders[:people]:
        shutil.copytree(folder, into / folder.name)
    return into


def files_in(folder: Path) -> int:
    return sum(1 for p in folder.rglob("*") if p.is_file())


def stored(database: Path) -> dict[str, int]:
    with sqlite3.connect(database) as db:
        one = lambda sql: db.execute(sql).fetchone()[0]  # noqa: E731
        return {
            "photos": one("SELECT count(*) FROM image"),
            "sources": one("SELECT count(*) FROM source"),
            "faces twice": one(
                'SELECT count(*) FROM (SELECT image_id, "left", top FROM face '
                'GROUP BY image_id, "left", top HAVING count(*) > 1)'
            ),
            "faces labelled twice": one(
                "SELECT count(*) FROM (SELECT face_id FROM decision "
                "GROUP BY face_id HAVING count(*) > 1)"
            ),
            "labelled": one("SELECT count(DISTINCT face_id) FROM decision"),
            "journal": one("SELECT count(*) FROM blob_journal"),
        }


def start_import(photos: Path, root: Path, log: Path) -> subprocess.Popen:
    args = [FACELOOP, "import", "--by-folder", str(photos), "--workers", "1", "--no-group"]
    return subprocess.Popen(
        [*args, "--workspace", str(root)], stdout=subprocess.DEVNULL, stderr=log.open("w")
    )


@needs_data
def test_two_imports_at_once_store_each_photo_once(tmp_path: Path) -> None:
    photos = some_people(tmp_path / "photos")
    root = tmp_path / "ws"
    init_workspace(root).close()
    logs = [tmp_path / "one.log", tmp_path / "two.log"]
    runs = [start_import(photos, root, log) for log in logs]
    codes = [run.wait(300) for run in runs]
    errors = [log.read_text() for log in logs]
    assert codes == [0, 0], errors
    assert not any("Traceback" in text or "Error" in text for text in errors), errors
    found = stored(root / DATABASE_FILE)
    assert found["photos"] == files_in(photos)
    assert found["sources"] == 1
    assert found["faces twice"] == 0
    assert found["faces labelled twice"] == 0
    assert found["labelled"] > files_in(photos) // 2
    assert found["journal"] == 0


@needs_data
def test_an_upload_job_beside_a_command_line_import(tmp_path: Path) -> None:
    photos = some_people(tmp_path / "photos")
    root = tmp_path / "ws"
    ws = init_workspace(root)
    try:
        with TestClient(create_app(ws, WebSettings(allowed_hosts={"testserver"}))) as client:
            upload = client.post("/api/v1/uploads").json()["upload_id"]
            files = sorted(photos.rglob("*.jpg"))
            sent = [("files", (p.name, p.read_bytes(), "image/jpeg")) for p in files]
            paths = [f"{p.parent.name}/{p.name}" for p in files]
            staged = client.post(
                f"/api/v1/uploads/{upload}/files", files=sent, data={"paths": paths}
            )
            assert staged.status_code == 200, staged.text
            job = client.post(f"/api/v1/uploads/{upload}/import", json={"by_folder": True})
            assert job.status_code == 202, job.text
        command_line = start_import(photos, root, tmp_path / "cli.log")
        done = jobs.run_job(ws, job.json()["id"])
        assert command_line.wait(300) == 0, (tmp_path / "cli.log").read_text()
        assert done.status == "done", done.message
    finally:
        ws.close()
    found = stored(root / DATABASE_FILE)
    assert found["photos"] == files_in(photos)
    assert found["faces twice"] == 0
    assert found["faces labelled twice"] == 0
    assert found["journal"] == 0
