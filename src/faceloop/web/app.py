"""The FastAPI application: HTML pages, the JSON API under /api/v1, static files.

`create_app` takes an open workspace, so tests, `faceloop serve` and a future multi-user server
build the same app; the server (uvicorn, the job worker) is in `server.py`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from fastapi import FastAPI
from starlette.staticfiles import StaticFiles

from faceloop import __version__
from faceloop.web import errors
from faceloop.web.limits import BodyLimitMiddleware
from faceloop.web.login_limit import LoginLimiter
from faceloop.web.proxy import trusted_networks
from faceloop.web.security import SecurityMiddleware, owner_password_hash
from faceloop.web.sessions import SessionMiddleware, SessionStore
from faceloop.workspace import Workspace

STATIC = Path(__file__).with_name("static")
log = logging.getLogger("faceloop.web")


@dataclass
class WebSettings:
    """How the app is exposed. `allowed_hosts` None accepts any Host header (a server bound
    to all addresses, behind a password); the default accepts loopback names only."""

    allowed_hosts: set[str] | None = field(
        default_factory=lambda: {"localhost", "127.0.0.1", "[::1]", "::1"}
    )
    #: the session cookie only over HTTPS (`--secure-cookies`; `[web] secure_cookies` and a
    #: trusted proxy's `X-Forwarded-Proto: https` set it too)
    secure_cookies: bool = False


class AppState:
    """What request handlers share: the workspace and whether a login is needed."""

    def __init__(self, ws: Workspace, settings: WebSettings) -> None:
        self.ws = ws
        self.settings = settings
        self.owner_id = ws.owner_id()
        self.password_hash = owner_password_hash(ws)
        self.login_limiter = LoginLimiter()
        self.trusted_proxies = trusted_networks(ws.settings.web.trusted_proxies)

    @property
    def login_required(self) -> bool:
        return self.password_hash is not None


def create_app(ws: Workspace, settings: WebSettings | None = None) -> FastAPI:
    settings = settings or WebSettings()
    app = FastAPI(
        title="faceloop",
        version=__version__,
        description=(
            "Label faces, manage people and import photos. Every decision is an append-only "
            "event; undo is a new event. Errors are JSON objects with `error` and `message`."
        ),
        openapi_url="/api/v1/openapi.json",
        docs_url=None,
        redoc_url=None,
    )
    state = AppState(ws, settings)
    app.state.faceloop = state
    errors.install(app)

    from faceloop.web import collect_pages, export_pages, group_pages, learning_pages, pages
    from faceloop.web.api import (
        accounts,
        activity,
        auth,
        export,
        groups,
        jobs,
        label,
        learning,
        media,
        passers_by,
        people,
        photos,
        sources,
    )

    api = (label, people, photos, activity, jobs, media, auth, learning, groups, passers_by, export)
    api += (sources, accounts)
    for module in api:
        app.include_router(module.router, prefix="/api/v1")
    for module in (pages, learning_pages, group_pages, export_pages, collect_pages):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    app.add_middleware(
        SecurityMiddleware,
        allowed_hosts=settings.allowed_hosts,
        login_required=lambda: state.login_required,
    )
    web = ws.settings.web
    app.add_middleware(
        SessionMiddleware,
        store=SessionStore(
            ws, timedelta(hours=web.session_idle_hours), timedelta(days=web.session_max_days)
        ),
        secure=settings.secure_cookies or web.secure_cookies,
        trusted_proxies=state.trusted_proxies,
        anonymous_allowed=lambda: not state.login_required,
    )
    # outermost: a body over its route's limit is refused before anything reads it
    app.add_middleware(BodyLimitMiddleware, settings=ws.settings.web)
    return app
