"""Look-alike groups in a workspace, on ORL faces embedded by faceloop's own pipeline: runs,
naming a group in one action and taking it back, "not the same person", split, merge, more like
this, and ids that survive a re-run."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import func, select

from faceloop.cluster import DEFAULT_THRESHOLD, start_threshold
from faceloop.db.models import Decision, FaceGroup, FaceGroupMember, FaceLabel
from faceloop.grouping.actions import (
    label_group,
    mark_unknown,
    merge,
    reject_group,
    split,
    undo_merge,
    undo_reject,
    undo_split,
)
from faceloop.grouping.run import grouping_threshold, recluster
from faceloop.grouping.views import GroupNotFound, group_detail, list_groups, more_like_this
from faceloop.labels.decisions import undo_batch
from faceloop.labels.labelling import label_faces
from faceloop.review.confirm_page import GROUP, WIDE_FACTOR, Answer, answer_suggestions
from faceloop.review.label_queue import queue_item
from faceloop.review.small_groups import small_group_suggestions
from faceloop.workspace import Workspace, init_workspace, open_workspace
from tests.builders import add_photo


def build(ws: Workspace, orl_faces, *, pairs_in_one_photo: bool = False) -> dict[int, int]:
    """One photo per ORL face (or, with pairs_in_one_photo, each subject's first two faces in
    one photo); returns face id -> subject."""
    vectors, _, subjects = orl_faces
    truth: dict[int, int] = {}
    for subject in np.unique(subjects).tolist():
        rows = np.flatnonzero(subjects == subject)
        if pairs_in_one_photo:
            _, ids = add_photo(ws, 2, folder=f"/orl/s{subject}/pair", vectors=vectors[rows[:2]])
            truth.update(dict.fromkeys(ids, subject))
            rows = rows[2:]
        for n, row in enumerate(rows.tolist()):
            _, ids = add_photo(ws, 1, folder=f"/orl/s{subject}/{n}", vectors=vectors[[row]])
            truth[ids[0]] = subject
    return truth


@pytest.fixture(scope="module")
def orl_template(tmp_path_factory, orl_faces) -> tuple[Path, dict[int, int]]:
    """A workspace of ORL faces, built once and copied for each test."""
    root = tmp_path_factory.mktemp("orl-groups") / "ws"
    with init_workspace(root) as ws:
        truth = build(ws, orl_faces)
    return root, truth


@pytest.fixture
def orl_ws(tmp_path, orl_template) -> tuple[Workspace, dict[int, int]]:
    root, truth = orl_template
    shutil.copytree(root, tmp_path / "ws")
    ws = open_workspace(tmp_path / "ws")
    yield ws, truth
    ws.close()


def faces_of(ws: Workspace, group_id: int) -> list[int]:
    return [f.face_id for f in group_detail(ws, group_id).faces]


def decisions(ws: Workspace) -> list[tuple]:
    with ws.reader() as s:
        return s.execute(
            select(Decision.id, Decision.face_id, Decision.verdict, Decision.person_id)
        ).all()


def labels(ws: Workspace) -> list[tuple]:
    with ws.reader() as s:
        return s.execute(select(FaceLabel.face_id, FaceLabel.verdict, FaceLabel.person_id)).all()


def test_groups_on_orl_are_nearly_pure_and_largest_first(orl_ws, orl_faces) -> None:
    ws, truth = orl_ws
    run = recluster(ws)
    start = start_threshold(orl_faces[0])
    print(f"ORL start {start:.3f} (dlib's usual {DEFAULT_THRESHOLD})")
    assert run.threshold_source == "default" and run.threshold == pytest.approx(start, rel=0.03)
    assert run.unlabelled_faces == len(truth)
    groups = list_groups(ws, limit=500)
    assert [g.size for g in groups] == sorted((g.size for g in groups), reverse=True)
    grouped = sum(g.size for g in groups)
    right = 0
    for g in groups:
        detail = group_detail(ws, g.id)
        members = [f.face_id for f in detail.faces]
        assert detail.summary == g and g.status == "open"
        assert g.cover_face_ids == members[:6]
        assert [f.distance for f in detail.faces] == sorted(f.distance for f in detail.faces)
        right += np.bincount([truth[f] for f in members]).max()
    print(
        f"ORL: {len(groups)} groups, {grouped / len(truth):.1%} grouped, purity {right / grouped}"
    )
    assert right / grouped >= 0.99
    assert grouped / len(truth) >= 0.8
    assert list_groups(ws, limit=2, offset=1) == groups[1:3]


def test_two_faces_of_one_photo_never_share_a_group(tmp_path, orl_faces) -> None:
    ws = init_workspace(tmp_path / "ws")
    truth = build(ws, orl_faces, pairs_in_one_photo=True)
    recluster(ws)
    from faceloop.db.models import Face

    with ws.reader() as s:
        photo = dict(s.execute(select(Face.id, Face.image_id)).all())
    groups = list_groups(ws, limit=500)
    assert sum(g.size for g in groups) >= 0.7 * len(truth)
    for g in groups:
        members = faces_of(ws, g.id)
        assert len({photo[f] for f in members}) == len(members)
    ws.close()


def test_threshold_learned_from_labels_and_people_suggested(orl_ws, orl_faces) -> None:
    ws, truth = orl_ws
    by_subject: dict[int, list[int]] = {}
    for face, subject in truth.items():
        by_subject.setdefault(subject, []).append(face)
    named = {}
    for subject in sorted(by_subject)[:20]:
        result = label_faces(
            ws, by_subject[subject][:5], "person", user_id=None, name=f"s{subject}"
        )
        named[result.person_id] = subject
    run = recluster(ws)
    assert run.threshold_source == "learned" and run.labelled_faces >= 95
    assert abs(run.threshold - start_threshold(orl_faces[0])) > 0.005
    suggested = [g for g in list_groups(ws, limit=500, min_size=1) if g.suggested_person_id]
    assert len(suggested) >= 15
    for g in suggested:
        assert g.suggested_name == f"s{named[g.suggested_person_id]}"
        assert {truth[f] for f in faces_of(ws, g.id)} == {named[g.suggested_person_id]}
    given = recluster(ws, threshold=0.3)
    assert given.threshold_source == "given" and given.threshold == 0.3
    with pytest.raises(ValueError, match="between 0 and 2"):
        recluster(ws, threshold=-1)


def test_a_group_is_named_in_one_action_and_taken_back(orl_ws) -> None:
    ws, _ = orl_ws
    recluster(ws)
    group = list_groups(ws)[0]
    members = faces_of(ws, group.id)
    outlier = members[-1]
    batch = label_group(ws, group.id, name="Someone", exclude_face_ids=[outlier])
    for face in members[:-1]:
        assert queue_item(ws, face).name == "Someone"
    assert queue_item(ws, outlier).verdict is None
    with ws.reader() as s:
        rows = s.execute(
            select(Decision.face_id, Decision.verdict, Decision.origin).where(
                Decision.batch == batch
            )
        ).all()
    assert {r.origin for r in rows} == {"group"}
    assert {(r.face_id, r.verdict) for r in rows if r.verdict == "reject"} == {(outlier, "reject")}
    detail = group_detail(ws, group.id)
    assert detail.summary.status == "labelled" and detail.faces == []
    assert group.id not in [g.id for g in list_groups(ws, limit=500)]

    with ws.transaction() as s:
        undo_batch(s, batch)
    assert all(queue_item(ws, face).verdict is None for face in members)
    back = group_detail(ws, group.id)
    assert back.summary.status == "open"
    assert sorted(f.face_id for f in back.faces) == sorted(members[:-1])
    with pytest.raises(ValueError, match="left to label"):
        label_group(ws, group.id, name="x", exclude_face_ids=members)


def test_unknown_person_for_a_whole_group(orl_ws) -> None:
    ws, _ = orl_ws
    recluster(ws)
    group = list_groups(ws)[1]
    members = faces_of(ws, group.id)
    batch = mark_unknown(ws, group.id, exclude_face_ids=members[:1])
    assert [queue_item(ws, f).verdict for f in members] == [None] + ["unknown"] * (len(members) - 1)
    with ws.transaction() as s:
        assert len(undo_batch(s, batch)) == len(members) - 1


def test_a_rerun_keeps_ids_and_never_touches_decisions(orl_ws) -> None:
    ws, _ = orl_ws
    recluster(ws)
    before = {g.id: set(faces_of(ws, g.id)) for g in list_groups(ws, limit=500)}
    first = next(iter(before))
    label_group(ws, first, name="First")
    label_faces(ws, [next(iter(before[list(before)[1]]))], "not_face", user_id=None)
    made, now = decisions(ws), labels(ws)
    run = recluster(ws)
    assert decisions(ws) == made and labels(ws) == now
    after = {g.id: set(faces_of(ws, g.id)) for g in list_groups(ws, limit=500)}
    assert first not in after and first in run.vanished
    kept = [gid for gid in before if gid != first and gid in after]
    assert len(kept) >= 0.9 * (len(before) - 1)
    for gid in kept:
        assert len(before[gid] & after[gid]) * 2 > len(before[gid])
    assert max(after) >= max(before) or set(after) <= set(before)
    # the rows written: every open group's size is its members', none is left of the named one
    with ws.reader() as s:
        sizes = dict(
            s.execute(
                select(FaceGroupMember.group_id, func.count()).group_by(FaceGroupMember.group_id)
            ).all()
        )
        stored = {g.id: g for g in s.scalars(select(FaceGroup))}
    open_ids = {gid for gid, g in stored.items() if g.status == "open"}
    assert open_ids == set(sizes) and set(after) <= open_ids
    assert all(stored[gid].size == sizes[gid] for gid in open_ids)
    assert first not in open_ids
    assert sum(1 for gid in open_ids if stored[gid].suggested_person_id) == run.suggested


def test_not_the_same_person_is_remembered_and_undoable(orl_ws) -> None:
    ws, _ = orl_ws
    recluster(ws)
    group = list_groups(ws)[0]
    members = set(faces_of(ws, group.id))
    reject_group(ws, group.id)
    assert group_detail(ws, group.id).summary.status == "rejected"
    assert group.id not in [g.id for g in list_groups(ws, limit=500)]
    with pytest.raises(ValueError, match="not the same person"):
        label_group(ws, group.id, name="x")
    recluster(ws)
    for g in list_groups(ws, limit=500):
        assert len(set(faces_of(ws, g.id)) & members) <= 1
    assert group_detail(ws, group.id).summary.status == "rejected"
    undo_reject(ws, group.id)
    assert set(faces_of(ws, group.id)) <= members
    recluster(ws)
    rebuilt = [g for g in list_groups(ws, limit=500) if set(faces_of(ws, g.id)) == members]
    assert rebuilt, "after undo the group forms again"


def test_split_and_merge(orl_ws) -> None:
    ws, truth = orl_ws
    recluster(ws)
    a, b = list_groups(ws, limit=2)
    faces_a, faces_b = set(faces_of(ws, a.id)), set(faces_of(ws, b.id))
    assert {truth[f] for f in faces_a} != {truth[f] for f in faces_b}
    kept = merge(ws, a.id, b.id)
    assert kept == a.id
    assert set(faces_of(ws, kept)) == faces_a | faces_b
    with pytest.raises(GroupNotFound):
        group_detail(ws, b.id)
    parts = split(ws, kept)
    assert parts[0] == kept and len(parts) == 2
    pieces = [set(faces_of(ws, p)) for p in parts]
    assert sorted(map(sorted, pieces)) == sorted(map(sorted, [faces_a, faces_b]))
    recluster(ws)
    for g in list_groups(ws, limit=500):
        people = {truth[f] for f in faces_of(ws, g.id)}
        assert not ({truth[next(iter(faces_a))], truth[next(iter(faces_b))]} <= people)
    with pytest.raises(ValueError, match="itself"):
        merge(ws, kept, kept)


def test_split_and_merge_are_undone(orl_ws) -> None:
    ws, _ = orl_ws
    recluster(ws)
    a, b = list_groups(ws, limit=2)
    faces_a, faces_b = set(faces_of(ws, a.id)), set(faces_of(ws, b.id))
    with pytest.raises(ValueError, match="no merge"):
        undo_merge(ws, a.id)
    with pytest.raises(ValueError, match="no split"):
        undo_split(ws, a.id)
    with pytest.raises(GroupNotFound):
        undo_split(ws, 10**6)

    kept = merge(ws, a.id, b.id)
    back = undo_merge(ws, kept)
    assert back[0] == kept
    assert set(faces_of(ws, kept)) == faces_a and set(faces_of(ws, back[1])) == faces_b
    assert group_detail(ws, back[1]).summary.size == len(faces_b)
    with pytest.raises(ValueError, match="no merge"):
        undo_merge(ws, kept)

    parts = split(ws, kept)
    one_face = next(iter(set(faces_of(ws, parts[1]))))
    label_faces(ws, [one_face], "person", user_id=None, name="Labelled meanwhile")
    assert undo_split(ws, kept) == [kept, parts[1]]
    assert set(faces_of(ws, kept)) == faces_a - {one_face}
    with pytest.raises(GroupNotFound):
        group_detail(ws, parts[1])
    # the split's cannot-links are withdrawn: the next run may group the parts together again
    recluster(ws)
    together = [g for g in list_groups(ws, limit=500) if len(set(faces_of(ws, g.id)) & faces_a) > 1]
    assert any(
        len(set(faces_of(ws, g.id)) & (faces_a - {one_face})) == len(faces_a) - 1 for g in together
    )


def test_small_groups_that_look_like_someone_named(orl_ws) -> None:
    ws, truth = orl_ws
    by_subject: dict[int, list[int]] = {}
    for face, subject in sorted(truth.items()):
        by_subject.setdefault(subject, []).append(face)
    first, *others = sorted(by_subject)
    faces = by_subject[first]
    anna = label_faces(ws, faces[:7], "person", user_id=None, name="Anna").person_id
    recluster(ws)
    radius = grouping_threshold(ws) * WIDE_FACTOR

    def offered(limit: int = 500, **kwargs) -> dict[int, int]:
        found = small_group_suggestions(ws, radius=radius, limit=limit, **kwargs)
        return {s.face_id: s.person_id for s in found}

    assert offered() == {}, "not while larger groups (people nobody named) wait"
    people = {anna: first}
    for subject in others:
        named = by_subject[subject][:6]
        people[label_faces(ws, named, "person", user_id=None, name=f"S{subject}").person_id] = (
            subject
        )
    recluster(ws)
    found = offered()
    rest = set(faces[7:]) & set(found)
    assert len(rest) >= 2 and {found[f] for f in rest} == {anna}
    assert all(people[person] == truth[face] for face, person in found.items())
    sizes = set()
    for group in list_groups(ws, limit=500):
        members = set(faces_of(ws, group.id))
        if members & set(found):
            assert members <= set(found), "whole groups only"
            sizes.add(len(members))
    assert sizes and min(sizes) >= 2 and max(sizes) <= 5
    assert len(offered(limit=24)) <= 24
    one = min(rest)
    [its_group] = [
        set(faces_of(ws, g.id)) for g in list_groups(ws, limit=500) if one in faces_of(ws, g.id)
    ]
    assert not its_group & set(offered(exclude=[one])), "a group partly held is left out"
    assert offered() == found

    label_faces(ws, [one], "reject", user_id=None, person_id=anna)
    assert not its_group & set(offered()), "a face refused for Anna takes its group out"

    # the mixed confirm page answers them like any suggestion, and says where they came from
    page = [Answer(f, "yes", suggested_person_id=p, source=GROUP) for f, p in offered().items()]
    result = answer_suggestions(ws, None, page[:24])
    assert len(result.accepted) == len(page[:24])
    with ws.reader() as session:
        details = session.scalars(
            select(Decision.detail).where(Decision.id.in_(result.decision_ids))
        ).all()
    assert {d["source"] for d in details} == {GROUP}


def test_more_like_this_finds_the_same_person(orl_ws) -> None:
    ws, truth = orl_ws
    face = next(iter(truth))
    found = more_like_this(ws, face, limit=9)
    assert face not in [f.face_id for f in found] and len(found) == 9
    assert [f.distance for f in found] == sorted(f.distance for f in found)
    same = sum(truth[f.face_id] == truth[face] for f in found)
    assert same >= 7
    label_faces(ws, [found[0].face_id], "person", user_id=None, name="Taken")
    assert found[0].face_id not in [f.face_id for f in more_like_this(ws, face, limit=9)]


def test_unknown_ids(orl_ws) -> None:
    ws, _ = orl_ws
    recluster(ws)
    for call in (
        lambda: group_detail(ws, 10**6),
        lambda: label_group(ws, 10**6, name="x"),
        lambda: mark_unknown(ws, 10**6),
        lambda: reject_group(ws, 10**6),
        lambda: split(ws, 10**6),
        lambda: merge(ws, 10**6, list_groups(ws)[0].id),
    ):
        with pytest.raises(GroupNotFound):
            call()
    with pytest.raises(LookupError):
        more_like_this(ws, 10**6)
    with ws.reader() as s:
        assert s.scalar(select(func.count(Decision.id))) == 0


def test_the_cluster_job_and_the_rule_that_starts_it(orl_ws) -> None:
    from faceloop.grouping.job import (
        CLUSTER,
        active_cluster_job,
        decisions_since_cluster,
        maybe_recluster,
    )
    from faceloop.jobs import queue as jobs

    ws, truth = orl_ws
    assert CLUSTER in jobs.kinds()
    job = jobs.run_job(ws, jobs.create_job(ws, CLUSTER, {"threshold": 0.4}))
    assert job.status == "done", job.message
    assert job.result["threshold"] == 0.4 and job.result["groups"] == len(
        list_groups(ws, limit=500)
    )
    bad = jobs.run_job(ws, jobs.create_job(ws, CLUSTER, {"threshold": 5}))
    assert bad.status == "failed" and "between 0 and 2" in bad.message

    assert maybe_recluster(ws) is None
    faces = list(truth)[: ws.settings.train.recluster_after]
    for face in faces[:-1]:
        label_faces(ws, [face], "unknown", user_id=None)
    assert active_cluster_job(ws) is None, "groups are left to name: not yet"
    assert decisions_since_cluster(ws) == len(faces) - 1
    # the decision that makes `recluster_after` starts the run by itself, from the library
    label_faces(ws, [faces[-1]], "unknown", user_id=None)
    assert decisions_since_cluster(ws) == 0, "the run started has seen every decision"
    started = active_cluster_job(ws)
    assert started is not None and jobs.get_job(ws, started).kind == CLUSTER
    assert jobs.get_job(ws, started).params["automatic"] is True
    assert maybe_recluster(ws) is None, "one run at a time"
    assert jobs.run_job(ws, started).status == "done"
    assert decisions_since_cluster(ws) == 0


def test_the_cluster_command(orl_ws) -> None:
    from tests.ingest.test_ingest import run_cli

    ws, _ = orl_ws
    done = run_cli("cluster", "--workspace", str(ws.root))
    assert done.returncode == 0, done.stderr
    assert "groups holding" in done.stdout and "(default)" in done.stdout
    assert len(list_groups(ws, limit=500)) >= 30
    refused = run_cli("cluster", "--threshold", "7", "--workspace", str(ws.root))
    assert refused.returncode == 2 and "between 0 and 2" in refused.stderr
    assert "Traceback" not in refused.stderr


def test_nearest_labelled_faces_suggest_people_before_any_model(orl_ws) -> None:
    from faceloop.review.look_alikes import nearest_page
    from faceloop.review.model_guesses import answer_page

    ws, truth = orl_ws
    assert nearest_page(ws) is None, "nothing to compare with before any label"
    by_subject: dict[int, list[int]] = {}
    for face, subject in truth.items():
        by_subject.setdefault(subject, []).append(face)
    person_of = {}
    for subject in sorted(by_subject)[:12]:
        made = label_faces(ws, by_subject[subject][:3], "person", user_id=None, name=f"s{subject}")
        person_of[made.person_id] = subject
    recluster(ws)
    page = nearest_page(ws, order="largest")
    assert page is not None and page.person_name == f"s{person_of[page.person_id]}"
    faces = [s.face_id for s in page.suggestions]
    assert 1 <= len(faces) <= 24 and page.pending >= len(faces)
    assert all(0 < s.score <= 1 for s in page.suggestions)
    right = [f for f in faces if truth[f] == person_of[page.person_id]]
    assert len(right) >= 0.9 * len(faces)
    wrong = [f for f in faces if f not in right]
    with ws.transaction() as s:
        answer_page(s, page.person_id, right[:-1], [right[-1], *wrong])
    again = nearest_page(ws, person_id=page.person_id)
    offered = set() if again is None else {s.face_id for s in again.suggestions}
    assert not offered & set(faces), "answered and refused faces are not offered again"
    with pytest.raises(ValueError, match="unknown order"):
        nearest_page(ws, order="nope")


def test_background_faces_smallest_first(tmp_path, orl_faces) -> None:
    from sqlalchemy import update

    from faceloop.db.models import Face
    from faceloop.review.passers_by import background_faces

    vectors, _, _ = orl_faces
    ws = init_workspace(tmp_path / "ws")
    _, (main, small) = add_photo(ws, 2, vectors=vectors[[0, 100]])
    _, (big, smaller) = add_photo(ws, 2, folder="/b", vectors=vectors[[200, 300]])
    _, (alone,) = add_photo(ws, 1, folder="/c", vectors=vectors[[350]])
    with ws.transaction() as s:
        s.execute(update(Face).where(Face.id == small).values(right=10 + 60 + 30, bottom=40))
        s.execute(update(Face).where(Face.id == smaller).values(right=10 + 60 + 20, bottom=30))
    recluster(ws)
    found = background_faces(ws)
    assert [f.face_id for f in found] == [smaller, small]
    assert found[0].distance < found[1].distance < 1
    assert [f.face_id for f in background_faces(ws, exclude=[smaller])] == [small]
    label_faces(ws, [small], "unknown", user_id=None)
    assert [f.face_id for f in background_faces(ws)] == [smaller]
    assert {main, big, alone}.isdisjoint(f.face_id for f in background_faces(ws, limit=10))
    ws.close()


# ------------------------------------------------------------------ caches that follow changes


def everything_read(ws: Workspace, probes: list[int]) -> dict:
    """All that the groups pages, "more like this" and the nearest-person suggestions show."""
    from faceloop.db.models import FaceGroup
    from faceloop.grouping.views import count_groups
    from faceloop.review.look_alikes import nearest_people
    from faceloop.review.passers_by import background_faces

    with ws.reader() as s:
        group_ids = s.scalars(select(FaceGroup.id).order_by(FaceGroup.id)).all()
    nearest = nearest_people(ws)
    return {
        "list": list_groups(ws, limit=10_000, min_size=1),
        "counts": (count_groups(ws), count_groups(ws, min_size=1)),
        "details": {gid: group_detail(ws, gid) for gid in group_ids},
        "nearest": [
            a.tolist()
            for a in (nearest.face_ids, nearest.image_ids, nearest.person_ids, nearest.distances)
        ],
        "background": background_faces(ws, limit=500),
        "similar": {face: more_like_this(ws, face, limit=12) for face in probes},
    }


def assert_as_built_afresh(ws: Workspace, probes: list[int]) -> dict:
    """What `ws` reads now, through the caches it has followed, equals what a new connection
    (a new read model, new group tables, a new nearest index) reads from scratch."""
    followed = everything_read(ws, probes)
    with open_workspace(ws.root) as again:
        fresh = everything_read(again, probes)
    for part, value in fresh.items():
        assert followed[part] == value, part
    return followed


def labelled_for_projection(ws: Workspace, truth: dict[int, int]) -> dict[int, int]:
    """Five faces of each of 26 subjects named (130 faces: enough for an adapted space and a
    learned threshold), the other faces left to group; returns person id -> subject."""
    by_subject: dict[int, list[int]] = {}
    for face, subject in truth.items():
        by_subject.setdefault(subject, []).append(face)
    named = {}
    for subject in sorted(by_subject)[:26]:
        made = label_faces(ws, by_subject[subject][:5], "person", user_id=None, name=f"s{subject}")
        named[made.person_id] = subject
    return named


def test_caches_follow_every_kind_of_change_as_a_rebuild_would(orl_ws, orl_faces) -> None:
    from faceloop.labels.person_ops import merge_people, set_hidden
    from faceloop.readmodel import groups as group_view
    from faceloop.review.look_alikes import nearest_people
    from faceloop.review.model_guesses import answer_page

    ws, truth = orl_ws
    named = labelled_for_projection(ws, truth)
    run = recluster(ws)
    assert run.adapted and run.threshold_source == "learned"
    probes = list(truth)[::97]
    read = assert_as_built_afresh(ws, probes)
    assert len(read["nearest"][0]) >= 20 and len(read["list"]) >= 10

    groups = list_groups(ws, limit=500)
    first, second, third, fourth, fifth, sixth = (g.id for g in groups[:6])
    tables = group_view.load_tables(ws)
    members = faces_of(ws, first)
    labelled = label_group(ws, first, name="Someone", exclude_face_ids=members[-1:])
    after = group_view.load_tables(ws)
    kept = [
        after.members[i] is tables.members[tables.index(gid)]
        for i, gid in enumerate(after.ids.tolist())
        if gid != first
    ]
    assert all(kept), "a label re-reads only the members of the group it changed"
    assert_as_built_afresh(ws, probes)

    unknown = mark_unknown(ws, second, exclude_face_ids=faces_of(ws, second)[:1])
    assert_as_built_afresh(ws, probes)
    with ws.transaction() as s:
        undo_batch(s, labelled)
    assert_as_built_afresh(ws, probes)
    reject_group(ws, third)
    assert_as_built_afresh(ws, probes)
    undo_reject(ws, third)
    assert_as_built_afresh(ws, probes)
    split(ws, fourth)
    assert_as_built_afresh(ws, probes)
    merge(ws, fifth, sixth)
    assert_as_built_afresh(ws, probes)

    found = nearest_people(ws)
    assert nearest_people(ws) is found, "nothing changed: the answer is kept"
    person = int(found.person_ids[0])
    waiting = found.face_ids[found.person_ids == person].tolist()
    with ws.transaction() as s:
        answer_page(s, person, waiting[:1], waiting[1:2])
    assert_as_built_afresh(ws, probes)
    with ws.transaction() as s:
        set_hidden(s, person, True, None)
    assert_as_built_afresh(ws, probes)
    with ws.transaction() as s:
        set_hidden(s, person, False, None)
        first_person, second_person = sorted(named)[:2]
        merge_people(s, first_person, second_person, None)
    assert_as_built_afresh(ws, probes)
    with ws.transaction() as s:
        undo_batch(s, unknown)
    assert_as_built_afresh(ws, probes)
    vectors, _, _ = orl_faces
    add_photo(ws, 2, folder="/orl/new", vectors=vectors[[3, 13]] * 1.001)
    assert_as_built_afresh(ws, probes)


def test_reading_while_groups_are_named_ends_as_a_rebuild_would(orl_ws) -> None:
    """The web app answers in a thread pool: pages read (and so follow the caches) while other
    requests name groups, mark them and take that back."""
    import threading

    ws, truth = orl_ws
    labelled_for_projection(ws, truth)
    recluster(ws)
    probes = list(truth)[::131]
    groups = list_groups(ws, limit=6)
    stop = threading.Event()
    failures: list[BaseException] = []

    def read() -> None:
        while not stop.is_set():
            try:
                everything_read(ws, probes)
            except BaseException as exc:  # reported below, in the test's thread
                failures.append(exc)
                return

    readers = [threading.Thread(target=read) for _ in range(3)]
    for reader in readers:
        reader.start()
    try:
        for n, group in enumerate(groups):
            if n % 2:
                batch = mark_unknown(ws, group.id)
            else:
                batch = label_group(ws, group.id, name=f"Group {group.id}")
            if n % 3 == 0:
                with ws.transaction() as s:
                    undo_batch(s, batch)
        reject_group(ws, groups[1].id)
    finally:
        stop.set()
        for reader in readers:
            reader.join()
    assert not failures, failures[0]
    assert_as_built_afresh(ws, probes)
