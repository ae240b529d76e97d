"""The groups page and "more like this" in a real browser (chromium, headless, Playwright)
against a real `faceloop serve` on ORL photos grouped by `recluster`: keyboard only.

A failing test leaves a screenshot in test-artifacts/.
"""

from __future__ import annotations

import shutil

import pytest

from faceloop.review.groups import recluster
from faceloop.workspace import open_workspace
from tests.conftest import needs_data
from tests.web.browsing import serving

pytestmark = needs_data


@pytest.fixture(scope="module")
def server(tmp_path_factory, orl_groups_template):
    root = tmp_path_factory.mktemp("groups-browser") / "ws"
    shutil.copytree(orl_groups_template, root)
    with open_workspace(root) as ws:
        assert recluster(ws).groups >= 4
    with serving(root) as server:
        yield server


def shown_group(page) -> int | None:
    return page.evaluate(
        "() => window.faceloopGroups.current && window.faceloopGroups.current.summary.id"
    )


def test_name_a_group_with_the_keyboard_but_one_face(server, page) -> None:
    page.goto(server.base + "/groups")
    page.wait_for_function("() => window.faceloopGroups && window.faceloopGroups.current")
    page.wait_for_function("() => window.faceloopGroups.ahead.length > 0")
    first = shown_group(page)
    faces = page.evaluate("() => window.faceloopGroups.current.faces.map((f) => f.face_id)")
    assert first == server.api("GET", "/groups?limit=1")["groups"][0]["id"]
    assert page.locator("#group-grid .face-tile").count() == len(faces)

    for _ in range(len(faces) - 1):
        page.keyboard.press("ArrowRight")
    page.keyboard.press("Escape")  # out of the name field: x is a command now
    page.keyboard.press("x")
    assert page.locator("#group-grid .face-tile.deselected").count() == 1
    assert page.evaluate("() => window.faceloopGroups.grid.excluded()") == faces[-1:]
    page.keyboard.type("Orl Person")
    page.wait_for_selector("#name-list li[aria-selected='true']")
    page.keyboard.press("Enter")
    # the next group is there at once: it was fetched ahead
    page.wait_for_function(
        f"() => window.faceloopGroups.current.summary.id !== {first}", timeout=500
    )
    second = shown_group(page)
    assert page.locator("#group").is_visible()
    page.evaluate("() => window.faceloopGroups.settled()")
    for face_id in faces[:-1]:
        face = server.api("GET", f"/faces/{face_id}")
        assert (face["verdict"], face["name"]) == ("person", "Orl Person")
    assert server.api("GET", f"/faces/{faces[-1]}")["verdict"] is None
    assert "Orl Person" in page.locator("#history li").first.inner_text()
    assert page.input_value("#name") == ""

    page.keyboard.press("Escape")
    page.keyboard.press("z")
    page.wait_for_function(f"() => window.faceloopGroups.current.summary.id === {first}")
    page.evaluate("() => window.faceloopGroups.settled()")
    assert server.api("GET", f"/faces/{faces[0]}")["verdict"] is None
    assert "undone" in page.locator("#history li").first.inner_text()
    page.keyboard.press("s")
    assert shown_group(page) == second
    assert page.js_errors == []


def test_split_a_group_and_take_it_back(server, page) -> None:
    page.goto(server.base + "/groups")
    page.wait_for_function("() => window.faceloopGroups && window.faceloopGroups.current")
    group = shown_group(page)
    faces = page.evaluate("() => window.faceloopGroups.current.faces.map((f) => f.face_id)")
    page.click("button[data-action='split']")
    page.wait_for_selector(f"#history li:has-text('{len(faces)} faces split in two')")
    part = page.evaluate("() => window.faceloopGroups.current.faces.map((f) => f.face_id)")
    assert set(part) < set(faces)
    assert {f["face_id"] for f in server.api("GET", f"/groups/{group}")["faces"]} < set(faces)

    page.keyboard.press("Escape")  # the name field has the focus: z would be typed
    page.keyboard.press("z")
    page.wait_for_selector("#history li.undone:has-text('split in two')")
    page.wait_for_function(f"() => window.faceloopGroups.current.summary.id === {group}")
    shown = page.evaluate("() => window.faceloopGroups.current.faces.map((f) => f.face_id)")
    assert set(shown) == set(faces)
    assert {f["face_id"] for f in server.api("GET", f"/groups/{group}")["faces"]} == set(faces)
    assert page.js_errors == []


def test_more_like_this_names_the_nearest_faces_as_the_source_person(server, page) -> None:
    named = server.api("GET", "/activity?action=person&origin=import")["entries"][0]
    page.goto(f"{server.base}/similar/{named['face_id']}")
    page.wait_for_selector("#group-grid .face-tile")
    assert named["person_name"] in page.inner_text("#group-suggestion")
    faces = page.evaluate("() => window.faceloopSimilar.grid.faces.map((f) => f.face_id)")
    threshold = page.evaluate("() => window.faceloopSimilar.data.threshold")
    distances = page.evaluate("() => window.faceloopSimilar.grid.faces.map((f) => f.distance)")
    before = set(page.evaluate("() => window.faceloopSimilar.grid.excluded()"))
    assert before == {f for f, d in zip(faces, distances, strict=True) if d > threshold}
    page.keyboard.press("Escape")
    page.keyboard.press("l")
    page.keyboard.press("Space")
    chosen = page.evaluate("() => window.faceloopSimilar.grid.chosen()")
    left_out = page.evaluate("() => window.faceloopSimilar.grid.excluded()")
    assert set(left_out) ^ before == {faces[1]}
    assert chosen
    page.keyboard.press("Enter")
    page.wait_for_selector("#history li.saved")
    for face_id in chosen:
        assert server.api("GET", f"/faces/{face_id}")["person_id"] == named["person_id"]
    for face_id in left_out[:5]:
        assert server.api("GET", f"/faces/{face_id}")["verdict"] is None
    assert page.js_errors == []


def test_recluster_button_follows_the_job_to_the_end(server, page) -> None:
    page.goto(server.base + "/groups?view=list")
    with page.expect_navigation(timeout=60_000):  # the page refreshes when the run is done
        page.click("#recluster")
    page.wait_for_selector("#jobs li[data-status='done'] .job-kind:has-text('cluster')")
    job = server.api("GET", "/jobs?limit=1")[0]
    assert (job["kind"], job["status"]) == ("cluster", "done")
    assert page.locator(".group-row").count() == server.api("GET", "/groups")["total"] > 0
    assert page.js_errors == []
