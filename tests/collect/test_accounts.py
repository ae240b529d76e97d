"""Accounts and who they are: counts per account, link suggestions on both sides of their two
thresholds, links and unlinks recorded as person events and undone like them.

The photos are a small synthetic workspace's (faces with embeddings, no detection needed); the
posts and accounts are written as the collector writes them: an account per handle on the
source, a post per photo, the photo's origin naming the post."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import func, select

from faceloop.collect.accounts import (
    MIN_LABELLED,
    MIN_SHARE,
    account_info,
    link_account,
    list_accounts,
    set_do_not_collect,
    suggest_links,
    unlink_account,
)
from faceloop.collect.run import add_source
from faceloop.db.models import Account
from faceloop.labels.activity import activity
from faceloop.labels.decisions import PERSON, UNKNOWN, decide
from faceloop.labels.person_ops import PersonOpError, create_person, merge_people, undo_event
from faceloop.testing.posts import faces_by_image, post_photos
from faceloop.testing.workspace import build_synthetic
from faceloop.workspace import Workspace, init_workspace


@dataclass
class Setup:
    ws: Workspace
    source_id: int
    #: face ids of photos with one face, and of photos with several, not handed out yet
    singles: list[int]
    groups: list[list[int]]
    aya: int
    mio: int

    def single_faces(self, n: int) -> list[int]:
        taken, self.singles = self.singles[:n], self.singles[n:]
        assert len(taken) == n
        return taken

    def post(self, handle: str, face_ids: list[int]) -> int:
        """The account `handle` posts the photos of these faces, one post each."""
        return post_photos(self.ws, self.source_id, handle, face_ids)

    def label(self, face_ids: list[int], person_id: int, verdict: str = PERSON) -> None:
        with self.ws.transaction() as session:
            for face_id in face_ids:
                decide(
                    session,
                    face_id,
                    verdict,
                    person_id=person_id if verdict == PERSON else None,
                    user_id=self.ws.owner_id(),
                )


@pytest.fixture
def setup(tmp_path: Path) -> Setup:
    ws = init_workspace(tmp_path / "ws")
    build_synthetic(ws, faces=400, people=3, labelled_fraction=0, seed=11)
    (tmp_path / "inbox").mkdir()
    source = add_source(ws, "folder", str(tmp_path / "inbox"))
    by_image = faces_by_image(ws)
    with ws.transaction() as session:
        aya = create_person(session, "Aya", ws.owner_id())
        mio = create_person(session, "Mio", ws.owner_id())
    found = Setup(
        ws,
        source.id,
        [faces[0] for faces in by_image.values() if len(faces) == 1],
        [faces for faces in by_image.values() if len(faces) > 1],
        aya,
        mio,
    )
    yield found
    ws.close()


def test_the_thresholds_are_what_the_issue_asks() -> None:
    assert (MIN_LABELLED, MIN_SHARE) == (5, 0.9)


def test_an_account_with_enough_labelled_selfies_of_one_person_is_suggested(setup) -> None:
    faces = setup.single_faces(MIN_LABELLED + 2)
    account = setup.post("@aya_idol", faces)
    setup.label(faces[:MIN_LABELLED], setup.aya)
    (suggestion,) = suggest_links(setup.ws)
    assert (suggestion.account_id, suggestion.person_id) == (account, setup.aya)
    assert (suggestion.agreeing, suggestion.labelled) == (5, 5)
    assert suggestion.text == "5 of 5 labelled faces from @aya_idol are Aya"


def test_one_labelled_selfie_too_few_is_no_suggestion(setup) -> None:
    faces = setup.single_faces(MIN_LABELLED + 2)
    setup.post("@aya_idol", faces)
    setup.label(faces[: MIN_LABELLED - 1], setup.aya)
    assert suggest_links(setup.ws) == []
    # unlabelled and "unknown person" faces are not labelled faces of anyone
    setup.label(faces[MIN_LABELLED - 1 : MIN_LABELLED + 1], 0, verdict=UNKNOWN)
    assert suggest_links(setup.ws) == []


def test_nine_of_ten_is_enough_and_eight_of_nine_is_not(setup) -> None:
    faces = setup.single_faces(10)
    setup.post("@mostly_aya", faces)
    setup.label(faces[:9], setup.aya)
    setup.label(faces[9:], setup.mio)
    (suggestion,) = suggest_links(setup.ws)
    assert suggestion.text == "9 of 10 labelled faces from @mostly_aya are Aya"

    other = setup.single_faces(9)
    setup.post("@fan_of_aya", other)
    setup.label(other[:8], setup.aya)
    setup.label(other[8:], setup.mio)
    assert [s.handle for s in suggest_links(setup.ws)] == ["@mostly_aya"]


def test_faces_in_photos_of_several_people_do_not_count(setup) -> None:
    group_faces = [faces[0] for faces in setup.groups[:MIN_LABELLED]]
    setup.post("@group_account", group_faces)
    setup.label(group_faces, setup.aya)
    assert suggest_links(setup.ws) == []
    (info,) = list_accounts(setup.ws).accounts
    assert info.labelled == MIN_LABELLED
    assert info.faces == sum(len(faces) for faces in setup.groups[:MIN_LABELLED])


def test_a_merged_persons_labels_count_as_the_person_merged_into(setup) -> None:
    faces = setup.single_faces(MIN_LABELLED)
    setup.post("@aya_idol", faces)
    with setup.ws.transaction() as session:
        aya_kanji = create_person(session, "綾", setup.ws.owner_id())
    setup.label(faces[:2], setup.aya)
    setup.label(faces[2:], aya_kanji)
    assert suggest_links(setup.ws) == []
    with setup.ws.transaction() as session:
        merge_people(session, aya_kanji, setup.aya, setup.ws.owner_id())
    (suggestion,) = suggest_links(setup.ws)
    assert (suggestion.person_id, suggestion.agreeing) == (setup.aya, MIN_LABELLED)


def test_accounts_are_listed_with_what_they_brought(setup) -> None:
    faces = setup.single_faces(4)
    group = setup.groups[0]
    aya = setup.post("@aya_idol", faces[:3])
    fan = setup.post("@fan", [faces[3], group[0]])
    setup.label(faces[:2], setup.aya)
    page = list_accounts(setup.ws)
    assert page.total == 2
    assert [a.id for a in page.accounts] == [aya, fan]
    first, second = page.accounts
    assert (first.posts, first.photos, first.faces, first.labelled) == (3, 3, 3, 2)
    assert (second.posts, second.photos, second.faces, second.labelled) == (2, 2, 1 + len(group), 0)
    assert (first.source_id, first.kind, first.person_id) == (setup.source_id, "folder", None)


def test_a_link_is_a_person_event_and_unlink_or_undo_takes_it_back(setup) -> None:
    faces = setup.single_faces(MIN_LABELLED)
    account = setup.post("@aya_idol", faces)
    setup.label(faces, setup.aya)
    user = setup.ws.owner_id()

    linked = link_account(setup.ws, account, setup.aya, user)
    assert (linked.account.person_id, linked.account.person_name) == (setup.aya, "Aya")
    assert suggest_links(setup.ws) == []
    assert [a.id for a in list_accounts(setup.ws, person_id=setup.aya).accounts] == [account]
    assert list_accounts(setup.ws, person_id=setup.mio).accounts == []
    (entry,) = activity(setup.ws, action="account_link").entries
    assert entry.summary == "linked the account @aya_idol to Aya"
    assert entry.id == linked.event_id
    with pytest.raises(PersonOpError, match="already linked to Aya"):
        link_account(setup.ws, account, setup.aya, user)

    unlinked = unlink_account(setup.ws, account, user)
    assert unlinked.account.person_id is None
    (entry,) = activity(setup.ws, action="account_unlink").entries
    assert entry.summary == "unlinked the account @aya_idol from Aya"
    assert [s.account_id for s in suggest_links(setup.ws)] == [account]
    with pytest.raises(PersonOpError, match="not linked to anyone"):
        unlink_account(setup.ws, account, user)

    # undoing the unlink links her again; undoing that link unlinks
    with setup.ws.transaction() as session:
        relinked = undo_event(session, unlinked.event_id, user)
    assert account_info(setup.ws, account).person_id == setup.aya
    with setup.ws.transaction() as session:
        undo_event(session, relinked, user)
    assert account_info(setup.ws, account).person_id is None


def test_moving_a_link_to_another_person_undoes_back_to_the_first(setup) -> None:
    account = setup.post("@shared", setup.single_faces(1))
    user = setup.ws.owner_id()
    link_account(setup.ws, account, setup.aya, user)
    moved = link_account(setup.ws, account, setup.mio, user)
    assert moved.account.person_name == "Mio"
    with setup.ws.transaction() as session:
        undo_event(session, moved.event_id, user)
    assert account_info(setup.ws, account).person_name == "Aya"


def test_do_not_collect_is_set_and_cleared_and_such_accounts_are_not_suggested(setup) -> None:
    faces = setup.single_faces(MIN_LABELLED)
    account = setup.post("@aya_idol", faces)
    setup.label(faces, setup.aya)
    assert set_do_not_collect(setup.ws, account, True).do_not_collect is True
    with setup.ws.reader() as session:
        assert session.scalar(select(Account.do_not_collect).where(Account.id == account))
    assert suggest_links(setup.ws) == []
    assert set_do_not_collect(setup.ws, account, False).do_not_collect is False
    assert len(suggest_links(setup.ws)) == 1


def test_unknown_accounts_and_people_are_lookup_errors(setup) -> None:
    account = setup.post("@aya_idol", setup.single_faces(1))
    with pytest.raises(LookupError, match="no account 999"):
        set_do_not_collect(setup.ws, 999, True)
    with pytest.raises(LookupError, match="no account 999"):
        link_account(setup.ws, 999, setup.aya, None)
    with pytest.raises(LookupError, match="no person 999"):
        link_account(setup.ws, account, 999, None)
    with setup.ws.reader() as session:
        assert session.scalar(select(func.count(Account.id))) == 1


def test_a_linked_accounts_selfies_come_first_in_pages_of_their_own(setup) -> None:
    from faceloop.review.confirm_page import Answer, answer_suggestions, confirm_view

    selfies = setup.single_faces(4)
    group = setup.groups[0]
    account = setup.post("@aya_idol", selfies + group[:1])
    setup.post("@fan", setup.single_faces(2))
    link_account(setup.ws, account, setup.aya, setup.ws.owner_id())

    view = confirm_view(setup.ws, mode="page")
    assert view.source == "account" and view.person_id == setup.aya
    assert sorted(i.face_id for i in view.items) == sorted(selfies)  # not the group photo
    assert view.title == "4 new selfies from Aya's account"
    assert {i.origin for i in view.items} == {"from @aya_idol"}
    mixed = confirm_view(setup.ws, mode="mixed")
    assert [i.source for i in mixed.items[:4]] == ["account"] * 4

    answers = [Answer(f, "yes") for f in selfies[:3]] + [Answer(selfies[3], "no")]
    result = answer_suggestions(
        setup.ws, setup.aya, answers, user_id=setup.ws.owner_id(), source="account"
    )
    assert sorted(result.accepted) == sorted(selfies[:3]) and result.refused == [selfies[3]]
    # answered, refused: none comes back as a selfie; the page turns to the other sources
    after = confirm_view(setup.ws, mode="page")
    assert after.source != "account"
    assert not set(selfies) & {i.face_id for i in after.items if i.source == "account"}
    empty = confirm_view(setup.ws, mode="page", source="account")
    assert empty.items == [] and "Accounts page" in empty.message
