"""Server-side sessions: the cookie carries only a random token, the `web_session` table says
what it opens, so a session ends for good when it is revoked.

Every request's cookie is looked up (through a cache of a few seconds, so a page's dozens of
image requests do not each read the database; every revocation in this process empties it at
once). A session is refused when revoked, idle longer than `[web] session_idle_hours` or older
than `[web] session_max_days`; its last use is written at most once a minute. Logging out
revokes the row, logging in starts a new one (a token known before the login opens nothing
after it), and setting a password revokes every session of the user (`revoke_user_sessions`).

`request.session` (`scope["session"]`) stays a mapping with `user_id` and `csrf`, as pages and
the security middleware read it; changes go through its methods, which write the table in the
route's own thread, so a database fault is answered by the app's error handlers.

Without a password a browser still gets a session, for its CSRF token. With one, a visitor not
logged in gets none: nothing is stored for someone who has not proved who they are.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Literal

import anyio.to_thread
from sqlalchemy import delete, or_, update
from sqlalchemy.exc import SQLAlchemyError
from starlette.requests import cookie_parser
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from faceloop.db.models import WebSession, utcnow
from faceloop.web.proxy import Network, client_of
from faceloop.workspace import Workspace, WorkspaceError

COOKIE = "faceloop_session"
#: how often a session's last use is written
TOUCH_EVERY = timedelta(minutes=1)
#: how long a looked-up session is trusted without reading its row again
CACHE_SECONDS = 5.0
CACHE_LIMIT = 10_000
PRUNE_EVERY = 3600.0
#: revoked rows are kept this long (who was logged in when), then deleted
KEEP_REVOKED = timedelta(days=1)

log = logging.getLogger("faceloop.web")

_revocations = 0
_revocations_lock = threading.Lock()


def _revoked() -> None:
    """Every cache in this process forgets what it knew: a revocation works at once."""
    global _revocations
    with _revocations_lock:
        _revocations += 1


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Row:
    id: str
    user_id: int | None
    csrf: str
    created_at: datetime
    last_seen_at: datetime


def revoke_user_sessions(ws: Workspace, user_id: int) -> int:
    """End every session of a user (a password change); how many were open."""
    with ws.transaction() as session:
        ended = session.execute(
            update(WebSession)
            .where(WebSession.user_id == user_id, WebSession.revoked_at.is_(None))
            .values(revoked_at=utcnow())
        ).rowcount
    _revoked()
    return ended


class SessionStore:
    """The sessions of one app: create, look up (with expiry), touch, revoke."""

    def __init__(self, ws: Workspace, idle: timedelta, max_age: timedelta) -> None:
        self.ws = ws
        self.idle = idle
        self.max_age = max_age
        self._cache: dict[str, tuple[Row, float, int]] = {}
        self._lock = threading.Lock()
        self._pruned = 0.0

    def cached(self, token: str) -> Row | Literal[False] | None:
        """The live session of a token from the cache, None when it is known to be dead or
        False when the database must be asked (or its last use written)."""
        key = _hash(token)
        with self._lock:
            entry = self._cache.get(key)
        if entry is None:
            return False
        row, cached_at, generation = entry
        if generation != _revocations or time.monotonic() - cached_at > CACHE_SECONDS:
            return False
        now = utcnow()
        if not self._alive(row, now):
            return None
        if now - row.last_seen_at >= TOUCH_EVERY:
            return False
        return row

    def find(self, token: str) -> Row | None:
        """The live session of a token, read from the table, its last use written when a
        minute old; None when unknown, revoked or expired."""
        key = _hash(token)
        generation = _revocations
        with self.ws.reader() as session:
            found = session.get(WebSession, key)
            row = None if found is None or found.revoked_at is not None else _row(found)
        now = utcnow()
        if row is None or not self._alive(row, now):
            self._forget(key)
            return None
        if now - row.last_seen_at >= TOUCH_EVERY:
            try:
                with self.ws.transaction() as session:
                    session.execute(
                        update(WebSession).where(WebSession.id == key).values(last_seen_at=now)
                    )
                row = replace(row, last_seen_at=now)
            except (WorkspaceError, SQLAlchemyError) as exc:
                # reading goes on when the last use cannot be written (a full disk)
                log.warning("could not note a session's use: %s", exc)
        self._remember(row, generation)
        return row

    def create(self, user_id: int | None) -> tuple[str, Row]:
        """A new session: (the token for the cookie, its row)."""
        token = secrets.token_urlsafe(32)
        now = utcnow()
        row = Row(_hash(token), user_id, secrets.token_urlsafe(24), now, now)
        with self.ws.transaction() as session:
            session.add(
                WebSession(
                    id=row.id,
                    user_id=user_id,
                    csrf=row.csrf,
                    created_at=now,
                    last_seen_at=now,
                )
            )
        self._remember(row, _revocations)
        self._prune()
        return token, row

    def revoke(self, row_id: str) -> None:
        with self.ws.transaction() as session:
            session.execute(
                update(WebSession)
                .where(WebSession.id == row_id, WebSession.revoked_at.is_(None))
                .values(revoked_at=utcnow())
            )
        self._forget(row_id)
        _revoked()

    def _alive(self, row: Row, now: datetime) -> bool:
        return now - row.last_seen_at <= self.idle and now - row.created_at <= self.max_age

    def _remember(self, row: Row, generation: int) -> None:
        with self._lock:
            if len(self._cache) >= CACHE_LIMIT:
                self._cache.clear()
            self._cache[row.id] = (row, time.monotonic(), generation)

    def _forget(self, key: str) -> None:
        with self._lock:
            self._cache.pop(key, None)

    def _prune(self) -> None:
        """Delete sessions that can never open again, once an hour at most."""
        if time.monotonic() - self._pruned < PRUNE_EVERY:
            return
        self._pruned = time.monotonic()
        now = utcnow()
        try:
            with self.ws.transaction() as session:
                session.execute(
                    delete(WebSession).where(
                        or_(
                            WebSession.revoked_at < now - KEEP_REVOKED,
                            WebSession.last_seen_at < now - self.idle,
                            WebSession.created_at < now - self.max_age,
                        )
                    )
                )
        except (WorkspaceError, SQLAlchemyError) as exc:
            log.warning("could not delete expired sessions: %s", exc)


def _row(found: WebSession) -> Row:
    return Row(found.id, found.user_id, found.csrf, found.created_at, found.last_seen_at)


class SessionData(dict):
    """`request.session`: `user_id` (when logged in) and `csrf` (when the session has one),
    read like a dict. Change it with `ensure_csrf`, `log_in` and `log_out` only: they write
    the table; the middleware sets or clears the cookie."""

    def __init__(self, store: SessionStore, row: Row | None, anonymous_allowed: bool) -> None:
        super().__init__()
        self.store = store
        self.row = row
        self.anonymous_allowed = anonymous_allowed
        #: a token the response must set as the cookie
        self.new_token: str | None = None
        #: the cookie must be cleared
        self.ended = False
        self._show(row)

    def _show(self, row: Row | None) -> None:
        self.clear()
        if row is not None:
            if row.user_id is not None:
                self["user_id"] = row.user_id
            self["csrf"] = row.csrf

    def ensure_csrf(self) -> str:
        """The session's CSRF token, starting a session for it when there is none yet and
        one may be started; "" when not (a visitor not logged in, with a password set)."""
        if self.row is not None:
            return self.row.csrf
        if not self.anonymous_allowed:
            return ""
        self._start(None)
        return self.row.csrf if self.row else ""

    def log_in(self, user_id: int) -> None:
        """A new session for `user_id`; the old one (if any) ends."""
        if self.row is not None:
            self.store.revoke(self.row.id)
        self._start(user_id)

    def log_out(self) -> None:
        if self.row is not None:
            self.store.revoke(self.row.id)
        self.row = None
        self.new_token = None
        self.ended = True
        self._show(None)

    def _start(self, user_id: int | None) -> None:
        token, row = self.store.create(user_id)
        self.row = row
        self.new_token = token
        self._show(row)


class SessionMiddleware:
    """Looks the cookie's session up before the app runs; sets or clears the cookie after.
    `secure` forces the Secure flag; a request that came through a trusted proxy over HTTPS
    gets it anyway."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        store: SessionStore,
        secure: bool,
        trusted_proxies: tuple[Network, ...],
        anonymous_allowed: Callable[[], bool],
    ) -> None:
        self.app = app
        self.store = store
        self.secure = secure
        self.trusted_proxies = trusted_proxies
        self.anonymous_allowed = anonymous_allowed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        token = _cookie(scope)
        row = None
        if token:
            try:
                row = self.store.cached(token)
                if row is False:
                    row = await anyio.to_thread.run_sync(self.store.find, token)
            except (WorkspaceError, SQLAlchemyError) as exc:
                log.warning("could not look a session up: %s", exc)
                message = str(exc) if isinstance(exc, WorkspaceError) else None
                await _send_busy(send, message)
                return
        session = SessionData(self.store, row, self.anonymous_allowed())
        scope["session"] = session
        stale = bool(token) and row is None

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                cookie = None
                if session.new_token:
                    cookie = self._cookie(scope, session.new_token, self.store.max_age)
                elif session.ended or stale:
                    cookie = self._cookie(scope, "", None)
                if cookie:
                    message["headers"] = [
                        *message.get("headers", []),
                        (b"set-cookie", cookie.encode("latin-1")),
                    ]
            await send(message)

        await self.app(scope, receive, send_with_cookie)

    def _cookie(self, scope: Scope, value: str, max_age: timedelta | None) -> str:
        parts = [f"{COOKIE}={value}", "Path=/", "HttpOnly", "SameSite=Lax"]
        if max_age is None:
            parts.append("Max-Age=0")
            parts.append("Expires=Thu, 01 Jan 1970 00:00:00 GMT")
        else:
            parts.append(f"Max-Age={int(max_age.total_seconds())}")
        if self.secure or client_of(scope, self.trusted_proxies).https:
            parts.append("Secure")
        return "; ".join(parts)


def _cookie(scope: Scope) -> str | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == b"cookie":
            token = cookie_parser(value.decode("latin-1")).get(COOKIE)
            if token:
                return token
    return None


async def _send_busy(send: Send, message: str | None) -> None:
    body = json.dumps(
        {"error": "busy", "message": message or "the database is busy; try again in a moment"}
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 503,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
