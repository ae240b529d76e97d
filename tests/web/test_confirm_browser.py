"""The confirm page in a real browser (chromium through Playwright) against a real
`faceloop serve` on a workspace with a trained model and its predictions.

A failing test leaves a screenshot in test-artifacts/.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.conftest import needs_data
from tests.web.browsing import confirm_unit, serving

pytestmark = needs_data


@pytest.fixture(scope="module")
def server(learning_template: Path, tmp_path_factory):
    root = tmp_path_factory.mktemp("confirm-browser") / "ws"
    shutil.copytree(learning_template, root)
    with serving(root) as server:
        yield server


def test_confirm_a_page_with_the_keyboard(server, page) -> None:
    page.goto(server.base + "/confirm?mode=page&order=confident")
    page.wait_for_function("() => window.faceloopConfirm && window.faceloopConfirm.current")
    shown = confirm_unit(page)
    faces, person = shown["faces"], shown["person_id"]
    # the model measured itself on a handful of held-out faces: none of its guesses is sure
    # enough to start ticked; each shows as unsure, for the labeller to tick if right
    assert len(faces) >= 3 and shown["selected"] == []
    assert page.locator(".confirm-tile.unsure").count() == len(faces)
    assert "unsure" in page.locator(".confirm-tile .dist").first.inner_text()
    assert page.locator(".confirm-tile").count() == len(faces)
    assert page.locator("#page-references img").count() == 3
    name = server.api("GET", f"/people/{person}")["name"]
    assert page.inner_text("#person-name") == name

    keyboard = page.keyboard
    keyboard.press("x")  # the first face is right
    keyboard.press("l")
    keyboard.press("ArrowRight")
    keyboard.press("h")
    keyboard.press("x")
    keyboard.press("x")  # the second face is wrong: ticked, then marked wrong
    assert confirm_unit(page)["cursor"] == 1
    dropped, unsure = faces[1], faces[2]
    assert page.locator(f"#tile-{dropped}.refused").count() == 1
    keyboard.press("l")  # past the third
    for _ in faces[3:]:
        keyboard.press("l")
        keyboard.press("x")
    # the third is left unsure: no answer but a skip
    assert page.locator(f"#tile-{unsure}.unsure").count() == 1
    keyboard.press("Enter")
    # the next page (or the empty queue) is there at once
    page.wait_for_function(
        f"() => !window.faceloopConfirm.current"
        f" || !window.faceloopConfirm.current.items.some((i) => i.face_id === {dropped})"
    )
    page.evaluate("() => window.faceloopConfirm.settled()")

    for face_id in faces:
        face = server.api("GET", f"/faces/{face_id}")
        if face_id in (dropped, unsure):
            assert face["verdict"] is None
        else:
            assert (face["verdict"], face["person_id"]) == ("person", person), face_id
    refusals = server.api("GET", f"/activity?face_id={dropped}&action=reject")["entries"]
    assert len(refusals) == 1 and refusals[0]["person_id"] == person
    assert server.api("GET", f"/activity?face_id={unsure}&action=reject")["entries"] == []
    offered = server.api("GET", f"/confirm?mode=page&person_id={person}")["items"]
    assert dropped not in {item["face_id"] for item in offered}
    assert unsure in {item["face_id"] for item in offered}
    assert page.locator("#history li.saved").count() == 1
    assert page.js_errors == []


LONG = "Junichiro Koizumi Wolfeschlegelsteinhausen"


@pytest.mark.parametrize("width", [1280, 390])
def test_a_long_name_is_shown_whole_and_a_look_alike_name_told_apart(server, page, width) -> None:
    items = server.api("GET", "/confirm?mode=mixed")["items"]
    assert items
    person = items[0]["person_id"]
    if server.api("GET", f"/people/{person}")["name"] != LONG:
        server.api("POST", f"/people/{person}/rename", {"name": LONG})
        # another person whose name looks the same but for a hyphen
        server.api("POST", "/people", {"name": LONG.replace(" ", "-", 1), "new_person": True})
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(server.base + "/confirm?mode=mixed")
    page.wait_for_function("() => window.faceloopConfirm && window.faceloopConfirm.current")
    names = page.locator(".confirm-tile .tile-name", has_text=LONG)
    assert names.count() >= 1
    for index in range(names.count()):
        name = names.nth(index)
        assert LONG in name.inner_text()
        assert f"#{person}" in name.inner_text()
        cut = name.evaluate(
            "(n) => n.scrollWidth > n.clientWidth || n.scrollHeight > n.clientHeight"
            " || getComputedStyle(n).textOverflow === 'ellipsis'"
        )
        assert not cut, "the name is cut"
        # the whole name is within the tile, not run off its edge
        tile = name.evaluate("(n) => n.closest('.confirm-tile').getBoundingClientRect().right")
        assert name.bounding_box()["x"] + name.bounding_box()["width"] <= tile + 1
    assert page.js_errors == []


def test_enter_does_not_say_yes_to_an_unsure_guess(server, page) -> None:
    page.goto(server.base + "/confirm?mode=one&source=model")
    page.wait_for_function("() => window.faceloopConfirm && window.faceloopConfirm.current")
    item = page.evaluate("() => window.faceloopConfirm.current.items[0]")
    assert item["checked"] is False, "the young model's guesses are unsure"
    assert "unsure" in page.inner_text("#score")
    page.keyboard.press("Enter")
    expect(page.locator("#toasts")).to_contain_text("Unsure guess")
    page.evaluate("() => window.faceloopConfirm.settled()")
    assert page.evaluate("() => window.faceloopConfirm.current.items[0].face_id") == item["face_id"]
    assert server.api("GET", f"/faces/{item['face_id']}")["verdict"] is None
    page.keyboard.press("Escape")  # out of the name field: y is a command now
    page.keyboard.press("y")
    page.wait_for_function(
        f"() => !window.faceloopConfirm.current"
        f" || window.faceloopConfirm.current.items[0].face_id !== {item['face_id']}"
    )
    page.evaluate("() => window.faceloopConfirm.settled()")
    face = server.api("GET", f"/faces/{item['face_id']}")
    assert (face["verdict"], face["person_id"]) == ("person", item["person_id"])
    assert page.js_errors == []
