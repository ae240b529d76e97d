"""Every failure becomes a clear answer: JSON for the API, a page for people; never a stack
trace. The library raises plain exceptions (LookupError for an unknown id, ValueError for input
that does not apply); they are translated here, once."""

from __future__ import annotations

import json
import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from faceloop.collect.base import SourceError
from faceloop.ingest.uploads import NotAPhoto
from faceloop.labels.labelling import SamePersonInPhoto
from faceloop.labels.people import NameTaken
from faceloop.web.templating import render_error
from faceloop.workspace import DatabaseReplaced, DiskFull, ReadOnlyWorkspace, WorkspaceError
from faceloop.workspace.faults import from_os_error

log = logging.getLogger("faceloop.web")

CODES = {
    400: "bad_request",
    401: "login_required",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "not_a_photo",
    422: "invalid",
    429: "too_many_requests",
    500: "server_error",
    503: "busy",
    507: "disk_full",
}


#: what each error status means for any operation of the API, as its OpenAPI document says
DOCUMENTED = {
    400: "the request cannot be read (a malformed body or header)",
    401: "a login is needed (the workspace has a password)",
    403: "refused: a wrong Host or Origin, or a missing CSRF token",
    404: "no such thing: an id, a file or an upload that does not exist",
    409: "a conflict: the person is already in the photo, a name is taken, nothing to undo",
    413: "the request body, or a file in it, is over its limit",
    415: "not a photo faceloop can read",
    422: "a value out of its range or of the wrong type; `detail` lists each problem",
    429: "too many attempts: wait as `Retry-After` says",
    503: "the database is busy or the workspace cannot be written: try again or restart",
    507: "the disk is full: nothing was half-stored",
}

#: the body of every error answer: `error` is the code (CODES), `message` says it in words;
#: some errors add fields (`detail`, `person_id`, `existing_person_id`, ...)
ERROR_SCHEMA = {
    "title": "Error",
    "type": "object",
    "required": ["error", "message"],
    "properties": {
        "error": {"type": "string", "description": "a short code: " + ", ".join(CODES.values())},
        "message": {"type": "string", "description": "what went wrong, for a person to read"},
    },
    "additionalProperties": True,
}


def error_response(request: Request, status: int, message: str, **extra) -> Response:
    if _wants_html(request):
        return render_error(request, status, message)
    body = {"error": CODES.get(status, "error"), "message": message, **extra}
    return JSONResponse(body, status_code=status)


def _wants_html(request: Request) -> bool:
    if request.url.path.startswith("/api/"):
        return False
    return "text/html" in request.headers.get("accept", "")


def install(app: FastAPI) -> None:
    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        log.error("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
        return error_response(
            request,
            500,
            "something went wrong on our side; it was logged and nothing you did was lost",
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        message = exc.detail if isinstance(exc.detail, str) else "request refused"
        if exc.status_code == 404 and message == "Not Found":
            message = f"nothing at {request.url.path}"
        if exc.status_code == 405:
            message = f"{request.method} is not allowed on {request.url.path}"
        response = error_response(request, exc.status_code, message)
        for key, value in (exc.headers or {}).items():
            response.headers[key] = value
        return response

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        problems = []
        for error in exc.errors():
            where = ".".join(str(part) for part in error.get("loc", ()) if part != "body")
            text = error.get("msg", "invalid") + _given(error)
            problems.append(f"{where}: {text}" if where else text)
        message = "; ".join(problems[:5]) or "invalid request"
        details = [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg"), "type": e.get("type")}
            for e in exc.errors()
        ]
        return error_response(request, 422, message, detail=details)

    @app.exception_handler(LookupError)
    async def not_found(request: Request, exc: LookupError) -> Response:
        if isinstance(exc, (KeyError, IndexError)):
            return await unexpected(request, exc)
        return error_response(request, 404, _text(exc))

    @app.exception_handler(SamePersonInPhoto)
    async def same_person(request: Request, exc: SamePersonInPhoto) -> Response:
        return error_response(
            request,
            409,
            str(exc) + ". Send confirm=true to label it anyway.",
            person_id=exc.person_id,
            conflicts={str(k): v for k, v in exc.conflicts.items()},
        )

    @app.exception_handler(NameTaken)
    async def name_taken(request: Request, exc: NameTaken) -> Response:
        return error_response(
            request,
            409,
            str(exc),
            existing_person_id=exc.person_id,
            existing_name=exc.person_name,
        )

    @app.exception_handler(NotAPhoto)
    async def not_a_photo(request: Request, exc: NotAPhoto) -> Response:
        return error_response(request, 415, str(exc))

    @app.exception_handler(SourceError)
    async def bad_source(request: Request, exc: SourceError) -> Response:
        """A source that cannot be added or read: the kind's own words say why."""
        return error_response(request, 422, str(exc))

    @app.exception_handler(ValueError)
    async def bad_value(request: Request, exc: ValueError) -> Response:
        return error_response(request, 422, str(exc))

    @app.exception_handler(OperationalError)
    async def busy(request: Request, exc: OperationalError) -> Response:
        log.warning("database busy on %s %s: %s", request.method, request.url.path, exc)
        return error_response(request, 503, "the database is busy; try again in a moment")

    install_fault_handlers(app)
    document_errors(app)


def document_errors(app: FastAPI) -> None:
    """Every operation of the API documents the error answers it can give, once, here: the
    handlers above answer them for every route alike, so listing them route by route would
    only drift. FastAPI's own 422 schema ({"detail": [...]}) is replaced by the Error one,
    since that is what the 422 handler sends; clients validating answers against the schema
    (schemathesis' conformance checks) then accept every answer the app gives."""
    build = app.openapi

    def openapi() -> dict:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = build()
        ref = {"$ref": "#/components/schemas/Error"}
        for path, operations in schema.get("paths", {}).items():
            if not path.startswith("/api/"):
                continue
            for operation in operations.values():
                responses = operation.setdefault("responses", {})
                for status, description in DOCUMENTED.items():
                    responses[str(status)] = {
                        "description": description,
                        "content": {"application/json": {"schema": ref}},
                    }
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components.pop("HTTPValidationError", None)
        components.pop("ValidationError", None)
        components["Error"] = ERROR_SCHEMA
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


#: what each fault of the ground under the workspace answers: the request cannot succeed
#: until someone frees space, remounts or restarts, and nothing it did was half-stored
FAULT_STATUS = {DiskFull: 507, ReadOnlyWorkspace: 503, DatabaseReplaced: 503}


def install_fault_handlers(app: FastAPI) -> None:
    """A full disk, a read-only mount or a database file replaced under the server answers
    with its own status and one-line message (507 "the disk is full: ...", 503 "... restart
    faceloop"), not 500 "something went wrong": the person can act on it. An OSError of the
    same kind from code that writes files itself (uploads, exports) is answered the same;
    any other OSError is re-raised to the handler of unexpected errors."""

    @app.exception_handler(WorkspaceError)
    async def workspace_fault(request: Request, exc: WorkspaceError) -> Response:
        status = next((s for kind, s in FAULT_STATUS.items() if isinstance(exc, kind)), 503)
        log.error("%s %s: %s", request.method, request.url.path, exc)
        return error_response(request, status, str(exc))

    @app.exception_handler(OSError)
    async def os_fault(request: Request, exc: OSError) -> Response:
        fault = from_os_error(exc, exc.filename or "the workspace")
        if fault is None:
            raise exc
        return await workspace_fault(request, fault)


def _given(error: dict) -> str:
    """ ", not true" after a wrong-type message: strict bodies refuse `true` for a number, and
    saying what was sent makes the refusal plain."""
    value = error.get("input")
    if not str(error.get("type", "")).endswith("_type") or isinstance(value, dict | list):
        return ""
    try:
        shown = json.dumps(value)
    except (TypeError, ValueError):
        return ""
    return f", not {shown[:40]}"


def _text(exc: Exception) -> str:
    return exc.args[0] if exc.args and isinstance(exc.args[0], str) else str(exc)
