"""The rules that start re-grouping and retraining follow the decisions themselves: made
through the library (no route), by an undo, never by a skip or an import, only once stored, and
a rule that fails loses nothing. And the CLI is honest about jobs waiting for a worker."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from faceloop.db.models import Decision
from faceloop.grouping.job import CLUSTER
from faceloop.jobs import queue as jobs
from faceloop.labels.decisions import HUMAN_DECISIONS, decide
from faceloop.labels.labelling import label_faces, undo_action
from faceloop.learning.job import TRAIN
from faceloop.workspace import (
    Workspace,
    after_change,
    forget_follow_up,
    init_workspace,
    open_workspace,
)
from tests.builders import add_photo, make_person
from tests.conftest import DATA, needs_data
from tests.ingest.test_ingest import run_cli


def low_thresholds(root: Path, *, recluster_after: int, retrain_after: int) -> Workspace:
    """A workspace whose faceloop.toml re-groups and retrains after a few decisions."""
    init_workspace(root).close()
    path = root / "faceloop.toml"
    text = path.read_text(encoding="utf-8")
    text = text.replace("recluster_after = 100", f"recluster_after = {recluster_after}")
    text = text.replace("retrain_after = 200", f"retrain_after = {retrain_after}")
    text = text.replace("min_per_class = 30", "min_per_class = 1")
    assert f"recluster_after = {recluster_after}" in text
    assert f"retrain_after = {retrain_after}" in text and "min_per_class = 1" in text
    path.write_text(text, encoding="utf-8")
    return open_workspace(root)


@pytest.fixture
def ws(tmp_path: Path) -> Iterator[Workspace]:
    ws = low_thresholds(tmp_path / "ws", recluster_after=30, retrain_after=3)
    yield ws
    ws.close()


def faces(ws: Workspace, count: int) -> list[int]:
    found: list[int] = []
    while len(found) < count:
        found += add_photo(ws, 1, folder=f"/photos/{len(found)}")[1]
    return found[:count]


def kinds_queued(ws: Workspace) -> list[str]:
    return sorted(j.kind for j in jobs.list_jobs(ws, active=True))


def test_decisions_made_through_the_library_start_training_and_grouping(ws) -> None:
    ids = faces(ws, 4)
    person = make_person(ws, "Ada")
    label_faces(ws, ids[:2], "person", person_id=person, user_id=None)
    assert kinds_queued(ws) == [], "two decisions of three"
    label_faces(ws, [ids[2]], "person", person_id=person, user_id=None)
    (train,) = [j for j in jobs.list_jobs(ws) if j.kind == TRAIN]
    assert train.status == jobs.QUEUED and train.params["automatic"] is True
    assert train.message == jobs.WAITING
    # no group was ever made, so a tenth of recluster_after (3 decisions) groups the faces
    (cluster,) = [j for j in jobs.list_jobs(ws) if j.kind == CLUSTER]
    assert cluster.status == jobs.QUEUED and cluster.params["automatic"] is True
    label_faces(ws, [ids[3]], "unknown", user_id=None)
    assert kinds_queued(ws) == [CLUSTER, TRAIN], "one run of a kind at a time"


def test_an_undo_is_a_decision_too(ws) -> None:
    ids = faces(ws, 2)
    first = label_faces(ws, [ids[0]], "unknown", user_id=None)
    label_faces(ws, [ids[1]], "not_face", user_id=None)
    assert kinds_queued(ws) == []
    undo_action(ws, first.batch, None)
    assert CLUSTER in kinds_queued(ws)


def test_skips_and_imported_labels_start_nothing(ws) -> None:
    ids = faces(ws, 8)
    person = make_person(ws, "Ada")
    for face in ids[:4]:
        label_faces(ws, [face], "skip", user_id=None)
    with ws.transaction() as session:
        for face in ids[4:]:
            decide(session, face, "person", person_id=person, origin="import")
    assert kinds_queued(ws) == []
    label_faces(ws, ids[:3], "unknown", user_id=None)
    assert CLUSTER in kinds_queued(ws), "three decisions that count, in one action"


@pytest.fixture
def follow_up() -> Iterator[list]:
    """A rule of this test's own that records what it saw, then fails."""
    seen: list[int] = []

    def rule(ws: Workspace) -> None:
        with ws.reader() as session:
            seen.append(session.scalar(select(func.count(Decision.id))))
        raise RuntimeError("this rule always fails")

    after_change(HUMAN_DECISIONS, rule)
    yield seen
    forget_follow_up(HUMAN_DECISIONS, rule)


def test_rules_run_after_the_commit_and_a_failing_one_loses_nothing(ws, follow_up) -> None:
    ids = faces(ws, 3)
    result = label_faces(ws, [ids[0]], "unknown", user_id=None)
    assert follow_up == [1], "the rule ran once, and saw the decision stored"
    assert len(result.decision_ids) == 1
    with pytest.raises(ZeroDivisionError, match="halfway"), ws.transaction() as session:
        decide(session, ids[1], "unknown")
        raise ZeroDivisionError("the action went wrong halfway")
    assert follow_up == [1], "a decision rolled back starts nothing"
    with ws.transaction() as session:
        decide(session, ids[2], "unknown")
    assert follow_up == [1, 2]
    with ws.reader() as session:
        assert session.scalar(select(func.count(Decision.id))) == 2


@needs_data
def test_the_cli_groups_its_import_while_a_job_waits_for_a_worker(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    with low_thresholds(root, recluster_after=30, retrain_after=200) as ws:
        waiting = jobs.create_job(ws, CLUSTER, {"automatic": True})
    photos = tmp_path / "photos"
    photos.mkdir()
    for n in (1, 2, 3):
        (photos / f"{n}.pgm").write_bytes((DATA / "orl" / "s1" / f"{n}.pgm").read_bytes())
    done = run_cli("import", str(photos), "--workspace", str(root), "--workers", "1")
    assert done.returncode == 0, done.stderr
    assert "Grouped 3 new faces" in done.stdout, done.stdout
    status = run_cli("status", "--workspace", str(root))
    assert status.returncode == 0, status.stderr
    assert f"1 job(s) queued (cluster #{waiting})" in " ".join(status.stdout.split())


def test_a_library_user_who_imports_no_job_module_still_starts_them(tmp_path: Path) -> None:
    """Only the decision code is imported: the rules come with the first commit that needs them."""
    low_thresholds(tmp_path / "ws", recluster_after=30, retrain_after=3).close()
    script = """
import sys
from faceloop.labels.labelling import label_faces
from faceloop.workspace import open_workspace
from tests.builders import add_photo, make_person

assert "faceloop.grouping.job" not in sys.modules and "faceloop.learning.job" not in sys.modules
with open_workspace(sys.argv[1]) as ws:
    ids = [add_photo(ws, 1, folder=f"/photos/{n}")[1][0] for n in range(3)]
    label_faces(ws, ids, "person", person_id=make_person(ws, "Ada"), user_id=None)
    print(" ".join(sorted(row[0] for row in ws.engine.connect().exec_driver_sql(
        "SELECT kind FROM job WHERE status = 'queued'"))))
"""
    done = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "ws")],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == sorted([CLUSTER, TRAIN])
