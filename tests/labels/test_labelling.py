"""Answering about faces: names, new people, one person per photo, bulk actions and undo."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from faceloop.db.models import Decision, Person
from faceloop.labels.labelling import (
    SamePersonInPhoto,
    label_faces,
    undo_action,
    undo_decision,
)
from faceloop.labels.person_ops import add_alias, merge_people
from faceloop.review.label_queue import queue_item
from tests.builders import add_photo, make_person


def test_a_new_name_creates_the_person_once(empty) -> None:
    ws = empty
    _, faces = add_photo(ws, 1)
    _, more = add_photo(ws, 1, folder="/b")
    first = label_faces(ws, faces, "person", user_id=ws.owner_id(), name="  Aya  ")
    again = label_faces(ws, more, "person", user_id=ws.owner_id(), name="aya")
    assert first.created_person and not again.created_person
    assert first.person_id == again.person_id
    assert first.person_name == "Aya"
    with ws.reader() as s:
        assert s.scalar(select(func.count(Person.id))) == 1
        users = set(s.scalars(select(Decision.user_id)))
    assert users == {ws.owner_id()}


def test_an_alias_in_another_script_names_the_person(empty) -> None:
    ws = empty
    pid = make_person(ws, "綾瀬はるか")
    with ws.transaction() as s:
        add_alias(s, pid, "Ayase Haruka", None)
    _, faces = add_photo(ws, 1)
    assert label_faces(ws, faces, "person", user_id=None, name="ayase haruka").person_id == pid


def test_one_person_twice_in_a_photo_needs_confirmation(empty) -> None:
    ws = empty
    pid = make_person(ws, "Mio")
    _, (a, b) = add_photo(ws, 2)
    label_faces(ws, [a], "person", user_id=None, person_id=pid)
    with pytest.raises(SamePersonInPhoto) as refused:
        label_faces(ws, [b], "person", user_id=None, person_id=pid)
    assert refused.value.conflicts == {b: [a]}
    assert queue_item(ws, b).verdict is None
    result = label_faces(ws, [b], "person", user_id=None, person_id=pid, confirm=True)
    assert result.flagged == [b]
    with ws.reader() as s:
        detail = s.get(Decision, result.decision_ids[0]).detail
    assert detail == {"same_photo_confirmed": True}


def test_the_rule_sees_through_merges(empty) -> None:
    ws = empty
    old, new = make_person(ws, "Old"), make_person(ws, "New")
    _, (a, b) = add_photo(ws, 2)
    label_faces(ws, [a], "person", user_id=None, person_id=old)
    with ws.transaction() as s:
        merge_people(s, old, new, None)
    with pytest.raises(SamePersonInPhoto):
        label_faces(ws, [b], "person", user_id=None, person_id=new)


def test_a_bulk_action_undoes_as_one(empty) -> None:
    ws = empty
    pid = make_person(ws, "Kana")
    faces = [add_photo(ws, 1, folder=f"/{n}")[1][0] for n in range(4)]
    result = label_faces(ws, faces, "person", user_id=None, person_id=pid, origin="bulk")
    assert len(result.decision_ids) == 4
    undone = undo_action(ws, result.batch, None)
    assert sorted(undone.face_ids) == sorted(faces)
    assert all(queue_item(ws, f).verdict is None for f in faces)
    with pytest.raises(ValueError, match="already undone"):
        undo_action(ws, result.batch, None)
    undo_decision(ws, undone.decision_ids[0], None)
    assert sum(queue_item(ws, f).verdict == "person" for f in faces) == 1


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"verdict": "maybe"}, ValueError),
        ({"verdict": "person"}, ValueError),
        ({"verdict": "not_face", "name": "X"}, ValueError),
        ({"verdict": "person", "person_id": 999}, LookupError),
        ({"verdict": "unknown", "origin": "machine"}, ValueError),
    ],
)
def test_bad_answers_are_refused(empty, kwargs, error) -> None:
    _, faces = add_photo(empty, 1)
    verdict = kwargs.pop("verdict")
    with pytest.raises(error):
        label_faces(empty, faces, verdict, user_id=None, **kwargs)


def test_unknown_faces_are_refused(empty) -> None:
    with pytest.raises(LookupError, match="no face 12345"):
        label_faces(empty, [12345], "not_face", user_id=None)
