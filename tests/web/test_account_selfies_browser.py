"""Selfies of a linked account on the confirm page, in a real browser against a real
`faceloop serve`: a page of their own that says whose account they came from, each face
captioned with its poster, and one Enter labels them all.

A failing test leaves a screenshot in test-artifacts/.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from faceloop.collect.accounts import link_account
from faceloop.collect.run import add_source
from faceloop.labels.person_ops import create_person
from faceloop.testing.posts import faces_by_image, post_photos
from faceloop.testing.workspace import build_synthetic
from faceloop.workspace import init_workspace
from tests.web.browsing import serving

SELFIES = 6


@pytest.fixture
def server(tmp_path: Path):
    root = tmp_path / "ws"
    with init_workspace(root) as ws:
        build_synthetic(ws, faces=120, people=3, labelled_fraction=0, seed=5)
        (tmp_path / "inbox").mkdir()
        source = add_source(ws, "folder", str(tmp_path / "inbox"))
        by_image = faces_by_image(ws)
        singles = [faces[0] for faces in by_image.values() if len(faces) == 1][:SELFIES]
        account = post_photos(ws, source.id, "@aya_idol@mstdn.jp", singles)
        with ws.transaction() as session:
            aya = create_person(session, "Aya", ws.owner_id())
        link_account(ws, account, aya, ws.owner_id())
    with serving(root) as server:
        server.selfies, server.aya = singles, aya
        yield server


@pytest.mark.parametrize("width", [1280, 390])
def test_a_page_of_selfies_from_her_account_is_one_enter(server, page, width) -> None:
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(server.base + "/confirm?mode=page")
    page.wait_for_function("() => window.faceloopConfirm && window.faceloopConfirm.current")
    assert page.inner_text("#person-name") == "Aya"
    assert page.inner_text("#source-note") == f"{SELFIES} new selfies from Aya's account"
    origins = page.locator(".confirm-tile .tile-origin")
    assert origins.count() == SELFIES
    assert origins.first.inner_text() == "from @aya_idol@mstdn.jp"
    assert page.inner_text("#pending") == str(SELFIES)
    Path("test-artifacts").mkdir(exist_ok=True)
    page.screenshot(path=f"test-artifacts/account-selfies-{width}.png", full_page=True)
    page.keyboard.press("Enter")
    page.wait_for_function(
        "() => !window.faceloopConfirm.current || "
        "window.faceloopConfirm.current.source !== 'account'"
    )
    page.evaluate("() => window.faceloopConfirm.settled && window.faceloopConfirm.settled()")
    for face in server.selfies:
        assert server.api("GET", f"/faces/{face}")["person_id"] == server.aya
    assert page.js_errors == []


def test_a_mixed_page_puts_the_selfies_first_with_their_poster(server, page) -> None:
    page.set_viewport_size({"width": 390, "height": 900})
    page.goto(server.base + "/confirm")
    page.wait_for_function("() => window.faceloopConfirm && window.faceloopConfirm.current")
    first = page.locator(".confirm-tile").first
    assert "Aya" in first.locator(".tile-name").inner_text()
    assert first.locator(".tile-caption .tile-origin").inner_text() == "from @aya_idol@mstdn.jp"
    assert "selfies from linked accounts" in page.inner_text("#source-note")
    page.screenshot(path="test-artifacts/account-selfies-mixed-390.png", full_page=True)
    assert page.js_errors == []
