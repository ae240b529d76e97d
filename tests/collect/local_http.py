"""A local HTTP server for the X, RSS and URL-list kinds' tests, routed by path alone (GET
only; a reply may set its own Content-Length, as a 2 GB download says): each route answers as
the real service documents, and every request is recorded so a test can see what was asked.
The Misskey and Bluesky tests use servers.py, routed by method and path with JSON bodies."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from faceloop.collect.fetch import Fetcher, FetchPolicy
from faceloop.collect.guard import AddressGuard


@dataclass
class Asked:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]


@dataclass
class Reply:
    status: int = 200
    body: bytes | str = b""
    headers: dict[str, str] = field(default_factory=dict)


#: a route takes the request and gives a reply
Route = Callable[[Asked], Reply]


@dataclass
class Server:
    url: str
    routes: dict[str, Route]
    asked: list[Asked]

    def paths(self) -> list[str]:
        return [a.path for a in self.asked]


@contextmanager
def serve(routes: dict[str, Route]) -> Iterator[Server]:
    """Serve `routes` (by path) on 127.0.0.1 until the block ends; unknown paths answer 404."""
    asked: list[Asked] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            request = Asked(
                "GET",
                parts.path,
                {k: v[-1] for k, v in parse_qs(parts.query).items()},
                {k.lower(): v for k, v in self.headers.items()},
            )
            asked.append(request)
            route = server.routes.get(parts.path)
            reply = route(request) if route else Reply(404, b'{"title": "Not Found"}')
            body = reply.body.encode() if isinstance(reply.body, str) else reply.body
            self.send_response(reply.status)
            headers = {"Content-Type": "application/json", **reply.headers}
            for name, value in headers.items():
                self.send_header(name, value)
            if "Content-Length" not in headers:
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server = Server(f"http://127.0.0.1:{httpd.server_port}", routes, asked)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        httpd.shutdown()
        httpd.server_close()


def local_fetcher(waits: list[float], *, allow: bool = True) -> Fetcher:
    """The real fetcher, allowed to reach the local server, recording its waits unspent."""
    guard = AddressGuard(allow=["127.0.0.0/8"] if allow else [])
    return Fetcher(guard, FetchPolicy(backoff=0.0), sleep=waits.append)
