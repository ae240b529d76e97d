"""Enter on an empty name field takes suggestion 1 only when it is likely (issue 12, item 2)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from faceloop.testing.workspace import build_synthetic
from faceloop.workspace import init_workspace
from tests.web.browsing import serving


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """Six well-separated people with 300 labelled faces: a look-alike's distance is measured
    on enough of them to be sure of the nearest person."""
    root = tmp_path_factory.mktemp("suggestions") / "ws"
    with init_workspace(root) as ws:
        build_synthetic(ws, faces=600, people=6, labelled_fraction=0.5, seed=5, photos=True)
    with serving(root) as server:
        yield server


def current(page) -> dict:
    return page.evaluate("() => window.faceloopLabel.current")


def test_enter_takes_only_a_likely_first_suggestion(server, page) -> None:
    first, second = server.api("GET", "/queue?limit=2")["items"]
    assert first["suggestions"][0]["confident"], first["suggestions"][0]
    # said not to be its nearest person, the face is left with far guesses only
    server.api(
        "POST",
        f"/faces/{first['face_id']}/label",
        {"verdict": "reject", "person_id": first["suggestions"][0]["person_id"]},
    )
    poor = server.api("GET", f"/faces/{first['face_id']}")["suggestions"]
    assert poor and not poor[0]["confident"] and poor[0]["probability"] <= 0.5

    page.goto(server.base + "/label")
    page.wait_for_function("() => window.faceloopLabel && window.faceloopLabel.current")
    assert current(page)["face_id"] == first["face_id"]
    expect(page.locator("#suggestions .suggestion").first).to_contain_text("guess")
    expect(page.locator("#suggestions .suggestion.likely")).to_have_count(0)
    page.locator("#name").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#toasts")).to_contain_text("No sure suggestion")
    page.evaluate("() => window.faceloopLabel.settled()")
    assert current(page)["face_id"] == first["face_id"]
    assert server.api("GET", f"/faces/{first['face_id']}")["verdict"] is None

    # a digit still takes any suggestion
    page.keyboard.press("1")
    page.wait_for_function(f"() => window.faceloopLabel.current.face_id !== {first['face_id']}")
    assert current(page)["face_id"] == second["face_id"]
    likely = second["suggestions"][0]
    assert likely["confident"]
    expect(page.locator("#suggestions .suggestion").first).to_have_class("suggestion likely")
    expect(page.locator("#suggestions .suggestion").first).to_contain_text("likely")
    page.keyboard.press("Enter")
    page.wait_for_function(f"() => window.faceloopLabel.current.face_id !== {second['face_id']}")
    page.evaluate("() => window.faceloopLabel.settled()")
    labelled = server.api("GET", f"/faces/{first['face_id']}")
    assert labelled["verdict"] == "person" and labelled["person_id"] == poor[0]["person_id"]
    took = server.api("GET", f"/faces/{second['face_id']}")
    assert took["verdict"] == "person" and took["person_id"] == likely["person_id"]
    assert page.js_errors == []
