"""The export page in a real browser (chromium, headless, Playwright) against a real
`faceloop serve`: the preview follows the options, a mistake shows on the page, and Enter
downloads the ZIP. A failing test leaves a screenshot in test-artifacts/."""

from __future__ import annotations

import shutil
import zipfile

import pytest

from tests.web.browsing import serving


@pytest.fixture(scope="module")
def server(tmp_path_factory, template):
    root = tmp_path_factory.mktemp("export-browser") / "ws"
    shutil.copytree(template, root)
    with serving(root, "--no-worker") as server:
        yield server


def test_preview_then_download_with_the_keyboard(server, page, tmp_path) -> None:
    page.goto(server.base + "/export")
    problem = page.locator("#export-problem")
    # the synthetic people have about ten labelled faces each, fewer than the default 30
    assert problem.is_visible() and "no person has 30" in problem.inner_text()
    page.fill("input[name=min_per_class]", "5")
    page.wait_for_selector("#export-labels tr >> nth=1")
    assert problem.is_hidden()
    expected = server.api("GET", "/export/preview?min_per_class=5&split=0.8,0.1,0.1")
    rows = page.locator("#export-labels tr")
    assert rows.count() == len(expected["labels"])
    assert f"{expected['faces']} faces of {expected['people']} people" in page.inner_text(
        "#export-totals"
    )

    page.fill("input[name=split]", "0.5,0.5")
    page.wait_for_function(
        "() => document.getElementById('export-problem').textContent.includes('split must')"
    )
    page.fill("input[name=split]", "0.6,0.2,0.2")
    page.wait_for_selector("#export-problem", state="hidden")
    page.check("input[value=parquet]")
    page.focus("input[name=seed]")
    with page.expect_download() as waiting:
        page.keyboard.press("Enter")
    download = waiting.value
    assert download.suggested_filename.startswith("faceloop-parquet-")
    assert download.suggested_filename.endswith(".zip")
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    with zipfile.ZipFile(saved) as archive:
        assert archive.testzip() is None
        names = {name.split("/", 1)[1] for name in archive.namelist()}
    assert {"train.parquet", "validation.parquet", "test.parquet", "README.md"} <= names
    assert page.js_errors == []
