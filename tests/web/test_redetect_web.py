"""Finding faces again from the web app: the job behind the upload page's "Find faces again"
button (the API, then a real `faceloop serve` in a real browser)."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from faceloop.db.models import Face
from faceloop.ingest.job import REDETECT
from faceloop.ingest.run import import_photos
from faceloop.jobs import queue as jobs
from faceloop.web.app import WebSettings, create_app
from faceloop.workspace import init_workspace, open_workspace
from tests.conftest import DATA, needs_data
from tests.web.browsing import serving

OBAMA = DATA / "known" / "train" / "obama" / "obama.jpg"


def missed_face(root: Path) -> Path:
    """A workspace whose one photo was imported with a face size too big to find its face,
    and whose settings were fixed afterwards."""
    settings = root / "faceloop.toml"
    init_workspace(root).close()
    settings.write_text(
        re.sub(r"^min_face = .*$", "min_face = 800", settings.read_text(), flags=re.M)
    )
    with open_workspace(root) as ws:
        assert import_photos(ws, [OBAMA], workers=1).faces == 0
    settings.write_text(settings.read_text().replace("min_face = 800", "min_face = 40"))
    return root


def face_count(root: Path) -> int:
    with open_workspace(root) as ws, ws.reader() as session:
        return session.scalar(select(func.count(Face.id)))


@needs_data
def test_the_job_is_started_once_refuses_bad_bodies_and_reports_counts(tmp_path: Path) -> None:
    root = missed_face(tmp_path / "ws")
    with open_workspace(root) as ws:
        with TestClient(create_app(ws, WebSettings(allowed_hosts={"testserver"}))) as client:
            for body in ({"since": "yesterday"}, {"person_id": 0}, {"photos": "all"}):
                refused = client.post("/api/v1/photos/redetect", json=body)
                assert refused.status_code == 422, refused.text
            started = client.post("/api/v1/photos/redetect", json={})
            assert started.status_code == 202, started.text
            job = started.json()
            assert job["kind"] == REDETECT
            # while it waits, asking again gives the same run rather than a second one
            assert client.post("/api/v1/photos/redetect", json={}).json()["id"] == job["id"]
        done = jobs.run_job(ws, job["id"])
        assert done.status == "done", done.message
        result = done.result
        assert (result["photos"], result["added"], result["removed"]) == (1, 1, 0)
        assert result["ungrouped"] == 1
        assert "1 photos analysed again: 1 faces added, 0 removed" in done.message
        again = jobs.run_job(ws, jobs.create_job(ws, REDETECT, {}))
        assert (again.result["added"], again.result["removed"], again.result["changed"]) == (
            0,
            0,
            0,
        )
        failed = jobs.run_job(ws, jobs.create_job(ws, REDETECT, {"since": "soon"}))
        assert failed.status == "failed" and "not started" in failed.message


@needs_data
def test_the_upload_page_finds_faces_again_and_shows_what_changed(tmp_path: Path, page) -> None:
    root = missed_face(tmp_path / "ws")
    with serving(root) as server:
        page.goto(server.base + "/upload")
        page.click("#redetect")
        page.wait_for_selector("#redetect-message[data-done]", timeout=90_000)
        text = page.inner_text("#redetect-message")
        assert "1 photo analysed again · 1 face added · 0 removed" in text
        assert page.js_errors == []
    assert face_count(root) == 1
