"""An app on a real workspace, driven in-process; and screenshots of failed browser tests."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from faceloop.review.synthetic import build_synthetic
from faceloop.web.app import WebSettings, create_app
from faceloop.workspace import init_workspace, open_workspace

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
