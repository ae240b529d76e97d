"""The sources and accounts API and pages, in-process on a small synthetic workspace: adding a
source (and the kinds' refusals in words), listing, pausing, running now, removing; accounts'
suggested links, link, unlink and undo, do-not-collect; secrets named, never shown."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from faceloop.collect.accounts import MIN_LABELLED
from faceloop.collect.run import add_source
from faceloop.db.models import Job, Person, Source
from faceloop.labels.decisions import PERSON, decide
from faceloop.testing.posts import post_photos, single_face_photos
from faceloop.workspace.secrets import set_secret


@pytest.fixture
def inbox(tmp_path: Path) -> Path:
    folder = tmp_path / "inbox"
    folder.mkdir()
    return folder


def add(client, body: dict):
    return client.post("/api/v1/sources", json=body)


def page(client, path: str):
    """A page as a browser gets it; the client then goes on as a script (a page's session
    cookie would make its next POST need the page's CSRF token)."""
    answer = client.get(path)
    client.cookies.clear()
    assert answer.status_code == 200, answer.text
    return answer


def test_a_folder_source_is_added_listed_and_shown(client, inbox) -> None:
    added = add(client, {"kind": "folder", "target": str(inbox), "every_minutes": 45})
    assert added.status_code == 201, added.text
    source = added.json()
    assert (source["kind"], source["name"], source["state"]) == (
        "folder",
        str(inbox),
        "every 45 minutes",
    )
    assert (source["posts"], source["photos"], source["faces"], source["secrets"]) == (0, 0, 0, [])
    listed = client.get("/api/v1/sources").json()
    assert [s["id"] for s in listed] == [source["id"]]
    shown = page(client, "/sources").text
    assert str(inbox) in shown and "every 45 minutes" in shown
    assert 'data-kind="mastodon"' in shown and "Add a source" in shown


@pytest.mark.parametrize(
    "body, message",
    [
        ({"kind": "mastodon", "target": "https://mstdn.jp"}, "either --tag or --account"),
        ({"kind": "folder", "target": "/nowhere/at/all"}, "not a folder"),
        ({"kind": "folder", "target": "  "}, "a folder source needs the folder's path"),
        ({"kind": "gopher", "target": "x"}, "no kind of source called 'gopher'"),
        ({"kind": "bluesky", "tag": "CHEERZ"}, "a Bluesky hashtag search needs a login"),
        ({"kind": "folder", "target": "/tmp", "every_minutes": "5"}, "every_minutes"),
        ({"kind": "folder", "target": "/tmp", "every_minutes": 0}, "every_minutes"),
        ({"kind": "folder", "target": "/tmp", "password": "x"}, "password"),
    ],
)
def test_a_wrong_source_is_refused_in_words(client, body, message) -> None:
    refused = add(client, body)
    assert refused.status_code == 422, refused.text
    answer = refused.json()
    assert answer["error"] == "invalid"
    assert message in answer["message"]
    assert client.get("/api/v1/sources").json() == []


def test_the_same_source_twice_is_refused(client, inbox) -> None:
    assert add(client, {"kind": "folder", "target": str(inbox)}).status_code == 201
    again = add(client, {"kind": "folder", "target": str(inbox)})
    assert again.status_code == 422
    assert "there is already a folder source" in again.json()["message"]


def test_pause_resume_run_now_and_remove(client, ws, inbox) -> None:
    source = add(client, {"kind": "folder", "target": str(inbox)}).json()
    base = f"/api/v1/sources/{source['id']}"

    paused = client.post(f"{base}/pause").json()
    assert (paused["paused"], paused["state"], paused["next_run_at"]) == (True, "paused", None)
    assert 'data-paused="true"' in page(client, "/sources").text
    resumed = client.post(f"{base}/resume").json()
    assert (resumed["paused"], resumed["state"]) == (False, "every 30 minutes")

    started = client.post(f"{base}/run")
    assert started.status_code == 202, started.text
    job = started.json()
    assert (job["kind"], job["status"]) == ("collect", "queued")
    with ws.reader() as session:
        assert session.get(Job, job["id"]).params == {"sources": [source["id"]]}

    assert client.post(f"{base}/remove").status_code == 204
    assert client.get("/api/v1/sources").json() == []
    for action in ("pause", "resume", "run", "remove"):
        gone = client.post(f"{base}/{action}")
        assert gone.status_code == 404, action
        assert gone.json() == {"error": "not_found", "message": f"no source {source['id']}"}


def test_a_secret_is_named_never_shown(client, ws) -> None:
    set_secret(ws.root, "bluesky:me.bsky.social", "app-pass-wordy-1234")
    added = add(client, {"kind": "bluesky", "tag": "CHEERZ", "login": "me.bsky.social"})
    assert added.status_code == 201, added.text
    assert added.json()["secrets"] == [
        {
            "name": "bluesky:me.bsky.social",
            "stored": True,
            "needed": True,
            "command": "faceloop source secret bluesky:me.bsky.social",
        }
    ]
    other = add(client, {"kind": "mastodon", "target": "https://mstdn.jp", "tag": "CHEERZ"})
    # a Mastodon token is optional: the page asks for it once a run needed one
    assert [(s["name"], s["stored"], s["needed"]) for s in other.json()["secrets"]] == [
        ("mastodon:mstdn.jp", False, False)
    ]
    assert "Needs the secret mastodon:mstdn.jp" not in page(client, "/sources").text
    with ws.transaction() as session:
        session.get(Source, other.json()["id"]).last_error = (
            "mstdn.jp answered 401: store an app token with "
            "`faceloop source secret mastodon:mstdn.jp`"
        )
    shown = page(client, "/sources").text
    listed = client.get("/api/v1/sources").text
    assert "app-pass-wordy-1234" not in shown + listed
    assert "Needs the secret mastodon:mstdn.jp" in shown
    assert "<code>faceloop source secret mastodon:mstdn.jp</code>" in shown


def test_the_home_page_shows_the_collection(client, ws, inbox) -> None:
    assert 'id="collection"' not in page(client, "/").text
    source = add_source(ws, "folder", str(inbox))
    client.post(f"/api/v1/sources/{source.id}/pause")
    home = page(client, "/").text
    assert 'id="collection"' in home
    assert "1 source</a> (1 paused)" in home and "last run never" in home


# ------------------------------------------------------------------ accounts


@pytest.fixture
def accounts(ws, inbox) -> dict:
    """@aya_idol posts MIN_LABELLED single-face photos, all labelled as one person; @fan posts
    two photos and is linked to no one."""
    source = add_source(ws, "folder", str(inbox))
    faces = single_face_photos(ws, labelled=False)
    with ws.reader() as session:
        person_id, name = session.execute(select(Person.id, Person.name).limit(1)).one()
    aya = post_photos(ws, source.id, "@aya_idol", faces[:MIN_LABELLED])
    fan = post_photos(ws, source.id, "@fan", faces[MIN_LABELLED : MIN_LABELLED + 2])
    with ws.transaction() as session:
        for face_id in faces[:MIN_LABELLED]:
            decide(session, face_id, PERSON, person_id=person_id, user_id=ws.owner_id())
    return {"aya": aya, "fan": fan, "person_id": person_id, "name": name}


def test_accounts_and_suggestions_are_listed_and_shown(client, accounts) -> None:
    listed = client.get("/api/v1/accounts").json()
    assert listed["total"] == 2
    first = listed["accounts"][0]
    assert (first["handle"], first["photos"], first["labelled"], first["person_id"]) == (
        "@aya_idol",
        MIN_LABELLED,
        MIN_LABELLED,
        None,
    )
    (suggestion,) = client.get("/api/v1/accounts/suggestions").json()
    text = f"{MIN_LABELLED} of {MIN_LABELLED} labelled faces from @aya_idol are {accounts['name']}"
    assert suggestion["text"] == text
    assert suggestion["account_id"] == accounts["aya"]
    html = page(client, "/accounts")
    assert text in html.text and "@fan" in html.text and "link-suggested" in html.text


def test_link_unlink_and_undo(client, accounts) -> None:
    aya, person_id = accounts["aya"], accounts["person_id"]
    linked = client.post(f"/api/v1/accounts/{aya}/link", json={"person_id": person_id})
    assert linked.status_code == 200, linked.text
    change = linked.json()
    assert change["account"]["person_id"] == person_id
    assert client.get("/api/v1/accounts/suggestions").json() == []
    mine = client.get(f"/api/v1/accounts?person_id={person_id}").json()["accounts"]
    assert [a["id"] for a in mine] == [aya]
    person_page = page(client, f"/people/{person_id}").text
    assert "@aya_idol" in person_page and "unlink-account" in person_page
    again = client.post(f"/api/v1/accounts/{aya}/link", json={"person_id": person_id})
    assert again.status_code == 422 and "already linked" in again.json()["message"]

    undone = client.post(f"/api/v1/person-events/{change['event_id']}/undo")
    assert undone.status_code == 200, undone.text
    assert client.get("/api/v1/accounts").json()["accounts"][0]["person_id"] is None
    assert len(client.get("/api/v1/accounts/suggestions").json()) == 1

    client.post(f"/api/v1/accounts/{aya}/link", json={"person_id": person_id})
    unlinked = client.post(f"/api/v1/accounts/{aya}/unlink")
    assert unlinked.status_code == 200 and unlinked.json()["account"]["person_id"] is None
    twice = client.post(f"/api/v1/accounts/{aya}/unlink")
    assert twice.status_code == 422 and "not linked to anyone" in twice.json()["message"]
    activity = client.get("/api/v1/activity?action=account_unlink").json()["entries"]
    # the undo of the first link was an unlink too, naming the link it undid
    summary = f"unlinked the account @aya_idol from {accounts['name']}"
    assert [(e["summary"], e["undoes_id"]) for e in activity] == [
        (summary, None),
        (summary, change["event_id"]),
    ]


def test_link_refusals(client, accounts) -> None:
    nobody = client.post(f"/api/v1/accounts/{accounts['aya']}/link", json={"person_id": 99999})
    assert nobody.status_code == 404 and nobody.json()["message"] == "no person 99999"
    missing = client.post("/api/v1/accounts/99999/link", json={"person_id": 1})
    assert missing.status_code == 404 and missing.json()["error"] == "not_found"
    wrong = client.post(f"/api/v1/accounts/{accounts['aya']}/link", json={"person_id": "1"})
    assert wrong.status_code == 422


def test_do_not_collect_is_set_and_cleared(client, accounts) -> None:
    fan = accounts["fan"]
    marked = client.post(f"/api/v1/accounts/{fan}/do-not-collect", json={"value": True})
    assert marked.status_code == 200 and marked.json()["do_not_collect"] is True
    assert 'class="do-not-collect" checked' in page(client, "/accounts").text
    cleared = client.post(f"/api/v1/accounts/{fan}/do-not-collect", json={"value": False})
    assert cleared.json()["do_not_collect"] is False
    wrong = client.post(f"/api/v1/accounts/{fan}/do-not-collect", json={"value": "yes"})
    assert wrong.status_code == 422
    missing = client.post("/api/v1/accounts/99999/do-not-collect", json={"value": True})
    assert missing.status_code == 404


def test_empty_pages_say_what_to_do(client) -> None:
    assert "No sources yet" in page(client, "/sources").text
    assert "No accounts yet" in page(client, "/accounts").text
    assert client.get("/api/v1/accounts").json() == {"total": 0, "accounts": []}
