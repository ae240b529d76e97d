"""A `kill -9` of an import leaves no worker process behind: the fork server and the pool's
workers end with the process that started them."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

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
        # the fork server, its two workers and the resource tracker
        workers = wait_for(
            lambda: found if len(found := descendants(process.pid)) >= 4 else None,
            "the import's worker processes",
        )
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        wait_for(lambda: not alive(workers), f"processes {sorted(alive(workers))} to end")
    finally:
        if process.poll() is None:
            process.kill()
