"""The groups API and pages on a real workspace: ORL photos imported through faceloop's own
pipeline, grouped by `recluster`, named, undone, rejected, split and merged over HTTP."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from faceloop.db.models import Face, ImageOrigin
from faceloop.grouping.run import recluster
from faceloop.jobs.queue import run_job
from faceloop.web.app import WebSettings, create_app
from faceloop.workspace import open_workspace
from tests.web.responses import ok


@pytest.fixture
def gws(tmp_path: Path, orl_groups_template: Path):
    shutil.copytree(orl_groups_template, tmp_path / "ws")
    workspace = open_workspace(tmp_path / "ws")
    recluster(workspace)
    yield workspace
    workspace.close()


@pytest.fixture
def api(gws) -> TestClient:
    with TestClient(create_app(gws, WebSettings(allowed_hosts={"testserver"}))) as client:
        yield client


def subjects(ws) -> dict[int, str]:
    """Face id -> the ORL subject folder its photo came from."""
    with ws.reader() as session:
        rows = session.execute(
            select(Face.id, ImageOrigin.path).join(
                ImageOrigin, ImageOrigin.image_id == Face.image_id
            )
        ).all()
    return {face_id: Path(path).parent.name for face_id, path in rows}


def largest(api: TestClient) -> dict:
    page = ok(api.get("/api/v1/groups?limit=1"))
    return ok(api.get(f"/api/v1/groups/{page['groups'][0]['id']}"))


def test_groups_are_listed_largest_first_and_nearly_pure(api, gws) -> None:
    page = ok(api.get("/api/v1/groups?limit=50"))
    groups = page["groups"]
    assert page["total"] == len(groups) >= 4
    assert page["faces"] == sum(g["size"] for g in groups)
    sizes = [g["size"] for g in groups]
    assert sizes == sorted(sizes, reverse=True) and min(sizes) >= 2
    truth = subjects(gws)
    wrong = 0
    for summary in groups:
        detail = ok(api.get(f"/api/v1/groups/{summary['id']}"))
        faces = detail["faces"]
        assert len(faces) == summary["size"]
        assert summary["cover_face_ids"] == [f["face_id"] for f in faces[:6]]
        distances = [f["distance"] for f in faces]
        assert distances == sorted(distances)
        assert len({f["image_id"] for f in faces}) == len(faces)
        people = [truth[f["face_id"]] for f in faces]
        majority = max(set(people), key=people.count)
        wrong += len(people) - people.count(majority)
        if summary["suggested_name"]:
            assert summary["suggested_name"] == majority
    assert wrong <= 0.05 * page["faces"]
    assert any(g["suggested_name"] for g in groups)
    second = ok(api.get("/api/v1/groups?limit=2&offset=1"))
    assert [g["id"] for g in second["groups"]] == [g["id"] for g in groups[1:3]]


def test_label_a_group_but_the_excluded_faces_then_undo(api) -> None:
    detail = largest(api)
    group_id = detail["summary"]["id"]
    faces = [f["face_id"] for f in detail["faces"]]
    excluded, named = faces[-1:], faces[:-1]
    result = ok(
        api.post(
            f"/api/v1/groups/{group_id}/label",
            json={"name": "Group Person", "exclude_face_ids": excluded, "face_ids": faces},
        )
    )
    assert result["group_id"] == group_id
    for face_id in named:
        face = ok(api.get(f"/api/v1/faces/{face_id}"))
        assert (face["verdict"], face["name"]) == ("person", "Group Person")
    assert ok(api.get(f"/api/v1/faces/{excluded[0]}"))["verdict"] is None
    listed = [g["id"] for g in ok(api.get("/api/v1/groups?limit=200"))["groups"]]
    assert group_id not in listed
    assert ok(api.get(f"/api/v1/groups/{group_id}"))["summary"]["status"] == "labelled"
    activity = ok(api.get("/api/v1/activity?origin=group&action=person"))["entries"]
    assert {e["face_id"] for e in activity} == set(named)

    undone = ok(api.post(f"/api/v1/batches/{result['batch']}/undo"))
    assert set(undone["face_ids"]) >= set(named)
    for face_id in named:
        assert ok(api.get(f"/api/v1/faces/{face_id}"))["verdict"] is None
    again = ok(api.get(f"/api/v1/groups/{group_id}"))
    assert again["summary"]["status"] == "open"
    assert {f["face_id"] for f in again["faces"]} == set(named)


def test_accept_the_suggested_person_and_mark_unknown(api) -> None:
    groups = ok(api.get("/api/v1/groups?limit=50"))["groups"]
    suggested = next(g for g in groups if g["suggested_person_id"])
    ok(
        api.post(
            f"/api/v1/groups/{suggested['id']}/label",
            json={"person_id": suggested["suggested_person_id"]},
        )
    )
    face = ok(api.get(f"/api/v1/faces/{suggested['cover_face_ids'][0]}"))
    assert face["person_id"] == suggested["suggested_person_id"]

    other = next(g for g in groups if g["id"] != suggested["id"])
    result = ok(api.post(f"/api/v1/groups/{other['id']}/unknown", json={}))
    assert ok(api.get(f"/api/v1/faces/{other['cover_face_ids'][0]}"))["verdict"] == "unknown"
    ok(api.post(f"/api/v1/batches/{result['batch']}/undo"))
    assert ok(api.get(f"/api/v1/faces/{other['cover_face_ids'][0]}"))["verdict"] is None


def test_not_the_same_person_dissolves_the_group_until_undone(api) -> None:
    detail = largest(api)
    group_id = detail["summary"]["id"]
    assert ok(api.post(f"/api/v1/groups/{group_id}/reject"))["group_ids"] == [group_id]
    assert ok(api.get(f"/api/v1/groups/{group_id}"))["summary"]["status"] == "rejected"
    assert group_id not in [g["id"] for g in ok(api.get("/api/v1/groups"))["groups"]]
    refused = api.post(f"/api/v1/groups/{group_id}/label", json={"name": "Nobody"})
    assert refused.status_code == 422 and "not the same person" in refused.json()["message"]

    ok(api.post(f"/api/v1/groups/{group_id}/reject/undo"))
    back = ok(api.get(f"/api/v1/groups/{group_id}"))
    assert back["summary"]["status"] == "open"
    assert {f["face_id"] for f in back["faces"]} == {f["face_id"] for f in detail["faces"]}


def test_split_then_merge_back(api) -> None:
    detail = largest(api)
    group_id = detail["summary"]["id"]
    faces = {f["face_id"] for f in detail["faces"]}
    parts = ok(api.post(f"/api/v1/groups/{group_id}/split"))["group_ids"]
    assert parts[0] == group_id and len(parts) == 2
    split_faces = [
        {f["face_id"] for f in ok(api.get(f"/api/v1/groups/{p}"))["faces"]} for p in parts
    ]
    assert split_faces[0] and split_faces[1] and not split_faces[0] & split_faces[1]
    assert split_faces[0] | split_faces[1] <= faces

    merged = ok(api.post(f"/api/v1/groups/{parts[0]}/merge", json={"other_id": parts[1]}))
    kept = merged["group_ids"][0]
    assert kept in parts
    gone = parts[1] if kept == parts[0] else parts[0]
    assert {f["face_id"] for f in ok(api.get(f"/api/v1/groups/{kept}"))["faces"]} == (
        split_faces[0] | split_faces[1]
    )
    assert api.get(f"/api/v1/groups/{gone}").status_code == 404

    parted = ok(api.post(f"/api/v1/groups/{kept}/merge/undo"))["group_ids"]
    assert parted[0] == kept
    assert {f["face_id"] for f in ok(api.get(f"/api/v1/groups/{parted[1]}"))["faces"]} == (
        split_faces[1] if kept == parts[0] else split_faces[0]
    )
    again = api.post(f"/api/v1/groups/{kept}/merge/undo")
    assert again.status_code == 422 and "no merge" in again.json()["message"]
    ok(api.post(f"/api/v1/groups/{kept}/merge", json={"other_id": parted[1]}))

    whole = ok(api.post(f"/api/v1/groups/{group_id}/split/undo"))["group_ids"]
    assert whole[0] == group_id
    assert {f["face_id"] for f in ok(api.get(f"/api/v1/groups/{group_id}"))["faces"]} == faces
    assert api.post("/api/v1/groups/999999/split/undo").status_code == 404


def test_more_like_this_and_bulk_label(api, gws) -> None:
    truth = subjects(gws)
    labelled = next(
        item
        for item in ok(api.get("/api/v1/activity?action=person&limit=50"))["entries"]
        if item["face_id"]
    )
    source = labelled["face_id"]
    similar = ok(api.get(f"/api/v1/faces/{source}/similar?limit=8"))
    assert similar["face_id"] == source and similar["verdict"] == "person"
    assert similar["name"] == truth[source]
    faces = similar["faces"]
    assert len(faces) == 8 and source not in {f["face_id"] for f in faces}
    assert [f["distance"] for f in faces] == sorted(f["distance"] for f in faces)
    nearest = [f["face_id"] for f in faces[:4]]
    assert sum(truth[f] == truth[source] for f in nearest) >= 3

    result = ok(
        api.post(
            "/api/v1/labels",
            json={
                "face_ids": nearest,
                "verdict": "person",
                "person_id": similar["person_id"],
                "origin": "bulk",
            },
        )
    )
    after = ok(api.get(f"/api/v1/faces/{source}/similar?limit=8"))
    assert not set(nearest) & {f["face_id"] for f in after["faces"]}
    ok(api.post(f"/api/v1/batches/{result['batch']}/undo"))


def test_unknown_ids_are_404_and_bad_bodies_422(api) -> None:
    group_id = ok(api.get("/api/v1/groups?limit=1"))["groups"][0]["id"]
    for method, path, body in [
        ("GET", "/api/v1/groups/999999", None),
        ("POST", "/api/v1/groups/999999/label", {"name": "X"}),
        ("POST", "/api/v1/groups/999999/unknown", {}),
        ("POST", "/api/v1/groups/999999/reject", None),
        ("POST", "/api/v1/groups/999999/split", None),
        ("POST", f"/api/v1/groups/{group_id}/merge", {"other_id": 999999}),
        ("GET", "/api/v1/faces/99999999/similar", None),
    ]:
        response = api.request(method, path, json=body)
        assert response.status_code == 404, (path, response.text)
        assert response.json()["error"] == "not_found" and response.json()["message"]
    for path, body in [
        (f"/api/v1/groups/{group_id}/label", {}),
        (f"/api/v1/groups/{group_id}/label", {"person_id": 1, "name": "Both"}),
        (f"/api/v1/groups/{group_id}/label", {"name": "X", "exclude_face_ids": "all"}),
        (f"/api/v1/groups/{group_id}/label", {"name": "X", "surprise": 1}),
        (f"/api/v1/groups/{group_id}/merge", {}),
        (f"/api/v1/groups/{group_id}/merge", {"other_id": group_id}),
        ("/api/v1/cluster", {"threshold": 5}),
    ]:
        response = api.post(path, json=body)
        assert response.status_code == 422, (path, body, response.text)
        assert response.json()["error"] == "invalid"
    assert api.get("/api/v1/groups/0").status_code == 422
    assert api.get("/api/v1/groups?limit=0").status_code == 422


def test_recluster_runs_as_a_job(api, gws) -> None:
    job = ok(api.post("/api/v1/cluster", json={}), 202)
    assert job["kind"] == "cluster" and job["status"] == "queued"
    assert ok(api.post("/api/v1/cluster"), 202)["id"] == job["id"], "one run at a time"
    done = run_job(gws, job["id"])
    assert done.status == "done", done.message
    assert ok(api.get("/api/v1/groups"))["total"] >= 4


def test_the_pages(api, gws) -> None:
    page = api.get("/groups", headers={"Accept": "text/html"})
    assert page.status_code == 200 and 'id="group-grid"' in page.text
    first = ok(api.get("/api/v1/groups?limit=1"))["groups"][0]
    assert f'"id": {first["id"]}' in page.text or f'"id":{first["id"]}' in page.text
    listing = api.get("/groups?view=list")
    assert listing.status_code == 200
    assert listing.text.count('class="group-row"') == ok(api.get("/api/v1/groups"))["total"]
    assert api.get(f"/groups/{first['id']}").status_code == 200
    assert api.get("/groups/999999", headers={"Accept": "text/html"}).status_code == 404
    similar = api.get(f"/similar/{first['cover_face_ids'][0]}")
    assert similar.status_code == 200 and "More like this" in similar.text
    assert 'href="/groups"' in api.get("/").text
