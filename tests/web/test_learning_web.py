"""The learning loop over HTTP, on a real workspace (ORL and `known` photos, a trained head and
its predictions): identify, confirm, train jobs and the retraining rule, and their pages."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from faceloop.db.models import Decision, FaceLabel
from faceloop.jobs import queue as jobs
from faceloop.learning.job import new_decisions
from faceloop.web.app import WebSettings, create_app
from faceloop.workspace import Workspace, open_workspace
from tests.conftest import DATA
from tests.web.learning_workspace import MIN_PER_CLASS, subjects

GROUP = DATA / "group" / "face_recognition_obama_and_biden.jpg"


def copy_workspace(template: Path, target: Path, **train_settings: int) -> Workspace:
    """A copy of the template, with some [train] settings changed in its faceloop.toml."""
    shutil.copytree(template, target)
    settings = target / "faceloop.toml"
    text = settings.read_text()
    for key, value in train_settings.items():
        line = re.search(rf"^{key} = .*$", text, flags=re.MULTILINE)
        assert line is not None, key
        text = text.replace(line.group(0), f"{key} = {value}")
    settings.write_text(text)
    return open_workspace(target)


@pytest.fixture
def lws(tmp_path: Path, learning_template: Path):
    workspace = copy_workspace(learning_template, tmp_path / "learning")
    yield workspace
    workspace.close()


@pytest.fixture
def api(lws: Workspace) -> TestClient:
    with TestClient(create_app(lws, WebSettings(allowed_hosts={"testserver"}))) as client:
        yield client


def labels(ws: Workspace) -> list[tuple]:
    with ws.reader() as session:
        return session.execute(
            select(FaceLabel.face_id, FaceLabel.verdict, FaceLabel.person_id).order_by(
                FaceLabel.face_id
            )
        ).all()


def offered(api: TestClient, person_id: int) -> set[int]:
    """Every face the confirm queue still offers as this person."""
    view = api.get(f"/api/v1/confirm?mode=page&person_id={person_id}").json()
    return {item["face_id"] for item in view["items"]}


def train_job(api: TestClient, ws: Workspace, body: dict) -> jobs.JobInfo:
    response = api.post("/api/v1/train", json=body)
    assert response.status_code == 202, response.text
    return jobs.run_job(ws, response.json()["id"])


# ------------------------------------------------------------------ identify


def test_identify_names_obama_and_biden_where_they_are(api: TestClient) -> None:
    response = api.post(
        "/api/v1/identify", files={"file": (GROUP.name, GROUP.read_bytes(), "image/jpeg")}
    )
    assert response.status_code == 200, response.text
    found = response.json()
    assert (found["width"], found["height"]) == (2000, 1428)
    by_name = {face["name"]: face for face in found["faces"]}
    assert {"obama", "biden"} <= set(by_name), [f["name"] for f in found["faces"]]

    def centre(face: dict) -> tuple[float, float]:
        box = face["box"]
        return (box["left"] + box["right"]) / 2, (box["top"] + box["bottom"]) / 2

    # where the faces are in the photo (judged by eye): Biden left of centre, Obama right
    x, y = centre(by_name["biden"])
    assert 740 <= x <= 930 and 440 <= y <= 620
    x, y = centre(by_name["obama"])
    assert 1140 <= x <= 1330 and 400 <= y <= 580
    for face in found["faces"]:
        scores = [c["score"] for c in face["candidates"]]
        assert len(scores) == 5 and scores == sorted(scores, reverse=True)
        if face["name"] == "unknown":
            assert face["person_id"] is None and face["score"] < found["threshold"]
        else:
            assert face["score"] >= found["threshold"]
            assert face["candidates"][0]["name"] == face["name"]


def test_identify_refuses_what_it_cannot_use(api: TestClient, client: TestClient) -> None:
    not_a_photo = api.post(
        "/api/v1/identify", files={"file": ("notes.txt", b"not a photo at all", "text/plain")}
    )
    assert not_a_photo.status_code == 422
    assert not_a_photo.json()["error"] == "invalid"
    assert "not a photo" in not_a_photo.json()["message"]
    empty = api.post("/api/v1/identify", files={"file": ("empty.jpg", b"", "image/jpeg")})
    assert empty.status_code == 422 and "empty" in empty.json()["message"]
    photo = {"file": (GROUP.name, GROUP.read_bytes(), "image/jpeg")}
    unknown_model = api.post("/api/v1/identify", files=photo, data={"model_id": "9999"})
    assert unknown_model.status_code == 404
    assert unknown_model.json() == {"error": "not_found", "message": "no model 9999"}
    bad_threshold = api.post("/api/v1/identify", files=photo, data={"threshold": "2"})
    assert bad_threshold.status_code == 422
    # the synthetic workspace has no model yet
    no_model = client.post("/api/v1/identify", files=photo)
    assert no_model.status_code == 409
    assert "no model yet" in no_model.json()["message"]


# ------------------------------------------------------------------ confirm


def test_yes_labels_and_no_is_remembered(api: TestClient, lws: Workspace) -> None:
    view = api.get("/api/v1/confirm?mode=one&order=confident").json()
    assert view["empty_reason"] is None and len(view["items"]) == 5
    first, second = view["items"][:2]
    for item in (first, second):
        assert len(item["reference_face_ids"]) == 3
        assert item["box"][2] > item["box"][0] and item["width"] > 0
    scores = [i["score"] for i in view["items"]]
    assert scores == sorted(scores, reverse=True)
    uncertain = api.get("/api/v1/confirm?mode=one&order=uncertain").json()["items"]
    assert uncertain[0]["score"] <= scores[-1]

    yes = api.post(
        "/api/v1/confirm",
        json={
            "person_id": first["person_id"],
            "answers": [{"face_id": first["face_id"], "answer": "yes"}],
        },
    ).json()
    assert yes["accepted"] == [first["face_id"]] and yes["person_name"] == first["person_name"]
    face = api.get(f"/api/v1/faces/{first['face_id']}").json()
    assert (face["verdict"], face["name"]) == ("person", first["person_name"])

    no = api.post(
        "/api/v1/confirm",
        json={
            "person_id": second["person_id"],
            "answers": [{"face_id": second["face_id"], "answer": "no"}],
        },
    ).json()
    assert no["refused"] == [second["face_id"]]
    assert api.get(f"/api/v1/faces/{second['face_id']}").json()["verdict"] is None
    assert second["face_id"] not in offered(api, second["person_id"])
    assert {first["face_id"], second["face_id"]}.isdisjoint(
        i["face_id"] for i in api.get("/api/v1/confirm?mode=one&limit=24").json()["items"]
    )

    # a new model, trained from that "no", still never offers the face as that person
    retrained = train_job(api, lws, {"min_per_class": MIN_PER_CLASS})
    assert retrained.status == "done", retrained.message
    assert second["face_id"] not in offered(api, second["person_id"])


def test_a_correction_names_someone_else_and_undoes_as_one(api: TestClient) -> None:
    item = api.get("/api/v1/confirm?mode=one").json()["items"][0]
    answer = {"face_id": item["face_id"], "answer": "correct", "name": "Somebody Else"}
    result = api.post("/api/v1/confirm", json={"person_id": item["person_id"], "answers": [answer]})
    assert result.status_code == 200, result.text
    body = result.json()
    assert body["corrected"] == [item["face_id"]] and len(body["created_people"]) == 1
    face = api.get(f"/api/v1/faces/{item['face_id']}").json()
    assert (face["verdict"], face["name"]) == ("person", "Somebody Else")
    assert item["face_id"] not in offered(api, item["person_id"])

    assert api.post(f"/api/v1/batches/{body['batch']}/undo").status_code == 200
    assert api.get(f"/api/v1/faces/{item['face_id']}").json()["verdict"] is None
    assert item["face_id"] in offered(api, item["person_id"])


def test_a_page_accepts_the_kept_faces_and_refuses_the_rest_in_one_action(
    api: TestClient, lws: Workspace
) -> None:
    before = labels(lws)
    page = api.get("/api/v1/confirm?mode=page").json()
    items = page["items"]
    assert len(items) >= 3 and page["person_pending"] == len(items)
    assert {i["person_id"] for i in items} == {page["person_id"]}
    kept, dropped = [i["face_id"] for i in items[:-1]], items[-1]["face_id"]
    answers = [{"face_id": f, "answer": "yes"} for f in kept]
    answers.append({"face_id": dropped, "answer": "no"})
    result = api.post("/api/v1/confirm", json={"person_id": page["person_id"], "answers": answers})
    assert result.status_code == 200, result.text
    batch = result.json()["batch"]
    assert result.json()["accepted"] == kept and result.json()["refused"] == [dropped]
    for face_id in kept:
        face = api.get(f"/api/v1/faces/{face_id}").json()
        assert (face["verdict"], face["person_id"]) == ("person", page["person_id"])
    assert api.get(f"/api/v1/faces/{dropped}").json()["verdict"] is None
    assert offered(api, page["person_id"]).isdisjoint([*kept, dropped])
    with lws.reader() as session:
        verdicts = session.scalars(select(Decision.verdict).where(Decision.batch == batch)).all()
    assert sorted(verdicts) == sorted(["person"] * len(kept) + ["reject"])

    undone = api.post(f"/api/v1/batches/{batch}/undo")
    assert undone.status_code == 200 and len(undone.json()["face_ids"]) == len(items)
    assert labels(lws) == before
    assert offered(api, page["person_id"]) == {i["face_id"] for i in items}


def test_the_confirm_api_refuses_bad_answers(api: TestClient, client: TestClient) -> None:
    item = api.get("/api/v1/confirm?mode=one").json()["items"][0]
    face, person = item["face_id"], item["person_id"]

    def post(body: dict) -> tuple[int, dict]:
        response = api.post("/api/v1/confirm", json=body)
        return response.status_code, response.json()

    status, body = post({"person_id": 99999, "answers": [{"face_id": face, "answer": "yes"}]})
    assert (status, body["message"]) == (404, "no person 99999")
    status, body = post({"person_id": person, "answers": [{"face_id": 99999, "answer": "yes"}]})
    assert (status, body["message"]) == (404, "no face 99999")
    twice = [{"face_id": face, "answer": "yes"}, {"face_id": face, "answer": "no"}]
    status, body = post({"person_id": person, "answers": twice})
    assert status == 422 and "answered twice" in body["message"]
    status, body = post({"person_id": person, "answers": [{"face_id": face, "answer": "correct"}]})
    assert status == 422 and "needs person_id or name" in body["message"]
    status, _ = post({"person_id": person, "answers": []})
    assert status == 422
    status, _ = post({"person_id": person, "answers": [{"face_id": face, "answer": "maybe"}]})
    assert status == 422
    assert api.get("/api/v1/confirm?order=random").status_code == 422
    assert api.get("/api/v1/faces/" + str(face)).json()["verdict"] is None

    nothing = client.get("/api/v1/confirm?mode=page&source=model").json()
    assert nothing["items"] == [] and nothing["empty_reason"] == "no_model"
    assert "No model yet" in nothing["message"] and nothing["source"] == "model"
    # with no model, the default source turns to faces like labelled ones
    look_alikes = client.get("/api/v1/confirm?mode=page").json()
    assert look_alikes["source"] == "nearest" and look_alikes["items"]


# ------------------------------------------------------------------ training


def test_train_jobs_run_warm_and_never_touch_human_labels(api: TestClient, lws: Workspace) -> None:
    before = labels(lws)
    models = api.get("/api/v1/models").json()
    assert len(models) == 1
    template_model = models[0]["model_id"]

    queued = api.post("/api/v1/train", json={"min_per_class": MIN_PER_CLASS})
    assert queued.status_code == 202 and queued.json()["status"] == "queued"
    again = api.post("/api/v1/train", json={})
    assert again.json()["id"] == queued.json()["id"], "a second run while one is queued"
    first = jobs.run_job(lws, queued.json()["id"])
    assert first.status == "done", first.message
    assert first.result["parent_id"] == template_model and first.result["warm_started"]
    assert first.result["predicted"] >= 10
    second = train_job(api, lws, {"min_per_class": MIN_PER_CLASS})
    assert second.status == "done", second.message
    assert second.result["parent_id"] == first.result["model_id"]
    assert "warm from model" in second.message

    models = api.get("/api/v1/models").json()
    assert [m["model_id"] for m in models][:2] == [
        second.result["model_id"],
        first.result["model_id"],
    ]
    newest = models[0]
    assert newest["parent_id"] == first.result["model_id"] and newest["people"] >= 6
    assert 0 <= newest["threshold"] <= 1 and newest["accuracy"] is not None
    assert {p["name"] for p in newest["per_person"]} >= {"obama", "biden", "s1"}
    assert api.get("/api/v1/confirm").json()["model_id"] == second.result["model_id"]
    assert labels(lws) == before, "training or predicting changed a human label"

    refused = train_job(api, lws, {"min_per_class": 500})
    assert refused.status == "failed"
    assert refused.message.startswith("not trained: no person has 500 labelled faces")
    assert api.post("/api/v1/train", json={"kind": "forest"}).status_code == 422
    assert api.post("/api/v1/train", json={"min_per_class": 0}).status_code == 422
    assert api.post("/api/v1/train", json={"other_ratio": 1.5}).status_code == 422


def test_training_starts_itself_after_enough_new_decisions(
    tmp_path: Path, learning_template: Path
) -> None:
    ws = copy_workspace(
        learning_template, tmp_path / "ws", retrain_after=3, min_per_class=MIN_PER_CLASS
    )
    try:
        with TestClient(create_app(ws, WebSettings(allowed_hosts={"testserver"}))) as api:
            faces = [i["face_id"] for i in api.get("/api/v1/confirm?limit=6").json()["items"]]
            person = api.get("/api/v1/confirm").json()["items"][0]["person_id"]

            def train_jobs() -> list[jobs.JobInfo]:
                return [j for j in jobs.list_jobs(ws) if j.kind == "train"]

            assert new_decisions(ws) == 0
            api.post(f"/api/v1/faces/{faces[0]}/label", json={"verdict": "unknown"})
            api.post(f"/api/v1/faces/{faces[1]}/label", json={"verdict": "skip"})
            second = api.post(
                "/api/v1/confirm",
                json={"person_id": person, "answers": [{"face_id": faces[2], "answer": "no"}]},
            ).json()
            assert second["retrain_job_id"] is None and train_jobs() == []
            assert new_decisions(ws) == 2, "a skip is not a decision that teaches anything"

            third = api.post(f"/api/v1/faces/{faces[3]}/label", json={"verdict": "not_face"})
            assert third.status_code == 200
            started = train_jobs()
            assert len(started) == 1 and started[0].status == "queued"
            assert started[0].params["automatic"] is True
            api.post(f"/api/v1/faces/{faces[4]}/label", json={"verdict": "unknown"})
            assert len(train_jobs()) == 1, "a second run while one is queued"

            assert jobs.run_job(ws, started[0].id).status == "done"
            assert new_decisions(ws) == 0
            api.post(f"/api/v1/faces/{faces[5]}/label", json={"verdict": "unknown"})
            assert len(train_jobs()) == 1
    finally:
        ws.close()


# ------------------------------------------------------------------ pages


def test_the_pages_show_the_loop(api: TestClient, lws: Workspace) -> None:
    html = {"accept": "text/html"}
    confirm = api.get("/confirm?mode=page&order=uncertain", headers=html)
    assert confirm.status_code == 200
    assert 'data-mode="page"' in confirm.text and 'data-order="uncertain"' in confirm.text
    assert 'href="/confirm"' in confirm.text and 'href="/models"' in confirm.text
    models = api.get("/models", headers=html).text
    assert "Model 1" in models and "top-1 accuracy" in models and "Train now" in models
    assert "obama" in models
    identify = api.get("/identify", headers=html).text
    assert 'id="identify-file"' in identify and "knows" in identify
    assert api.get("/confirm?mode=sideways", headers=html).status_code == 422
    truth = subjects(lws)
    assert sum(folder.startswith("s") for folder in truth.values()) >= 30
