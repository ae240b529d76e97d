"""The rules of decisions: rejects, undo of an action, no double undo."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from faceloop.db.models import FaceLabel
from faceloop.labels.decisions import (
    NOT_FACE,
    PERSON,
    REJECT,
    decide,
    is_undone,
    new_batch,
    undo,
    undo_batch,
)
from tests.builders import add_photo, make_person


def label_of(ws, face_id):
    with ws.reader() as session:
        row = session.get(FaceLabel, face_id)
        return (row.verdict, row.person_id) if row else None


def test_reject_withdraws_the_label_without_falling_back(empty) -> None:
    ws = empty
    _, (face,) = add_photo(ws, 1)
    aya, mio = make_person(ws, "Aya"), make_person(ws, "Mio")
    with ws.transaction() as s:
        decide(s, face, PERSON, person_id=aya)
        decide(s, face, PERSON, person_id=mio)
        reject = decide(s, face, REJECT, person_id=mio)
    assert label_of(ws, face) is None  # not back to Aya: the labeller overruled that
    with ws.transaction() as s:
        undo(s, reject.id)
    assert label_of(ws, face) == (PERSON, mio)


def test_naming_the_rejected_person_again_labels(empty) -> None:
    ws = empty
    _, (face,) = add_photo(ws, 1)
    aya = make_person(ws, "Aya")
    with ws.transaction() as s:
        decide(s, face, REJECT, person_id=aya)
        assert label_of(ws, face) is None
        decide(s, face, PERSON, person_id=aya)
    assert label_of(ws, face) == (PERSON, aya)


def test_reject_needs_a_person(empty) -> None:
    _, (face,) = add_photo(empty, 1)
    with empty.transaction() as s, pytest.raises(ValueError, match="reject"):
        decide(s, face, REJECT)


def test_an_action_undoes_as_a_whole_and_only_once(empty) -> None:
    ws = empty
    _, faces = add_photo(ws, 3)
    batch = new_batch()
    with ws.transaction() as s:
        for face in faces:
            decide(s, face, NOT_FACE, batch=batch)
    with ws.transaction() as s:
        events = undo_batch(s, batch)
        assert len(events) == 3
        assert len({e.batch for e in events}) == 1
    assert all(label_of(ws, f) is None for f in faces)
    with ws.transaction() as s:
        assert undo_batch(s, batch) == []
        first = s.scalar(select(FaceLabel).limit(1))
        assert first is None
        with pytest.raises(ValueError, match="already undone"):
            undo(s, events[0].undoes_id)


def test_undoing_an_undo_redoes(empty) -> None:
    ws = empty
    _, (face,) = add_photo(ws, 1)
    with ws.transaction() as s:
        decision = decide(s, face, NOT_FACE)
        withdrawn = undo(s, decision.id)
        assert is_undone(s, decision)
        undo(s, withdrawn.id)
        assert not is_undone(s, decision)
    assert label_of(ws, face) == (NOT_FACE, None)
