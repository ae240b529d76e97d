"""The groups page and "more like this" in a real browser (chromium, headless, Playwright)
against a real `faceloop serve` on ORL photos grouped by `recluster`: keyboard only.

A failing test leaves a screenshot in test-artifacts/.
"""

from __future__ import annotations

import shutil

import pytest

from faceloop.grouping.run import recluster
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
    fetched_ahead = page.evaluate("() => window.faceloopGroups.ahead[0].summary.id")
    page.keyboard.press("Enter")
    # the next group is the one fetched ahead, shown from the buffer
    page.wait_for_function(f"() => window.faceloopGroups.current.summary.id !== {first}")
    second = shown_group(page)
    assert second == fetched_ahead
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


@pytest.fixture
def own_server(tmp_path, orl_groups_template):
    """A server on a fresh copy of the grouped workspace, for a test that changes its groups."""
    root = tmp_path / "ws"
    shutil.copytree(orl_groups_template, root)
    with open_workspace(root) as ws:
        recluster(ws)
    with serving(root) as server:
        yield server


def shown_faces(page) -> list[int]:
    return page.evaluate("() => window.faceloopGroups.current.faces.map((f) => f.face_id)")


def header_counts(page) -> tuple[str, str]:
    return page.inner_text("#group-total"), page.inner_text("#group-faces")


def expect_header_as_server(page, server) -> None:
    """The header says what the server counts, once the page's answers are saved."""
    from playwright.sync_api import expect

    page.evaluate("() => window.faceloopGroups.settled()")
    counts = server.api("GET", "/groups?limit=1")
    expect(page.locator("#group-total")).to_have_text(f"{counts['total']:,}")
    expect(page.locator("#group-faces")).to_have_text(f"{counts['faces']:,}")


def name_shown_group(page, name: str) -> None:
    page.keyboard.type(name)
    page.wait_for_selector("#name-list li[aria-selected='true']")
    page.keyboard.press("Enter")


def test_merge_undo_then_name_goes_on_to_the_other_group(own_server, page) -> None:
    from playwright.sync_api import expect

    server = own_server
    pairs = [
        (g["id"], detail["merge_candidates"][0]["id"])
        for g in server.api("GET", "/groups?limit=50")["groups"]
        if (detail := server.api("GET", f"/groups/{g['id']}"))["merge_candidates"]
    ]
    assert pairs, "the ORL groups hold no pair of look-alike groups"
    group, other = pairs[0]
    faces = {f["face_id"] for f in server.api("GET", f"/groups/{group}")["faces"]}
    other_faces = {f["face_id"] for f in server.api("GET", f"/groups/{other}")["faces"]}
    page.goto(f"{server.base}/groups/{group}")
    page.wait_for_function("() => window.faceloopGroups && window.faceloopGroups.current")

    page.keyboard.press("Escape")  # out of the name field: m is a command now
    page.keyboard.press("m")
    page.wait_for_selector("#history li.saved:has-text('two groups merged')")
    assert set(shown_faces(page)) == faces | other_faces
    expect(page.locator(".toast:has-text('Merged')")).to_have_count(1)
    expect_header_as_server(page, server)

    page.keyboard.press("z")
    page.wait_for_selector("#history li.undone:has-text('two groups merged')")
    # the toast that said "merged" is gone: the groups are apart again
    expect(page.locator(".toast:has-text('Merged')")).to_have_count(0)
    expect(page.locator(".toast:has-text('Merge undone')")).to_have_count(1)
    assert shown_group(page) == group
    assert set(shown_faces(page)) == faces
    expect_header_as_server(page, server)

    name_shown_group(page, "Greta Group")
    # the group shown next is the one the merge had taken in, as the server has it now
    page.wait_for_function(f"() => window.faceloopGroups.current.summary.id !== {group}")
    back = shown_group(page)
    assert set(shown_faces(page)) == other_faces
    assert {f["face_id"] for f in server.api("GET", f"/groups/{back}")["faces"]} == other_faces
    page.evaluate("() => window.faceloopGroups.settled()")
    for face_id in faces:
        assert server.api("GET", f"/faces/{face_id}")["name"] == "Greta Group"
    expect_header_as_server(page, server)

    name_shown_group(page, "Otto Other")
    page.wait_for_function(f"() => window.faceloopGroups.current?.summary.id !== {back}")
    page.evaluate("() => window.faceloopGroups.settled()")
    for face_id in other_faces:
        assert server.api("GET", f"/faces/{face_id}")["name"] == "Otto Other"
    assert page.locator(".toast.error").count() == 0
    assert "not saved" not in page.inner_text("#history")
    expect_header_as_server(page, server)
    assert page.js_errors == []


def test_header_counts_follow_each_answer_and_undo(own_server, page) -> None:
    server = own_server
    page.goto(server.base + "/groups")
    page.wait_for_function("() => window.faceloopGroups && window.faceloopGroups.current")
    page.wait_for_function("() => window.faceloopGroups.ahead.length >= 2")
    expect_header_as_server(page, server)
    before = header_counts(page)
    first = shown_group(page)

    page.keyboard.press("Escape")  # out of the name field: the letters are commands now
    page.keyboard.press("r")  # not the same person: one group fewer
    page.wait_for_selector("#history li.saved")
    expect_header_as_server(page, server)
    assert header_counts(page) != before

    page.keyboard.press("u")  # unknown person
    page.wait_for_selector("#history li.saved >> nth=1")
    expect_header_as_server(page, server)

    page.keyboard.press("z")
    page.keyboard.press("z")
    page.wait_for_function(f"() => window.faceloopGroups.current.summary.id === {first}")
    page.wait_for_selector("#history li.undone >> nth=1")
    expect_header_as_server(page, server)
    assert header_counts(page) == before
    assert page.js_errors == []


def test_empty_page_before_any_grouping_offers_to_group(tmp_path, orl_groups_template, page):
    root = tmp_path / "ws"
    shutil.copytree(orl_groups_template, root)
    with serving(root) as server:
        page.goto(server.base + "/groups")
        empty = page.locator("#empty")
        empty.locator("[data-empty='not-grouped']").wait_for()
        assert "not grouped yet" in empty.inner_text()
        assert "Every group is answered" not in empty.inner_text()
        assert "faceloop cluster" in empty.inner_text()
        page.click("#group-now")
        # the run's groups show once it is done (the page reloads)
        page.wait_for_function(
            "() => window.faceloopGroups && window.faceloopGroups.current", timeout=60_000
        )
        assert page.locator("#group").is_visible()
        assert page.locator("#empty").is_hidden()
        assert page.js_errors == []


def test_empty_page_once_every_group_is_answered(own_server, page) -> None:
    server = own_server
    for group in server.api("GET", "/groups?limit=200")["groups"]:
        server.api("POST", f"/groups/{group['id']}/reject")
    page.goto(server.base + "/groups")
    answered = page.locator("#empty [data-empty='answered']")
    answered.wait_for()
    assert "Every group is answered" in answered.inner_text()
    assert page.locator("#empty [data-empty='not-grouped']").is_hidden()
    assert page.locator("#group-now").is_hidden()
    assert page.js_errors == []
