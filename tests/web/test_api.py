"""The JSON API on a real SQLite workspace: every area, the errors it gives, never a 500."""

from __future__ import annotations

import pytest

from tests.conftest import jpeg_bytes, noise_image


def first_item(client):
    return client.get("/api/v1/queue", params={"limit": 1}).json()["items"][0]


def test_queue_then_label_then_undo(client) -> None:
    page = client.get("/api/v1/queue", params={"limit": 3}).json()
    assert len(page["items"]) == 3 and page["remaining"] >= 3
    item = page["items"][0]
    assert set(item) >= {"face_id", "image_id", "box", "width", "height", "others", "suggestions"}
    person = item["suggestions"][0]["person_id"]
    answer = client.post(
        f"/api/v1/faces/{item['face_id']}/label",
        json={"verdict": "person", "person_id": person, "origin": "suggestion", "confirm": True},
    )
    assert answer.status_code == 200, answer.text
    result = answer.json()
    assert result["person_id"] == person and len(result["decision_ids"]) == 1
    after = client.get("/api/v1/queue", params={"limit": 3}).json()
    assert item["face_id"] not in [i["face_id"] for i in after["items"]]
    assert after["remaining"] == page["remaining"] - 1
    face = client.get(f"/api/v1/faces/{item['face_id']}").json()
    assert face["verdict"] == "person" and face["person_id"] == person
    undone = client.post(f"/api/v1/batches/{result['batch']}/undo")
    assert undone.status_code == 200 and undone.json()["face_ids"] == [item["face_id"]]
    assert client.get(f"/api/v1/faces/{item['face_id']}").json()["verdict"] is None
    again = client.post(f"/api/v1/batches/{result['batch']}/undo")
    assert again.status_code == 422 and "already undone" in again.json()["message"]


def test_a_new_name_creates_a_person_and_autocomplete_finds_it(client) -> None:
    item = first_item(client)
    answer = client.post(
        f"/api/v1/faces/{item['face_id']}/label", json={"verdict": "person", "name": "七瀬まる"}
    ).json()
    assert answer["created_person"]
    matches = client.get("/api/v1/names", params={"q": "ななせ"}).json()
    assert matches[0]["person_id"] == answer["person_id"] and matches[0]["faces"] == 1


def test_same_person_twice_is_a_409_until_confirmed(client, ws) -> None:
    from tests.builders import add_photo

    _, (a, b) = add_photo(ws, 2)
    person = client.post("/api/v1/people", json={"name": "Mio"}).json()["id"]
    assert (
        client.post(
            f"/api/v1/faces/{a}/label", json={"verdict": "person", "person_id": person}
        ).status_code
        == 200
    )
    refused = client.post(
        f"/api/v1/faces/{b}/label", json={"verdict": "person", "person_id": person}
    )
    assert refused.status_code == 409
    assert refused.json()["conflicts"] == {str(b): [a]}
    assert "confirm" in refused.json()["message"]
    confirmed = client.post(
        f"/api/v1/faces/{b}/label", json={"verdict": "person", "person_id": person, "confirm": True}
    )
    assert confirmed.json()["flagged"] == [b]
    photo = client.get(
        f"/api/v1/photos/{confirmed.json()['decision_ids'] and _image_of(client, b)}"
    ).json()
    assert [f["flagged"] for f in photo["faces"]] == [True, True]


def test_another_spelling_of_a_name_is_a_409_naming_the_person(client, ws) -> None:
    """Creating "Hugo Chávez" beside "Hugo_Chavez" asks first, on every path that creates a
    person from a typed name; new_person=true says it is a second person."""
    from tests.builders import add_photo

    _, faces = add_photo(ws, 1, folder="/photos/hugo")
    hugo = client.post("/api/v1/people", json={"name": "Hugo_Chavez"}).json()["id"]
    refused = client.post("/api/v1/people", json={"name": "hugo chávez"})
    assert refused.status_code == 409
    body = refused.json()
    assert (body["existing_person_id"], body["existing_name"]) == (hugo, "Hugo_Chavez")
    assert body["message"].startswith("Hugo_Chavez already exists")
    label = client.post(
        f"/api/v1/faces/{faces[0]}/label", json={"verdict": "person", "name": "Hugo Chávez"}
    )
    assert label.status_code == 409 and label.json()["existing_person_id"] == hugo
    assert client.get(f"/api/v1/faces/{faces[0]}").json()["verdict"] is None
    names = client.get("/api/v1/names", params={"q": "Hugo Chávez"}).json()
    assert names[0]["person_id"] == hugo and names[0]["same_name"]
    second = client.post(
        f"/api/v1/faces/{faces[0]}/label",
        json={"verdict": "person", "name": "Hugo Chávez", "new_person": True},
    )
    assert second.status_code == 200 and second.json()["person_id"] != hugo
    made = client.post("/api/v1/people", json={"name": "HUGO_CHAVEZ", "new_person": True})
    assert made.status_code == 201


def _image_of(client, face_id):
    return client.get(f"/api/v1/faces/{face_id}").json()["image_id"]


def test_people_pages_and_changes(client) -> None:
    people = client.get("/api/v1/people").json()
    assert people["total"] == 6
    a, b = people["people"][0], people["people"][1]
    detail = client.get(f"/api/v1/people/{a['id']}").json()
    assert detail["faces"] == a["faces"] and detail["cover_face_id"] is not None
    faces = client.get(f"/api/v1/people/{a['id']}/faces", params={"limit": 5}).json()
    distances = [f["distance"] for f in faces["faces"]]
    assert distances == sorted(distances, reverse=True) and faces["total"] == a["faces"]
    renamed = client.post(f"/api/v1/people/{a['id']}/rename", json={"name": "新しい名前"}).json()
    assert renamed["person"]["name"] == "新しい名前"
    client.post(f"/api/v1/person-events/{renamed['event_id']}/undo").raise_for_status()
    assert client.get(f"/api/v1/people/{a['id']}").json()["name"] == a["name"]
    for path, body in [
        ("aliases", {"alias": "あい"}),
        ("tags", {"tag": "Team"}),
        ("aliases/remove", {"alias": "あい"}),
        ("tags/remove", {"tag": "Team"}),
        ("hide", {"hidden": True}),
        ("hide", {"hidden": False}),
    ]:
        response = client.post(f"/api/v1/people/{a['id']}/{path}", json=body)
        assert response.status_code == 200, (path, response.text)
        in_use = "Team" in client.get("/api/v1/tags").json()
        assert in_use == (path in ("tags", "aliases/remove")), path
    merged = client.post(f"/api/v1/people/{b['id']}/merge", json={"into_id": a["id"]}).json()
    assert merged["person"]["id"] == a["id"]
    assert merged["person"]["faces"] == a["faces"] + b["faces"]
    client.post(f"/api/v1/people/{b['id']}/unmerge").raise_for_status()
    assert client.get(f"/api/v1/people/{a['id']}").json()["faces"] == a["faces"]
    assert client.get(f"/api/v1/people/{b['id']}").json()["faces"] == b["faces"]
    cover = faces["faces"][-1]["face_id"]
    changed = client.post(f"/api/v1/people/{a['id']}/cover", json={"face_id": cover}).json()
    assert changed["person"]["cover_face_id"] == cover


def test_bulk_remove_and_reassign(client) -> None:
    people = client.get("/api/v1/people").json()["people"]
    source, target = people[0], people[1]
    faces = client.get(f"/api/v1/people/{source['id']}/faces").json()["faces"]
    picked = [f["face_id"] for f in faces[:2]]
    moved = client.post(
        "/api/v1/labels",
        json={
            "face_ids": picked,
            "verdict": "person",
            "person_id": target["id"],
            "origin": "bulk",
            "confirm": True,
        },
    ).json()
    assert client.get(f"/api/v1/people/{target['id']}").json()["faces"] == target["faces"] + 2
    client.post(f"/api/v1/batches/{moved['batch']}/undo").raise_for_status()
    removed = client.post(
        "/api/v1/labels", json={"face_ids": picked, "verdict": "reject", "person_id": source["id"]}
    )
    assert removed.status_code == 200
    assert client.get(f"/api/v1/people/{source['id']}").json()["faces"] == source["faces"] - 2


def test_activity_and_undo_from_it(client) -> None:
    item = first_item(client)
    client.post(f"/api/v1/faces/{item['face_id']}/label", json={"verdict": "not_face"})
    entries = client.get("/api/v1/activity", params={"kind": "decision", "limit": 5}).json()[
        "entries"
    ]
    assert entries[0]["action"] == "not_face" and entries[0]["user"] == "owner"
    client.post(f"/api/v1/decisions/{entries[0]['id']}/undo").raise_for_status()
    latest = client.get("/api/v1/activity", params={"limit": 2}).json()["entries"]
    assert latest[0]["action"] == "undo" and latest[1]["undone"]
    assert client.get("/api/v1/activity", params={"origin": "import", "limit": 3}).json()["entries"]
    # every moment says its zone (UTC); one given back in another zone is read as such
    assert latest[1]["at"].endswith("Z")
    stamp = latest[1]["at"].removesuffix("Z") + "+09:00"
    assert client.get("/api/v1/activity", params={"before": stamp}).status_code == 200


def test_photos_and_images(client) -> None:
    item = first_item(client)
    photo = client.get(f"/api/v1/photos/{item['image_id']}").json()
    assert item["face_id"] in [f["face_id"] for f in photo["faces"]]
    image = client.get(f"/api/v1/photos/{item['image_id']}/image.jpg", params={"size": 256})
    assert image.status_code == 200 and image.headers["content-type"] == "image/jpeg"
    etag = image.headers["etag"]
    cached = client.get(
        f"/api/v1/photos/{item['image_id']}/image.jpg",
        params={"size": 256},
        headers={"If-None-Match": etag},
    )
    assert cached.status_code == 304
    chip = client.get(f"/api/v1/faces/{item['face_id']}/chip.jpg")
    assert chip.content[:2] == b"\xff\xd8" and "immutable" in chip.headers["cache-control"]
    assert client.get(f"/api/v1/faces/{item['face_id']}/crop.jpg").status_code == 200


def test_overview_and_jobs(client) -> None:
    overview = client.get("/api/v1/overview").json()
    assert overview["faces"] == 120 and overview["threshold"] == 30
    assert client.get("/api/v1/jobs").json() == []
    assert client.get("/api/v1/jobs/1").status_code == 404


def test_upload_refuses_non_photos_clearly(client) -> None:
    upload = client.post("/api/v1/uploads").json()["upload_id"]
    refused = client.post(
        f"/api/v1/uploads/{upload}/files",
        files=[("files", ("notes.txt", b"just text", "text/plain"))],
    )
    assert refused.status_code == 415
    assert refused.json()["message"] == (
        "notes.txt is not a photo faceloop can read: the file is text"
    )
    mixed = client.post(
        f"/api/v1/uploads/{upload}/files",
        files=[
            ("files", ("a.jpg", jpeg_bytes(noise_image()), "image/jpeg")),
            ("files", ("b.pdf", b"%PDF-1.4 x", "application/pdf")),
        ],
        data={"paths": ["Aya/a.jpg", "b.pdf"]},
    ).json()
    assert [f["name"] for f in mixed["accepted"]] == ["Aya/a.jpg"]
    assert "PDF" in mixed["rejected"][0]["reason"]
    empty = client.post("/api/v1/uploads").json()["upload_id"]
    nothing = client.post(f"/api/v1/uploads/{empty}/import", json={})
    assert nothing.status_code == 422 and "no photos" in nothing.json()["message"]
    assert client.post(f"/api/v1/uploads/{empty}/discard").status_code == 204
    assert client.post(f"/api/v1/uploads/{empty}/import", json={}).status_code == 404


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("get", "/api/v1/faces/999999", None, 404),
        ("get", "/api/v1/people/999999", None, 404),
        ("get", "/api/v1/people/999999/faces", None, 404),
        ("get", "/api/v1/photos/999999", None, 404),
        ("get", "/api/v1/photos/999999/image.jpg", None, 404),
        ("get", "/api/v1/faces/999999/chip.jpg", None, 404),
        ("get", "/api/v1/faces/1/other.jpg", None, 422),
        ("get", "/api/v1/photos/1/image.jpg?size=123", None, 422),
        ("post", "/api/v1/faces/999999/label", {"verdict": "unknown"}, 404),
        ("post", "/api/v1/faces/1/label", {"verdict": "maybe"}, 422),
        ("post", "/api/v1/faces/1/label", {"verdict": "person"}, 422),
        ("post", "/api/v1/faces/1/label", {"verdict": "skip", "extra": 1}, 422),
        ("post", "/api/v1/faces/1/label", "not json", 422),
        ("post", "/api/v1/decisions/999999/undo", None, 404),
        ("post", "/api/v1/batches/nope/undo", None, 404),
        ("post", "/api/v1/person-events/999999/undo", None, 404),
        ("post", "/api/v1/people/1/merge", {"into_id": 1}, 422),
        ("post", "/api/v1/people/1/rename", {"name": ""}, 422),
        ("post", "/api/v1/people/999999/unmerge", None, 404),
        ("post", "/api/v1/photos/1/faces", {"left": 5, "top": 5, "right": 6, "bottom": 6}, 422),
        ("post", "/api/v1/uploads/../../etc/files", None, 404),
        ("post", "/api/v1/uploads/0123/import", {}, 404),
        ("get", "/api/v1/activity?before=yesterday", None, 422),
        ("get", "/api/v1/queue?since=2026-13-01", None, 422),
        ("delete", "/api/v1/people/1", None, 405),
        ("get", "/api/v1/nothing-here", None, 404),
    ],
)
def test_errors_are_clear_json(shared_client, method, path, body, status) -> None:
    client = shared_client
    if isinstance(body, str):
        response = client.request(
            method, path, content=body, headers={"content-type": "application/json"}
        )
    else:
        response = client.request(method, path, json=body)
    assert response.status_code == status, response.text
    payload = response.json()
    assert payload["message"] and payload["error"]
    assert "Traceback" not in response.text


def test_the_openapi_schema_covers_the_api(client) -> None:
    schema = client.get("/api/v1/openapi.json").json()
    paths = set(schema["paths"])
    for expected in (
        "/api/v1/queue",
        "/api/v1/faces/{face_id}/label",
        "/api/v1/labels",
        "/api/v1/names",
        "/api/v1/people/{person_id}/merge",
        "/api/v1/photos/{image_id}/faces",
        "/api/v1/uploads/{upload_id}/files",
        "/api/v1/activity",
        "/api/v1/jobs/{job_id}",
    ):
        assert expected in paths
    assert not any(p.startswith("/people") for p in paths)


def test_an_unexpected_error_is_a_clear_message_not_a_trace(ws) -> None:
    from fastapi.testclient import TestClient

    from faceloop.web.app import WebSettings, create_app

    def broken() -> None:
        raise KeyError("a bug")

    app = create_app(ws, WebSettings(allowed_hosts={"testserver"}))
    app.add_api_route("/api/v1/broken", broken)
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/api/v1/broken")
    assert response.status_code == 500
    assert response.json()["message"].startswith("something went wrong on our side")
    assert "KeyError" not in response.text
