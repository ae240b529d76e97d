"""The "unknown person" page over HTTP on a real workspace: ORL photos (one face each) and real
photos of several people (PASCAL VOC, two-people photos), grouped by `recluster`. Passers-by
are listed smallest first, marked "unknown person" a page at a time in one undoable action, and
the job hooks follow as after naming a group."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from faceloop.db.models import Decision, Face
from faceloop.grouping.run import recluster
from faceloop.jobs import queue as jobs
from faceloop.web.app import WebSettings, create_app
from faceloop.workspace import Workspace, init_workspace, open_workspace
from tests.web.responses import ok


def copy_crowd(template: Path, target: Path, **train_settings: int) -> Workspace:
    """A copy of the crowd workspace, grouped, with some [train] settings changed."""
    shutil.copytree(template, target)
    settings = target / "faceloop.toml"
    text = settings.read_text()
    for key, value in train_settings.items():
        text = re.sub(rf"^{key} = .*$", f"{key} = {value}", text, flags=re.MULTILINE)
    settings.write_text(text)
    ws = open_workspace(target)
    recluster(ws)
    return ws


@pytest.fixture
def cws(tmp_path: Path, crowd_template: Path):
    workspace = copy_crowd(crowd_template, tmp_path / "ws")
    yield workspace
    workspace.close()


def face_areas(ws: Workspace) -> dict[int, tuple[int, int]]:
    """Face id -> (its photo, its box's area)."""
    with ws.reader() as session:
        rows = session.execute(
            select(Face.id, Face.image_id, Face.left, Face.top, Face.right, Face.bottom)
        ).all()
    return {r.id: (r.image_id, (r.right - r.left) * (r.bottom - r.top)) for r in rows}


def grouped_faces(api: TestClient) -> set[int]:
    """Every face of an open group of two or more."""
    faces: set[int] = set()
    for group in ok(api.get("/api/v1/groups?limit=200"))["groups"]:
        detail = ok(api.get(f"/api/v1/groups/{group['id']}"))
        faces.update(f["face_id"] for f in detail["faces"])
    return faces


def decisions(ws: Workspace) -> int:
    with ws.reader() as session:
        return session.scalar(select(func.count(Decision.id)))


def test_passers_by_are_small_faces_beside_a_larger_one_smallest_first(api, cws) -> None:
    first = ok(api.get("/api/v1/passers-by"))["faces"]
    assert len(first) == 24
    sizes = [f["relative_size"] for f in first]
    assert sizes == sorted(sizes) and all(0 < s < 1 for s in sizes)
    areas = face_areas(cws)
    largest: dict[int, int] = {}
    for image, area in areas.values():
        largest[image] = max(largest.get(image, 0), area)
    for face in first:
        image, area = areas[face["face_id"]]
        assert image == face["image_id"]
        assert area < largest[image], "a passer-by is smaller than another face of its photo"
        assert face["relative_size"] == pytest.approx(area / largest[image], abs=1e-3)
    assert grouped_faces(api).isdisjoint(f["face_id"] for f in first)
    everyone = ok(api.get("/api/v1/passers-by?limit=200"))["faces"]
    assert everyone[:24] == first and len(everyone) > 24

    shown = [f["face_id"] for f in first]
    query = "&".join(f"exclude={f}" for f in shown)
    rest = ok(api.get(f"/api/v1/passers-by?{query}"))["faces"]
    assert [f["face_id"] for f in rest] == [f["face_id"] for f in everyone[24:48]]
    assert ok(api.get("/api/v1/passers-by?limit=3"))["faces"] == first[:3]


def test_a_page_marks_the_kept_faces_unknown_in_one_undoable_action(api, cws) -> None:
    page = ok(api.get("/api/v1/passers-by"))["faces"]
    shown = [f["face_id"] for f in page]
    dropped = shown[1:3]
    kept = [f for f in shown if f not in dropped]
    result = ok(
        api.post("/api/v1/passers-by", json={"face_ids": shown, "exclude_face_ids": dropped})
    )
    assert result["face_ids"] == kept and result["excluded_face_ids"] == dropped
    assert result["already_labelled"] == []
    for face_id in kept:
        assert ok(api.get(f"/api/v1/faces/{face_id}"))["verdict"] == "unknown"
    for face_id in dropped:
        assert ok(api.get(f"/api/v1/faces/{face_id}"))["verdict"] is None
    with cws.reader() as session:
        made = session.execute(
            select(Decision.face_id, Decision.verdict, Decision.origin, Decision.detail).where(
                Decision.batch == result["batch"]
            )
        ).all()
    assert sorted(r.face_id for r in made) == sorted(kept)
    assert {(r.verdict, r.origin) for r in made} == {("unknown", "bulk")}
    assert all(r.detail == {"page": "passers-by"} for r in made)

    # the marked faces are gone from the page; the deselected ones stay for the label queue and
    # come back unless the page leaves them out
    after = [f["face_id"] for f in ok(api.get("/api/v1/passers-by?limit=200"))["faces"]]
    assert set(kept).isdisjoint(after) and set(dropped) <= set(after)
    query = "&".join(f"exclude={f}" for f in dropped)
    again = [f["face_id"] for f in ok(api.get(f"/api/v1/passers-by?limit=200&{query}"))["faces"]]
    assert set(dropped).isdisjoint(again)

    undone = ok(api.post(f"/api/v1/batches/{result['batch']}/undo"))
    assert sorted(undone["face_ids"]) == sorted(kept)
    assert ok(api.get("/api/v1/passers-by"))["faces"] == page


def test_a_face_labelled_meanwhile_keeps_its_label(api) -> None:
    shown = [f["face_id"] for f in ok(api.get("/api/v1/passers-by?limit=5"))["faces"]]
    named = shown[0]
    ok(api.post(f"/api/v1/faces/{named}/label", json={"verdict": "person", "name": "Waiter"}))
    result = ok(api.post("/api/v1/passers-by", json={"face_ids": shown}))
    assert result["already_labelled"] == [named] and result["face_ids"] == shown[1:]
    face = ok(api.get(f"/api/v1/faces/{named}"))
    assert (face["verdict"], face["name"]) == ("person", "Waiter")


def test_a_batch_starts_the_jobs_the_groups_page_starts(tmp_path: Path, crowd_template) -> None:
    ws = copy_crowd(
        crowd_template, tmp_path / "ws", recluster_after=3, retrain_after=3, min_per_class=2
    )
    try:
        with TestClient(create_app(ws, WebSettings(allowed_hosts={"testserver"}))) as api:
            shown = [f["face_id"] for f in ok(api.get("/api/v1/passers-by?limit=2"))["faces"]]
            ok(api.post("/api/v1/passers-by", json={"face_ids": shown}))
            assert jobs.list_jobs(ws) == [], "two decisions: below both thresholds"
            more = [f["face_id"] for f in ok(api.get("/api/v1/passers-by?limit=2"))["faces"]]
            ok(api.post("/api/v1/passers-by", json={"face_ids": more}))
            started = {job.kind: job for job in jobs.list_jobs(ws)}
            assert set(started) == {"cluster", "train"}
            assert all(job.params["automatic"] for job in started.values())
    finally:
        ws.close()


def test_bad_requests_are_refused_and_change_nothing(api, cws) -> None:
    shown = [f["face_id"] for f in ok(api.get("/api/v1/passers-by?limit=4"))["faces"]]
    before = decisions(cws)

    def post(body) -> tuple[int, dict]:
        response = api.post("/api/v1/passers-by", json=body)
        return response.status_code, response.json()

    assert post({"face_ids": [*shown, 99999]}) == (
        404,
        {"error": "not_found", "message": "no face 99999"},
    )
    status, body = post({"face_ids": shown, "exclude_face_ids": shown})
    assert status == 422 and "every face is deselected" in body["message"]
    assert post({"face_ids": []})[0] == 422
    assert post({"face_ids": shown, "verdict": "person"})[0] == 422
    assert post({"face_ids": [0]})[0] == 422
    assert post({})[0] == 422
    ok(api.post("/api/v1/labels", json={"face_ids": shown[:2], "verdict": "not_face"}))
    status, body = post({"face_ids": shown[:2]})
    assert status == 422 and "labelled meanwhile" in body["message"]
    assert decisions(cws) == before + 2
    assert api.get("/api/v1/passers-by?limit=0").status_code == 422
    assert api.get("/api/v1/passers-by?limit=201").status_code == 422
    assert api.get("/api/v1/passers-by?exclude=abc").status_code == 422
    assert ok(api.get("/api/v1/passers-by?exclude=0&exclude=-4&limit=1"))["faces"]


def test_the_page_carries_its_first_faces_and_is_linked(api, tmp_path: Path) -> None:
    html = {"accept": "text/html"}

    def initial(text: str) -> dict:
        return json.loads(re.search(r'id="initial">(.*?)</script>', text, re.S).group(1))

    page = api.get("/passers-by", headers=html)
    assert page.status_code == 200
    assert initial(page.text) == ok(api.get("/api/v1/passers-by"))
    assert len(initial(page.text)["faces"]) == 24
    assert 'id="empty" class="card empty-queue" hidden' in page.text
    assert '<a href="/passers-by" aria-current="page">Passers-by</a>' in page.text
    assert "/static/js/passers_by.js" in page.text
    assert 'href="/passers-by"' in api.get("/groups", headers=html).text
    assert 'href="/passers-by"' in api.get("/groups?view=list", headers=html).text
    with (
        init_workspace(tmp_path / "empty") as ws,
        TestClient(create_app(ws, WebSettings(allowed_hosts={"testserver"}))) as empty,
    ):
        nothing = empty.get("/passers-by", headers=html).text
        assert initial(nothing) == {"faces": []}
        assert 'id="empty" class="card empty-queue" >' in nothing
        assert ok(empty.get("/api/v1/passers-by")) == {"faces": []}
