"""What goes wrong with the ground a workspace stands on, as errors that say what to do.

A full disk, a file system mounted read-only and a database file deleted or replaced under a
running faceloop are not bugs and not bad input: the command or request cannot finish, nothing
half-made is kept, and the person has to act (free space, remount, restart). Each becomes one
exception with a one-line message, raised from wherever the operating system or SQLite noticed
(a blob write, a commit, the check at each checkout), so the command line and the web app can
say so plainly instead of printing a traceback or answering 500.
"""

from __future__ import annotations

import errno
import os
import sqlite3
from pathlib import Path


class WorkspaceError(Exception):
    """The workspace is missing or unusable; the message tells the user what to do."""


class DiskFull(WorkspaceError):
    """No space left where the workspace (or an export) writes; nothing half-written was kept."""


class ReadOnlyWorkspace(WorkspaceError):
    """The workspace's file system refuses writes (mounted read-only)."""


class DatabaseReplaced(WorkspaceError):
    """The database file at the workspace's path is no longer the one faceloop opened."""


#: errno values that mean "no room", whatever the file system calls it
NO_SPACE = (errno.ENOSPC, errno.EDQUOT)


def disk_full(where: Path | str, detail: object = None) -> DiskFull:
    said = f" ({detail})" if detail else ""
    return DiskFull(
        f"the disk is full: nothing more fits in {where}{said}; free some space and run it "
        "again (nothing half-written was kept)"
    )


def read_only(root: Path | str, detail: object = None) -> ReadOnlyWorkspace:
    said = f": {detail}" if detail else ": its file system is mounted read-only"
    return ReadOnlyWorkspace(
        f"the workspace {root} is read-only{said}; remount it read-write to change it "
        "(status and export still read it)"
    )


def database_replaced(path: Path | str) -> DatabaseReplaced:
    return DatabaseReplaced(
        f"the database file {path} was deleted or replaced while faceloop was running; "
        "restart faceloop (nothing more was written to the old file)"
    )


def from_os_error(exc: OSError, where: Path | str) -> WorkspaceError | None:
    """The fault an OSError stands for (full disk, read-only file system), or None when it is
    about one file rather than the ground under the workspace."""
    if exc.errno in NO_SPACE:
        return disk_full(where, exc.strerror)
    if exc.errno == errno.EROFS:
        return read_only(where, exc.strerror)
    return None


def from_sqlite_error(exc: BaseException, root: Path | str) -> WorkspaceError | None:
    """The fault a DB-API error stands for: SQLite says SQLITE_FULL when a write does not fit
    and SQLITE_READONLY when the file (or its folder) refuses writes."""
    if not isinstance(exc, sqlite3.Error):
        return None
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        code &= 0xFF
    if code == sqlite3.SQLITE_FULL:
        return disk_full(root, "the database could not grow")
    if code == sqlite3.SQLITE_READONLY:
        return read_only(root, "the database refuses writes")
    return None


def is_read_only(path: Path) -> bool:
    """Whether the file system holding `path` is mounted read-only. A permission check is no
    answer: root may write anywhere the mount allows, and may not where it does not."""
    try:
        return bool(os.statvfs(path).f_flag & os.ST_RDONLY)
    except OSError:
        return False
