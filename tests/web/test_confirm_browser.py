"""The confirm page in a real browser (chromium through Playwright) against a real
`faceloop serve` on a workspace with a trained model and its predictions.

A failing test leaves a screenshot in test-artifacts/.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

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
    assert len(faces) >= 3 and sorted(shown["selected"]) == sorted(faces)
    assert page.locator(".confirm-tile").count() == len(faces)
    assert page.locator("#page-references img").count() == 3
    name = server.api("GET", f"/people/{person}")["name"]
    assert page.inner_text("#person-name") == name

    keyboard = page.keyboard
    keyboard.press("l")
    keyboard.press("ArrowRight")
    keyboard.press("h")
    keyboard.press("x")  # the second face is wrong
    assert confirm_unit(page)["cursor"] == 1
    dropped = faces[1]
    assert page.locator(f"#tile-{dropped}.refused").count() == 1
    keyboard.press("Enter")
    # the next page (or the empty queue) is there at once
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
    offered = server.api("GET", f"/confirm?mode=page&person_id={person}")["items"]
    assert dropped not in {item["face_id"] for item in offered}
    assert page.locator("#history li.saved").count() == 1
    assert page.js_errors == []
