"""Server-side sessions: a cookie opens only what its row in `web_session` allows, so logging
out, a password change and the idle and absolute limits end it for good."""

from __future__ import annotations

import dataclasses
import hashlib
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from faceloop.db.models import WebSession, utcnow
from faceloop.web.app import WebSettings, create_app
from faceloop.web.security import set_password
from faceloop.web.sessions import COOKIE

PASSWORD = "correct horse"


def app_for(ws, **web):
    """The app over `ws` (a restart of the server when called again), `[web]` settings
    changed as given."""
    if web:
        ws.settings = dataclasses.replace(
            ws.settings, web=dataclasses.replace(ws.settings.web, **web)
        )
    return create_app(ws, WebSettings(allowed_hosts={"testserver"}))


def logged_in(app) -> tuple[str, str]:
    """(cookie, CSRF token) of a fresh login."""
    with TestClient(app) as client:
        answer = client.post("/api/v1/login", json={"password": PASSWORD})
        assert answer.status_code == 200, answer.text
        return client.cookies[COOKIE], answer.json()["csrf_token"]


def read_with(app, cookie: str) -> int:
    with TestClient(app, cookies={COOKIE: cookie}) as client:
        return client.get("/api/v1/jobs").status_code


def write_with(app, cookie: str, csrf: str) -> int:
    headers = {"X-CSRF-Token": csrf}
    with TestClient(app, cookies={COOKIE: cookie}) as client:
        return client.post("/api/v1/people", json={"name": "Kept"}, headers=headers).status_code


def rows(ws) -> list[WebSession]:
    with ws.reader() as session:
        return list(session.scalars(select(WebSession)))


def test_the_cookie_carries_a_token_only_its_hash_is_stored(ws) -> None:
    set_password(ws, PASSWORD)
    cookie, csrf = logged_in(app_for(ws))
    (row,) = rows(ws)
    assert row.id == hashlib.sha256(cookie.encode()).hexdigest() != cookie
    assert row.user_id == ws.owner_id() and row.csrf == csrf and row.revoked_at is None


def test_a_cookie_kept_past_logout_opens_nothing(ws) -> None:
    set_password(ws, PASSWORD)
    app = app_for(ws)
    cookie, csrf = logged_in(app)
    assert read_with(app, cookie) == 200
    with TestClient(app, cookies={COOKIE: cookie}) as client:
        out = client.post("/api/v1/logout", headers={"X-CSRF-Token": csrf})
        assert out.status_code == 200 and not out.json()["authenticated"]
        assert "Max-Age=0" in out.headers["set-cookie"]
    assert read_with(app, cookie) == 401
    assert write_with(app, cookie, csrf) == 401
    assert read_with(app_for(ws), cookie) == 401
    (row,) = rows(ws)
    assert row.revoked_at is not None


def test_a_new_password_ends_every_session_of_the_user(ws) -> None:
    set_password(ws, PASSWORD)
    app = app_for(ws)
    first, first_csrf = logged_in(app)
    second, _ = logged_in(app)
    assert read_with(app, first) == read_with(app, second) == 200
    assert set_password(ws, "a different password")
    # at once in the running app, and after a restart, for reading and writing
    assert read_with(app, first) == read_with(app, second) == 401
    restarted = app_for(ws)
    assert read_with(restarted, first) == 401
    assert write_with(restarted, first, first_csrf) == 401
    assert all(row.revoked_at is not None for row in rows(ws))


def test_setting_the_same_password_again_keeps_the_sessions(ws) -> None:
    set_password(ws, PASSWORD)
    cookie, _ = logged_in(app_for(ws))
    assert not set_password(ws, PASSWORD)
    assert read_with(app_for(ws), cookie) == 200


def test_logging_in_starts_a_new_session(ws) -> None:
    set_password(ws, PASSWORD)
    app = app_for(ws)
    with TestClient(app) as client:
        client.post("/api/v1/login", json={"password": PASSWORD}).raise_for_status()
        before = client.cookies[COOKIE]
        client.post("/api/v1/login", json={"password": PASSWORD}).raise_for_status()
        assert client.cookies[COOKIE] != before
    assert read_with(app, before) == 401


@pytest.mark.parametrize(
    ("column", "age", "expect"),
    [
        ("last_seen_at", timedelta(hours=169), 401),
        ("last_seen_at", timedelta(hours=167), 200),
        ("created_at", timedelta(days=31), 401),
        ("created_at", timedelta(days=29), 200),
    ],
)
def test_idle_and_old_sessions_expire(ws, column, age, expect) -> None:
    set_password(ws, PASSWORD)
    cookie, _ = logged_in(app_for(ws))
    with ws.transaction() as session:
        session.execute(update(WebSession).values({column: utcnow() - age}))
    assert read_with(app_for(ws), cookie) == expect


def test_the_expiry_limits_are_the_workspace_settings(ws) -> None:
    set_password(ws, PASSWORD)
    cookie, _ = logged_in(app_for(ws))
    with ws.transaction() as session:
        session.execute(update(WebSession).values(last_seen_at=utcnow() - timedelta(hours=3)))
    # refused, it is not touched: the same cookie still opens under a longer limit
    assert read_with(app_for(ws, session_idle_hours=2), cookie) == 401
    assert read_with(app_for(ws, session_idle_hours=4), cookie) == 200


def test_the_last_use_is_written_at_most_once_a_minute(ws) -> None:
    set_password(ws, PASSWORD)
    cookie, _ = logged_in(app_for(ws))
    long_ago, just_now = utcnow() - timedelta(hours=2), utcnow() - timedelta(seconds=30)
    with ws.transaction() as session:
        session.execute(update(WebSession).values(last_seen_at=long_ago))
    app = app_for(ws)
    assert read_with(app, cookie) == 200
    (row,) = rows(ws)
    assert row.last_seen_at > utcnow() - timedelta(minutes=1)
    with ws.transaction() as session:
        session.execute(update(WebSession).values(last_seen_at=just_now))
    assert read_with(app_for(ws), cookie) == 200
    (row,) = rows(ws)
    assert row.last_seen_at == just_now


def test_a_visitor_not_logged_in_gets_no_stored_session(ws) -> None:
    set_password(ws, PASSWORD)
    with TestClient(app_for(ws)) as client:
        info = client.get("/api/v1/session")
        page = client.get("/login")
    assert info.status_code == page.status_code == 200
    assert "set-cookie" not in info.headers and "set-cookie" not in page.headers
    assert rows(ws) == []


def test_without_a_password_a_browser_keeps_its_csrf_token_across_a_restart(ws) -> None:
    with TestClient(app_for(ws)) as client:
        token = client.get("/api/v1/session").json()["csrf_token"]
        cookie = client.cookies[COOKIE]
    restarted = app_for(ws)
    assert write_with(restarted, cookie, token) == 201
    assert write_with(restarted, cookie, "stale") == 403


def test_an_unknown_cookie_is_cleared(ws) -> None:
    set_password(ws, PASSWORD)
    with TestClient(app_for(ws), cookies={COOKIE: "made-up"}) as client:
        answer = client.get("/api/v1/jobs")
    assert answer.status_code == 401 and "Max-Age=0" in answer.headers["set-cookie"]


def test_cookies_are_secure_when_asked_or_behind_a_trusted_https_proxy(ws) -> None:
    set_password(ws, PASSWORD)

    def cookie_flags(app, peer: str = "testclient", **headers: str) -> str:
        with TestClient(app, client=(peer, 4711)) as client:
            answer = client.post("/api/v1/login", json={"password": PASSWORD}, headers=headers)
            assert answer.status_code == 200
            return answer.headers["set-cookie"]

    plain = cookie_flags(app_for(ws))
    assert "HttpOnly" in plain and "SameSite=Lax" in plain and "Secure" not in plain
    forced = create_app(ws, WebSettings(allowed_hosts={"testserver"}, secure_cookies=True))
    assert "Secure" in cookie_flags(forced)
    assert "Secure" in cookie_flags(app_for(ws, secure_cookies=True))
    proxied = app_for(ws, secure_cookies=False, trusted_proxies=("10.0.0.2",))
    https = {"X-Forwarded-Proto": "https"}
    assert "Secure" in cookie_flags(proxied, "10.0.0.2", **https)
    assert "Secure" not in cookie_flags(proxied, "192.0.2.50", **https)
    assert "Secure" not in cookie_flags(proxied, "10.0.0.2", **{"X-Forwarded-Proto": "http"})


@pytest.mark.parametrize(
    ("host", "status"),
    [
        ("[::1].evil.example", 400),
        ("[::1]evil.example", 400),
        ("[::1]:8000.evil.example", 400),
        ("[::1]:abc", 400),
        ("localhost:80:80", 400),
        ("[::1]", 200),
        ("[::1]:8000", 200),
        ("localhost:8000", 200),
        ("127.0.0.1", 200),
    ],
)
def test_the_host_header_is_parsed_strictly(ws, host, status) -> None:
    with TestClient(create_app(ws)) as client:
        answer = client.get("/api/v1/health", headers={"Host": host})
    assert answer.status_code == status
    if status == 400:
        assert answer.json()["error"] == "bad_host"


def test_a_session_that_cannot_be_looked_up_is_a_clear_503(ws) -> None:
    set_password(ws, PASSWORD)
    cookie, _ = logged_in(app_for(ws))
    app = app_for(ws)
    (ws.root / "faceloop.db").unlink()
    with TestClient(app, cookies={COOKIE: cookie}, raise_server_exceptions=False) as client:
        answer = client.get("/api/v1/jobs")
    assert answer.status_code == 503, answer.text
    assert answer.json()["error"] == "busy" and "restart" in answer.json()["message"]
