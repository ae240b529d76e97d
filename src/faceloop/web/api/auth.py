"""Logging in and out when a password is set, and the session's CSRF token for scripts."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from fastapi import APIRouter, HTTPException, Request

from faceloop.web.deps import app_state
from faceloop.web.schemas import LoginBody
from faceloop.web.security import csrf_token, verify_password

router = APIRouter(tags=["session"])

FAILURE_DELAY = 0.5
MAX_FAILURES = 10
FAILURE_WINDOW = 300.0
_failures: dict[str, list[float]] = {}


@dataclass(frozen=True)
class SessionInfo:
    authenticated: bool
    password_required: bool
    #: send it back in the X-CSRF-Token header with every POST made with this session's cookie
    csrf_token: str


@dataclass(frozen=True)
class Health:
    ok: bool


def session_info(request: Request) -> SessionInfo:
    state = app_state(request)
    session = request.session
    return SessionInfo(
        authenticated=bool(session.get("user_id")) or not state.login_required,
        password_required=state.login_required,
        csrf_token=csrf_token(session),
    )


async def check_password(request: Request, password: str) -> bool:
    """Verify, slowly on failure and not at all after many recent failures from one address."""
    state = app_state(request)
    client = request.client.host if request.client else "?"
    now = time.monotonic()
    recent = [t for t in _failures.get(client, []) if now - t < FAILURE_WINDOW]
    _failures[client] = recent
    if len(recent) >= MAX_FAILURES:
        return False
    ok = await asyncio.to_thread(verify_password, password, state.password_hash)
    if ok:
        request.session.clear()
        request.session["user_id"] = state.owner_id
        csrf_token(request.session)
        return True
    recent.append(now)
    await asyncio.sleep(FAILURE_DELAY)
    return False


def too_many_failures(request: Request) -> bool:
    client = request.client.host if request.client else "?"
    return len(_failures.get(client, [])) >= MAX_FAILURES


@router.get("/session", response_model=SessionInfo)
def session(request: Request) -> SessionInfo:
    return session_info(request)


@router.post("/login", response_model=SessionInfo)
async def login(request: Request, body: LoginBody) -> SessionInfo:
    if not app_state(request).login_required:
        return session_info(request)
    if await check_password(request, body.password):
        return session_info(request)
    if too_many_failures(request):
        raise HTTPException(429, "too many failed logins; wait five minutes")
    raise HTTPException(401, "wrong password")


@router.post("/logout", response_model=SessionInfo)
def logout(request: Request) -> SessionInfo:
    request.session.clear()
    return session_info(request)


@router.get("/health", response_model=Health)
def health() -> Health:
    return Health(True)
