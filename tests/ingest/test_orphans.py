"""A `kill -9` of an import leaves no worker process behind: the fork server and the pool's
workers end with the process that started them."""

from __future__ import annotations

import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx

from faceloop.workspace import init_workspace
from tests.conftest import DATA, needs_data

FACELOOP = str(Path(sys.executable).with_name("faceloop"))
DEADLINE = 60.0


def children() -> dict[int, int]:
    """Every live process's parent, read from /proc."""
    parents = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z":
            parents[int(entry.name)] = int(fields[1])
    return parents


def descendants(pid: int) -> set[int]:
    parents = children()
    found, frontier = set(), {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def alive(pids: set[int]) -> set[int]:
    return pids & set(children())


def stored_photos(database: Path) -> int:
    """Photos stored so far: once there are some, the workers are up and working."""
    try:
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=5) as db:
            return db.execute("SELECT count(*) FROM image").fetchone()[0]
    except sqlite3.Error:
        return 0


def wait_for(condition, what: str):
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"gave up waiting for {what}")


def kill_and_watch(process: subprocess.Popen) -> None:
    """kill -9 a busy command and wait for every process it started to end with it."""
    # the fork server, its two workers and the resource tracker
    workers = wait_for(
        lambda: found if len(found := descendants(process.pid)) >= 4 else None,
        "the worker processes",
    )
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    wait_for(lambda: not alive(workers), f"processes {sorted(alive(workers))} to end")


@needs_data
def test_killing_an_import_ends_its_workers(tmp_path: Path) -> None:
    init_workspace(tmp_path / "ws").close()
    process = subprocess.Popen(
        [
            FACELOOP,
            "import",
            "--recursive",
            str(DATA / "lfw-devtrain"),
            "--workers",
            "2",
            "--workspace",
            str(tmp_path / "ws"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        database = tmp_path / "ws" / "faceloop.db"
        wait_for(lambda: stored_photos(database) > 0, "the workers' first photos")
        kill_and_watch(process)
    finally:
        if process.poll() is None:
            process.kill()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@needs_data
def test_killing_the_server_during_an_upload_ends_its_workers(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    init_workspace(root).close()
    settings = root / "faceloop.toml"
    settings.write_text(re.sub(r"^workers = .*$", "workers = 2", settings.read_text(), flags=re.M))
    port = free_port()
    url = f"http://127.0.0.1:{port}/api/v1"
    process = subprocess.Popen(
        [FACELOOP, "serve", "--port", str(port), "--workspace", str(root)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(lambda: _answers(f"{url}/health"), "the server")
        upload = httpx.post(f"{url}/uploads").json()["upload_id"]
        photos = sorted((DATA / "lfw-devtrain").glob("*/*.jpg"))[:150]
        sent = [("files", (p.name, p.read_bytes(), "image/jpeg")) for p in photos]
        assert httpx.post(f"{url}/uploads/{upload}/files", files=sent, timeout=60).is_success
        started = httpx.post(f"{url}/uploads/{upload}/import", json={"by_folder": False})
        assert started.status_code == 202, started.text
        wait_for(lambda: stored_photos(root / "faceloop.db") > 0, "the workers' first photos")
        kill_and_watch(process)
    finally:
        if process.poll() is None:
            process.kill()


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False
