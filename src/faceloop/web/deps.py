"""What route handlers need from a request: the workspace and the user acting."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import Depends, Request
from pydantic import BeforeValidator

from faceloop.web.app import AppState
from faceloop.workspace import Workspace


def app_state(request: Request) -> AppState:
    return request.app.state.faceloop


def workspace(request: Request) -> Workspace:
    return app_state(request).ws


def user_id(request: Request) -> int:
    """The logged-in user, or in single-user mode the workspace's implicit owner: every
    decision records who made it."""
    session = request.scope.get("session") or {}
    return session.get("user_id") or app_state(request).owner_id


WS = Annotated[Workspace, Depends(workspace)]
User = Annotated[int, Depends(user_id)]


def _blank_is_none(value: object) -> object:
    """A GET form sends the fields left empty as `name=`: on a filter, empty means no filter."""
    return None if value == "" else value


#: a query parameter a filter form may leave empty
BlankIsNone = BeforeValidator(_blank_is_none)
OptionalDate = Annotated[date | None, BlankIsNone]
