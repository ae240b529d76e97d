"""The export page in a real browser (chromium, headless, Playwright) against a real
`faceloop serve`: the preview follows the options, a mistake shows on the page, and Enter
downloads the ZIP. A failing test leaves a screenshot in test-artifacts/."""

from __future__ import annotations

import shutil
import subprocess
import time
import urllib.request
import zipfile

import pytest

from tests.web.conftest import ARTIFACTS
from tests.web.test_browser import ARGS, CHROMIUM, FACELOOP, Server, free_port

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason=f"no chromium at {CHROMIUM}: `make test` installs it"
)


@pytest.fixture(scope="module")
def server(tmp_path_factory, template):
    root = tmp_path_factory.mktemp("export-browser") / "ws"
    shutil.copytree(template, root)
    port = free_port()
    log = open(root / "serve.log", "w")  # noqa: SIM115  (closed below)
    process = subprocess.Popen(
        [FACELOOP, "serve", "--workspace", str(root), "--port", str(port), "--no-worker"],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(base + "/api/v1/health", timeout=2).read()
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                log.close()
                raise AssertionError((root / "serve.log").read_text()) from None
            time.sleep(0.2)
    try:
        yield Server(base, root)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


@pytest.fixture
def page(request):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        context = chromium.new_context(viewport={"width": 1280, "height": 900})
        context.set_default_timeout(20_000)
        tab = context.new_page()
        tab.js_errors = []
        tab.on("pageerror", lambda error: tab.js_errors.append(str(error)))
        yield tab
        report = getattr(request.node, "report_call", None)
        if report is None or report.failed:
            ARTIFACTS.mkdir(exist_ok=True)
            tab.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
        context.close()
        chromium.close()


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
