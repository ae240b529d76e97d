"""The label queue: order, skips, filters, exclusions, suggestions, and keeping in step."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
from sqlalchemy import update

from faceloop.db.models import Image
from faceloop.labels.decisions import PERSON, SKIP, decide, undo
from faceloop.labels.labelling import label_faces
from faceloop.review.label_queue import QueueFilter, filter_options, next_faces, queue_item
from faceloop.workspace import open_workspace
from tests.builders import add_photo, make_person


def ids(page):
    return [item.face_id for item in page.items]


def test_single_face_photos_come_first_in_a_stable_random_order(empty) -> None:
    ws = empty
    _, pair = add_photo(ws, 2, folder="/p/pair")
    singles = [add_photo(ws, 1, folder=f"/p/{n}")[1][0] for n in range(6)]
    first = ids(next_faces(ws, None, limit=8))
    assert set(first[:6]) == set(singles)
    assert set(first[6:]) == set(pair)
    assert first[:6] != sorted(first[:6]) or first[:6] != singles  # shuffled, not insertion order
    assert ids(next_faces(ws, None, limit=8)) == first


def test_exclude_leaves_out_faces_the_page_holds(empty) -> None:
    ws = empty
    faces = [add_photo(ws, 1, folder=f"/p/{n}")[1][0] for n in range(5)]
    order = ids(next_faces(ws, None, limit=5))
    assert ids(next_faces(ws, None, limit=2, exclude=order[:2])) == order[2:4]
    assert sorted(order) == sorted(faces)


def test_skip_sends_a_face_to_the_back_for_that_user_only(empty) -> None:
    ws = empty
    owner = ws.owner_id()
    for n in range(4):
        add_photo(ws, 1, folder=f"/p/{n}")
    order = ids(next_faces(ws, owner, limit=4))
    with ws.transaction() as s:
        decide(s, order[0], SKIP, user_id=owner)
    with ws.transaction() as s:
        decide(s, order[1], SKIP, user_id=owner)
    page = next_faces(ws, owner, limit=4)
    assert ids(page) == [order[2], order[3], order[0], order[1]]
    assert [i.skipped for i in page.items] == [False, False, True, True]
    assert ids(next_faces(ws, None, limit=4)) == order
    assert page.remaining == 4


def test_labelled_faces_leave_and_undone_ones_return(empty) -> None:
    ws = empty
    person = make_person(ws, "Aya")
    faces = [add_photo(ws, 1, folder=f"/p/{n}")[1][0] for n in range(3)]
    with ws.transaction() as s:
        decision = decide(s, faces[0], PERSON, person_id=person)
    page = next_faces(ws, None, limit=5)
    assert faces[0] not in ids(page) and page.remaining == 2
    with ws.transaction() as s:
        undo(s, decision.id)
    assert faces[0] in ids(next_faces(ws, None, limit=5))


def test_filters_by_folder_and_date(empty) -> None:
    ws = empty
    _, (a,) = add_photo(ws, 1, folder="/idols/group-a")
    _, (b,) = add_photo(ws, 1, folder="/idols/group-a/live")
    image_c, (c,) = add_photo(ws, 1, folder="/idols/group-ab")
    assert set(ids(next_faces(ws, None, QueueFilter(folder="/idols/group-a")))) == {a, b}
    with ws.transaction() as s:
        old = date.today() - timedelta(days=30)
        s.execute(update(Image).where(Image.id == image_c).values(first_seen=old))
    recent = QueueFilter(since=date.today() - timedelta(days=1))
    assert set(ids(next_faces(ws, None, recent))) == {a, b}
    older = QueueFilter(until=date.today() - timedelta(days=10))
    assert ids(next_faces(ws, None, older)) == [c]
    folders = dict(filter_options(ws).folders)
    assert folders["/idols/group-ab"] == 1


def test_suggestions_start_with_the_hint_then_the_nearest_people(empty) -> None:
    ws = empty
    rng = np.random.default_rng(0)
    centres = rng.normal(0, 0.3, (3, 128))
    people = [make_person(ws, name) for name in ("A", "B", "C")]
    for centre, person in zip(centres, people, strict=True):
        _, faces = add_photo(ws, 2, vectors=centre + rng.normal(0, 0.01, (2, 128)))
        label_faces(ws, faces[:1], PERSON, user_id=None, person_id=person)
    _, (face,) = add_photo(ws, 1, vectors=[centres[1]], hint=people[2], folder="/q")
    item = queue_item(ws, face)
    assert [s.person_id for s in item.suggestions[:2]] == [people[2], people[1]]
    assert item.suggestions[0].reason == "hint"
    assert item.suggestions[1].reason == "similar"
    assert item.suggestions[1].distance < 0.2 < item.suggestions[2].distance


def test_rejected_people_are_not_suggested_and_photo_mates_go_last(empty) -> None:
    ws = empty
    rng = np.random.default_rng(1)
    centre = rng.normal(0, 0.3, 128)
    near, far = make_person(ws, "Near"), make_person(ws, "Far")
    _, known = add_photo(ws, 1, vectors=[centre])
    label_faces(ws, known, PERSON, user_id=None, person_id=near)
    _, known_far = add_photo(ws, 1, vectors=[centre + 0.5])
    label_faces(ws, known_far, PERSON, user_id=None, person_id=far)
    _, (face, mate) = add_photo(ws, 2, vectors=[centre, centre + 0.4])
    label_faces(ws, [mate], PERSON, user_id=None, person_id=far)
    item = queue_item(ws, face)
    assert [s.person_id for s in item.suggestions] == [near, far]
    assert item.suggestions[1].in_photo
    label_faces(ws, [face], "reject", user_id=None, person_id=near)
    assert [s.person_id for s in queue_item(ws, face).suggestions] == [far]


def test_changes_from_another_process_show_at_the_next_request(empty) -> None:
    ws = empty
    add_photo(ws, 1)
    assert next_faces(ws, None).remaining == 1
    other = open_workspace(ws.root)
    try:
        _, (face,) = add_photo(other, 1, folder="/elsewhere")
        person = make_person(other, "Elsewhere")
        with other.transaction() as s:
            decide(s, face, PERSON, person_id=person)
    finally:
        other.close()
    page = next_faces(ws, None)
    assert page.remaining == 1
    assert queue_item(ws, face).name == "Elsewhere"
