"""A small local HTTP server for the collect tests: it answers as a real API documents, from
handler functions routed by method and path, and records every request so a test can check what
a source kind asked for (its parameters, its body, its token).

    with JsonServer() as server:
        server.route("POST", "/api/notes/search-by-tag", lambda request: [note, ...])
        fetcher = local_fetcher(waits)
        ...
        assert server.requests[0].json()["tag"] == "CHEERZ"

A handler gets a `Request` and returns what to answer: a `Reply` for full control (status,
headers, raw bytes for malformed JSON), or any JSON value for a 200 with that body. A path
nobody routed answers 404 in JSON, so a kind asking for the wrong endpoint fails loudly.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from faceloop.collect.fetch import Fetcher, FetchPolicy
from faceloop.collect.guard import AddressGuard

#: the moment the tests' fetchers believe it is, so waits from rate-limit resets are exact
NOW = 1_700_000_000.0


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    #: query parameters, each name to its last value
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body or b"null")


@dataclass(frozen=True)
class Reply:
    body: Any = None
    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)
    #: bytes sent as they are (malformed or truncated JSON); `body` is ignored then
    raw: bytes | None = None
    content_type: str = "application/json"


Handler = Callable[[Request], Any]


class JsonServer:
    """A `ThreadingHTTPServer` on 127.0.0.1 and a free port, serving routed handlers."""

    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], Handler] = {}
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def route(self, method: str, path: str, handler: Handler) -> None:
        self.routes[(method.upper(), path)] = handler

    def paths(self) -> list[str]:
        """The paths asked for, in order (query strings left out)."""
        return [r.path for r in self.requests]

    def __enter__(self) -> JsonServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def _answer(self, request: Request) -> Reply:
        with self._lock:
            self.requests.append(request)
        handler = self.routes.get((request.method, request.path))
        if handler is None:
            return Reply({"error": "not routed", "path": request.path}, status=404)
        found = handler(request)
        return found if isinstance(found, Reply) else Reply(found)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _serve(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("content-length") or 0)
                request = Request(
                    method=self.command,
                    path=parts.path,
                    query={k: v[-1] for k, v in parse_qs(parts.query).items()},
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=self.rfile.read(length) if length else b"",
                )
                reply = server._answer(request)
                body = reply.raw if reply.raw is not None else json.dumps(reply.body).encode()
                self.send_response(reply.status)
                self.send_header("Content-Type", reply.content_type)
                self.send_header("Content-Length", str(len(body)))
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            do_GET = _serve
            do_POST = _serve

            def log_message(self, format: str, *args: object) -> None:
                pass

        return Handler


def local_fetcher(waits: list[float], *, retries: int = 3) -> Fetcher:
    """The real fetcher, allowed to reach the loopback servers, with its waits recorded
    instead of slept and a clock that stands still (a rate-limit reset gives an exact wait)."""
    return Fetcher(
        AddressGuard(allow=["127.0.0.0/8"]),
        FetchPolicy(backoff=0.0, retries=retries),
        sleep=waits.append,
        clock=lambda: NOW,
    )


def paged(items: list[Any], size: int) -> list[list[Any]]:
    """`items` cut into pages of `size` (the last may be shorter)."""
    return [items[at : at + size] for at in range(0, len(items), size)]
