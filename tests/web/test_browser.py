"""The pages in a real browser (Debian's chromium, headless, driven by Playwright) against a
real `faceloop serve` on a free port, with real photos imported.

A failing test leaves a screenshot in test-artifacts/.
"""

from __future__ import annotations

import shutil

import pytest

from faceloop.ingest.run import import_photos
from faceloop.workspace import init_workspace
from tests.conftest import DATA, needs_data
from tests.web.browsing import serving

pytestmark = needs_data


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("browser") / "ws"
    photos = tmp_path_factory.mktemp("photos")
    for person in ("obama", "biden", "rose_leslie", "kit_harington"):
        shutil.copytree(DATA / "known" / "train" / person, photos / person)
    shutil.copy(DATA / "group" / "face_recognition_obama_and_biden.jpg", photos / "group.jpg")
    with init_workspace(root) as ws:
        summary = import_photos(ws, [photos], recursive=True, workers=1)
    assert summary.faces >= 10
    with serving(root) as server:
        yield server


@pytest.fixture
def page(page):
    """Answer the confirm() dialogs the pages ask before a destructive action."""
    page.on("dialog", lambda dialog: dialog.accept())
    return page


def current_face(page) -> int | None:
    return page.evaluate(
        "() => window.faceloopLabel.current && window.faceloopLabel.current.face_id"
    )


def settle(page) -> None:
    page.evaluate("() => window.faceloopLabel.settled()")


def test_label_five_faces_with_the_keyboard_alone_and_undo(server, page) -> None:
    page.goto(server.base + "/label")
    page.wait_for_function("() => window.faceloopLabel && window.faceloopLabel.current")
    keyboard = page.keyboard
    shown = []

    def answer(*keys: str) -> None:
        before = current_face(page)
        shown.append(before)
        for key in keys:
            if len(key) > 1 and key not in ("Enter", "Escape"):
                keyboard.type(key)
                page.wait_for_selector("#name-list li[aria-selected='true']")
            else:
                keyboard.press(key)
        # the next face is there at once: no request was awaited
        assert current_face(page) != before

    answer("Obama Test", "Enter")
    # Escape leaves the (empty) name field: single keys are commands, for the next faces too
    page.keyboard.press("Escape")
    answer("n")
    answer("u")
    answer("Biden Test", "Enter")
    page.wait_for_selector("#suggestions button.suggestion")  # as a person would see them
    answer("1")
    settle(page)
    faces = [server.api("GET", f"/faces/{face}") for face in shown]
    assert faces[0]["name"] == "Obama Test" and faces[0]["verdict"] == "person"
    assert [f["verdict"] for f in faces[1:3]] == ["not_face", "unknown"]
    assert faces[3]["name"] == "Biden Test"
    assert faces[4]["verdict"] == "person"
    assert page.locator("#history li").count() == 5

    keyboard.press("Escape")
    keyboard.press("z")
    assert current_face(page) == shown[4]
    settle(page)
    assert server.api("GET", f"/faces/{shown[4]}")["verdict"] is None
    assert "undone" in page.locator("#history li").first.inner_text()
    assert page.js_errors == []

    # Enter on a focused link follows it, as on every page, rather than answering the face
    page.focus("#photo-link")
    with page.expect_navigation():
        keyboard.press("Enter")
    assert "/photos/" in page.url
    assert server.api("GET", f"/faces/{shown[4]}")["verdict"] is None


def test_merge_two_people_and_unmerge(server, page) -> None:
    queue = server.api("GET", "/queue?limit=2")["items"]
    first = server.api(
        "POST", f"/faces/{queue[0]['face_id']}/label", {"verdict": "person", "name": "Rose Leslie"}
    )
    second = server.api(
        "POST", f"/faces/{queue[1]['face_id']}/label", {"verdict": "person", "name": "ローズ"}
    )
    keep, merge = first["person_id"], second["person_id"]
    page.goto(f"{server.base}/people/{merge}")
    page.fill("#merge-name", "Rose Les")
    page.wait_for_selector("#merge-list li[aria-selected='true']")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{server.base}/people/{keep}")
    assert "includes ローズ" in page.locator(".person-info").inner_text()
    assert server.api("GET", f"/people/{keep}")["faces"] == 2

    page.click(f".unmerge[data-id='{merge}']")
    page.wait_for_url(f"{server.base}/people/{merge}")
    assert server.api("GET", f"/people/{keep}")["faces"] == 1
    restored = server.api("GET", f"/people/{merge}")
    assert restored["faces"] == 1 and restored["merged_into"] is None
    assert page.locator(".face-tile").count() == 1
    assert page.js_errors == []


def test_upload_a_photo_and_see_its_faces(server, page) -> None:
    page.goto(server.base + "/upload")
    page.set_input_files("#file-input", str(DATA / "known" / "test" / "obama1.jpg"))
    page.wait_for_selector("#upload-result:not([hidden])", timeout=90_000)
    assert "1 photo imported with 1 face" in page.inner_text("#result-text")
    page.click("#new-photos a")
    page.wait_for_selector(".photo-face")
    assert page.locator(".photo-face").count() == 1
    assert "not labelled" in page.inner_text(".photo-face")
    page.goto(server.base + "/upload")
    page.set_input_files(
        "#file-input",
        files=[{"name": "notes.txt", "mimeType": "text/plain", "buffer": b"not a photo"}],
    )
    page.wait_for_selector("#rejected li")
    assert "notes.txt is not a photo" in page.inner_text("#rejected")
    assert page.js_errors == []


def test_draw_a_box_to_add_a_missed_face(server, page) -> None:
    group = next(item for item in server.api("GET", "/queue?limit=20")["items"] if item["others"])
    image = group["image_id"]
    before = len(server.api("GET", f"/photos/{image}")["faces"])
    page.goto(f"{server.base}/photos/{image}")
    page.wait_for_function("() => document.getElementById('photo').complete")
    page.click("#draw")
    box = page.locator("#boxes").bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.05, box["y"] + box["height"] * 0.6)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.15, box["y"] + box["height"] * 0.75, steps=5)
    page.mouse.up()
    page.wait_for_function(
        f"() => document.querySelectorAll('.photo-face').length === {before + 1}"
    )
    faces = server.api("GET", f"/photos/{image}")["faces"]
    manual = [f for f in faces if f["detector"] == "manual"]
    assert len(faces) == before + 1 and len(manual) == 1
    assert page.locator(f"#face-{manual[0]['face_id']}").is_visible()
    assert page.js_errors == []
