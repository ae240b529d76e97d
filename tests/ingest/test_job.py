"""The import of an upload as a job: staged photos imported and removed, failures said
clearly, and the grouping that follows an import with new unlabelled faces."""

from __future__ import annotations

import io
import shutil

from faceloop.grouping.job import CLUSTER
from faceloop.grouping.views import count_groups, count_ungrouped
from faceloop.ingest.job import IMPORT
from faceloop.ingest.uploads import new_upload, stage_file, uploads_dir
from faceloop.jobs import queue as jobs
from faceloop.workspace import open_workspace
from tests.conftest import DATA, jpeg_bytes, needs_data, noise_image


@needs_data
def test_an_upload_is_imported_and_its_staging_removed(empty) -> None:
    ws = empty
    upload = new_upload(ws)
    photo = DATA / "known" / "train" / "biden" / "biden.jpg"
    with open(photo, "rb") as handle:
        stage_file(ws, upload, "Joe Biden/biden.jpg", handle)
    stage_file(ws, upload, "noise.jpg", io.BytesIO(jpeg_bytes(noise_image(80, 60))))
    job_id = jobs.create_job(ws, IMPORT, {"upload_id": upload, "by_folder": True})
    job = jobs.run_job(ws, job_id)
    assert job.status == "done", job.message
    result = job.result
    assert (result["imported"], result["faces"], result["labelled"]) == (2, 1, 1)
    assert result["without_faces"] == 1 and len(result["image_ids"]) == 2
    assert not (uploads_dir(ws) / upload).exists()
    assert "2 photos imported with 1 faces" in job.message


def test_an_import_of_a_missing_upload_fails_clearly(empty) -> None:
    job_id = jobs.create_job(empty, IMPORT, {"upload_id": "0" * 32})
    job = jobs.run_job(empty, job_id)
    assert job.status == "failed" and "no upload" in job.message
    shutil.rmtree(uploads_dir(empty), ignore_errors=True)


@needs_data
def test_an_import_with_new_unlabelled_faces_starts_grouping_once(empty) -> None:
    ws = empty

    def staged(subjects) -> str:
        upload = new_upload(ws)
        for subject in subjects:
            for n in range(1, 5):
                with open(DATA / "orl" / f"s{subject}" / f"{n}.pgm", "rb") as handle:
                    stage_file(ws, upload, f"s{subject}/{n}.pgm", handle)
        return upload

    first = jobs.run_job(ws, jobs.create_job(ws, IMPORT, {"upload_id": staged((1, 2))}))
    assert first.status == "done", first.message
    assert first.result["ungrouped"] == 8
    grouping = first.result["grouping_job"]
    assert jobs.get_job(ws, grouping).kind == CLUSTER
    assert jobs.get_job(ws, grouping).status == jobs.QUEUED
    # a second import while that run waits does not queue another one
    second = jobs.run_job(ws, jobs.create_job(ws, IMPORT, {"upload_id": staged((3,))}))
    assert (second.result["ungrouped"], second.result["grouping_job"]) == (12, grouping)
    assert [j.id for j in jobs.list_jobs(ws) if j.kind == CLUSTER] == [grouping]
    assert jobs.run_job(ws, grouping).status == "done"
    assert count_ungrouped(ws) == 0 and count_groups(ws)[0] >= 2
    # photos already here bring no new face: nothing to group, no job
    again = jobs.run_job(ws, jobs.create_job(ws, IMPORT, {"upload_id": staged((1,))}))
    assert (again.result["ungrouped"], again.result["grouping_job"]) == (0, None)
    assert [j.id for j in jobs.list_jobs(ws) if j.kind == CLUSTER] == [grouping]


@needs_data
def test_no_grouping_job_when_grouping_is_only_on_request(empty) -> None:
    ws = empty
    settings = (ws.root / "faceloop.toml").read_text()
    (ws.root / "faceloop.toml").write_text(
        settings.replace("recluster_after = 100", "recluster_after = 0")
    )
    with open_workspace(ws.root) as reopened:
        upload = new_upload(reopened)
        with open(DATA / "orl" / "s1" / "1.pgm", "rb") as handle:
            stage_file(reopened, upload, "1.pgm", handle)
        job = jobs.run_job(reopened, jobs.create_job(reopened, IMPORT, {"upload_id": upload}))
        assert (job.result["ungrouped"], job.result["grouping_job"]) == (1, None)
        assert [j.kind for j in jobs.list_jobs(reopened)] == [IMPORT]
