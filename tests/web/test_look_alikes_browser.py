"""The confirm page's look-alike suggestions (no model yet) and the passers-by page in a real
browser (chromium through Playwright) against a real `faceloop serve`, on ORL photos with
s1-s3 partly labelled and real photos of several people each, grouped by `recluster`: keyboard
only.

A failing test leaves a screenshot in test-artifacts/.
"""

from __future__ import annotations

import re
import shutil

import pytest

from faceloop.grouping.run import recluster
from faceloop.workspace import open_workspace
from tests.conftest import needs_data
from tests.web.browsing import confirm_unit, serving

pytestmark = needs_data


@pytest.fixture(scope="module")
def server(tmp_path_factory, crowd_template):
    root = tmp_path_factory.mktemp("look-alikes-browser") / "ws"
    shutil.copytree(crowd_template, root)
    with open_workspace(root) as ws:
        assert recluster(ws).groups >= 4
    with serving(root) as server:
        yield server


def test_confirm_look_alikes_of_a_labelled_person_with_the_keyboard(server, page) -> None:
    page.goto(server.base + "/confirm?mode=page")
    page.wait_for_function("() => window.faceloopConfirm && window.faceloopConfirm.current")
    shown = confirm_unit(page)
    faces, person = shown["faces"], shown["person_id"]
    assert shown["source"] == "nearest", "no model yet: auto offers the look-alikes"
    assert len(faces) >= 3 and sorted(shown["selected"]) == sorted(faces)
    name = server.api("GET", f"/people/{person}")["name"]
    assert page.inner_text("#person-name") == name
    assert page.inner_text("#source-note") == f"like labelled faces of {name}"
    assert page.locator("#source-switch a[aria-current='true']").inner_text() == "Auto"
    assert page.locator(".confirm-tile").count() == len(faces)

    page.keyboard.press("l")
    page.keyboard.press("x")  # the second face is not them
    assert confirm_unit(page)["cursor"] == 1
    dropped = faces[1]
    assert page.locator(f"#tile-{dropped}.refused").count() == 1
    page.keyboard.press("Enter")
    page.wait_for_function(
        f"() => !window.faceloopConfirm.current"
        f" || !window.faceloopConfirm.current.items.some((i) => i.face_id === {dropped})"
    )
    page.evaluate("() => window.faceloopConfirm.settled()")

    for face_id in faces:
        face = server.api("GET", f"/faces/{face_id}")
        if face_id == dropped:
            assert face["verdict"] is None
        else:
            assert (face["verdict"], face["person_id"]) == ("person", person), face_id
    refusals = server.api("GET", f"/activity?face_id={dropped}&action=reject")["entries"]
    assert len(refusals) == 1 and refusals[0]["person_id"] == person
    assert refusals[0]["detail"] == {"source": "nearest"}
    offered = server.api("GET", "/confirm?mode=one&source=nearest&limit=24")["items"]
    assert dropped not in {item["face_id"] for item in offered}
    assert set(faces).isdisjoint(item["face_id"] for item in offered)
    assert page.locator("#history li.saved").count() == 1
    assert page.js_errors == []


def passers_shown(page) -> list[int] | None:
    return page.evaluate(
        "() => window.faceloopPassersBy.current"
        " && window.faceloopPassersBy.current.map((f) => f.face_id)"
    )


def test_mark_a_page_of_passers_by_with_the_keyboard(server, page) -> None:
    page.goto(server.base + "/passers-by")
    page.wait_for_function("() => window.faceloopPassersBy && window.faceloopPassersBy.current")
    page.wait_for_function("() => window.faceloopPassersBy.ahead.length > 0")
    faces = passers_shown(page)
    assert faces == [f["face_id"] for f in server.api("GET", "/passers-by")["faces"]]
    assert page.locator("#group-grid .face-tile").count() == len(faces) == 24
    notes = page.locator("#group-grid .tile-note").all_inner_texts()
    assert len(notes) == 24 and all(re.fullmatch(r"\d+%", note) for note in notes)

    page.keyboard.press("ArrowRight")
    page.keyboard.press("Space")  # the second face is somebody to name
    assert page.locator("#group-grid .face-tile.deselected").count() == 1
    dropped = faces[1]
    assert page.evaluate("() => window.faceloopPassersBy.grid.excluded()") == [dropped]
    fetched_ahead = page.evaluate(
        "() => (window.faceloopPassersBy.ahead[0] || []).map((f) => f.face_id)"
    )
    page.keyboard.press("Enter")
    # the next page was fetched ahead and is shown from the buffer; it never shows the face
    # taken out
    page.wait_for_function(
        f"() => window.faceloopPassersBy.current"
        f" && !window.faceloopPassersBy.current.some((f) => f.face_id === {faces[0]})"
    )
    following = passers_shown(page)
    assert fetched_ahead and following == fetched_ahead
    assert following and dropped not in following and set(following).isdisjoint(faces)
    page.evaluate("() => window.faceloopPassersBy.settled()")
    for face_id in faces:
        verdict = server.api("GET", f"/faces/{face_id}")["verdict"]
        assert verdict == (None if face_id == dropped else "unknown"), face_id
    latest = page.locator("#history li").first
    assert "23 faces → unknown person, 1 taken out" in latest.inner_text()
    assert dropped in page.evaluate("() => window.faceloopPassersBy.dismissed")

    page.keyboard.press("z")
    page.wait_for_function(
        f"() => window.faceloopPassersBy.current"
        f" && window.faceloopPassersBy.current[0].face_id === {faces[0]}"
    )
    page.evaluate("() => window.faceloopPassersBy.settled()")
    assert server.api("GET", f"/faces/{faces[0]}")["verdict"] is None
    assert "undone" in page.locator("#history li").first.inner_text()
    assert page.evaluate("() => window.faceloopPassersBy.grid.excluded()") == [dropped]
    assert page.js_errors == []


def test_confirm_a_mixed_page_of_everyone_with_the_keyboard(server, page) -> None:
    page.goto(server.base + "/confirm")
    page.wait_for_function("() => window.faceloopConfirm && window.faceloopConfirm.current")
    assert page.get_attribute("#confirm-app", "data-mode") == "mixed", "the default mode"
    assert page.locator("#mode-switch a[aria-current='true']").inner_text() == "A page of anyone"
    shown = confirm_unit(page)
    items = shown["items"]
    assert shown["source"] == "nearest" and shown["person_id"] is None
    assert len(items) >= 3 and len({i["person_id"] for i in items}) >= 2
    assert sorted(shown["selected"]) == sorted(i["face_id"] for i in items)
    assert page.inner_text("#source-note") == "like labelled faces of each person"
    names = page.locator(".confirm-tile .tile-name").all_inner_texts()
    assert names == [i["person_name"] for i in items], "each face's own person under it"
    for item in items[:3]:
        person = server.api("GET", f"/people/{item['person_id']}")
        assert person["name"] == item["person_name"]

    page.keyboard.press("l")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("Space")  # the third face is not the person named under it
    assert confirm_unit(page)["cursor"] == 2
    dropped = items[2]
    assert page.locator(f"#tile-{dropped['face_id']}.refused").count() == 1
    page.keyboard.press("Enter")
    page.wait_for_function(
        f"() => !window.faceloopConfirm.current || !window.faceloopConfirm.current.items"
        f".some((i) => i.face_id === {dropped['face_id']})"
    )
    page.evaluate("() => window.faceloopConfirm.settled()")

    batches = set()
    for item in items:
        face = server.api("GET", f"/faces/{item['face_id']}")
        entries = server.api("GET", f"/activity?face_id={item['face_id']}&kind=decision")
        batches.add(entries["entries"][0]["batch"])
        if item is dropped:
            assert face["verdict"] is None
        else:
            assert (face["verdict"], face["person_id"]) == ("person", item["person_id"])
    assert len(batches) == 1, "the whole page is one action"
    [refusal] = server.api("GET", f"/activity?face_id={dropped['face_id']}&action=reject")[
        "entries"
    ]
    assert refusal["person_id"] == dropped["person_id"]
    assert refusal["detail"] == {"source": "nearest"}
    offered = server.api("GET", "/confirm?mode=mixed&source=nearest&reach=wide")["items"]
    assert {i["face_id"] for i in items}.isdisjoint(i["face_id"] for i in offered)
    history = page.locator("#history li.saved")
    assert history.count() == 1
    assert f"{len(items) - 1} named as suggested, 1 not" in history.inner_text()

    page.keyboard.press("z")  # the page comes back, and its answers are withdrawn at once
    page.wait_for_function(
        f"() => window.faceloopConfirm.current"
        f" && window.faceloopConfirm.current.items[0].face_id === {items[0]['face_id']}"
    )
    page.evaluate("() => window.faceloopConfirm.settled()")
    for item in items:
        assert server.api("GET", f"/faces/{item['face_id']}")["verdict"] is None
    assert "undone" in page.locator("#history li").first.inner_text()
    assert page.js_errors == []
