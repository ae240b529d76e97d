"""Who may use the server, and from where.

- Passwords are stored only as scrypt hashes (the standard library's; no extra package).
- Bound to loopback, the server answers only to loopback host names, so a web page elsewhere
  cannot reach it through DNS rebinding.
- A state-changing request from a browser must come from the app's own origin, and when it
  carries the session cookie it must also carry the session's CSRF token in `X-CSRF-Token`.
  A script with no cookie and no Origin header (curl, the test suite) needs neither.
- With a password set, every page and API route except the login needs a logged-in session;
  sessions live in the database (`sessions`), guesses are limited (`login_limit`).
- The Host header is parsed strictly: `[::1].evil.example` is not `[::1]`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import time
from collections.abc import Callable
from urllib.parse import quote, urlsplit

from sqlalchemy import select, update
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from faceloop.db.models import User
from faceloop.web.sessions import SessionData, revoke_user_sessions
from faceloop.workspace import OWNER, Workspace

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1", "[::1]"}
PUBLIC_PATHS = ("/login", "/static/", "/api/v1/login", "/api/v1/session", "/api/v1/health")
CSRF_HEADER = "x-csrf-token"
_HOST = re.compile(r"(?P<name>\[[0-9a-f:.]+\]|[^\[\]:/@\s]*)(?::[0-9]{1,5})?")
_SCRYPT = {"n": 2**14, "r": 8, "p": 1}


def hash_password(password: str) -> str:
    salt = os.urandom(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, dklen=32, **_SCRYPT)
    encode = base64.b64encode
    return f"scrypt${_SCRYPT['n']}${encode(salt).decode()}${encode(digest).decode()}"


def verify_password(password: str, stored: str | None) -> bool:
    if not stored:
        return False
    try:
        scheme, n, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(digest)
        actual = hashlib.scrypt(
            password.encode(), salt=base64.b64decode(salt), dklen=len(expected), n=int(n), r=8, p=1
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


def set_password(ws: Workspace, password: str | None) -> bool:
    """Set (or with None, remove) the owner's password; only its hash is stored. A change
    ends every session of the owner, so whoever knew the old password (or kept a cookie) is
    out. Setting the password it already is changes nothing, so `faceloop serve` restarted
    with the same $FACELOOP_PASSWORD keeps everyone logged in. True when it changed."""
    current = owner_password_hash(ws)
    if (password and verify_password(password, current)) or (not password and current is None):
        return False
    value = hash_password(password) if password else None
    with ws.transaction() as session:
        session.execute(update(User).where(User.name == OWNER).values(password_hash=value))
    revoke_user_sessions(ws, ws.owner_id())
    return True


def owner_password_hash(ws: Workspace) -> str | None:
    with ws.reader() as session:
        return session.scalar(select(User.password_hash).where(User.name == OWNER))


def csrf_token(session: SessionData) -> str:
    """The token a page or script sends back in `X-CSRF-Token` (see `sessions`)."""
    return session.ensure_csrf()


def is_loopback(host: str) -> bool:
    return host in LOOPBACK_NAMES or host.startswith("127.")


class SecurityMiddleware:
    """Host, origin, CSRF and login checks, and a Server-Timing header on every response."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        allowed_hosts: set[str] | None,
        login_required: Callable[[], bool],
    ) -> None:
        self.app = app
        self.allowed_hosts = allowed_hosts
        self.login_required = login_required

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        path = scope["path"]
        refusal = self._refusal(scope, headers, path)
        if refusal is not None:
            await _send_refusal(send, path, *refusal)
            return

        async def timed_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                elapsed = (time.perf_counter() - started) * 1000
                message.setdefault("headers", [])
                message["headers"] = [
                    *message["headers"],
                    (b"server-timing", f"app;dur={elapsed:.2f}".encode()),
                ]
            await send(message)

        await self.app(scope, receive, timed_send)

    def _refusal(self, scope: Scope, headers: dict[str, str], path: str) -> tuple | None:
        host = _hostname(headers.get("host", ""))
        if host is None or (self.allowed_hosts is not None and host not in self.allowed_hosts):
            return 400, "this server only answers to its own address (Host header refused)"
        session = scope.get("session") or {}
        if scope["method"] not in SAFE_METHODS:
            origin = headers.get("origin")
            if origin is not None and _hostport(origin) != headers.get("host", "").lower():
                return 403, "request from another site refused"
            if headers.get("sec-fetch-site") in ("cross-site", "same-site"):
                return 403, "request from another site refused"
            if session.get("csrf") and not path.startswith(("/login", "/api/v1/login")):
                sent = headers.get(CSRF_HEADER, "")
                if not hmac.compare_digest(sent, session["csrf"]):
                    return 403, "missing or stale CSRF token: reload the page and try again"
        if (
            self.login_required()
            and not session.get("user_id")
            and not path.startswith(PUBLIC_PATHS)
        ):
            return 401, "log in first"
        return None


def _hostname(host: str) -> str | None:
    """The name in a Host header, without its port; None when it is not one: a bracketed
    IPv6 address followed by anything but `:port` (`[::1].evil.example`), a port that is
    not digits, or a bare name with more than one colon."""
    match = _HOST.fullmatch(host.strip().lower())
    return match.group("name") if match else None


def _hostport(origin: str) -> str:
    return urlsplit(origin.lower()).netloc


async def _send_refusal(send: Send, path: str, status: int, message: str) -> None:
    if status == 401 and not path.startswith("/api/"):
        location = "/login?next=" + quote(path, safe="/")
        await send(
            {
                "type": "http.response.start",
                "status": 303,
                "headers": [(b"location", location.encode()), (b"content-length", b"0")],
            }
        )
        await send({"type": "http.response.body", "body": b""})
        return
    body = json.dumps({"error": _code(status), "message": message}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _code(status: int) -> str:
    return {400: "bad_host", 401: "login_required", 403: "forbidden"}.get(status, "error")
