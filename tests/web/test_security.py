"""Safety: loopback by default, a password elsewhere, CSRF, hosts, cookies, no traversal."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from faceloop.web.app import WebSettings, create_app
from faceloop.web.security import hash_password, set_password, verify_password
from faceloop.web.server import ServeError, check_binding

FACELOOP = str(Path(sys.executable).with_name("faceloop"))


def test_passwords_are_stored_as_salted_hashes() -> None:
    stored = hash_password("秘密 password")
    assert stored.startswith("scrypt$") and "秘密" not in stored
    assert stored != hash_password("秘密 password")
    assert verify_password("秘密 password", stored)
    assert not verify_password("wrong", stored)
    assert not verify_password("x", "garbage") and not verify_password("x", None)


def test_loopback_serves_without_a_password_and_elsewhere_needs_one(ws) -> None:
    assert "localhost" in check_binding(ws, "127.0.0.1").allowed_hosts
    with pytest.raises(ServeError, match=r"faceloop serve --host 0.0.0.0 --password"):
        check_binding(ws, "0.0.0.0")
    set_password(ws, "hunter2")
    assert check_binding(ws, "0.0.0.0").allowed_hosts is None


def test_the_cli_refuses_to_expose_an_unprotected_workspace(ws) -> None:
    done = subprocess.run(
        [FACELOOP, "serve", "--host", "0.0.0.0", "--port", "1", "--workspace", str(ws.root)],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "COLUMNS": "200"},
    )
    assert done.returncode == 2
    assert "refusing to listen on 0.0.0.0 without a password" in done.stderr
    assert "--password" in done.stderr


def test_a_foreign_host_header_is_refused(ws) -> None:
    with TestClient(create_app(ws), base_url="http://evil.example") as client:
        response = client.get("/api/v1/health")
    assert response.status_code == 400
    with TestClient(create_app(ws), base_url="http://127.0.0.1:8000") as client:
        assert client.get("/api/v1/health").status_code == 200


def test_a_browser_session_needs_its_csrf_token(browser_like) -> None:
    client = browser_like
    cookie = client.cookies.get("faceloop_session")
    assert cookie
    without = client.post("/api/v1/people", json={"name": "X"})
    assert without.status_code == 403 and "CSRF" in without.json()["message"]
    wrong = client.post("/api/v1/people", json={"name": "X"}, headers={"X-CSRF-Token": "nope"})
    assert wrong.status_code == 403
    right = client.post(
        "/api/v1/people", json={"name": "X"}, headers={"X-CSRF-Token": client.token}
    )
    assert right.status_code == 201


def test_requests_from_other_sites_are_refused(client) -> None:
    for headers in (
        {"Origin": "http://evil.example"},
        {"Origin": "http://testserver:9999"},
        {"Sec-Fetch-Site": "cross-site"},
    ):
        response = client.post("/api/v1/people", json={"name": "X"}, headers=headers)
        assert response.status_code == 403, headers
    same = client.post(
        "/api/v1/people", json={"name": "Y"}, headers={"Origin": "http://testserver"}
    )
    assert same.status_code == 201


def test_session_cookie_is_httponly_and_samesite(ws) -> None:
    with TestClient(create_app(ws, WebSettings(allowed_hosts={"testserver"}))) as client:
        response = client.get("/")
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie


def test_with_a_password_everything_needs_a_login(ws) -> None:
    set_password(ws, "correct horse")
    with TestClient(create_app(ws, WebSettings(allowed_hosts={"testserver"}))) as client:
        assert client.get("/api/v1/people").status_code == 401
        assert client.post("/api/v1/people", json={"name": "X"}).status_code == 401
        page = client.get("/people", follow_redirects=False)
        assert page.status_code == 303 and page.headers["location"] == "/login?next=/people"
        assert client.get("/api/v1/faces/1/chip.jpg").status_code == 401
        assert client.get("/api/v1/health").status_code == 200
        assert client.get("/static/app.css").status_code == 200
        bad = client.post("/login", data={"password": "wrong", "next": "/people"})
        assert bad.status_code == 401 and "wrong password" in bad.text
        good = client.post(
            "/login", data={"password": "correct horse", "next": "/people"}, follow_redirects=False
        )
        assert good.status_code == 303 and good.headers["location"] == "/people"
        assert client.get("/api/v1/people").status_code == 200
        token = client.get("/api/v1/session").json()["csrf_token"]
        client.post("/api/v1/logout", headers={"X-CSRF-Token": token}).raise_for_status()
        assert client.get("/api/v1/people").status_code == 401
        api_login = client.post("/api/v1/login", json={"password": "correct horse"})
        assert api_login.json()["authenticated"]
        offsite = client.post(
            "/login",
            data={"password": "correct horse", "next": "//evil.example/x"},
            follow_redirects=False,
        )
        assert offsite.headers["location"] == "/"


@pytest.mark.parametrize(
    "path",
    [
        "/static/../faceloop.toml",
        "/static/%2e%2e/%2e%2e/faceloop.toml",
        "/static/..%2f..%2fsecret.key",
        "/api/v1/faces/..%2f..%2fsecret.key/chip.jpg",
        "/api/v1/photos/%2e%2e/image.jpg",
        "/api/v1/uploads/..%2f..%2f/files",
    ],
)
def test_no_path_reaches_files_outside(client, path) -> None:
    method = client.post if "uploads" in path else client.get
    response = method(path)
    assert response.status_code in (404, 405, 422), response.status_code
    assert "secret" not in response.text.lower() or response.status_code != 200
    assert "[detect]" not in response.text


def test_pages_render_errors_as_pages(client) -> None:
    missing = client.get("/people/999999", headers={"Accept": "text/html"})
    assert missing.status_code == 404
    assert "<h1>Not found</h1>" in missing.text and "no person 999999" in missing.text
    invalid = client.get("/people/abc", headers={"Accept": "text/html"})
    assert invalid.status_code == 422 and "<html" in invalid.text
