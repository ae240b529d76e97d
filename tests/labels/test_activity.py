"""The activity feed: who, when, what, how; undone entries; filters; paging."""

from __future__ import annotations

from faceloop.labels import person_ops as ops
from faceloop.labels.activity import activity
from faceloop.labels.labelling import label_faces, undo_action
from tests.builders import add_photo, make_person


def test_decisions_and_person_changes_newest_first(empty) -> None:
    ws = empty
    owner = ws.owner_id()
    _, (face,) = add_photo(ws, 1)
    result = label_faces(ws, [face], "person", user_id=owner, name="Aya", origin="suggestion")
    with ws.transaction() as s:
        ops.add_alias(s, result.person_id, "あや", owner)
    undo_action(ws, result.batch, owner)
    entries = activity(ws).entries
    assert [e.action for e in entries] == ["undo", "alias_add", "person", "create"]
    undo_entry, alias, named, created = entries
    assert undo_entry.summary == f"undid: named face {face} Aya"
    assert named.undone and not named.undoable and named.origin == "suggestion"
    assert named.user == "owner" and named.image_id is not None
    assert alias.summary == "added the alias あや to Aya" and alias.undoable
    assert not created.undoable


def test_filters_and_pages(empty) -> None:
    ws = empty
    faces = [add_photo(ws, 1, folder=f"/{n}")[1][0] for n in range(5)]
    for face in faces:
        label_faces(ws, [face], "not_face", user_id=None)
    person = make_person(ws, "Mio")
    label_faces(ws, [faces[0]], "person", user_id=None, person_id=person)
    assert [e.face_id for e in activity(ws, kind="decision", action="person").entries] == [faces[0]]
    assert len(activity(ws, person_id=person).entries) == 2  # the label and the creation
    assert activity(ws, face_id=faces[1]).entries[0].action == "not_face"
    first = activity(ws, limit=4)
    assert len(first.entries) == 4 and first.next_before is not None
    rest = activity(ws, limit=4, before=first.next_before)
    seen = {(e.kind, e.id) for e in first.entries + rest.entries}
    assert len(seen) == 7
    assert rest.next_before is None


def test_undoing_an_undo_reads_as_a_redo(empty) -> None:
    from faceloop.labels.decisions import undo

    ws = empty
    owner = ws.owner_id()
    _, (face,) = add_photo(ws, 1)
    label_faces(ws, [face], "person", user_id=owner, name="Serena Williams")
    named = activity(ws).entries[0]
    with ws.transaction() as s:
        first_undo = undo(s, named.id, owner).id
    with ws.transaction() as s:
        redo = undo(s, first_undo, owner).id
    with ws.transaction() as s:
        undo(s, redo, owner)
    again, redone, undone = activity(ws, action="undo").entries
    assert undone.summary == f"undid: named face {face} Serena Williams"
    assert redone.summary == f"redid: named face {face} Serena Williams"
    assert again.summary == f"undid: named face {face} Serena Williams"
    assert "decision" not in " ".join(e.summary for e in (again, redone, undone))
