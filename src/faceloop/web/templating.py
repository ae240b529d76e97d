"""Jinja2 templates with what every page needs: the CSRF token, the active tab, the login."""

from __future__ import annotations

from pathlib import Path

from fastapi import Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from sqlalchemy.exc import SQLAlchemyError

from faceloop import __version__
from faceloop.web.security import csrf_token
from faceloop.web.sessions import SessionData
from faceloop.workspace import WorkspaceError

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).with_name("templates")))
TEMPLATES.env.globals["version"] = __version__
#: the page scripts' modules, each mapped to its versioned address (base.html's import map): a
#: module imported as "./common.js" and loaded as "common.js?v=..." would otherwise run twice
TEMPLATES.env.globals["js_modules"] = sorted(
    p.name for p in (Path(__file__).parent / "static" / "js").glob("*.js")
)
TEMPLATES.env.filters["plain"] = jsonable_encoder


def render(
    request: Request, name: str, tab: str = "", status: int = 200, **context
) -> HTMLResponse:
    state = request.app.state.faceloop
    session = request.scope.get("session")
    token = _csrf(session)
    return TEMPLATES.TemplateResponse(
        request,
        name,
        {
            "tab": tab,
            "csrf": token,
            "login_required": state.login_required,
            "logged_in": bool(session and session.get("user_id")),
            **context,
        },
        status_code=status,
    )


def _csrf(session: SessionData | None) -> str:
    """The page's CSRF token; "" when none can be stored (a full disk): the page, often an
    error page saying so, still shows."""
    if session is None:
        return ""
    try:
        return csrf_token(session)
    except (WorkspaceError, SQLAlchemyError):
        return ""


def render_error(request: Request, status: int, message: str) -> HTMLResponse:
    return render(request, "error.html", status=status, code=status, message=message)
