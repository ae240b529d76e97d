"""Logging in and out when a password is set, and the session's CSRF token for scripts."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from fastapi import APIRouter, HTTPException, Request
from starlette.concurrency import run_in_threadpool

from faceloop.web.deps import app_state
from faceloop.web.login_limit import Refusal
from faceloop.web.proxy import client_of
from faceloop.web.schemas import LoginBody
from faceloop.web.security import csrf_token, verify_password
from faceloop.workspace import OWNER

router = APIRouter(tags=["session"])

#: a wrong password's answer waits this long, which slows one guesser and costs us nothing
FAILURE_DELAY = 0.5


class LoginRefused(Exception):
    """Too many guesses: the answer is 429 with a Retry-After header."""

    def __init__(self, refusal: Refusal) -> None:
        super().__init__(refusal.message)
        self.refusal = refusal

    def http(self) -> HTTPException:
        return HTTPException(
            429, self.refusal.message, headers={"Retry-After": self.refusal.retry_after_header}
        )


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
    """Log in with `password` when it is right. The guess is counted before the password is
    checked (`login_limit`), so guesses sent at once cannot all slip through; raises
    `LoginRefused` when the limits say wait."""
    state = app_state(request)
    client = client_of(request.scope, state.trusted_proxies)
    attempt = state.login_limiter.begin(client.address, OWNER)
    if isinstance(attempt, Refusal):
        raise LoginRefused(attempt)
    ok = await asyncio.to_thread(verify_password, password, state.password_hash)
    state.login_limiter.finish(attempt, ok)
    if ok:
        await run_in_threadpool(request.session.log_in, state.owner_id)
        return True
    await asyncio.sleep(FAILURE_DELAY)
    return False


@router.get("/session", response_model=SessionInfo)
def session(request: Request) -> SessionInfo:
    return session_info(request)


@router.post("/login", response_model=SessionInfo)
async def login(request: Request, body: LoginBody) -> SessionInfo:
    if not app_state(request).login_required:
        return session_info(request)
    try:
        if await check_password(request, body.password):
            return session_info(request)
    except LoginRefused as refused:
        raise refused.http() from None
    raise HTTPException(401, "wrong password")


@router.post("/logout", response_model=SessionInfo)
def logout(request: Request) -> SessionInfo:
    """Ends the session for good: its cookie, even if kept, opens nothing any more."""
    request.session.log_out()
    return session_info(request)


@router.get("/health", response_model=Health)
def health() -> Health:
    return Health(True)
