"""A local server that answers as a Mastodon instance documents (tag timelines, account lookup
and statuses, media files), holding the statuses a test or a benchmark adds, and recording
every request: collection is measured and tested against it, since no real instance is
reachable from here. Media are read from their files when asked for, so a benchmark can post
thousands of photos without holding them in memory.

API: https://docs.joinmastodon.org/methods/timelines/#tag, /methods/accounts/#statuses
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from faceloop.workspace import Workspace, init_workspace, open_workspace


def open_to_local(root: Path) -> Workspace:
    """A fresh workspace whose collection may reach a local server on 127.0.0.1 (and only that
    address), as the tests' and benchmarks' instances are."""
    init_workspace(root).close()
    settings = root / "faceloop.toml"
    text = re.sub(
        r"^allow_networks = .*$",
        'allow_networks = ["127.0.0.1/32"]',
        settings.read_text(),
        flags=re.M,
    )
    settings.write_text(text)
    return open_workspace(root)


@dataclass
class Instance:
    url: str = ""
    statuses: list[dict] = field(default_factory=list)
    files: dict[str, Path | bytes] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)
    #: path -> (status, headers, body) answered instead, once
    once: dict[str, tuple[int, dict, bytes]] = field(default_factory=dict)
    accounts: dict[str, str] = field(default_factory=dict)
    record: bool = True

    def post(self, account: str, photos: list[Path], tag: str = "CHEERZ") -> dict:
        number = len(self.statuses) + 1
        media = []
        for i, photo in enumerate(photos):
            name = f"/media/{number}-{i}.jpg"
            self.files[name] = photo
            media.append({"id": f"m{number}{i}", "type": "image", "url": self.url + name})
        status = {
            "id": str(100000 + number),
            "url": f"{self.url}/@{account}/{100000 + number}",
            "created_at": f"2026-11-{1 + number % 28:02d}T10:00:00.000Z",
            "content": f"<p>selfie #{tag} number {number}</p>",
            "account": {
                "id": self.accounts.setdefault(account, str(len(self.accounts) + 1)),
                "acct": account,
                "display_name": account.title(),
            },
            "media_attachments": media,
            "tags": [{"name": tag.lower()}],
            "reblog": None,
        }
        self.statuses.append(status)
        return status

    def link(self, status: dict, url: str) -> None:
        """Point a status's first image at another address."""
        status["media_attachments"][0]["url"] = url


def _page(statuses: list[dict], query: dict) -> list[dict]:
    limit = int(query.get("limit", ["20"])[0])
    newest_first = sorted(statuses, key=lambda s: int(s["id"]), reverse=True)
    if "min_id" in query:
        low = int(query["min_id"][0])
        newer = [s for s in reversed(newest_first) if int(s["id"]) > low][:limit]
        return sorted(newer, key=lambda s: int(s["id"]), reverse=True)
    if "max_id" in query:
        high = int(query["max_id"][0])
        newest_first = [s for s in newest_first if int(s["id"]) < high]
    return newest_first[:limit]


@contextmanager
def mastodon() -> Iterator[Instance]:
    instance = Instance()

    class Handler(BaseHTTPRequestHandler):
        # keeps connections open between requests, as real instances do, and sends each
        # answer at once (with Nagle's algorithm a body waits 40 ms for the headers' ACK)
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def log_message(self, *args) -> None:
            pass

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            query = parse_qs(parts.query)
            if instance.record:
                instance.requests.append(self.path)
            if parts.path in instance.once:
                status, headers, body = instance.once.pop(parts.path)
                return self._send(status, body, headers)
            if parts.path in instance.files:
                media = instance.files[parts.path]
                body = media.read_bytes() if isinstance(media, Path) else media
                return self._send(200, body, {"Content-Type": "image/jpeg"})
            if parts.path.startswith("/api/v1/timelines/tag/"):
                tag = parts.path.rsplit("/", 1)[1].lower()
                found = [s for s in instance.statuses if {"name": tag} in s["tags"]]
                return self._json(_page(found, query))
            if parts.path == "/api/v1/accounts/lookup":
                acct = query["acct"][0].split("@")[0]
                if acct not in instance.accounts:
                    return self._json({"error": "Record not found"}, 404)
                return self._json({"id": instance.accounts[acct], "acct": acct})
            if parts.path.startswith("/api/v1/accounts/") and parts.path.endswith("/statuses"):
                account_id = parts.path.split("/")[4]
                found = [s for s in instance.statuses if s["account"]["id"] == account_id]
                return self._json(_page(found, query))
            self._json({"error": "not found"}, 404)

        def _json(self, value, status: int = 200) -> None:
            self._send(status, json.dumps(value).encode(), {"Content-Type": "application/json"})

        def _send(self, status: int, body: bytes, headers: dict) -> None:
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            if "Content-Length" not in headers:
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    instance.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield instance
    finally:
        server.shutdown()
        server.server_close()
