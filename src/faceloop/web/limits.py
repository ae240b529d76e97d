"""Request-body limits, per route, enforced before the body is read.

Without a limit a 200 MB JSON body was read whole into memory, parsed on the event loop and
grew the server by 1.2 GB while every other client waited. Here a request whose
`Content-Length` is over its route's limit is answered 413 without reading a byte of it, and a
chunked body is counted as it arrives: the moment the count passes the limit the read fails
with 413, so the app never holds more than the limit. Nothing is buffered here.

JSON (and form) requests get `[web] max_json_kb`; the routes that take photos as files get
`[web] max_upload_mb` (their files are streamed to temporary files on disk by the multipart
parser, never held in memory). A JSON body within the limit (1 MB by default) is parsed in a
few milliseconds, so parsing never holds the event loop for long.

The 413 is sent without `Connection: close`: the server then reads and discards the rest of the
body (memory stays flat) instead of closing a socket with unread data, which would reset the
connection and could lose the answer before the client reads it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from fastapi import Request
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from faceloop.web.errors import error_response
from faceloop.workspace.config import ServeSettings

#: the routes that take photos as multipart files: the upload limit, not the JSON one.
#: tests/web/test_limits.py checks that every multipart operation of the API is here.
UPLOAD_ROUTES = (
    re.compile(r"/api/v1/uploads/[^/]+/files"),
    re.compile(r"/api/v1/identify(/preview)?"),
)


@dataclass(frozen=True)
class Limit:
    """A route's largest body in bytes, and the sentence that says so to the sender."""

    size: int
    text: str


class BodyTooLarge(HTTPException):
    """Raised from `receive` when a streamed body passes its limit. An HTTPException, so the
    body parsers (FastAPI's included) pass it on and the app's handler answers 413 JSON."""

    def __init__(self, limit: Limit) -> None:
        super().__init__(413, f"the request body is too large: {limit.text}")


def limits_for(settings: ServeSettings) -> tuple[Limit, Limit]:
    """(JSON limit, upload limit) from the workspace's [web] settings."""
    kb, mb = settings.max_json_kb, settings.max_upload_mb
    return (
        Limit(kb * 1024, f"the limit is {kb} KB for a JSON request (max_json_kb in faceloop.toml)"),
        Limit(
            mb * 2**20,
            f"the limit is {mb} MB for one upload request (max_upload_mb in faceloop.toml); "
            "send the photos in several requests",
        ),
    )


def route_limit(path: str, json_limit: Limit, upload_limit: Limit) -> Limit:
    """Which limit a path gets. By the route, never by the Content-Type the sender chose: a
    JSON route reads its whole body into memory whatever the body claims to be."""
    if any(route.fullmatch(path) for route in UPLOAD_ROUTES):
        return upload_limit
    return json_limit


class BodyLimitMiddleware:
    """ASGI middleware: 413 for a body over its route's limit, as early as it can be known."""

    def __init__(self, app: ASGIApp, settings: ServeSettings) -> None:
        self.app = app
        self.json_limit, self.upload_limit = limits_for(settings)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = route_limit(scope["path"], self.json_limit, self.upload_limit)
        declared = _content_length(scope)
        if declared is not None and declared > limit.size:
            await error_response(Request(scope), 413, BodyTooLarge(limit).detail)(
                scope, receive, send
            )
            return

        received = 0
        started = False

        async def counted_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit.size:
                    raise BodyTooLarge(limit)
            return message

        async def watched_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted_receive, watched_send)
        except BodyTooLarge as exc:
            # read by code outside the app's exception handlers (another middleware)
            if started:
                raise
            await error_response(Request(scope), 413, exc.detail)(scope, receive, send)


def _content_length(scope: Scope) -> int | None:
    for key, value in scope["headers"]:
        if key == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None  # the server refuses a malformed one itself
    return None
