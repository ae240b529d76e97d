"""The server when the ground gives way: a full disk answers 507 "the disk is full" (JSON for
scripts, a page for people) and loses nothing; a database file deleted or replaced under the
running server answers 503 and takes no decision into the lost file. A real app on a real
workspace on a small tmpfs (tests/disks.py)."""

from __future__ import annotations

import shutil
import sqlite3

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from faceloop.db.models import Decision, FaceLabel
from faceloop.web.app import WebSettings, create_app
from faceloop.workspace import open_workspace
from tests.conftest import DATA
from tests.disks import fill, pull_database, small_disk


def unlabelled_face(client: TestClient) -> int:
    return client.get("/api/v1/queue", params={"limit": 1}).json()["items"][0]["face_id"]


def test_a_decision_and_an_upload_on_a_full_disk_answer_507_and_keep_nothing_half_made(
    template, tmp_path
) -> None:
    with small_disk(tmp_path / "disk", 16 * 1024) as disk:
        shutil.copytree(template, disk / "ws")
        ws = open_workspace(disk / "ws")
        try:
            with TestClient(create_app(ws, WebSettings(allowed_hosts={"testserver"}))) as client:
                face = unlabelled_face(client)
                upload = client.post("/api/v1/uploads").json()["upload_id"]
                filler = fill(disk)
                with ws.reader() as session:
                    decisions = session.scalar(select(func.count(Decision.id)))

                said = client.post(
                    f"/api/v1/faces/{face}/label", json={"verdict": "person", "name": "Zoë"}
                )
                assert said.status_code == 507, said.text
                assert said.json()["error"] == "disk_full"
                assert said.json()["message"].startswith("the disk is full: ")
                page = client.post(
                    f"/api/v1/faces/{face}/label",
                    json={"verdict": "not_face"},
                    headers={"accept": "text/html"},
                )
                assert page.status_code == 507
                photo = (DATA / "known/test/johnsnow_test1.jpg").read_bytes()
                sent = client.post(
                    f"/api/v1/uploads/{upload}/files",
                    files=[("files", ("snow.jpg", photo, "image/jpeg"))],
                )
                assert sent.status_code == 507, sent.text
                assert sent.json()["message"].startswith("the disk is full: ")
                with ws.reader() as session:
                    assert session.scalar(select(func.count(Decision.id))) == decisions
                    assert session.get(FaceLabel, face) is None

                filler.unlink()
                again = client.post(
                    f"/api/v1/faces/{face}/label", json={"verdict": "person", "name": "Zoë"}
                )
                assert again.status_code == 200, again.text
                assert client.get(f"/api/v1/faces/{face}").status_code == 200
        finally:
            ws.close()
        with sqlite3.connect(disk / "ws" / "faceloop.db") as connection:
            assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            assert connection.execute(
                "SELECT count(*) FROM decision WHERE face_id = ?", (face,)
            ).fetchone() == (1,)


@pytest.mark.parametrize("how", ["deleted", "replaced"])
def test_a_database_file_deleted_or_replaced_under_the_server_answers_503(ws, tmp_path, how):
    with TestClient(create_app(ws, WebSettings(allowed_hosts={"testserver"}))) as client:
        face = unlabelled_face(client)
        pull_database(ws.root / "faceloop.db", how, tmp_path)

        said = client.post(f"/api/v1/faces/{face}/label", json={"verdict": "not_face"})
        assert said.status_code == 503, said.text
        assert "was deleted or replaced while faceloop was running" in said.json()["message"]
        assert "restart" in said.json()["message"]
        read = client.get(f"/api/v1/faces/{face}")
        assert read.status_code == 503, read.text
        page = client.get("/activity", headers={"accept": "text/html"})
        assert page.status_code == 503
        assert "restart" in page.text
