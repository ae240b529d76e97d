"""Every page fits a phone: no page scrolls sideways at 390 px (nor at 1280 px), on a workspace
with labelled people, a model and its predictions, groups, and photos of several people each.
Fans help from their phones; a page wider than the screen hides its buttons off to the side.

A failing test leaves a screenshot in test-artifacts/.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import func, select

from faceloop.db.models import Person
from faceloop.grouping.run import recluster
from faceloop.ingest.run import import_photos
from faceloop.web.security import set_password
from faceloop.workspace import init_workspace, open_workspace
from tests.conftest import DATA, needs_data
from tests.web.browsing import serving
from tools.screenshots import page_ids

pytestmark = needs_data

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}

#: each page of the app, by the path it is served at; "{person}" and the like are filled in
#: from the workspace (the person with most faces, the photo with most faces, ...)
PAGES = [
    "/",
    "/label",
    "/groups",
    "/groups/{group}",
    "/groups?view=list",
    "/passers-by",
    "/similar/{face}",
    "/confirm",
    "/confirm?mode=one",
    "/confirm?mode=page",
    "/confirm?mode=page&order=uncertain&source=nearest&reach=wide",
    "/people",
    "/people/{person}",
    "/photos/{photo}",
    "/upload",
    "/sources",
    "/accounts",
    "/activity",
    "/models",
    "/identify",
    "/export",
]


@pytest.fixture(scope="module")
def server(learning_template: Path, tmp_path_factory):
    """The learning workspace (a model, its predictions, labelled people) grouped, plus the
    photos of two people each (passers-by, a photo page with several boxes)."""
    root = tmp_path_factory.mktemp("layout") / "ws"
    shutil.copytree(learning_template, root)
    with open_workspace(root) as ws:
        import_photos(ws, sorted((DATA / "group").glob("face_recognition_*.jpg")), workers=1)
        assert recluster(ws).groups >= 2
        ids = page_ids(ws)
        with ws.reader() as session:
            assert session.scalar(select(func.count()).select_from(Person)) >= 5
    assert all(ids.values()), ids
    with serving(root) as server:
        server.ids = ids
        yield server


@pytest.fixture(scope="module")
def login_server(tmp_path_factory):
    """An empty workspace behind a password: the login page is reachable only there."""
    root = tmp_path_factory.mktemp("layout-login") / "ws"
    with init_workspace(root) as ws:
        set_password(ws, "correct horse battery")
    with serving(root) as server:
        yield server


def overflow(page) -> dict:
    """How wide the page is against the window, and the widest elements that stick out."""
    return page.evaluate(
        """() => {
          const width = window.innerWidth;
          const clipped = (e) => {
            for (let p = e.parentElement; p && p !== document.body; p = p.parentElement) {
              if (getComputedStyle(p).overflowX !== 'visible') return true;
            }
            return false;
          };
          const out = [...document.querySelectorAll('body *')]
            .filter((e) => e.getBoundingClientRect().right > width + 1 && !clipped(e))
            .slice(0, 5)
            .map((e) => `${e.tagName.toLowerCase()}#${e.id}.${e.className}`);
          return {scroll: document.documentElement.scrollWidth, window: width, out};
        }"""
    )


def settle(page) -> None:
    """Each page fills itself in from its script: wait until the fetches are done and the
    images are in, so what is measured is what a person sees."""
    page.wait_for_load_state("networkidle")
    page.wait_for_function(
        "() => [...document.images].every((i) => i.complete || i.loading === 'lazy')",
        timeout=20_000,
    )


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["390", "1280"])
@pytest.mark.parametrize("path", PAGES)
def test_no_page_scrolls_sideways(server, browser, request, path: str, viewport: dict) -> None:
    context = browser.new_context(viewport=viewport)
    context.set_default_timeout(20_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        response = page.goto(server.base + path.format(**server.ids))
        assert response.status == 200, path
        settle(page)
        measured = overflow(page)
        if measured["scroll"] > measured["window"]:
            shot = Path(__file__).resolve().parents[2] / "test-artifacts"
            shot.mkdir(exist_ok=True)
            page.screenshot(path=str(shot / f"{request.node.name}.png"), full_page=True)
        assert measured["scroll"] <= measured["window"], measured
        assert errors == []
    finally:
        context.close()


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["390", "1280"])
def test_the_login_page_fits(login_server, browser, viewport: dict) -> None:
    context = browser.new_context(viewport=viewport)
    page = context.new_page()
    try:
        page.goto(login_server.base + "/label")
        page.wait_for_selector("input[type='password']")
        assert "/login" in page.url
        measured = overflow(page)
        assert measured["scroll"] <= measured["window"], measured
    finally:
        context.close()


def phone_page(browser, viewport: dict = PHONE):
    context = browser.new_context(viewport=viewport)
    context.set_default_timeout(20_000)
    return context, context.new_page()


@pytest.mark.parametrize("path", ["/export", "/confirm", "/models"])
def test_the_navigation_shows_the_page_s_tab_on_a_phone(server, browser, path: str) -> None:
    context, page = phone_page(browser)
    try:
        page.goto(server.base + path)
        settle(page)
        tab = page.locator(".topbar nav a[aria-current='page']").bounding_box()
        nav = page.locator(".topbar nav").bounding_box()
        assert nav["x"] <= tab["x"] and tab["x"] + tab["width"] <= nav["x"] + nav["width"]
        assert tab["x"] + tab["width"] <= PHONE["width"]
        # every other page is a sideways scroll of the strip away
        assert page.evaluate(
            "() => { const n = document.querySelector('.topbar nav');"
            " return n.scrollWidth > n.clientWidth; }"
        )
    finally:
        context.close()


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["390", "1280"])
def test_the_photo_fills_its_space_and_its_boxes_are_numbered_as_the_list(
    server, browser, viewport: dict
) -> None:
    context, page = phone_page(browser, viewport)
    try:
        page.goto(server.base + "/photos/{photo}".format(**server.ids))
        settle(page)
        shown = page.evaluate(
            """() => { const i = document.getElementById('photo');
              const r = i.getBoundingClientRect();
              const stage = i.closest('.photo-stage').getBoundingClientRect();
              return {w: r.width, h: r.height, nw: i.naturalWidth, nh: i.naturalHeight,
                      column: stage.width, window: window.innerHeight}; }"""
        )
        # its own shape, whatever the window
        assert shown["w"] / shown["h"] == pytest.approx(shown["nw"] / shown["nh"], rel=0.02)
        # as wide as its column, or as tall as most of the window
        assert shown["w"] == pytest.approx(shown["column"], abs=2) or shown["h"] == pytest.approx(
            0.78 * shown["window"], abs=2
        ), shown
        listed = page.evaluate(
            """() => [...document.querySelectorAll('.photo-face')].map((li) =>
                 [li.dataset.face, li.querySelector('.face-number')?.textContent.trim()])"""
        )
        assert len(listed) >= 2
        for n, (face, number) in enumerate(listed, start=1):
            assert number == str(n)
            box = page.locator(f"#boxes g[data-face='{face}']")
            assert box.locator("text").text_content().strip() == number
            label, rect = box.locator("text").bounding_box(), box.locator("rect").bounding_box()
            assert abs(label["x"] - rect["x"]) < rect["width"] / 2
    finally:
        context.close()


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["390", "1280"])
def test_suggestion_chips_stay_in_their_box(server, browser, viewport: dict) -> None:
    context, page = phone_page(browser, viewport)
    try:
        page.goto(server.base + "/label")
        page.wait_for_selector("#suggestions .suggestion")
        settle(page)
        stray = page.evaluate(
            """() => { const box = document.getElementById('suggestions').getBoundingClientRect();
              const out = [];
              for (const chip of document.querySelectorAll('#suggestions .suggestion')) {
                const c = chip.getBoundingClientRect();
                if (c.left < box.left - 1 || c.right > box.right + 1) out.push(chip.textContent);
                for (const part of chip.children) {
                  const p = part.getBoundingClientRect();
                  if (p.left < c.left - 1 || p.right > c.right + 1) out.push(part.textContent);
                }
              }
              return out; }"""
        )
        assert stray == []
    finally:
        context.close()


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["390", "1280"])
def test_the_export_form_is_aligned(server, browser, viewport: dict) -> None:
    """Its fields start at one or two left edges (two pairs of label and field a row on a wide
    screen), and each field is as wide as the others of its column."""
    context, page = phone_page(browser, viewport)
    try:
        page.goto(server.base + "/export")
        settle(page)
        fields = page.evaluate(
            """() => [...document.querySelectorAll('.export-form .filters label:not(.check)')]
                 .map((l) => l.querySelector('input, select, textarea').getBoundingClientRect())
                 .map((r) => [Math.round(r.left), Math.round(r.width)])"""
        )
        assert len(fields) >= 7
        lefts = {left for left, _ in fields}
        assert len(lefts) == (1 if viewport is PHONE else 2), fields
        for left in lefts:
            widths = {width for x, width in fields if x == left}
            # the people list may span both columns
            assert len(widths - {max(widths)}) <= 1, fields
    finally:
        context.close()


@pytest.mark.parametrize("mode", ["mixed", "page"])
def test_confirm_answers_are_at_hand_on_a_phone(server, browser, mode: str) -> None:
    """A page of faces is several screens long on a phone: Accept stays on the screen."""
    context, page = phone_page(browser)
    try:
        page.goto(server.base + f"/confirm?mode={mode}")
        page.wait_for_selector("#grid .confirm-tile")
        settle(page)
        assert page.evaluate("() => document.documentElement.scrollHeight") > PHONE["height"]
        accept = page.locator("#page button[data-action='accept']")
        for where in ("top", "middle"):
            if where == "middle":
                page.evaluate("() => window.scrollTo(0, document.body.scrollHeight / 2)")
            box = accept.bounding_box()
            assert box["y"] >= 0 and box["y"] + box["height"] <= PHONE["height"], where
    finally:
        context.close()
