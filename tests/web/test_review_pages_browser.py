"""The activity, people and person pages in a real browser (chromium, headless, Playwright)
against a real `faceloop serve` on real photos: undo and redo without rows moving under the
pointer, people left with no face, names that wrap between words, and un-merging.

A failing test leaves a screenshot in test-artifacts/.
"""

from __future__ import annotations

import shutil
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from faceloop.db.models import Person, PersonEvent
from faceloop.ingest.run import import_photos
from faceloop.workspace import init_workspace, open_workspace
from tests.conftest import DATA, needs_data
from tests.web.browsing import serving

pytestmark = needs_data


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("review-pages") / "ws"
    photos = tmp_path_factory.mktemp("photos")
    for subject in range(1, 5):
        (photos / f"s{subject}").mkdir()
        for n in range(1, 7):
            shutil.copy(DATA / "orl" / f"s{subject}" / f"{n}.pgm", photos / f"s{subject}")
    with init_workspace(root) as ws:
        summary = import_photos(ws, [photos], recursive=True, workers=1)
    assert summary.faces >= 20
    with serving(root) as server:
        yield server


@pytest.fixture
def page(page):
    """Answer the confirm() dialogs the pages ask before a destructive action."""
    page.on("dialog", lambda dialog: dialog.accept())
    return page


def unlabelled(server, n: int) -> list[int]:
    return [item["face_id"] for item in server.api("GET", f"/queue?limit={n}")["items"]]


def label(server, face_id: int, name: str) -> dict:
    return server.api("POST", f"/faces/{face_id}/label", {"verdict": "person", "name": name})


def row_under(page, x: float, y: float) -> str | None:
    return page.evaluate(
        "([x, y]) => document.elementFromPoint(x, y)?.closest('.activity-entry')?.dataset.id",
        [x, y],
    )


def test_activity_undo_and_redo_keep_the_row_under_the_pointer(server, page) -> None:
    faces = unlabelled(server, 3)
    for face_id, name in zip(
        faces, ("Serena Williams", "Hugo Chavez", "Ada Lovelace"), strict=True
    ):
        label(server, face_id, name)
    page.goto(server.base + "/activity?kind=decision")
    row = page.locator(".activity-entry").nth(1)
    decision = row.get_attribute("data-id")
    named = f"named face {faces[1]} Hugo Chavez"
    assert named in row.inner_text()
    button = row.locator(".undo-entry")
    box = button.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    top = row.bounding_box()["y"]
    page.mouse.move(x, y)
    page.mouse.click(x, y)

    undone = page.locator(f".activity-entry[data-id='{decision}'].undone")
    undone.wait_for()
    # the undo is a new row, held back: the row the pointer is on stays where it was
    expect(page.locator("#show-new")).to_have_text("1 new — show")
    assert row_under(page, x, y) == decision
    assert undone.bounding_box()["y"] == top
    assert undone.locator(".undo-entry").count() == 0

    # a row that arrives from elsewhere waits too while the pointer is on the list
    label(server, unlabelled(server, 1)[0], "Grace Hopper")
    expect(page.locator("#show-new")).to_have_text("2 new — show", timeout=15_000)
    assert row_under(page, x, y) == decision

    page.click("#show-new")
    first = page.locator(".activity-entry").first
    expect(page.locator(".activity-entry").nth(1)).to_contain_text("undid: " + named)
    expect(first).to_contain_text("Grace Hopper")

    # undoing the undo is a redo, and says what was done again
    undo_row = page.locator(".activity-entry").nth(1)
    undo_row.locator(".undo-entry").click()
    expect(page.locator("#show-new")).to_have_text("1 new — show")
    page.click("#show-new")
    redo = page.locator(".activity-entry").first
    expect(redo).to_contain_text("redid: " + named)
    assert "undid: undid" not in page.inner_text(".activity-list")
    # the decision done again can be undone again
    expect(page.locator(f".activity-entry[data-id='{decision}']")).not_to_have_class("undone")
    assert page.js_errors == []


def test_a_person_left_with_no_face_is_not_listed_nor_counted(server, page) -> None:
    people = server.api("GET", "/people")["total"]
    home = server.api("GET", "/overview")["people"]
    result = label(server, unlabelled(server, 1)[0], "Withdrawn Wanda")
    assert server.api("GET", "/people")["total"] == people + 1
    server.api("POST", f"/batches/{result['batch']}/undo")

    page.goto(server.base + "/people")
    assert "Withdrawn Wanda" not in page.inner_text(".people-grid")
    assert page.locator(".person-card:has(.placeholder)").count() == 0
    assert page.inner_text(".page-head h1 small") == str(people)
    assert server.api("GET", "/people")["total"] == people
    assert server.api("GET", "/overview")["people"] == home
    page.goto(server.base + "/")
    assert "Withdrawn Wanda" not in page.inner_text(".progress-list")
    assert page.inner_text(".stat a[href='/people'] .num") == str(home)

    # naming a face with the name again brings the same person back
    again = label(server, unlabelled(server, 1)[0], "Withdrawn Wanda")
    assert again["person_id"] == result["person_id"]
    page.goto(server.base + "/people")
    assert "Withdrawn Wanda" in page.inner_text(".people-grid")
    assert page.js_errors == []


def words_broken(page) -> list[str]:
    """The parts of each name (between spaces and underscores) laid out on more than one
    line."""
    return page.evaluate(
        """() => [...document.querySelectorAll('.person-card .name')].flatMap((name) => {
          const text = name.textContent;
          const nodes = [];
          const walker = document.createTreeWalker(name, NodeFilter.SHOW_TEXT);
          while (walker.nextNode()) nodes.push(walker.currentNode);
          const broken = [];
          for (const node of nodes) {
            for (const match of node.data.matchAll(/[^\\s_]+/g)) {
              const range = document.createRange();
              range.setStart(node, match.index);
              range.setEnd(node, match.index + match[0].length);
              const lines = new Set([...range.getClientRects()].map((r) => Math.round(r.top)));
              if (lines.size > 1) broken.push(match[0]);
            }
          }
          return broken;
        })"""
    )


@pytest.mark.parametrize("width", [1280, 390])
def test_people_names_wrap_between_words(server, page, width) -> None:
    for name in ("Gloria_Macapagal_Arroyo", "Arnold Schwarzenegger Longname"):
        if not server.api("GET", f"/people?q={name[:6]}")["total"]:
            label(server, unlabelled(server, 1)[0], name)
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(server.base + "/people")
    names = page.locator(".person-card .name")
    assert names.count() >= 2
    assert words_broken(page) == []
    page.screenshot(path=f"/tmp/shots-h3/people-{width}.png", full_page=True)
    assert page.js_errors == []


def created_earlier(root: Path, person_id: int, by: timedelta) -> None:
    """Moves a person's creation back in time, so two people created in the same second show
    different creation times (minutes and seconds) and the page cannot pass by showing the
    other's."""
    with open_workspace(root) as ws, ws.transaction() as session:
        events = session.scalars(
            select(PersonEvent).where(
                PersonEvent.person_id == person_id, PersonEvent.kind == "create"
            )
        ).all()
        assert events
        for event in [*events, session.get(Person, person_id)]:
            event.created_at -= by


def test_unmerge_shows_the_person_the_address_names(server, page) -> None:
    first, second = unlabelled(server, 2)
    keep = label(server, first, "Kit Keeper")["person_id"]
    merged = label(server, second, "Mara Merged")["person_id"]
    created_earlier(server.root, keep, timedelta(seconds=90))
    page.goto(f"{server.base}/people/{merged}")
    page.fill("#merge-name", "Kit Kee")
    page.wait_for_selector("#merge-list li[aria-selected='true']")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{server.base}/people/{keep}")

    # the history names whose event each is, at that person's own time
    created = {
        e["person_id"]: datetime.fromisoformat(e["at"]).replace(tzinfo=None)
        for e in server.api("GET", "/activity?action=create&limit=200")["entries"]
    }
    history = page.locator(".card:has(h2:has-text('History')) .activity-entry")
    texts = history.all_inner_texts()
    assert any("created Kit Keeper" in t for t in texts)
    assert any("created Mara Merged" in t for t in texts)
    assert any("merged Mara Merged into Kit Keeper" in t for t in texts)
    for person, name in ((keep, "Kit Keeper"), (merged, "Mara Merged")):
        entry = page.locator(
            f".card:has(h2:has-text('History')) .activity-entry:has-text('created {name}') time"
        )
        assert entry.get_attribute("datetime").startswith(created[person].isoformat())

    # the toast's Undo un-merges: the page shows the person split off, at their address
    page.click(".toast button:has-text('Undo')")
    page.wait_for_url(f"{server.base}/people/{merged}")
    expect(page.locator("#person-name")).to_have_text("Mara Merged")
    assert server.api("GET", f"/people/{merged}")["merged_into"] is None

    # and from the history of the person merged into, the same
    page.goto(f"{server.base}/people/{merged}")
    page.fill("#merge-name", "Kit Kee")
    page.wait_for_selector("#merge-list li[aria-selected='true']")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{server.base}/people/{keep}")
    page.click(
        ".card:has(h2:has-text('History')) .activity-entry:has-text('merged Mara Merged')"
        " .undo-entry"
    )
    page.wait_for_url(f"{server.base}/people/{merged}")
    expect(page.locator("#person-name")).to_have_text("Mara Merged")
    assert page.locator("#unmerge-self").count() == 0
    assert page.js_errors == []
