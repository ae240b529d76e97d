"""The read model: snapshots followed change by change equal a fresh build, never change under
their readers, and show the changes of other threads and other processes."""

from __future__ import annotations

import multiprocessing
import threading
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import text

from faceloop.datasets.forget import forget_person
from faceloop.labels.labelling import label_faces, undo_action
from faceloop.labels.person_ops import (
    add_alias,
    add_tag,
    merge_people,
    rename_person,
    set_hidden,
    unmerge_person,
)
from faceloop.readmodel import ReadModel, Snapshot, snapshot
from faceloop.readmodel.state import LABEL_PERSON
from faceloop.testing.workspace import build_synthetic
from faceloop.workspace import Workspace, init_workspace, open_workspace
from tests.builders import add_photo

ARRAYS = ("face_ids", "image_ids", "boxes", "embeddings", "verdict", "person", "single", "order")


def picture(state: Snapshot) -> dict:
    """Everything a snapshot tells, as plain values that compare exactly (sums to 1e-9)."""
    centroids = state.centroids()
    return {
        **{name: getattr(state, name).tolist() for name in ARRAYS},
        "skips": {user: dict(faces) for user, faces in state.skips.items() if faces},
        "rejects": {face: set(people) for face, people in state.rejects.items() if people},
        "last_used": dict(state.last_used),
        "people": dict(state.people),
        "roots": dict(state.roots),
        "counts": {p: c for p, c in state.counts.items() if c},
        "sums": {p: np.round(s, 9).tolist() for p, s in state.sums.items() if state.counts[p]},
        "centroids": (centroids.person_ids.tolist(), np.round(centroids.means, 5).tolist()),
        "marks": (state.face_mark, state.decision_mark, state.prediction_mark),
    }


def fresh(ws: Workspace) -> Snapshot:
    """A snapshot built from nothing, as a new process would."""
    return ReadModel(ws.engine).snapshot()


def assert_as_fresh(ws: Workspace) -> Snapshot:
    followed = snapshot(ws)
    built = picture(fresh(ws))
    for part, value in picture(followed).items():
        assert value == built[part], part
    return followed


@pytest.fixture
def synthetic(tmp_path: Path):
    ws = init_workspace(tmp_path / "ws")
    info = build_synthetic(ws, faces=300, people=8, labelled_fraction=0.5, seed=5)
    yield ws, info
    ws.close()


def unlabelled(state: Snapshot, count: int, skip: int = 0) -> list[int]:
    return state.face_ids[state.verdict == 0][skip : skip + count].tolist()


def test_a_followed_snapshot_equals_a_fresh_build_after_every_kind_of_change(synthetic) -> None:
    ws, info = synthetic
    first = assert_as_fresh(ws)
    anna, bert, cleo = info.person_ids[:3]
    faces = unlabelled(first, 12)

    added = label_faces(ws, faces[:3], "person", user_id=None, person_id=anna, confirm=True)
    assert assert_as_fresh(ws).generation == first.generation, "followed, not reloaded"
    label_faces(ws, faces[3:4], "not_face", user_id=None)
    label_faces(ws, faces[4:5], "unknown", user_id=None)
    label_faces(ws, faces[5:6], "skip", user_id=None)
    label_faces(ws, faces[6:7], "reject", user_id=None, person_id=bert)
    state = assert_as_fresh(ws)
    assert state.verdict[state.position(faces[0])] == LABEL_PERSON
    assert bert in state.rejects[faces[6]] and faces[5] in state.skips[0]
    undo_action(ws, added.batch, None)
    assert assert_as_fresh(ws).verdict[state.position(faces[0])] == 0

    with ws.transaction() as s:
        rename_person(s, anna, "Anna Neu", None)
        add_alias(s, anna, "アンナ", None)
        add_tag(s, bert, "band", None)
        set_hidden(s, cleo, True, None)
    state = assert_as_fresh(ws)
    assert state.people[anna].name == "Anna Neu" and "アンナ" in state.people[anna].aliases
    with ws.transaction() as s:
        merge_people(s, bert, anna, None)
    assert assert_as_fresh(ws).root(bert) == anna
    with ws.transaction() as s:
        unmerge_person(s, bert, None)
    assert assert_as_fresh(ws).root(bert) == bert

    _, new_faces = add_photo(ws, 2, folder="/later")
    label_faces(ws, new_faces[:1], "person", user_id=None, person_id=cleo, confirm=True)
    state = assert_as_fresh(ws)
    assert state.position(new_faces[1]) is not None

    forget_person(ws, cleo)
    state = assert_as_fresh(ws)
    assert cleo not in state.people and state.position(new_faces[0]) is None
    assert state.generation > first.generation, "a deletion loads everything again"


def test_raw_sql_changes_and_deletions_are_seen_at_the_next_snapshot(synthetic) -> None:
    ws, _ = synthetic
    before = snapshot(ws)
    gone = int(before.face_ids[-1])
    with ws.engine.begin() as conn:
        conn.execute(text("DELETE FROM face WHERE id = :id"), {"id": gone})
        conn.execute(text("UPDATE person SET name = 'Raw' WHERE id = (SELECT min(id) FROM person)"))
    after = assert_as_fresh(ws)
    assert after.position(gone) is None and before.position(gone) is not None
    assert "Raw" in {p.name for p in after.people.values()}


def test_a_snapshot_never_changes_under_its_reader(synthetic) -> None:
    ws, info = synthetic
    held = snapshot(ws)
    assert snapshot(ws) is held, "nothing changed: the same snapshot"
    seen = picture(held)
    faces = unlabelled(held, 4)
    label_faces(ws, faces[:2], "person", user_id=None, person_id=info.person_ids[0], confirm=True)
    label_faces(ws, faces[2:3], "skip", user_id=None)
    with ws.transaction() as s:
        rename_person(s, info.person_ids[1], "Someone Else", None)
    add_photo(ws, 1, folder="/new")
    now = snapshot(ws)
    assert now is not held and picture(now) != seen
    assert picture(held) == seen
    with pytest.raises(ValueError):
        held.verdict[0] = 1


def test_readers_and_writers_in_threads_end_as_a_fresh_build(synthetic) -> None:
    """Readers check what every snapshot must hold (the per-person counts agree with the
    labels) while writers label, skip and undo."""
    ws, info = synthetic
    faces = unlabelled(snapshot(ws), 40)
    errors: list[BaseException] = []
    done = threading.Event()

    def write(part: list[int], person: int) -> None:
        try:
            for face in part:
                made = label_faces(
                    ws, [face], "person", user_id=None, person_id=person, confirm=True
                )
                if face % 3 == 0:
                    undo_action(ws, made.batch, None)
                elif face % 3 == 1:
                    label_faces(ws, [face], "skip", user_id=None)
        except BaseException as error:  # reported by the test thread
            errors.append(error)

    def read() -> None:
        try:
            while not done.is_set():
                state = snapshot(ws)
                named = state.person[state.verdict == LABEL_PERSON]
                people, counts = np.unique(named, return_counts=True)
                held = {p: c for p, c in state.counts.items() if c}
                assert dict(zip(people.tolist(), counts.tolist(), strict=True)) == held
        except BaseException as error:
            errors.append(error)

    writers = [
        threading.Thread(target=write, args=(faces[i::2], info.person_ids[i])) for i in range(2)
    ]
    readers = [threading.Thread(target=read) for _ in range(2)]
    for thread in readers + writers:
        thread.start()
    for thread in writers:
        thread.join()
    done.set()
    for thread in readers:
        thread.join()
    assert not errors, errors
    assert_as_fresh(ws)


def _other_process(root: str, faces: list[int], person: int, forget: int, queue) -> None:
    """A second process: holds its own read model, waits for the first's changes, then makes
    its own and reports whether its followed snapshot equals a fresh build."""
    try:
        _changes_there(root, faces, person, forget, queue)
    except BaseException as error:  # reported to the test in the first process
        queue.put(("error", repr(error), False))


def _changes_there(root: str, faces: list[int], person: int, forget: int, queue) -> None:
    with open_workspace(Path(root)) as ws:
        before = snapshot(ws)
        queue.put(("loaded", len(before.face_ids)))
        assert queue_get(queue) == "changed"
        after = snapshot(ws)
        saw = [int(after.verdict[after.position(f)]) for f in faces]
        same = picture(after) == picture(fresh(ws))
        label_faces(ws, faces[1:], "person", user_id=None, person_id=person, confirm=True)
        forget_person(ws, forget)
        queue.put(("done", saw, same))


def queue_get(queue):
    return queue.get(timeout=120)


def test_a_second_process_sees_the_changes_of_the_first_and_the_first_its(synthetic) -> None:
    ws, info = synthetic
    anna, bert = info.person_ids[:2]
    faces = unlabelled(snapshot(ws), 3)
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    child = context.Process(
        target=_other_process, args=(str(ws.root), faces, anna, bert, queue), daemon=True
    )
    child.start()
    try:
        assert queue_get(queue)[0] == "loaded"
        label_faces(ws, faces[:1], "person", user_id=None, person_id=anna, confirm=True)
        queue.put("changed")
        kind, saw, same = queue_get(queue)
        queue.put("ack")
    finally:
        child.join(timeout=120)
    assert child.exitcode == 0
    assert kind == "done", saw
    assert same
    assert saw == [LABEL_PERSON, 0, 0], "the other process saw the label made here"
    state = assert_as_fresh(ws)
    assert bert not in state.people, "a person forgotten by the other process is gone here"
    assert all(state.verdict[state.position(f)] == LABEL_PERSON for f in faces)
