"""What the browser tests share: a real `faceloop serve` on a free port, and Debian's chromium
driven by Playwright (the `browser` and `page` fixtures are in conftest.py)."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
FACELOOP = str(Path(sys.executable).with_name("faceloop"))
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Server:
    def __init__(self, base: str, root: Path) -> None:
        self.base = base
        self.root = root

    def api(self, method: str, path: str, body: dict | None = None) -> dict:
        """A script's request: no cookie, so no CSRF token is needed."""
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            self.base + "/api/v1" + path,
            data=data,
            method=method,
            headers={"Content-Type": "application/json"} if data else {},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read() or b"null")


@contextmanager
def serving(root: Path, *options: str) -> Iterator[Server]:
    """`faceloop serve` on this workspace until the block ends; its log in root/serve.log."""
    port = free_port()
    with open(root / "serve.log", "w") as log:
        process = subprocess.Popen(
            [FACELOOP, "serve", "--workspace", str(root), "--port", str(port), *options],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(base + "/api/v1/health", timeout=2).read()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    process.kill()
                    raise AssertionError((root / "serve.log").read_text()) from None
                time.sleep(0.2)
        try:
            yield Server(base, root)
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def confirm_unit(page) -> dict | None:
    """What the confirm page shows now: its source and person, the cursor, the faces (and each
    item's own person, for a mixed page) and the faces still chosen; None when nothing is."""
    return page.evaluate(
        "() => { const c = window.faceloopConfirm.current;"
        " return c && {source: c.source, person_id: c.person_id, cursor: c.cursor,"
        " faces: c.items.map((i) => i.face_id),"
        " items: c.items.map((i) => ({face_id: i.face_id, person_id: i.person_id,"
        " person_name: i.person_name})), selected: [...c.selected]}; }"
    )
