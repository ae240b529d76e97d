"""After an import the new faces are grouped (or the page says how), in a real browser against a
real `faceloop serve`: the upload page follows the grouping job its import started, and the
home page offers "N faces not grouped yet — Group them now" and follows the run it starts."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from faceloop.grouping.job import CLUSTER
from faceloop.grouping.views import count_groups, count_ungrouped
from faceloop.ingest.run import import_photos
from faceloop.jobs import queue as jobs
from faceloop.workspace import init_workspace, open_workspace
from tests.conftest import DATA, needs_data
from tests.web.browsing import serving

pytestmark = needs_data


def orl_photos(folder: Path, subjects: range, photos: range) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    found = []
    for subject in subjects:
        for n in photos:
            target = folder / f"s{subject}-{n}.pgm"
            shutil.copy(DATA / "orl" / f"s{subject}" / f"{n}.pgm", target)
            found.append(target)
    return found


def cluster_jobs(root: Path) -> list[jobs.JobInfo]:
    with open_workspace(root) as ws:
        return [j for j in jobs.list_jobs(ws) if j.kind == CLUSTER]


def test_an_upload_groups_its_new_faces_and_points_to_the_groups(tmp_path, page) -> None:
    root = tmp_path / "ws"
    init_workspace(root).close()
    photos = orl_photos(tmp_path / "photos", range(1, 3), range(1, 5))
    with serving(root) as server:
        page.goto(server.base + "/upload")
        page.set_input_files("#file-input", [str(p) for p in photos])
        page.wait_for_selector("#upload-result:not([hidden])", timeout=90_000)
        panel = page.locator("#upload-grouping")
        panel.locator("a[href='/groups']").wait_for(timeout=60_000)
        assert panel.get_attribute("data-state") == "done"
        assert "of look-alike faces to name." in panel.inner_text()
        page.locator("#upload-grouping a[href='/groups']").click()
        page.wait_for_url(server.base + "/groups**")
        assert page.js_errors == []
    grouping = cluster_jobs(root)
    assert [j.status for j in grouping] == ["done"]
    with open_workspace(root) as ws:
        assert count_ungrouped(ws) == 0 and count_groups(ws)[0] >= 1


@pytest.fixture
def imported(tmp_path) -> Path:
    """Unlabelled faces imported by the library, which groups nothing: "not grouped yet"."""
    root = tmp_path / "ws"
    with init_workspace(root) as ws:
        import_photos(ws, orl_photos(tmp_path / "photos", range(1, 3), range(1, 5)), workers=1)
        assert count_ungrouped(ws) == 8
    return root


def test_the_home_page_offers_grouping_and_follows_the_run(imported, page) -> None:
    # no worker: the job waits until the test runs it, so its progress can be looked at
    with serving(imported, "--no-worker") as server:
        page.goto(server.base + "/")
        panel = page.locator("#grouping")
        assert "8 faces not grouped yet" in panel.inner_text()
        page.click("#group-now")
        page.wait_for_selector("#grouping[data-state='running'] progress")
        assert "Grouping 8 new faces…" in panel.inner_text()
        assert "waiting" in page.inner_text("#grouping .grouping-message")
        job_id = int(panel.get_attribute("data-job"))
        assert [j.id for j in cluster_jobs(imported)] == [job_id]
        page.wait_for_selector(f"#jobs li[data-job='{job_id}']")
        with open_workspace(imported) as ws:
            assert jobs.run_job(ws, job_id).status == "done"
        # the run is done: the page refreshes its counts and points to the groups
        page.wait_for_selector("#name-groups", timeout=30_000)
        assert page.locator("#grouping").is_hidden()
        assert "group" in page.inner_text("#name-groups")
        assert page.js_errors == []


def test_the_home_page_says_nothing_of_grouping_when_every_face_is_grouped(imported, page) -> None:
    with open_workspace(imported) as ws:
        jobs.run_job(ws, jobs.create_job(ws, CLUSTER, {}))
    with serving(imported) as server:
        page.goto(server.base + "/")
        assert page.locator("#grouping").is_hidden()
        assert page.locator("#name-groups").is_visible()
        assert page.js_errors == []
