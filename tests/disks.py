"""Real small disks for the fault tests: a tmpfs of a few megabytes, filled to the brim or
remounted read-only. Mounting needs root, which the tests run as (CI too); without it they fail
and say why rather than pass unseen."""

from __future__ import annotations

import errno
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

FACELOOP = str(Path(sys.executable).with_name("faceloop"))
SRC = Path(__file__).resolve().parents[1] / "src"


@contextmanager
def small_disk(where: Path, size_kb: int) -> Iterator[Path]:
    where.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size_kb}k", "tmpfs", str(where)],
        capture_output=True,
        text=True,
    )
    if done.returncode:
        pytest.fail(f"cannot mount a {size_kb} KB tmpfs at {where} (needs root): {done.stderr}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def fill(disk: Path, leave: int = 0) -> Path:
    """Fill the disk with one file, then give back `leave` bytes; returns the file (delete it
    to free the space)."""
    filler = disk / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    try:
        for chunk in (1 << 20, 1 << 16, 1 << 12, 1 << 9):
            while True:
                try:
                    os.write(fd, bytes(chunk))
                except OSError as exc:
                    if exc.errno != errno.ENOSPC:
                        raise
                    break
    finally:
        os.close(fd)
    if leave:
        os.truncate(filler, max(0, filler.stat().st_size - leave))
    return filler


def remount(disk: Path, mode: str) -> None:
    """`mode` "ro" or "rw"; every file written on the disk must be closed first."""
    subprocess.run(["mount", "-o", f"remount,{mode}", str(disk)], check=True)


def faceloop(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """The real command, as a user runs it, on this checkout's code."""
    env = dict(os.environ, PYTHONPATH=str(SRC), COLUMNS="80")
    return subprocess.run(
        [FACELOOP, *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=300
    )


def pull_database(database: Path, how: str, scratch: Path) -> None:
    """Take the database file from under whoever has it open: `deleted`, or `replaced` by a
    copy of itself (same rows, another file)."""
    if how == "deleted":
        database.unlink()
        return
    backup = scratch / "backup.db"
    with sqlite3.connect(database) as source, sqlite3.connect(backup) as copy:
        source.backup(copy)
    os.replace(backup, database)
