"""Mixed confirm pages over HTTP, on real workspaces: up to 24 faces of anyone, each with its
own suggested person (the person of its nearest labelled face, or the model's surest guess),
answered as one action; and the wide reach of the look-alikes. ORL photos with s1-s3 partly
labelled plus real photos of several people each (no model), and a trained head with its
predictions."""

from __future__ import annotations

import shutil
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from faceloop.db.models import Face, Model
from faceloop.web.app import WebSettings, create_app
from faceloop.workspace import open_workspace
from tests.web.learning_workspace import subjects
from tests.web.responses import ok


def faces_of(view: dict) -> list[int]:
    return [item["face_id"] for item in view["items"]]


def mixed_answers(view: dict, refused: set[int]) -> list[dict]:
    """What the page sends on Enter: each face with the person it was suggested as."""
    return [
        {
            "face_id": item["face_id"],
            "answer": "no" if item["face_id"] in refused else "yes",
            "suggested_person_id": item["person_id"],
            "source": item["source"],
        }
        for item in view["items"]
    ]


def test_a_mixed_page_offers_the_nearest_look_alikes_of_everyone(api, cws) -> None:
    page = ok(api.get("/api/v1/confirm?mode=mixed&source=nearest"))
    assert page["mode"] == "mixed" and page["source"] == "nearest" and page["reach"] == "close"
    assert page["person_id"] is None and page["person_name"] is None
    items = page["items"]
    assert len(items) == min(24, page["pending"]) >= 10
    faces = faces_of(page)
    assert len(set(faces)) == len(faces), "one item per face"
    assert len({i["person_id"] for i in items}) == 3, "s1, s2 and s3 on one page"
    scores = [i["score"] for i in items]
    assert scores == sorted(scores, reverse=True), "the nearest first"
    assert all(i["source"] == "nearest" and len(i["reference_face_ids"]) == 2 for i in items)
    truth = subjects(cws)
    assert all(truth[i["face_id"]] == i["person_name"] for i in items)

    # the same suggestions as one face at a time, in the same order
    one = ok(api.get("/api/v1/confirm?mode=one&source=nearest&limit=24"))
    assert faces_of(one)[: len(faces)] == faces
    assert [i["person_id"] for i in one["items"][: len(faces)]] == [i["person_id"] for i in items]
    # no model yet: auto offers the same page
    assert faces_of(ok(api.get("/api/v1/confirm?mode=mixed"))) == faces
    # a page that holds some faces fetches the rest; a limit takes the nearest
    held = "&".join(f"exclude={f}" for f in faces[:5])
    assert faces_of(ok(api.get(f"/api/v1/confirm?mode=mixed&source=nearest&{held}"))) == faces[5:]
    assert faces_of(ok(api.get("/api/v1/confirm?mode=mixed&source=nearest&limit=4"))) == faces[:4]

    # a skipped face comes last
    skipped = items[0]
    skip = {"face_id": skipped["face_id"], "answer": "skip"}
    ok(api.post("/api/v1/confirm", json={"answers": [skip], "person_id": skipped["person_id"]}))
    after = faces_of(ok(api.get("/api/v1/confirm?mode=mixed&source=nearest")))
    assert after == [*faces[1:], skipped["face_id"]]


def test_mixed_answers_name_each_face_its_own_person_in_one_action(api, cws) -> None:
    page = ok(api.get("/api/v1/confirm?mode=mixed&source=nearest"))
    items = page["items"]
    dropped = items[1]
    answers = mixed_answers(page, {dropped["face_id"]})
    result = ok(api.post("/api/v1/confirm", json={"answers": answers}))
    kept = [i for i in items if i is not dropped]
    assert result["accepted"] == [i["face_id"] for i in kept]
    assert result["refused"] == [dropped["face_id"]]
    assert result["person_id"] is None and result["person_name"] is None
    assert set(result["suggested_people"]) == {i["person_id"] for i in items}
    for item in kept:
        face = ok(api.get(f"/api/v1/faces/{item['face_id']}"))
        assert (face["verdict"], face["person_id"]) == ("person", item["person_id"])
    assert ok(api.get(f"/api/v1/faces/{dropped['face_id']}"))["verdict"] is None

    entries = ok(api.get("/api/v1/activity?kind=decision&limit=200"))["entries"]
    batch = [e for e in entries if e["batch"] == result["batch"]]
    assert len(batch) == len(items) == len(result["decision_ids"])
    assert {e["detail"].get("source") for e in batch} == {"nearest"}
    refusals = ok(api.get(f"/api/v1/activity?face_id={dropped['face_id']}&action=reject"))
    [refusal] = refusals["entries"]
    assert refusal["person_id"] == dropped["person_id"] and refusal["batch"] == result["batch"]

    # the "no" stands: the face is offered by no look-alike page, close or wide, mixed or not
    for query in ("mode=mixed", "mode=mixed&reach=wide", "mode=one&limit=24", "mode=page"):
        offered = faces_of(ok(api.get(f"/api/v1/confirm?source=nearest&{query}")))
        assert dropped["face_id"] not in offered, query
        assert not {i["face_id"] for i in kept} & set(offered), query

    # one undo takes back the whole page
    undone = ok(api.post(f"/api/v1/batches/{result['batch']}/undo"))
    assert sorted(undone["face_ids"]) == sorted(faces_of(page))
    for item in items:
        assert ok(api.get(f"/api/v1/faces/{item['face_id']}"))["verdict"] is None
    again = ok(api.get("/api/v1/confirm?mode=mixed&source=nearest"))
    assert faces_of(again) == faces_of(page)


def test_the_old_shape_and_per_face_people_mix(api, cws) -> None:
    page = ok(api.get("/api/v1/confirm?mode=mixed&source=nearest"))
    first, second, third = page["items"][:3]
    other = next(i for i in page["items"] if i["person_id"] != first["person_id"])
    # the body's person for most faces, an answer's own for one, and a correction
    body = {
        "person_id": first["person_id"],
        "source": "nearest",
        "answers": [
            {"face_id": first["face_id"], "answer": "yes"},
            {
                "face_id": other["face_id"],
                "answer": "yes",
                "suggested_person_id": other["person_id"],
            },
            {
                "face_id": third["face_id"] if third is not other else second["face_id"],
                "answer": "correct",
                "name": "Somebody New",
                "suggested_person_id": other["person_id"],
            },
        ],
    }
    result = ok(api.post("/api/v1/confirm", json=body))
    corrected = body["answers"][2]["face_id"]
    assert result["accepted"] == [first["face_id"], other["face_id"]]
    assert result["corrected"] == [corrected] and len(result["created_people"]) == 1
    assert result["suggested_people"] == [first["person_id"], other["person_id"]]
    face = ok(api.get(f"/api/v1/faces/{other['face_id']}"))
    assert (face["verdict"], face["person_id"]) == ("person", other["person_id"])
    face = ok(api.get(f"/api/v1/faces/{corrected}"))
    assert (face["verdict"], face["person_id"]) == ("person", result["created_people"][0])
    refusal = ok(api.get(f"/api/v1/activity?face_id={corrected}&action=reject"))["entries"]
    assert [e["person_id"] for e in refusal] == [other["person_id"]]


def test_naming_one_person_twice_in_a_photo_needs_confirming(api, cws) -> None:
    with cws.reader() as session:
        image = session.scalar(
            select(Face.image_id).group_by(Face.image_id).having(func.count() >= 2).limit(1)
        )
        two = list(session.scalars(select(Face.id).where(Face.image_id == image).limit(2)))
    person = ok(api.get("/api/v1/confirm?mode=mixed&source=nearest"))["items"][0]["person_id"]
    answers = [{"face_id": f, "answer": "yes", "suggested_person_id": person} for f in two]
    refused = api.post("/api/v1/confirm", json={"answers": answers})
    assert refused.status_code == 409 and refused.json()["person_id"] == person
    assert all(ok(api.get(f"/api/v1/faces/{f}"))["verdict"] is None for f in two)
    result = ok(api.post("/api/v1/confirm", json={"answers": answers, "confirm": True}))
    assert result["accepted"] == two and result["person_id"] == person


def test_the_wide_reach_offers_more_look_alikes_less_sure(api) -> None:
    close = ok(api.get("/api/v1/confirm?mode=mixed&source=nearest"))
    wide = ok(api.get("/api/v1/confirm?mode=mixed&source=nearest&reach=wide"))
    assert wide["reach"] == "wide" and wide["pending"] > close["pending"]
    near = {i["face_id"]: (i["person_id"], i["score"]) for i in close["items"]}
    far = {i["face_id"]: (i["person_id"], i["score"]) for i in wide["items"]}
    assert near.items() <= far.items(), "the same suggestion for every face the close reach has"
    one_close = faces_of(ok(api.get("/api/v1/confirm?mode=one&source=nearest&limit=24")))
    one_wide = ok(api.get("/api/v1/confirm?mode=one&source=nearest&reach=wide&limit=24"))
    assert set(one_close) < set(faces_of(one_wide)) and one_wide["reach"] == "wide"
    for person in {p for p, _ in near.values()}:
        query = f"/api/v1/confirm?mode=page&source=nearest&person_id={person}"
        page_wide = ok(api.get(query + "&reach=wide"))
        assert set(faces_of(ok(api.get(query)))) <= set(faces_of(page_wide))
    beyond = [f for f in far if f not in near]
    assert beyond and max(far[f][1] for f in beyond) < min(s for _, s in near.values())

    # once nothing close waits (here: every close face held by the page), auto reaches wide
    held = "&".join(f"exclude={f}" for f in near)
    auto = ok(api.get(f"/api/v1/confirm?mode=mixed&{held}"))
    assert auto["reach"] == "wide" and faces_of(auto) == beyond
    assert faces_of(ok(api.get(f"/api/v1/confirm?mode=mixed&source=nearest&{held}"))) == []
    page = ok(api.get(f"/api/v1/confirm?mode=page&{held}"))
    assert page["reach"] == "wide" and set(faces_of(page)) <= set(beyond)

    shown = api.get("/confirm?reach=wide", headers={"accept": "text/html"}).text
    assert 'data-mode="mixed"' in shown and 'data-reach="wide"' in shown
    assert "wide reach: look-alikes a little farther" in shown
    assert 'href="/confirm?mode=one&amp;order=confident&amp;source=auto&amp;reach=wide"' in shown


def test_bad_requests_are_refused_and_change_nothing(api) -> None:
    page = ok(api.get("/api/v1/confirm?mode=mixed&source=nearest"))
    item = page["items"][0]
    face, person = item["face_id"], item["person_id"]
    for query in ("mode=mixed&reach=far", "mode=sideways", "mode=mixed&source=oracle"):
        assert api.get(f"/api/v1/confirm?{query}").status_code == 422, query

    def post(answer: dict, **body) -> tuple[int, str]:
        response = api.post("/api/v1/confirm", json={"answers": [answer], **body})
        return response.status_code, response.json().get("message", "")

    before = ok(api.get("/api/v1/activity?kind=decision&limit=200"))["entries"]
    yes = {"face_id": face, "answer": "yes"}
    status, message = post(yes)
    assert status == 422 and "who was it suggested as" in message
    assert post({**yes, "suggested_person_id": 99999}) == (404, "no person 99999")
    assert post({**yes, "suggested_person_id": 0})[0] == 422
    assert post({**yes, "suggested_person_id": person, "source": "oracle"})[0] == 422
    assert post({**yes, "suggested_person_id": person, "who": 1})[0] == 422
    assert post({**yes, "face_id": 99999, "suggested_person_id": person}) == (404, "no face 99999")
    assert post({**yes, "suggested_person_id": "many"})[0] == 422
    status, message = post({**yes, "suggested_person_id": person, "person_id": person})
    assert status == 422 and "only a correction names another person" in message
    assert ok(api.get(f"/api/v1/faces/{face}"))["verdict"] is None
    assert ok(api.get("/api/v1/activity?kind=decision&limit=200"))["entries"] == before


def test_a_mixed_page_of_the_model_takes_its_sure_guesses_then_look_alikes(
    tmp_path: Path, learning_template: Path
) -> None:
    root = tmp_path / "ws"
    shutil.copytree(learning_template, root)
    with open_workspace(root) as ws:
        with ws.reader() as session:
            threshold = session.scalar(select(Model.threshold).order_by(Model.id.desc()))
        truth = subjects(ws)
        with TestClient(create_app(ws, WebSettings(allowed_hosts={"testserver"}))) as api:
            guesses = ok(api.get("/api/v1/confirm?mode=one&source=model&limit=24"))
            top = {i["face_id"]: i["person_id"] for i in guesses["items"]}
            sure = [i for i in guesses["items"] if i["score"] >= threshold]
            assert 0 < len(sure) < len(top) == guesses["pending"], "some guesses are unsure"

            model = ok(api.get("/api/v1/confirm?mode=mixed&source=model"))
            assert model["source"] == "model" and model["reach"] is None
            assert faces_of(model) == [i["face_id"] for i in sure] and model["pending"] == len(sure)
            assert all(top[i["face_id"]] == i["person_id"] for i in model["items"])
            assert len({i["person_id"] for i in model["items"]}) >= 3
            least = ok(api.get("/api/v1/confirm?mode=mixed&source=model&order=uncertain"))
            assert faces_of(least) == faces_of(model)[::-1]

            # auto fills the page with the sure guesses, then look-alikes of the other faces;
            # the page shows them likeliest first
            auto = ok(api.get("/api/v1/confirm?mode=mixed"))
            assert auto["source"] == "auto" and set(faces_of(model)) <= set(faces_of(auto))
            rest = [i for i in auto["items"] if i["face_id"] not in set(faces_of(model))]
            assert rest and {i["source"] for i in rest} == {"nearest"}
            chances = [i["probability"] for i in auto["items"]]
            assert chances == sorted(chances, reverse=True)
            assert set(faces_of(auto)) == set(top) and auto["pending"] == len(top)

            answers = mixed_answers(auto, set())
            result = ok(api.post("/api/v1/confirm", json={"answers": answers}))
            assert sorted(result["accepted"]) == sorted(top)
            entries = ok(api.get("/api/v1/activity?kind=decision&limit=200"))["entries"]
            sources = {
                e["face_id"]: e["detail"]["source"]
                for e in entries
                if e["batch"] == result["batch"]
            }
            assert sources == {i["face_id"]: i["source"] for i in auto["items"]}
            assert all(truth[i["face_id"]] == i["person_name"] for i in auto["items"])
            empty = ok(api.get("/api/v1/confirm?mode=mixed&source=model"))
            assert empty["items"] == [] and empty["empty_reason"] == "nothing_left"


def test_the_sure_reach_offers_only_the_nearest_look_alikes(api) -> None:
    close = ok(api.get("/api/v1/confirm?mode=mixed&source=nearest"))
    sure = ok(api.get("/api/v1/confirm?mode=mixed&source=nearest&reach=sure"))
    assert sure["reach"] == "sure" and 0 < sure["pending"] < close["pending"]
    near = [(i["face_id"], i["person_id"], i["score"]) for i in close["items"]]
    surest = [(i["face_id"], i["person_id"], i["score"]) for i in sure["items"]]
    assert surest == near[: len(surest)], "the nearest of the close look-alikes, unchanged"
    shown = api.get("/confirm?reach=sure", headers={"accept": "text/html"}).text
    assert 'data-reach="sure"' in shown and 'reach=sure" data-reach="sure" aria-current' in shown
