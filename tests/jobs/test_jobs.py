"""Background jobs: registration, progress, failures, the in-process worker."""

from __future__ import annotations

import time

import pytest

from faceloop.jobs import queue as jobs


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
    assert "test-count" in jobs.kinds()


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
