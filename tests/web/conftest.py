"""An app on a real workspace, driven in-process; and screenshots of failed browser tests."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from faceloop.testing.workspace import build_synthetic
from faceloop.web.app import WebSettings, create_app
from faceloop.workspace import Workspace, init_workspace, open_workspace

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture(scope="session")
def template(tmp_path_factory) -> Path:
    """Built once: copying a small workspace is much faster than building it."""
    root = tmp_path_factory.mktemp("template") / "ws"
    workspace = init_workspace(root)
    build_synthetic(workspace, faces=120, people=6, labelled_fraction=0.5, seed=7, photos=True)
    workspace.close()
    return root


@pytest.fixture
def ws(tmp_path: Path, template: Path):
    shutil.copytree(template, tmp_path / "ws")
    workspace = open_workspace(tmp_path / "ws")
    yield workspace
    workspace.close()


@pytest.fixture(scope="module")
def shared_client(template: Path, tmp_path_factory) -> TestClient:
    """For tests that only read, or whose writes are refused: one workspace for the module."""
    root = tmp_path_factory.mktemp("shared") / "ws"
    shutil.copytree(template, root)
    workspace = open_workspace(root)
    with TestClient(create_app(workspace, WebSettings(allowed_hosts={"testserver"}))) as client:
        yield client
    workspace.close()


@pytest.fixture
def client(ws) -> TestClient:
    """A script's view: no cookie, no Origin header, so no CSRF token is needed."""
    with TestClient(create_app(ws, WebSettings(allowed_hosts={"testserver"}))) as test_client:
        yield test_client


@pytest.fixture
def browser_like(ws) -> TestClient:
    """A browser's view: a session cookie from a page, and the token the page carries."""
    with TestClient(create_app(ws, WebSettings(allowed_hosts={"testserver"}))) as test_client:
        token = test_client.get("/api/v1/session").json()["csrf_token"]
        test_client.token = token
        yield test_client


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


#: ORL subjects and photos in the groups workspace: photos 1-8 unlabelled, 9-10 of the first
#: ANCHORED subjects labelled by folder (they make "probably <name>" suggestions)
GROUP_SUBJECTS = 6
ANCHORED = 3


@pytest.fixture(scope="session")
def orl_groups_template(tmp_path_factory) -> Path:
    """A workspace of real ORL photos for the groups tests, imported once and copied per test."""
    from faceloop.ingest.run import import_photos
    from tests.conftest import DATA

    if not (DATA / "orl").is_dir():
        pytest.fail(f"the ORL photos are not at {DATA / 'orl'}")
    base = tmp_path_factory.mktemp("orl-groups")
    unlabelled, labelled = base / "unlabelled", base / "labelled"
    for subject in range(1, GROUP_SUBJECTS + 1):
        for n in range(1, 11):
            target = (unlabelled if n <= 8 else labelled) / f"s{subject}"
            if n > 8 and subject > ANCHORED:
                continue
            target.mkdir(parents=True, exist_ok=True)
            shutil.copy(DATA / "orl" / f"s{subject}" / f"{n}.pgm", target / f"{n}.pgm")
    root = base / "ws"
    with init_workspace(root) as workspace:
        import_photos(workspace, [labelled], by_folder=True)
        import_photos(workspace, [unlabelled], recursive=True)
    return root


@pytest.fixture(scope="session")
def learning_template(tmp_path_factory) -> Path:
    """A real workspace with a trained model and its predictions (tests/web/learning_workspace),
    built once and copied by the tests that change it."""
    from tests.conftest import DATA
    from tests.web.learning_workspace import build_learning_workspace

    if not DATA.is_dir():
        pytest.fail(f"the shared test photos are not at {DATA}")
    return build_learning_workspace(tmp_path_factory.mktemp("learning") / "ws")


def crowd_photos(data: Path) -> list[Path]:
    """Photos of several people each: the PASCAL VOC photos (not the collage of thirty, slow to
    detect) and the three of two people. The small faces beside each photo's largest are the
    passers-by."""
    group = data / "group"
    voc = [p for p in sorted((group / "dlib_faces").glob("*.jpg")) if p.name != "bald_guys.jpg"]
    return voc + sorted(group.glob("face_recognition_*.jpg"))


@pytest.fixture(scope="session")
def crowd_template(orl_groups_template: Path, tmp_path_factory) -> Path:
    """The ORL groups workspace (s1-s3 partly labelled: nearest-face suggestions, no model)
    plus real photos of several people each (passers-by), imported once and copied per test."""
    from faceloop.ingest.run import import_photos
    from tests.conftest import DATA

    base = tmp_path_factory.mktemp("crowd")
    photos = base / "photos"
    photos.mkdir()
    chosen = crowd_photos(DATA)
    for photo in chosen:
        shutil.copy(photo, photos / photo.name)
    root = base / "ws"
    shutil.copytree(orl_groups_template, root)
    with open_workspace(root) as workspace:
        summary = import_photos(workspace, [photos], workers=1)
    assert summary.imported == len(chosen) == 12 and summary.faces >= 40, summary
    return root


@pytest.fixture(scope="module")
def browser(chromium: Path):
    from playwright.sync_api import sync_playwright

    from tests.web.browsing import ARGS

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(chromium), args=ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser, request):
    """A fresh tab; a failing test leaves its screenshot in test-artifacts/."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
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


@pytest.fixture(scope="session")
def chromium() -> Path:
    """Debian's chromium; a clear failure, never a skip, when it is missing."""
    from tests.web.browsing import CHROMIUM

    if not CHROMIUM.exists():
        pytest.fail(f"no chromium at {CHROMIUM}: `make test` installs it")
    return CHROMIUM


@pytest.fixture
def cws(tmp_path: Path, crowd_template: Path) -> Workspace:
    """A fresh copy of the crowd workspace for one test."""
    shutil.copytree(crowd_template, tmp_path / "ws")
    workspace = open_workspace(tmp_path / "ws")
    yield workspace
    workspace.close()


@pytest.fixture
def api(cws: Workspace) -> TestClient:
    """The API over `cws` (a module may give `cws` another workspace)."""
    with TestClient(create_app(cws, WebSettings(allowed_hosts={"testserver"}))) as client:
        yield client
