"""Every page renders from a real workspace, with what it must show."""

from __future__ import annotations

import json
import re

from fastapi.testclient import TestClient

from faceloop.web.app import WebSettings, create_app


def html(client, path):
    response = client.get(path, headers={"Accept": "text/html"})
    assert response.status_code == 200, (path, response.text[:300])
    assert 'name="csrf-token"' in response.text
    assert "https://" not in response.text  # nothing from a CDN: works offline
    return response.text


def test_an_empty_workspace_says_what_to_do_first(workspace) -> None:
    with TestClient(create_app(workspace, WebSettings(allowed_hosts={"testserver"}))) as client:
        page = html(client, "/")
        assert "Upload photos" in page and "faceloop import" in page and "--by-folder" in page
        label = html(client, "/label")
        assert "Nothing left to label" in label


def test_home_shows_counts_progress_and_activity(client) -> None:
    page = html(client, "/")
    assert "120</span><span>faces" in page
    assert "Progress toward a model" in page and "<meter" in page
    assert "Recent activity" in page


def test_the_label_page_carries_its_first_faces(client) -> None:
    page = html(client, "/label")
    data = json.loads(re.search(r'id="initial">(.*?)</script>', page, re.S).group(1))
    assert len(data["items"]) == 8 and data["remaining"] >= 8
    assert 'role="combobox"' in page and "<kbd>n</kbd>" in page
    assert "/static/js/label.js" in page


def test_people_and_person_pages(client) -> None:
    people = client.get("/api/v1/people").json()["people"]
    page = html(client, "/people")
    for person in people:
        assert person["name"] in page
    first = people[0]
    person = html(client, f"/people/{first['id']}")
    assert f"{first['faces']}</strong> faces" in person
    assert person.count('class="face-tile"') == first["faces"]
    assert "Merge into" in person and "Reassign" in person
    filtered = html(client, "/people?sort=name&hidden=true&q=zzz")
    assert "No people match" in filtered


def test_photo_upload_and_activity_pages(client) -> None:
    item = client.get("/api/v1/queue", params={"limit": 1}).json()["items"][0]
    photo = html(client, f"/photos/{item['image_id']}")
    assert f'data-face="{item["face_id"]}"' in photo and "Add a missed face" in photo
    face = client.get(f"/faces/{item['face_id']}", follow_redirects=False)
    assert face.headers["location"] == f"/photos/{item['image_id']}#face-{item['face_id']}"
    assert "Drop photos or folders here" in html(client, "/upload")
    activity = html(client, "/activity?kind=decision&origin=import")
    assert "undo-entry" in activity
    assert (
        client.get("/activity?before=garbage", headers={"Accept": "text/html"}).status_code == 422
    )


def test_japanese_names_render(client) -> None:
    person = client.post("/api/v1/people", json={"name": "綾瀬はるか"}).json()
    page = html(client, f"/people/{person['id']}")
    assert '<h1 id="person-name">綾瀬はるか' in page
    assert 'lang="ja"' in html(client, "/label")


def test_filter_forms_left_empty_mean_no_filter(client) -> None:
    """A GET form sends the fields left empty (`since=`): that is no filter, not a 422 page."""
    everything = json.loads(
        re.search(r'id="initial">(.*?)</script>', html(client, "/label"), re.S).group(1)
    )
    page = html(client, "/label?folder=&account=&since=&until=")
    data = json.loads(re.search(r'id="initial">(.*?)</script>', page, re.S).group(1))
    assert data["remaining"] == everything["remaining"] and len(data["items"]) == 8
    queue = client.get("/api/v1/queue", params={"since": "", "until": "", "folder": ""})
    assert queue.status_code == 200 and queue.json()["remaining"] == everything["remaining"]
    assert "undo-entry" in html(client, "/activity?kind=&action=&origin=")
    dated = html(client, "/label?since=2000-01-01&until=")
    assert 'name="since" value="2000-01-01"' in dated
    wrong = client.get("/label?since=yesterday", headers={"Accept": "text/html"})
    assert wrong.status_code == 422 and "since" in wrong.text
