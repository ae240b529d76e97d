"""The export page says when its download arrived (and when it failed) instead of "Preparing the
download…" forever: a real `faceloop serve`, a real browser."""

from __future__ import annotations

import re
import shutil

import pytest

from tests.web.browsing import serving


@pytest.fixture
def server(tmp_path, template):
    root = tmp_path / "ws"
    shutil.copytree(template, root)
    with serving(root, "--no-worker") as server:
        yield server


def test_the_status_names_the_file_once_the_download_arrived(server, page) -> None:
    page.goto(server.base + "/export")
    page.fill("input[name=min_per_class]", "5")
    page.wait_for_selector("#export-labels tr >> nth=1")
    page.check("input[value=csv]")
    status = page.locator("#export-status")
    with page.expect_download() as waiting:
        page.click("#export-download")
    name = waiting.value.suggested_filename
    assert re.fullmatch(r"faceloop-csv-\d{8}-\d{6}\.zip", name)
    page.wait_for_function(
        "() => document.getElementById('export-status').textContent.startsWith('Downloaded')"
    )
    assert status.inner_text() == f"Downloaded {name}."
    assert page.url == server.base + "/export"
    # the cookie that told the page is gone, so the next download is told apart
    assert not any(c["name"].startswith("faceloop_download_") for c in page.context.cookies())

    assert page.js_errors == []


def test_a_download_that_fails_says_why_on_the_page(server, page) -> None:
    page.goto(server.base + "/export")
    page.fill("input[name=min_per_class]", "5")
    page.wait_for_selector("#export-labels tr >> nth=1")
    # where exports are written is taken by a file: the export itself fails, not its check
    (server.root / "cache").mkdir(exist_ok=True)
    (server.root / "cache" / "exports").write_text("in the way")
    page.click("#export-download")
    problem = page.locator("#export-problem")
    problem.wait_for()
    assert "something went wrong on our side" in problem.inner_text()
    assert page.locator("#export-status").inner_text() == ""
    assert page.url == server.base + "/export"
