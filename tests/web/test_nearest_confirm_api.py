"""The confirm page's second source over HTTP, on real workspaces: faces whose nearest labelled
face is one person, offered as "Is this <person>?" before any model exists (ORL photos, s1-s3
partly labelled), and after the model's guesses run out (a trained head, and photos imported
since it predicted)."""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

from fastapi.testclient import TestClient

from faceloop.ingest.run import import_photos
from faceloop.web.app import WebSettings, create_app
from faceloop.workspace import open_workspace
from tests.conftest import DATA
from tests.web.learning_workspace import subjects
from tests.web.responses import ok


def nearest_offers(api: TestClient) -> dict[int, int]:
    """Every face the nearest labelled faces suggest someone for: face id -> person id."""
    view = ok(api.get("/api/v1/confirm?mode=one&source=nearest&limit=24"))
    assert view["pending"] <= 24, "the workspace is small: one request sees every suggestion"
    return {item["face_id"]: item["person_id"] for item in view["items"]}


def test_before_any_model_auto_offers_the_person_with_most_look_alikes(api, cws) -> None:
    page = ok(api.get("/api/v1/confirm?mode=page"))
    assert page["source"] == "nearest" and page["model_id"] is None
    items = page["items"]
    assert len(items) >= 5 and {i["person_id"] for i in items} == {page["person_id"]}
    scores = [i["score"] for i in items]
    assert scores == sorted(scores, reverse=True) and all(0 < s <= 1 for s in scores)
    assert all(len(i["reference_face_ids"]) == 2 for i in items)
    truth = subjects(cws)
    assert all(truth[i["face_id"]] == page["person_name"] for i in items)

    offers = nearest_offers(api)
    counts = Counter(offers.values())
    assert page["person_pending"] == counts[page["person_id"]] == max(counts.values())
    assert page["pending"] == len(offers) and len(counts) == 3
    everyone = ok(api.get("/api/v1/confirm?mode=one&source=nearest&limit=24"))["items"]
    right = sum(truth[i["face_id"]] == i["person_name"] for i in everyone)
    assert right >= 0.9 * len(everyone), "ORL look-alikes within the default distance"
    one = ok(api.get("/api/v1/confirm?mode=one&source=nearest&limit=5"))["items"]
    assert [i["score"] for i in one] == sorted((i["score"] for i in one), reverse=True)
    farthest = ok(api.get("/api/v1/confirm?mode=one&source=nearest&order=uncertain&limit=5"))
    assert farthest["items"][0]["score"] <= one[-1]["score"]

    other = next(p for p in counts if p != page["person_id"])
    theirs = ok(api.get(f"/api/v1/confirm?mode=page&source=nearest&person_id={other}"))
    assert {i["person_id"] for i in theirs["items"]} == {other}
    assert len(theirs["items"]) == counts[other]

    model = ok(api.get("/api/v1/confirm?mode=page&source=model"))
    assert model["items"] == [] and model["source"] == "model"
    assert model["empty_reason"] == "no_model"


def test_answers_need_no_prediction_and_a_no_is_never_offered_again(api, cws) -> None:
    page = ok(api.get("/api/v1/confirm?mode=page&source=nearest"))
    person, faces = page["person_id"], [i["face_id"] for i in page["items"]]
    kept, dropped = faces[:-1], faces[-1]
    answers = [{"face_id": f, "answer": "yes"} for f in kept]
    answers.append({"face_id": dropped, "answer": "no"})
    result = ok(
        api.post(
            "/api/v1/confirm",
            json={"person_id": person, "answers": answers, "source": "nearest"},
        )
    )
    assert result["accepted"] == kept and result["refused"] == [dropped]
    for face_id in kept:
        face = ok(api.get(f"/api/v1/faces/{face_id}"))
        assert (face["verdict"], face["person_id"]) == ("person", person)
    assert ok(api.get(f"/api/v1/faces/{dropped}"))["verdict"] is None
    entries = ok(api.get("/api/v1/activity?kind=decision&limit=200"))["entries"]
    entries = [e for e in entries if e["batch"] == result["batch"]]
    assert len(entries) == len(faces)
    assert {e["detail"].get("source") for e in entries} == {"nearest"}
    assert {e["origin"] for e in entries} == {"suggestion"}

    # refused: never offered again by the nearest faces, as this person or anyone, nor by auto
    assert dropped not in nearest_offers(api)
    again = ok(api.get(f"/api/v1/confirm?mode=page&source=nearest&person_id={person}"))
    assert dropped not in {i["face_id"] for i in again["items"]}
    for mode in ("one", "page"):
        auto = ok(api.get(f"/api/v1/confirm?mode={mode}&limit=24"))
        assert dropped not in {i["face_id"] for i in auto["items"]}

    ok(api.post(f"/api/v1/batches/{result['batch']}/undo"))
    assert nearest_offers(api).get(dropped) == person


def test_a_skipped_face_comes_last(api) -> None:
    first = ok(api.get("/api/v1/confirm?mode=one&source=nearest&limit=3"))["items"]
    skipped = first[0]
    ok(
        api.post(
            "/api/v1/confirm",
            json={
                "person_id": skipped["person_id"],
                "answers": [{"face_id": skipped["face_id"], "answer": "skip"}],
                "source": "nearest",
            },
        )
    )
    after = ok(api.get("/api/v1/confirm?mode=one&source=nearest&limit=24"))["items"]
    assert [i["face_id"] for i in after[:2]] == [i["face_id"] for i in first[1:]]
    assert after[-1]["face_id"] == skipped["face_id"]
    page = ok(api.get(f"/api/v1/confirm?mode=page&person_id={skipped['person_id']}"))
    assert skipped["face_id"] not in {i["face_id"] for i in page["items"]}


def test_with_a_model_auto_asks_the_model_first_then_the_new_faces(
    tmp_path: Path, learning_template: Path
) -> None:
    root = tmp_path / "ws"
    shutil.copytree(learning_template, root)
    new = tmp_path / "new"
    new.mkdir()
    for n in (9, 10):
        shutil.copy(DATA / "orl" / "s1" / f"{n}.pgm", new / f"s1-{n}.pgm")
    with open_workspace(root) as ws:
        summary = import_photos(ws, [new], workers=1)
        assert summary.faces == 2
        with TestClient(create_app(ws, WebSettings(allowed_hosts={"testserver"}))) as api:
            auto = ok(api.get("/api/v1/confirm?mode=page"))
            assert auto["source"] == "model" and auto["items"]
            guessed = ok(api.get("/api/v1/confirm?mode=one&source=model&limit=24"))
            assert 0 < guessed["pending"] <= 24
            held = [i["face_id"] for i in guessed["items"]]
            query = "&".join(f"exclude={f}" for f in held)

            # every guess held by the page: auto turns to the faces the model never saw
            after = ok(api.get(f"/api/v1/confirm?mode=page&{query}"))
            assert after["source"] == "nearest" and after["person_name"] == "s1"
            new_faces = {f for f, folder in subjects(ws).items() if folder == "new"}
            assert {i["face_id"] for i in after["items"]} == new_faces
            only_model = ok(api.get(f"/api/v1/confirm?mode=page&source=model&{query}"))
            assert only_model["items"] == [] and only_model["source"] == "model"


def test_the_source_is_checked_and_shown(api) -> None:
    assert api.get("/api/v1/confirm?source=oracle").status_code == 422
    page = ok(api.get("/api/v1/confirm?mode=page"))
    bad = api.post(
        "/api/v1/confirm",
        json={
            "person_id": page["person_id"],
            "answers": [{"face_id": page["items"][0]["face_id"], "answer": "yes"}],
            "source": "oracle",
        },
    )
    assert bad.status_code == 422
    assert ok(api.get(f"/api/v1/faces/{page['items'][0]['face_id']}"))["verdict"] is None

    # someone with no look-alike and no model: auto says why for both sources
    nobody = ok(api.post("/api/v1/people", json={"name": "Nobody"}), 201)["id"]
    near = ok(api.get(f"/api/v1/confirm?mode=page&person_id={nobody}&source=nearest"))
    assert near["items"] == [] and near["source"] == "nearest"
    assert near["empty_reason"] == "nothing_near" and "near enough" in near["message"]
    auto = ok(api.get(f"/api/v1/confirm?mode=page&person_id={nobody}"))
    assert auto["items"] == [] and auto["source"] == "auto"
    assert auto["empty_reason"] == "no_model"
    assert auto["message"].startswith("No model yet") and auto["message"].endswith("either.")

    html = {"accept": "text/html"}
    shown = api.get("/confirm?mode=page", headers=html)
    assert shown.status_code == 200 and 'data-source="auto"' in shown.text
    assert f"like labelled faces of {page['person_name']}" in shown.text
    assert 'href="/confirm?mode=page&amp;order=confident&amp;source=nearest"' in shown.text
    model = api.get("/confirm?mode=page&source=model", headers=html).text
    assert 'data-source="model"' in model and "like labelled faces" not in model
    assert api.get("/confirm?source=oracle", headers=html).status_code == 422
