"""The sources and accounts pages in a real browser against a real `faceloop serve`: a source
added with the form (and a refusal shown in the kind's words), listed, paused; a suggested link
taken in one click, then unlinked from the person's page.

A failing test leaves a screenshot in test-artifacts/."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from faceloop.collect.accounts import MIN_LABELLED
from faceloop.collect.run import add_source
from faceloop.db.models import Account, Person
from faceloop.labels.decisions import PERSON, decide
from faceloop.testing.posts import post_photos, single_face_photos
from faceloop.testing.workspace import build_synthetic
from faceloop.workspace import init_workspace, open_workspace
from tests.web.browsing import serving


@pytest.fixture
def root(tmp_path: Path) -> Path:
    folder = tmp_path / "ws"
    init_workspace(folder).close()
    (tmp_path / "inbox").mkdir()
    return folder


def test_a_source_is_added_with_the_form_listed_and_paused(root, page) -> None:
    inbox = root.parent / "inbox"
    with serving(root, "--no-worker") as server:
        page.goto(server.base + "/sources")
        assert page.locator("#no-sources").is_visible()

        # a refusal is shown in the kind's own words, and nothing is added
        page.select_option("#source-kind", "mastodon")
        fields = page.locator('fieldset[data-kind="mastodon"]')
        fields.locator('input[name="target"]').fill("https://mstdn.jp")
        page.click("#add-button")
        problem = page.locator("#add-error")
        problem.wait_for(state="visible")
        assert "either --tag or --account" in problem.inner_text()
        assert server.api("GET", "/sources") == []

        page.select_option("#source-kind", "folder")
        assert problem.is_hidden()
        assert page.locator('fieldset[data-kind="mastodon"]').is_hidden()
        folder = page.locator('fieldset[data-kind="folder"]')
        folder.locator('input[name="target"]').fill(str(inbox))
        folder.locator('input[name="every_minutes"]').fill("20")
        page.click("#add-button")
        row = page.locator("#sources tr[data-source]")
        row.wait_for()
        assert str(inbox) in row.inner_text()
        assert "every 20 minutes" in row.locator(".state").inner_text()
        assert f"Added folder source {inbox}" in page.locator("#toasts").inner_text()

        row.locator("button.toggle-pause").click()
        page.wait_for_selector('#sources tr[data-paused="true"]')
        row = page.locator("#sources tr[data-source]")
        assert row.locator(".state").inner_text() == "paused"
        assert row.locator("button.toggle-pause").inner_text() == "Resume"
        (listed,) = server.api("GET", "/sources")
        assert listed["paused"] is True

        # run now starts a collect job the jobs card shows
        row.locator("button.run-now").click()
        page.wait_for_selector("#jobs li[data-job]")
        assert "collect" in page.locator("#jobs").inner_text()
    assert page.js_errors == []


def test_a_suggested_link_is_taken_in_one_click_and_undone_from_the_person(root, page) -> None:
    with open_workspace(root) as ws:
        build_synthetic(ws, faces=80, people=3, labelled_fraction=0, seed=5, photos=True)
        source = add_source(ws, "folder", str(root.parent / "inbox"))
        faces = single_face_photos(ws)
        post_photos(ws, source.id, "@aya_idol", faces[:MIN_LABELLED])
        with ws.transaction() as session:
            person_id, name = session.execute(select(Person.id, Person.name).limit(1)).one()
            for face_id in faces[:MIN_LABELLED]:
                decide(session, face_id, PERSON, person_id=person_id, user_id=ws.owner_id())
    with serving(root, "--no-worker") as server:
        page.goto(server.base + "/accounts")
        suggestion = page.locator("#suggestions li")
        expected = f"{MIN_LABELLED} of {MIN_LABELLED} labelled faces from @aya_idol are {name}"
        assert expected in suggestion.inner_text()
        suggestion.locator("button.link-suggested").click()
        page.wait_for_selector("#accounts a.linked-person")
        assert page.locator("#suggestions").count() == 0
        assert page.locator("#accounts a.linked-person").inner_text() == name
        assert f"@aya_idol is linked to {name}." in page.locator("#toasts").inner_text()

        page.goto(server.base + f"/people/{person_id}")
        accounts = page.locator("#person-accounts li")
        assert "@aya_idol" in accounts.inner_text()
        accounts.locator("button.unlink-account").click()
        page.wait_for_selector("#person-accounts li", state="detached")
        assert "No account is linked" in page.locator("#person-accounts").inner_text()
        (account,) = server.api("GET", "/accounts")["accounts"]
        assert account["person_id"] is None

        # linked again by name, with the people autocomplete; then marked do-not-collect
        page.goto(server.base + "/accounts")
        field = page.locator("#accounts input.link-name")
        field.click()
        field.press_sequentially(name[:2])
        option = page.locator("#accounts .name-list li[role=option]").filter(has_text=name)
        option.first.click()
        page.wait_for_selector("#accounts a.linked-person")
        assert page.locator("#accounts a.linked-person").inner_text() == name
        page.locator("#accounts input.do-not-collect").check()
        page.wait_for_function(
            "() => document.querySelector('#toasts').textContent.includes('skipped from now on')"
        )
    with open_workspace(root) as ws, ws.reader() as session:
        assert session.execute(select(Account.person_id, Account.do_not_collect)).one() == (
            person_id,
            True,
        )
    assert page.js_errors == []
