"""The jobs card keeps the work area in place: running jobs and the last three finished ones are
shown, older ones fold into "N earlier jobs" (a real `faceloop serve`, a real browser)."""

from __future__ import annotations

from pathlib import Path

import pytest

from faceloop.grouping.job import CLUSTER
from faceloop.ingest.run import import_photos
from faceloop.jobs import queue as jobs
from faceloop.workspace import init_workspace, open_workspace
from tests.conftest import DATA, needs_data
from tests.web.browsing import serving

pytestmark = needs_data


@pytest.fixture
def busy(tmp_path) -> tuple[Path, int]:
    """Six finished grouping runs and one waiting (the server runs no worker)."""
    root = tmp_path / "ws"
    with init_workspace(root) as ws:
        import_photos(ws, [DATA / "orl" / "s1" / f"{n}.pgm" for n in (1, 2, 3)], workers=1)
        for _ in range(6):
            jobs.run_job(ws, jobs.create_job(ws, CLUSTER, {}))
        waiting = jobs.create_job(ws, CLUSTER, {})
    return root, waiting


def shown_jobs(page) -> list[int]:
    return [int(li.get_attribute("data-job")) for li in page.locator("#jobs > li").all()]


def test_finished_jobs_fold_away_and_stay_folded_as_the_card_refreshes(busy, page) -> None:
    root, waiting = busy
    with serving(root, "--no-worker") as server:
        page.goto(server.base + "/")
        assert shown_jobs(page) == [waiting, 6, 5, 4]
        earlier = page.locator("#jobs-card details.jobs-earlier")
        assert earlier.locator("summary").inner_text() == "3 earlier jobs"
        assert earlier.locator("li").first.is_hidden()
        earlier.locator("summary").click()
        assert [li.is_visible() for li in earlier.locator("li").all()] == [True] * 3

        # a job finished elsewhere shows at the next refresh; the older ones stay folded, and
        # the fold stays open as the user left it
        with open_workspace(root) as ws:
            newest = jobs.run_job(ws, jobs.create_job(ws, CLUSTER, {})).id
        page.wait_for_function(
            "(id) => document.querySelector('#jobs > li')?.dataset.job == id", arg=newest
        )
        assert shown_jobs(page) == [newest, waiting, 6, 5]
        assert earlier.locator("summary").inner_text() == "4 earlier jobs"
        assert earlier.get_attribute("open") is not None
        assert [li.is_visible() for li in earlier.locator("li").all()] == [True] * 4

        # the groups pages show the same card, drawn by the server (their last five jobs)
        page.goto(server.base + "/groups?view=list")
        assert shown_jobs(page) == [newest, waiting, 6, 5]
        assert page.locator("#jobs-card details.jobs-earlier summary").inner_text() == (
            "1 earlier job"
        )
        assert page.js_errors == []
