"""Background jobs: registration, progress, failures, the in-process worker, the upload import."""

from __future__ import annotations

import io
import shutil
import time

import pytest

from faceloop.ingest.uploads import new_upload, stage_file, uploads_dir
from faceloop.jobs import queue as jobs
from tests.conftest import DATA, jpeg_bytes, needs_data, noise_image


def count_up(ws, params, progress):
    for n in range(params["to"]):
        progress(n + 1, params["to"], f"counted {n + 1}")
    if params.get("fail"):
        raise RuntimeError("the count went wrong")
    return {"counted": params["to"]}


@pytest.fixture(autouse=True)
def counting_job():
    """The `test-count` kind for this module's tests only, so no other test sees it."""
    with jobs.registered("test-count", count_up):
        yield


def wait_for(ws, job_id, seconds=20.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        job = jobs.get_job(ws, job_id)
        if not job.active:
            return job
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} still {job.status} after {seconds} s")


def test_a_job_runs_and_records_its_result(empty) -> None:
    job_id = jobs.create_job(empty, "test-count", {"to": 3})
    assert jobs.get_job(empty, job_id).status == jobs.QUEUED
    job = jobs.run_job(empty, job_id)
    assert (job.status, job.done, job.total, job.result) == ("done", 3, 3, {"counted": 3})
    assert job.message == "counted 3" and job.finished_at >= job.started_at
    assert jobs.run_job(empty, job_id).finished_at == job.finished_at  # not run twice


def test_a_failing_job_says_why(empty) -> None:
    job_id = jobs.create_job(empty, "test-count", {"to": 2, "fail": True})
    job = jobs.run_job(empty, job_id)
    assert job.status == "failed" and job.message == "the count went wrong"
    assert job.done == 2


def test_unknown_kinds_are_refused(empty) -> None:
    with pytest.raises(ValueError, match="unknown kind of job 'nope'"):
        jobs.create_job(empty, "nope", {})
    assert {"import", "test-count"} <= set(jobs.kinds())


def test_a_kind_registered_for_a_block_is_gone_after_it(empty) -> None:
    with jobs.registered("test-for-a-while", count_up):
        assert "test-for-a-while" in jobs.kinds()
        jobs.create_job(empty, "test-for-a-while", {"to": 1})
    assert "test-for-a-while" not in jobs.kinds()
    with pytest.raises(ValueError, match="unknown kind of job"):
        jobs.create_job(empty, "test-for-a-while", {})


def test_the_worker_runs_queued_jobs_in_threads(empty) -> None:
    queue = jobs.JobQueue(empty)
    queue.start_worker(threads=2)
    try:
        ids = [jobs.create_job(empty, "test-count", {"to": n}) for n in (1, 2, 3)]
        for job_id in ids:
            queue.enqueue(job_id)
        results = [wait_for(empty, job_id).result for job_id in ids]
    finally:
        queue.stop_worker()
    assert results == [{"counted": 1}, {"counted": 2}, {"counted": 3}]
    assert [j.id for j in jobs.list_jobs(empty)] == ids[::-1]
    assert jobs.list_jobs(empty, active=True) == []


def test_jobs_cut_off_by_a_restart_are_queued_again(empty) -> None:
    job_id = jobs.create_job(empty, "test-count", {"to": 1})
    with empty.transaction() as session:
        session.get(jobs.Job, job_id).status = jobs.RUNNING
    queue = jobs.JobQueue(empty)
    queue.start_worker(threads=1)
    try:
        assert wait_for(empty, job_id).status == "done"
    finally:
        queue.stop_worker()


@needs_data
def test_an_upload_is_imported_and_its_staging_removed(empty) -> None:
    ws = empty
    upload = new_upload(ws)
    photo = DATA / "known" / "train" / "biden" / "biden.jpg"
    with open(photo, "rb") as handle:
        stage_file(ws, upload, "Joe Biden/biden.jpg", handle)
    stage_file(ws, upload, "noise.jpg", io.BytesIO(jpeg_bytes(noise_image(80, 60))))
    job_id = jobs.create_job(ws, "import", {"upload_id": upload, "by_folder": True})
    job = jobs.run_job(ws, job_id)
    assert job.status == "done", job.message
    result = job.result
    assert (result["imported"], result["faces"], result["labelled"]) == (2, 1, 1)
    assert result["without_faces"] == 1 and len(result["image_ids"]) == 2
    assert not (uploads_dir(ws) / upload).exists()
    assert "2 photos imported with 1 faces" in job.message


def test_an_import_of_a_missing_upload_fails_clearly(empty) -> None:
    job_id = jobs.create_job(empty, "import", {"upload_id": "0" * 32})
    job = jobs.run_job(empty, job_id)
    assert job.status == "failed" and "no upload" in job.message
    shutil.rmtree(uploads_dir(empty), ignore_errors=True)


@needs_data
def test_an_import_with_new_unlabelled_faces_starts_grouping_once(empty) -> None:
    from faceloop.grouping.job import CLUSTER
    from faceloop.grouping.views import count_groups, count_ungrouped

    ws = empty

    def staged(subjects) -> str:
        upload = new_upload(ws)
        for subject in subjects:
            for n in range(1, 5):
                with open(DATA / "orl" / f"s{subject}" / f"{n}.pgm", "rb") as handle:
                    stage_file(ws, upload, f"s{subject}/{n}.pgm", handle)
        return upload

    first = jobs.run_job(ws, jobs.create_job(ws, "import", {"upload_id": staged((1, 2))}))
    assert first.status == "done", first.message
    assert first.result["ungrouped"] == 8
    grouping = first.result["grouping_job"]
    assert jobs.get_job(ws, grouping).kind == CLUSTER
    assert jobs.get_job(ws, grouping).status == jobs.QUEUED
    # a second import while that run waits does not queue another one
    second = jobs.run_job(ws, jobs.create_job(ws, "import", {"upload_id": staged((3,))}))
    assert (second.result["ungrouped"], second.result["grouping_job"]) == (12, grouping)
    assert [j.id for j in jobs.list_jobs(ws) if j.kind == CLUSTER] == [grouping]
    assert jobs.run_job(ws, grouping).status == "done"
    assert count_ungrouped(ws) == 0 and count_groups(ws)[0] >= 2
    # photos already here bring no new face: nothing to group, no job
    again = jobs.run_job(ws, jobs.create_job(ws, "import", {"upload_id": staged((1,))}))
    assert (again.result["ungrouped"], again.result["grouping_job"]) == (0, None)
    assert [j.id for j in jobs.list_jobs(ws) if j.kind == CLUSTER] == [grouping]


@needs_data
def test_no_grouping_job_when_grouping_is_only_on_request(empty) -> None:
    ws = empty
    settings = (ws.root / "faceloop.toml").read_text()
    (ws.root / "faceloop.toml").write_text(
        settings.replace("recluster_after = 100", "recluster_after = 0")
    )
    from faceloop.workspace import open_workspace

    with open_workspace(ws.root) as reopened:
        upload = new_upload(reopened)
        with open(DATA / "orl" / "s1" / "1.pgm", "rb") as handle:
            stage_file(reopened, upload, "1.pgm", handle)
        job = jobs.run_job(reopened, jobs.create_job(reopened, "import", {"upload_id": upload}))
        assert (job.result["ungrouped"], job.result["grouping_job"]) == (1, None)
        assert [j.kind for j in jobs.list_jobs(reopened)] == ["import"]
