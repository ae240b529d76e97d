"""People: merge and un-merge restore exactly; every change is undoable; likely mistakes first."""

from __future__ import annotations

import numpy as np
import pytest

from faceloop.db.models import merge_roots
from faceloop.labels import person_ops as ops
from faceloop.labels.labelling import label_faces
from faceloop.labels.names import suggest_names
from faceloop.review.label_queue import next_faces
from faceloop.review.person_views import list_people, person_detail, person_faces
from tests.builders import add_photo, make_person


def faces_of(ws, person_id):
    return sorted(f.face_id for f in person_faces(ws, person_id, limit=1000).faces)


def label_many(ws, person_id, n, folder, centre=None):
    rng = np.random.default_rng(len(folder) + n)
    centre = rng.normal(0, 0.3, 128) if centre is None else centre
    faces = []
    for k in range(n):
        _, ids = add_photo(
            ws, 1, folder=f"{folder}/{k}", vectors=[centre + rng.normal(0, 0.02, 128)]
        )
        faces += ids
    label_faces(ws, faces, "person", user_id=None, person_id=person_id)
    return faces


def test_merge_then_unmerge_restores_exactly(empty) -> None:
    ws = empty
    a, b = make_person(ws, "A"), make_person(ws, "B")
    faces_a = label_many(ws, a, 3, "/a")
    faces_b = label_many(ws, b, 2, "/b")
    with ws.transaction() as s:
        event = ops.merge_people(s, a, b, None)
    assert faces_of(ws, b) == sorted(faces_a + faces_b)
    assert person_detail(ws, b).merged[0].id == a
    assert person_detail(ws, a).merged_into.id == b
    assert [p.id for p in list_people(ws).people] == [b]
    later = label_many(ws, a, 1, "/a-later")  # naming A while merged names B, as shown
    assert person_detail(ws, b).faces == 6
    with ws.transaction() as s:
        ops.undo_event(s, event, None)
    assert faces_of(ws, a) == sorted(faces_a)
    assert faces_of(ws, b) == sorted(faces_b + later)
    with ws.transaction() as s, pytest.raises(ops.PersonOpError, match="already undone"):
        ops.undo_event(s, event, None)


def test_merge_refuses_cycles_and_double_merges(empty) -> None:
    ws = empty
    a, b, c = (make_person(ws, n) for n in "ABC")
    with ws.transaction() as s:
        ops.merge_people(s, a, b, None)
    with ws.transaction() as s, pytest.raises(ops.PersonOpError, match="themselves"):
        ops.merge_people(s, b, a, None)
    with ws.transaction() as s, pytest.raises(ops.PersonOpError, match="already merged"):
        ops.merge_people(s, a, c, None)
    with ws.transaction() as s, pytest.raises(LookupError):
        ops.merge_people(s, c, 999, None)


@pytest.mark.parametrize(
    ("change", "check"),
    [
        (lambda s, p: ops.rename_person(s, p, "綾瀬はるか", None), lambda d: d.name),
        (lambda s, p: ops.add_alias(s, p, "Haruka", None), lambda d: d.aliases),
        (lambda s, p: ops.add_tag(s, p, "Group A", None), lambda d: d.tags),
        (lambda s, p: ops.set_hidden(s, p, True, None), lambda d: d.hidden),
    ],
)
def test_every_change_undoes(empty, change, check) -> None:
    ws = empty
    person = make_person(ws, "Ayase")
    before = check(person_detail(ws, person))
    with ws.transaction() as s:
        event = change(s, person)
    assert check(person_detail(ws, person)) != before
    with ws.transaction() as s:
        ops.undo_event(s, event, None)
    assert check(person_detail(ws, person)) == before
    history = person_detail(ws, person).history
    assert history[1].undone and history[0].undoes_id == event


def test_removing_an_alias_or_group_undoes(empty) -> None:
    ws = empty
    person = make_person(ws, "Mei")
    with ws.transaction() as s:
        ops.add_alias(s, person, "ヒマワリ", None)
        ops.add_tag(s, person, "Stars", None)
    with ws.transaction() as s:
        alias_gone = ops.remove_alias(s, person, "ヒマワリ", None)
        tag_gone = ops.remove_tag(s, person, "Stars", None)
    assert suggest_names(ws, "ひま") == []
    with ws.transaction() as s:
        ops.undo_event(s, alias_gone, None)
        ops.undo_event(s, tag_gone, None)
    detail = person_detail(ws, person)
    assert detail.aliases == ("ヒマワリ",) and detail.tags == ("Stars",)
    assert suggest_names(ws, "ひま")[0].matched == "ヒマワリ"


def test_bad_changes_say_why(empty) -> None:
    ws = empty
    a, _b = make_person(ws, "Aoi"), make_person(ws, "Rin")
    with ws.transaction() as s:
        ops.add_alias(s, a, "aoi-chan", None)
    for change, message in [
        (lambda s: ops.rename_person(s, a, "   ", None), "empty"),
        (lambda s: ops.rename_person(s, a, "Rin", None), "merge the two"),
        (lambda s: ops.add_alias(s, a, "AOI-CHAN", None), "already has"),
        (lambda s: ops.remove_tag(s, a, "nothing", None), "not in a group"),
        (lambda s: ops.set_hidden(s, a, False, None), "already shown"),
        (lambda s: ops.unmerge_person(s, a, None), "not merged"),
    ]:
        with ws.transaction() as s, pytest.raises(ops.PersonOpError, match=message):
            change(s)


def test_likely_mistakes_come_first(empty) -> None:
    ws = empty
    person = make_person(ws, "Riko")
    rng = np.random.default_rng(5)
    centre = rng.normal(0, 0.3, 128)
    good = label_many(ws, person, 6, "/riko", centre=centre)
    _, (wrong,) = add_photo(ws, 1, folder="/wrong", vectors=[centre + 0.3])
    label_faces(ws, [wrong], "person", user_id=None, person_id=person)
    page = person_faces(ws, person)
    assert page.total == 7
    assert page.faces[0].face_id == wrong
    assert page.faces[0].distance > 2 * page.faces[1].distance
    assert {f.face_id for f in page.faces[1:]} == set(good)


def test_removing_a_face_returns_it_to_the_queue_and_remembers(empty) -> None:
    ws = empty
    person = make_person(ws, "Hana")
    faces = label_many(ws, person, 2, "/hana")
    label_faces(ws, faces[:1], "reject", user_id=None, person_id=person)
    assert faces_of(ws, person) == faces[1:]
    [item] = next_faces(ws, None).items
    assert item.face_id == faces[0]
    assert person not in [s.person_id for s in item.suggestions]


def test_cover_is_chosen_or_typical(empty) -> None:
    ws = empty
    person = make_person(ws, "Nao")
    faces = label_many(ws, person, 3, "/nao")
    automatic = person_detail(ws, person).cover_face_id
    assert automatic in faces
    other = next(f for f in faces if f != automatic)
    with ws.transaction() as s:
        event = ops.set_cover(s, person, other, None)
    assert person_detail(ws, person).cover_face_id == other
    assert list_people(ws).people[0].cover_face_id == other
    with ws.transaction() as s:
        ops.undo_event(s, event, None)
    assert person_detail(ws, person).cover_face_id == automatic
    _, stranger = add_photo(ws, 1, folder="/x")
    with ws.transaction() as s, pytest.raises(ops.PersonOpError, match="not one of"):
        ops.set_cover(s, person, stranger[0], None)


def test_people_list_filters(empty) -> None:
    ws = empty
    a, b, c = make_person(ws, "桜井"), make_person(ws, "Sakura"), make_person(ws, "Hidden")
    label_many(ws, b, 2, "/b")
    with ws.transaction() as s:
        ops.add_tag(s, a, "Group", None)
        ops.set_hidden(s, c, True, None)
    assert [p.name for p in list_people(ws).people] == ["Sakura", "桜井"]
    assert [p.name for p in list_people(ws, tag="Group").people] == ["桜井"]
    assert len(list_people(ws, include_hidden=True).people) == 3
    assert [p.name for p in list_people(ws, query="saku").people] == ["Sakura"]
    assert list_people(ws).tags == ["Group"]


def test_merge_roots_follows_chains_and_survives_a_cycle() -> None:
    assert merge_roots({1: None, 2: 1, 3: 2, 4: 9}) == {1: 1, 2: 1, 3: 1, 4: 9, 9: 9}
    # a cycle a hand-edited database could hold: one answer whichever person the walk starts at
    for order in ([5, 6, 7], [7, 6, 5], [6, 5, 7]):
        into = {5: 6, 6: 5, 7: 6}
        assert merge_roots({pid: into[pid] for pid in order}) == {5: 5, 6: 5, 7: 5}
