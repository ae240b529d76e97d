"""Typing names in a real browser (chromium, Playwright) against a real `faceloop serve`: a
letter typed in a name field is text, never a command; commands need Escape first; another
spelling of an existing name asks before it makes a second person; the label page's filter
form works with its dates left empty.

A failing test leaves a screenshot in test-artifacts/.
"""

from __future__ import annotations

import shutil

import pytest

from faceloop.grouping.run import recluster
from faceloop.ingest.run import import_photos
from faceloop.workspace import init_workspace, open_workspace
from tests.conftest import DATA, needs_data
from tests.web.browsing import serving

pytestmark = needs_data


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("typing") / "ws"
    photos = tmp_path_factory.mktemp("photos")
    for person in ("obama", "biden", "rose_leslie", "kit_harington"):
        shutil.copytree(DATA / "known" / "train" / person, photos / person)
    shutil.copy(DATA / "group" / "face_recognition_obama_and_biden.jpg", photos / "group.jpg")
    with init_workspace(root) as ws:
        assert import_photos(ws, [photos], recursive=True, workers=1).faces >= 10
    with serving(root) as server:
        yield server


def current_face(page) -> int | None:
    return page.evaluate(
        "() => window.faceloopLabel.current && window.faceloopLabel.current.face_id"
    )


def open_label(page, server) -> None:
    page.goto(server.base + "/label")
    page.wait_for_function("() => window.faceloopLabel && window.faceloopLabel.current")


def test_names_starting_with_command_letters_are_typed_whole(server, page) -> None:
    open_label(page, server)
    face = current_face(page)
    remaining = server.api("GET", "/queue?limit=1")["remaining"]
    for name in ("serena", "nancy", "ursula", "zoe", "Serena Williams"):
        page.keyboard.type(name)
        assert page.input_value("#name") == name
        assert current_face(page) == face
        page.wait_for_selector("#name-list li[aria-selected='true']")
        page.keyboard.press("Escape")  # clears the field; the field keeps the focus
        assert page.input_value("#name") == ""
        assert page.evaluate("() => document.activeElement.id") == "name"
    page.evaluate("() => window.faceloopLabel.settled()")
    assert server.api("GET", f"/faces/{face}")["verdict"] is None
    assert server.api("GET", "/queue?limit=1")["remaining"] == remaining
    assert server.api("GET", "/names?q=serena") == []
    assert "Typing a name" in page.inner_text(".name-mode")
    assert current_face(page) == face

    # Escape in the empty field: keys are commands, and stay so for the next face
    page.keyboard.press("Escape")
    assert "Keys are commands" in page.inner_text(".name-mode")
    page.keyboard.press("s")
    page.wait_for_function(f"() => window.faceloopLabel.current.face_id !== {face}")
    second = current_face(page)
    assert page.evaluate("() => document.activeElement.id") != "name"
    page.keyboard.press("s")
    page.wait_for_function(f"() => window.faceloopLabel.current.face_id !== {second}")
    page.evaluate("() => window.faceloopLabel.settled()")
    assert server.api("GET", f"/faces/{face}")["skipped"]
    assert server.api("GET", f"/faces/{second}")["skipped"]
    # a letter that is no command starts a name, and from then on every letter is text
    page.keyboard.type("Obama Typed")
    assert page.input_value("#name") == "Obama Typed"
    assert "Typing a name" in page.inner_text(".name-mode")
    page.wait_for_selector("#name-list li[aria-selected='true']")
    third = current_face(page)
    page.keyboard.press("Enter")
    page.wait_for_function(f"() => window.faceloopLabel.current.face_id !== {third}")
    page.evaluate("() => window.faceloopLabel.settled()")
    assert server.api("GET", f"/faces/{third}")["name"] == "Obama Typed"
    # typing mode is kept too: the next face's field has the focus
    assert page.evaluate("() => document.activeElement.id") == "name"
    page.keyboard.type("sun")
    assert page.input_value("#name") == "sun"
    assert page.js_errors == []


def test_another_spelling_of_a_name_asks_before_a_second_person(server, page) -> None:
    hugo = server.api("POST", "/people", {"name": "Hugo_Chavez"})["id"]
    open_label(page, server)
    page.keyboard.type("Hugo Chávez")
    page.wait_for_selector("#name-list li.create:has-text('Hugo Chávez')")
    options = page.locator("#name-list li")
    assert "Hugo_Chavez" in options.first.inner_text()  # the person first, not "+ New person"
    assert "second one beside Hugo_Chavez" in options.last.inner_text()
    face = current_face(page)
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    dialog = page.locator("dialog.namesake")
    dialog.wait_for()
    assert "Hugo_Chavez already exists" in dialog.inner_text()
    assert current_face(page) == face  # nothing answered while the question is open
    page.keyboard.press("s")  # keys in the dialog are not the page's commands
    assert current_face(page) == face
    page.keyboard.press("Enter")  # the default: the existing person
    page.wait_for_function(f"() => window.faceloopLabel.current.face_id !== {face}")
    page.evaluate("() => window.faceloopLabel.settled()")
    assert server.api("GET", f"/faces/{face}")["person_id"] == hugo

    second = current_face(page)
    page.keyboard.type("hugo chavez")
    page.wait_for_selector("#name-list li.create:has-text('hugo chavez')")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    dialog.wait_for()
    page.click("dialog.namesake button:has-text('Create a second person')")
    page.wait_for_function(f"() => window.faceloopLabel.current.face_id !== {second}")
    page.evaluate("() => window.faceloopLabel.settled()")
    labelled = server.api("GET", f"/faces/{second}")
    assert labelled["person_id"] != hugo and labelled["name"] == "hugo chavez"
    people = [p["name"] for p in server.api("GET", "/people")["people"]]
    assert sorted(n for n in people if "chavez" in n.lower()) == ["Hugo_Chavez", "hugo chavez"]
    assert page.js_errors == []


def test_an_arrow_key_choice_holds_when_the_list_catches_up(server, page) -> None:
    """The list for "lula da " is on screen when the user types "s" and presses ArrowDown
    before the answer for "lula da s" arrives: Enter takes the option she chose, not the
    first one of the new list."""
    lula = server.api("POST", "/people", {"name": "Lula da Silva"})["id"]
    open_label(page, server)
    page.keyboard.type("lula da ")
    page.wait_for_selector("#name-list li.create:has-text('lula da')")
    assert "Lula da Silva" in page.locator("#name-list li").first.inner_text()
    held = []
    page.route("**/api/v1/names?*", lambda route: held.append(route))
    page.keyboard.type("s")
    while not held:
        page.wait_for_timeout(20)
    page.keyboard.press("ArrowDown")  # chooses "+ New person" on the list still shown
    for route in held:
        route.continue_()
    page.unroute_all()
    page.wait_for_selector("#name-list li.create[aria-selected='true']:has-text('lula da s')")
    face = current_face(page)
    page.keyboard.press("Enter")
    page.wait_for_function(f"() => window.faceloopLabel.current.face_id !== {face}")
    page.evaluate("() => window.faceloopLabel.settled()")
    labelled = server.api("GET", f"/faces/{face}")
    assert labelled["person_id"] != lula and labelled["name"] == "lula da s"
    assert page.js_errors == []


def test_the_filter_form_applied_with_empty_dates_shows_the_queue(server, page) -> None:
    open_label(page, server)
    assert page.input_value("input[name='since']") == ""
    with page.expect_navigation():
        page.click("form.filters button[type='submit']")
    assert "since=" in page.url and "until=" in page.url
    page.wait_for_function("() => window.faceloopLabel && window.faceloopLabel.current")
    assert page.locator("#question").is_visible()
    assert page.js_errors == []


@pytest.fixture(scope="module")
def groups_server(tmp_path_factory, orl_groups_template):
    root = tmp_path_factory.mktemp("typing-groups") / "ws"
    shutil.copytree(orl_groups_template, root)
    with open_workspace(root) as ws:
        assert recluster(ws).groups >= 4
    with serving(root) as server:
        yield server


def test_letters_typed_in_the_groups_name_field_are_text(groups_server, page) -> None:
    page.goto(groups_server.base + "/groups")
    page.wait_for_function("() => window.faceloopGroups && window.faceloopGroups.current")
    group = page.evaluate("() => window.faceloopGroups.current.summary.id")
    faces = page.evaluate("() => window.faceloopGroups.current.faces.map((f) => f.face_id)")
    # s skip, u unknown, r not the same person, m merge, x takes a face out, y the suggestion
    page.keyboard.type("sumxry")
    assert page.input_value("#name") == "sumxry"
    assert page.evaluate("() => window.faceloopGroups.current.summary.id") == group
    assert page.evaluate("() => window.faceloopGroups.grid.excluded()") == []
    page.keyboard.press("Escape")
    page.keyboard.press("Escape")
    assert "Keys are commands" in page.inner_text(".name-mode")
    page.keyboard.press("x")
    assert page.evaluate("() => window.faceloopGroups.grid.excluded()") == faces[:1]
    page.evaluate("() => window.faceloopGroups.settled()")
    for face_id in faces:
        assert groups_server.api("GET", f"/faces/{face_id}")["verdict"] is None
    assert page.js_errors == []
