"""Collecting from a source into a workspace, end to end: a local server that answers as
Mastodon documents, real photos, faces found by the real pipeline."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from faceloop.collect.accounts import link_account
from faceloop.collect.job import COLLECT, start_due_collections
from faceloop.collect.run import add_source, collect, due_sources, list_sources, set_paused
from faceloop.datasets.forget import forget_person
from faceloop.db.models import Account, Decision, Image, Job, Post
from faceloop.ingest.run import CRASH_AFTER_VARIABLE
from faceloop.labels.person_ops import create_person
from faceloop.testing.mastodon import mastodon, open_to_local
from faceloop.workspace import open_workspace
from tests.conftest import DATA, needs_data

pytestmark = needs_data
FACELOOP = str(Path(sys.executable).with_name("faceloop"))


def photos_of(name: str, count: int = 3) -> list[Path]:
    found = sorted((DATA / "lfw-devtrain" / name).glob("*.jpg"))[:count]
    assert len(found) == count, f"lfw-devtrain has {len(found)} photos of {name}"
    return found


def rows(root: Path, sql: str) -> int:
    with sqlite3.connect(root / "faceloop.db") as db:
        return db.execute(sql).fetchone()[0]


def test_a_hashtag_is_collected_once_and_then_only_what_is_new(tmp_path: Path) -> None:
    with mastodon() as server, open_to_local(tmp_path / "ws") as ws:
        for photo in photos_of("George_W_Bush", 5):
            server.post("fan_one", [photo])
        source = add_source(ws, "mastodon", server.url, {"tag": "CHEERZ"})
        (run,) = collect(ws, [source.id], workers=1)
        assert run.error is None, run.error
        assert (run.posts, run.photos, run.failed) == (5, 5, 0)
        assert run.faces >= 5
        with ws.reader() as session:
            post = session.scalars(select(Post).order_by(Post.id)).first()
            assert post.url.startswith(server.url + "/@fan_one/")
            assert "selfie" in post.text and post.collected_at is not None
            account = session.scalar(select(Account))
            assert (account.handle, account.display_name) == (
                "@fan_one@127.0.0.1:" + server.url.rsplit(":", 1)[1],
                "Fan_One",
            )
        # nothing new: nothing fetched but the timeline
        asked = len(server.requests)
        (again,) = collect(ws, [source.id], workers=1)
        assert (again.posts, again.photos) == (0, 0)
        assert all("/media/" not in r for r in server.requests[asked:])
        # two new statuses: only they come
        for photo in photos_of("Colin_Powell", 2):
            server.post("fan_one", [photo])
        (later,) = collect(ws, [source.id], workers=1)
        assert (later.posts, later.photos) == (2, 2)
        assert "min_id=100005" in " ".join(server.requests)
        (info,) = list_sources(ws)
        assert (info.posts, info.photos) == (7, 7)


def test_the_same_photo_from_two_sources_is_stored_once_with_two_posts(tmp_path) -> None:
    with mastodon() as server, open_to_local(tmp_path / "ws") as ws:
        (photo,) = photos_of("Tony_Blair", 1)
        server.post("aya_idol", [photo])
        by_tag = add_source(ws, "mastodon", server.url, {"tag": "CHEERZ"})
        by_account = add_source(ws, "mastodon", server.url, {"account": "aya_idol"})
        runs = collect(ws, [by_tag.id, by_account.id], workers=1)
        assert [r.error for r in runs] == [None, None]
        assert [(r.posts, r.photos, r.duplicates) for r in runs] == [(1, 1, 0), (1, 0, 1)]
    root = tmp_path / "ws"
    assert rows(root, "SELECT count(*) FROM image") == 1
    assert rows(root, "SELECT count(*) FROM post") == 2
    assert rows(root, "SELECT count(DISTINCT post_id) FROM image_origin") == 2


def test_a_run_killed_halfway_resumes_without_duplicates(tmp_path: Path) -> None:
    with mastodon() as server:
        for name in ("George_W_Bush", "Colin_Powell", "Tony_Blair"):
            for photo in photos_of(name, 4):
                server.post(name.lower(), [photo])
        root = tmp_path / "ws"
        open_to_local(root).close()
        with open_workspace(root) as ws:
            add_source(ws, "mastodon", server.url, {"tag": "CHEERZ"})
        env = {**os.environ, CRASH_AFTER_VARIABLE: "5"}
        killed = subprocess.run(
            [FACELOOP, "collect", "--once", "-w", str(root)], env=env, capture_output=True
        )
        assert killed.returncode != 0
        stored_before = rows(root, "SELECT count(*) FROM image")
        assert 0 < stored_before < 12
        done = subprocess.run(
            [FACELOOP, "collect", "--once", "-w", str(root)], capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
    assert rows(root, "SELECT count(*) FROM image") == 12
    assert rows(root, "SELECT count(*) FROM post") == 12
    assert rows(root, "SELECT count(*) FROM post WHERE collected_at IS NULL") == 0
    twice = (
        "SELECT count(*) FROM (SELECT image_id, left FROM face GROUP BY 1, 2 HAVING count(*) > 1)"
    )
    assert rows(root, twice.replace("left", '"left"')) == 0
    assert rows(root, "SELECT cursor FROM source WHERE kind = 'mastodon'") == "100012"


def test_a_forgotten_persons_account_is_never_fetched_again(tmp_path: Path) -> None:
    with mastodon() as server, open_to_local(tmp_path / "ws") as ws:
        server.post("aya_idol", photos_of("Hugo_Chavez", 1))
        source = add_source(ws, "mastodon", server.url, {"tag": "CHEERZ"})
        collect(ws, [source.id], workers=1)
        with ws.transaction() as session:
            aya = create_person(session, "Aya", ws.owner_id())
            session.scalar(select(Account)).person_id = aya
        forget_person(ws, aya)
        fresh = server.post("aya_idol", photos_of("Hugo_Chavez", 3)[1:])
        server.post("someone_else", photos_of("Ariel_Sharon", 1))
        asked = len(server.requests)
        (run,) = collect(ws, [source.id], workers=1)
        assert (run.posts, run.skipped, run.photos) == (1, 1, 1)
        fetched = server.requests[asked:]
        assert not any(fresh["media_attachments"][0]["url"].endswith(r) for r in fetched)


def test_a_linked_accounts_selfies_carry_her_as_hint_or_label(tmp_path: Path) -> None:
    with mastodon() as server, open_to_local(tmp_path / "ws") as ws:
        server.post("aya_idol", photos_of("Hugo_Chavez", 1))
        source = add_source(ws, "mastodon", server.url, {"account": "aya_idol"})
        collect(ws, [source.id], workers=1)
        with ws.transaction() as session:
            aya = create_person(session, "Aya", ws.owner_id())
            session.scalar(select(Account)).person_id = aya
        server.post("aya_idol", photos_of("Hugo_Chavez", 2)[1:])
        collect(ws, [source.id], workers=1)
        with ws.reader() as session:
            hints = session.scalars(select(Image.hint_person_id).order_by(Image.id)).all()
            assert hints == [None, aya]
            # no label without the setting: a person decides
            assert session.scalar(select(Decision.id)) is None
            account_id = session.scalar(select(Account.id))
        # linked on the accounts page, the account names her on what it brought before too
        with ws.transaction() as session:
            session.scalar(select(Account)).person_id = None
        link_account(ws, account_id, aya, ws.owner_id())
        with ws.reader() as session:
            hints = session.scalars(select(Image.hint_person_id).order_by(Image.id)).all()
            assert hints == [aya, aya]


def test_an_image_address_inside_the_network_is_refused_and_the_rest_goes_on(tmp_path) -> None:
    with mastodon() as server, open_to_local(tmp_path / "ws") as ws:
        bad = server.post("fan", photos_of("Jean_Chretien", 1))
        server.link(bad, "http://169.254.169.254/latest/meta-data/")
        redirected = server.post("fan", photos_of("Jean_Chretien", 2)[1:])
        server.once["/media/2-0.jpg"] = (302, {"Location": "http://127.0.0.2:9/secret"}, b"")
        page = server.post("fan", photos_of("Jean_Chretien", 3)[2:])
        server.link(page, server.url + "/api/v1/timelines/tag/CHEERZ")
        server.post("fan", photos_of("John_Ashcroft", 1))
        source = add_source(ws, "mastodon", server.url, {"tag": "CHEERZ"})
        (run,) = collect(ws, [source.id], workers=1)
        assert (run.posts, run.photos, run.failed) == (4, 1, 3)
        problems = "\n".join(run.problems)
        assert "169.254.169.254" in problems and "link-local" in problems
        assert "127.0.0.2" in problems and "loopback" in problems
        assert "not an image" in problems
        assert redirected["id"]


def test_the_schedule_starts_a_collection_of_due_sources_only(tmp_path: Path) -> None:
    with mastodon() as server, open_to_local(tmp_path / "ws") as ws:
        source = add_source(ws, "mastodon", server.url, {"tag": "CHEERZ"}, every_minutes=45)
        assert due_sources(ws) == [source.id]
        set_paused(ws, source.id, True)
        assert due_sources(ws) == []
        start_due_collections(ws)
        with ws.reader() as session:
            assert session.scalar(select(Job.id).where(Job.kind == COLLECT)) is None
        set_paused(ws, source.id, False)
        start_due_collections(ws)
        start_due_collections(ws)
        with ws.reader() as session:
            jobs = session.scalars(select(Job.id).where(Job.kind == COLLECT)).all()
        assert len(jobs) == 1
        collect(ws, [source.id], workers=1)
        (info,) = list_sources(ws)
        minutes = (info.next_run_at - info.last_run_at).total_seconds() / 60
        assert 45 <= minutes <= 45 * 1.1 + 0.1
        assert due_sources(ws) == []


@pytest.mark.parametrize(
    "kind, target, options, message",
    [
        ("mastodon", "https://mstdn.jp", {}, "either --tag or --account"),
        ("folder", "/nowhere/at/all", {}, "not a folder"),
        ("gopher", "x", {}, "no kind of source called 'gopher'"),
    ],
)
def test_a_wrong_source_is_refused_in_words(tmp_path, kind, target, options, message) -> None:
    from faceloop.collect.base import SourceError

    with open_to_local(tmp_path / "ws") as ws, pytest.raises(SourceError, match=message):
        add_source(ws, kind, target, options)
