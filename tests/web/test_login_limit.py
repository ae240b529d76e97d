"""Password guesses: counted before they are checked, backed off per address, capped per
account, with X-Forwarded-For honoured from trusted proxies only."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from faceloop.web.app import WebSettings, create_app
from faceloop.web.login_limit import Attempt, LoginLimiter, Refusal, source_of
from faceloop.web.proxy import client_of, trusted_networks
from faceloop.web.security import set_password

PASSWORD = "correct horse"
PROXY = "10.0.0.2"


class Clock:
    """A clock that moves only when told, so lock-outs are exact and never run out mid-test."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def protected_app(ws, trusted: tuple[str, ...] = (), clock: Clock | None = None):
    """The app over `ws` with a password set, `trusted` proxies, and the limiter's clock."""
    set_password(ws, PASSWORD)
    ws.settings = dataclasses.replace(
        ws.settings, web=dataclasses.replace(ws.settings.web, trusted_proxies=trusted)
    )
    app = create_app(ws, WebSettings(allowed_hosts={"testserver"}))
    app.state.faceloop.login_limiter.clock = clock or Clock()
    return app


def at_once(app, logins: list[tuple[str, dict[str, str]]], peer: str = "127.0.0.1") -> list:
    """Send the logins (password, headers) concurrently from TCP peer `peer`; the responses."""

    async def send() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app, client=(peer, 4711))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            return await asyncio.gather(
                *(
                    c.post("/api/v1/login", json={"password": password}, headers=headers)
                    for password, headers in logins
                )
            )

    return asyncio.run(send())


# ------------------------------------------------------------------ the limiter itself


def test_free_failures_then_a_doubling_lock_out_capped_and_reset_by_a_success() -> None:
    clock = Clock()
    limiter = LoginLimiter(free_failures=3, first_lockout=1.0, max_lockout=8.0, clock=clock)
    for _ in range(3):
        assert isinstance(limiter.begin("192.0.2.1", "owner"), Attempt)
    refused = limiter.begin("192.0.2.1", "owner")
    assert isinstance(refused, Refusal) and refused.reason == "address"
    assert refused.retry_after == 1.0 and refused.retry_after_header == "1"
    waits = []
    for _ in range(5):
        clock.now += waits[-1] if waits else 1.0
        assert isinstance(limiter.begin("192.0.2.1", "owner"), Attempt)
        waits.append(limiter.begin("192.0.2.1", "owner").retry_after)
    assert waits == [2.0, 4.0, 8.0, 8.0, 8.0]
    # another address is not slowed down, and a success forgets the failures
    other = limiter.begin("192.0.2.2", "owner")
    assert isinstance(other, Attempt)
    clock.now += 8.0
    limiter.finish(limiter.begin("192.0.2.1", "owner"), ok=True)
    for _ in range(3):
        assert isinstance(limiter.begin("192.0.2.1", "owner"), Attempt)


def test_a_refused_guess_does_not_lengthen_the_lock_out() -> None:
    clock = Clock()
    limiter = LoginLimiter(free_failures=1, first_lockout=10.0, clock=clock)
    limiter.begin("192.0.2.1", "owner")
    for _ in range(50):
        limiter.begin("192.0.2.1", "owner")
    clock.now += 10.0
    assert isinstance(limiter.begin("192.0.2.1", "owner"), Attempt)


def test_the_account_ceiling_is_short_so_the_rightful_user_waits_a_minute_at_most() -> None:
    clock = Clock()
    limiter = LoginLimiter(free_failures=2, account_attempts=10, account_window=60.0, clock=clock)
    for n in range(5):
        for _ in range(2):
            assert isinstance(limiter.begin(f"192.0.2.{n}", "owner"), Attempt)
    refused = limiter.begin("198.51.100.7", "owner")
    assert isinstance(refused, Refusal) and refused.reason == "account"
    assert 0 < refused.retry_after <= 60.0 and "account" in refused.message
    assert isinstance(limiter.begin("198.51.100.7", "someone else"), Attempt)
    clock.now += 60.0
    assert isinstance(limiter.begin("198.51.100.7", "owner"), Attempt)


def test_an_ipv6_source_counts_by_its_network() -> None:
    assert source_of("2001:db8:1:2::1") == source_of("2001:db8:1:2:ffff::9") == "2001:db8:1:2::/64"
    assert source_of("::ffff:192.0.2.1") == "192.0.2.1" and source_of("junk") == "junk"


# ------------------------------------------------------------------ the client's address


def scope(peer: str, **headers: str) -> dict:
    raw = [(k.replace("_", "-").encode(), v.encode()) for k, v in headers.items()]
    return {"type": "http", "client": (peer, 1), "headers": raw, "scheme": "http"}


def test_forwarded_for_is_honoured_only_from_a_trusted_proxy() -> None:
    trusted = trusted_networks(["10.0.0.0/24", "127.0.0.1"])
    forged = "6.6.6.6, 203.0.113.9"
    assert client_of(scope("10.0.0.2", x_forwarded_for=forged), trusted).address == "203.0.113.9"
    # behind two proxies, the client is the right-most address that is not one of them
    chain = "6.6.6.6, 203.0.113.9, 10.0.0.7"
    assert client_of(scope("127.0.0.1", x_forwarded_for=chain), trusted).address == "203.0.113.9"
    stranger = client_of(scope("192.0.2.50", x_forwarded_for=forged), trusted)
    assert stranger.address == "192.0.2.50" and not stranger.proxied
    assert client_of(scope("10.0.0.2", x_forwarded_for=forged), ()).address == "10.0.0.2"
    ported = scope("10.0.0.2", x_forwarded_for="[2001:db8::1]:4711")
    assert client_of(ported, trusted).address == "2001:db8::1"


def test_forwarded_proto_is_honoured_only_from_a_trusted_proxy() -> None:
    trusted = trusted_networks(["10.0.0.2"])
    assert client_of(scope("10.0.0.2", x_forwarded_proto="https"), trusted).https
    assert not client_of(scope("192.0.2.50", x_forwarded_proto="https"), trusted).https


# ------------------------------------------------------------------ the app


def test_guesses_sent_at_once_are_counted_before_they_are_checked(ws) -> None:
    app = protected_app(ws)
    answers = at_once(app, [("wrong", {})] * 30)
    codes = sorted(a.status_code for a in answers)
    assert codes == [401] * 5 + [429] * 25
    refused = next(a for a in answers if a.status_code == 429)
    assert refused.headers["Retry-After"] == "1"
    assert refused.json()["error"] == "too_many_requests"
    assert "try again in 1 s" in refused.json()["message"]


def test_the_right_password_waits_behind_its_address_but_not_behind_another(ws) -> None:
    app = protected_app(ws, trusted=(PROXY,))
    abuser = {"X-Forwarded-For": "203.0.113.9"}
    answers = at_once(app, [("wrong", abuser)] * 12, peer=PROXY)
    assert sorted(a.status_code for a in answers) == [401] * 5 + [429] * 7
    (right,) = at_once(app, [(PASSWORD, abuser)], peer=PROXY)
    assert right.status_code == 429 and "Retry-After" in right.headers
    (elsewhere,) = at_once(app, [(PASSWORD, {"X-Forwarded-For": "198.51.100.7"})], peer=PROXY)
    assert elsewhere.status_code == 200 and elsewhere.json()["authenticated"]


def test_forwarded_for_from_an_untrusted_peer_changes_nothing(ws) -> None:
    app = protected_app(ws, trusted=(PROXY,))
    forged = [("wrong", {"X-Forwarded-For": f"203.0.113.{n}"}) for n in range(8)]
    answers = at_once(app, forged, peer="192.0.2.50")
    assert sorted(a.status_code for a in answers) == [401] * 5 + [429] * 3
    (right,) = at_once(app, [(PASSWORD, {"X-Forwarded-For": "198.51.100.7"})], peer="192.0.2.50")
    assert right.status_code == 429


def test_the_login_page_says_how_long_to_wait(ws) -> None:
    app = protected_app(ws)
    at_once(app, [("wrong", {})] * 5)
    with TestClient(app, client=("127.0.0.1", 4711)) as client:
        page = client.post("/login", data={"password": PASSWORD, "next": "/"})
    assert page.status_code == 429 and page.headers["Retry-After"] == "1"
    assert "too many failed logins from your address; try again in 1 s" in page.text


# ------------------------------------------------------------------ a real server


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def served(ws, tmp_path: Path):
    """`faceloop serve --password --secure-cookies` on a free loopback port (this checkout's
    faceloop: the command line run by this Python with its PYTHONPATH)."""
    ws.close()
    port = free_port()
    env = {**os.environ, "FACELOOP_PASSWORD": PASSWORD, "COLUMNS": "200"}
    main = "import sys; from faceloop.cli import main; sys.exit(main())"
    args = ["serve", "--port", str(port), "--no-worker", "--secure-cookies", "-w", str(ws.root)]
    log = (tmp_path / "serve.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-c", main, *args], stdout=log, stderr=subprocess.STDOUT, env=env
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            assert process.poll() is None, (tmp_path / "serve.log").read_text()
            try:
                if httpx.get(f"{url}/api/v1/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(30)
        log.close()


def test_a_real_server_sets_secure_cookies_and_trusts_no_forwarded_for_by_default(served) -> None:
    login = httpx.post(f"{served}/api/v1/login", json={"password": PASSWORD}, timeout=60)
    assert login.status_code == 200
    cookie = login.headers["set-cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie

    def guess(n: int) -> int:
        """A wrong guess claiming to come from an address of its own."""
        headers = {"X-Forwarded-For": f"203.0.113.{n}"}
        body = {"password": "wrong"}
        url = f"{served}/api/v1/login"
        return httpx.post(url, json=body, headers=headers, timeout=60).status_code

    async def all_at_once() -> list[int]:
        return list(await asyncio.gather(*(asyncio.to_thread(guess, n) for n in range(20))))

    # uvicorn would take X-Forwarded-For from a loopback peer; honoured, each forged address
    # would get its free failures and all twenty would be checked
    codes = asyncio.run(all_at_once())
    assert codes.count(401) <= 6 and codes.count(429) >= 14, codes
