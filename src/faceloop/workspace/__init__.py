"""A workspace is a folder: `faceloop.toml`, the SQLite database, `blobs/` and `models/`.

Opening one migrates its database in place, so a workspace made by an older faceloop just works.

Its sessions run follow-ups after a commit: code that makes a kind of change says so with
`note_change(session, kind)`, and a stage above it registers what follows with
`after_change(kind, follow_up)`. So the decision log starts re-grouping and retraining without
knowing those stages, whichever page, command or script made the decisions, and only once the
decisions are safely stored.

The ground under a workspace can give way while it is in use: the disk fills, the mount turns
read-only, someone deletes or replaces the database file. Each becomes a `WorkspaceError` with
a one-line message (see `faults`): SQLite's errors are translated as they are raised, and every
connection taken from the pool first checks that the file at the database's path is still the
one opened, so writes never go on into a deleted file whose contents vanish at the next start.
A workspace on a read-only mount opens for reading only, when the command asks for no more.
"""

from __future__ import annotations

import fcntl
import importlib
import logging
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from sqlalchemy import Engine, event, select
from sqlalchemy.engine import URL, ExceptionContext
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from faceloop.db import connect, session_factory, upgrade
from faceloop.db.migrate import current_revision, head_revision
from faceloop.db.models import User
from faceloop.db.upsert import serialize
from faceloop.workspace.blobs import BlobStore
from faceloop.workspace.config import (
    DATABASE_FILE,
    SETTINGS_FILE,
    TEMPLATE,
    Settings,
    SettingsError,
)
from faceloop.workspace.faults import (
    DatabaseReplaced,
    DiskFull,
    ReadOnlyWorkspace,
    WorkspaceError,
    database_replaced,
    from_os_error,
    from_sqlite_error,
    is_read_only,
    read_only,
)

__all__ = [
    "DatabaseReplaced",
    "DiskFull",
    "ReadOnlyWorkspace",
    "Workspace",
    "WorkspaceError",
    "after_change",
    "forget_follow_up",
    "init_workspace",
    "note_change",
    "open_workspace",
    "resolve",
]

ENV_VAR = "FACELOOP_WORKSPACE"
OWNER = "owner"
#: `session.info` key: the kinds of change the session's transaction made
CHANGES = "faceloop.changes"

log = logging.getLogger(__name__)

FollowUp = Callable[["Workspace"], object]
_follow_ups: dict[str, list[FollowUp]] = {}
#: the modules that register the follow-ups every workspace runs (re-grouping, retraining),
#: named here and imported at the first commit that notes a change: a decision made through
#: the library alone starts them as one made on a page does, and this layer imports nothing
#: above it
FOLLOW_UP_MODULES = ("faceloop.grouping.job", "faceloop.learning.job")


@dataclass
class Workspace:
    root: Path
    settings: Settings
    engine: Engine
    session_factory: sessionmaker[Session]
    blobs: BlobStore
    #: opened on a read-only mount for a command that only reads: every write is refused
    read_only: bool = False
    #: keeps the opened database file's inode alive, so a new file can never pass for it
    database_watch: DatabaseWatch | None = field(default=None, repr=False)

    @property
    def models_dir(self) -> Path:
        return self.root / "models"

    @property
    def reports_dir(self) -> Path:
        return self.root / "reports"

    @property
    def locks_dir(self) -> Path:
        return self.root / "locks"

    @contextmanager
    def transaction(self, *, serialized: bool = False) -> Iterator[Session]:
        """A session whose writes commit together when the block ends normally and roll back
        otherwise: a half-made change never reaches the database. `serialized` for a block that
        decides what to write from what it reads, when another process may be deciding the
        same (two imports of one photo): such blocks run one at a time."""
        with self.session_factory() as session, session.begin():
            if serialized:
                serialize(session)
            yield session

    def reader(self) -> Session:
        """A session for reading (`with ws.reader() as session:`). It never commits, so what
        is written through it is lost: write in `transaction()`."""
        return self.session_factory()

    def owner_id(self) -> int:
        with self.reader() as session:
            return session.scalar(select(User.id).where(User.name == OWNER))

    def close(self) -> None:
        self.engine.dispose()
        if self.database_watch is not None:
            self.database_watch.close()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def resolve(path: str | os.PathLike[str] | None) -> Path:
    """The workspace a command means: `--workspace`, else $FACELOOP_WORKSPACE, else here."""
    if path:
        return Path(path).expanduser().absolute()
    if os.environ.get(ENV_VAR):
        return Path(os.environ[ENV_VAR]).expanduser().absolute()
    return Path.cwd()


def init_workspace(path: str | os.PathLike[str]) -> Workspace:
    """Create a workspace (or complete a half-made one); an existing one is left as it is."""
    root = Path(path).expanduser().absolute()
    if root.exists() and not root.is_dir():
        raise WorkspaceError(f"{root} exists and is not a folder")
    try:
        root.mkdir(parents=True, exist_ok=True)
        settings_file = root / SETTINGS_FILE
        if not settings_file.exists():
            settings_file.write_text(TEMPLATE, encoding="utf-8")
        for name in ("blobs", "models", "reports", "locks"):
            (root / name).mkdir(exist_ok=True)
    except OSError as exc:
        fault = from_os_error(exc, root)
        raise (fault or WorkspaceError(f"cannot create a workspace at {root}: {exc}")) from exc
    return open_workspace(root)


def open_workspace(
    path: str | os.PathLike[str] | None = None, *, read_only_ok: bool = False
) -> Workspace:
    """Open a workspace, migrating its database. On a read-only mount nothing can be migrated
    or written: a caller that only reads says `read_only_ok=True` and gets the workspace as it
    is (read-only); any other caller is refused with `ReadOnlyWorkspace` before it starts, not
    halfway through its work."""
    root = resolve(path)
    settings_file = root / SETTINGS_FILE
    if not settings_file.is_file():
        raise WorkspaceError(
            f"no faceloop workspace at {root} (no {SETTINGS_FILE}). Create one with "
            f"`faceloop init {root}`, or point to one with --workspace or ${ENV_VAR}."
        )
    try:
        settings = Settings.load(settings_file)
    except SettingsError as exc:
        raise WorkspaceError(str(exc)) from exc
    if is_read_only(root):
        if not read_only_ok:
            raise read_only(root)
        return _open_read_only(root, settings)
    database = root / DATABASE_FILE
    engine = connect(f"sqlite:///{database}")
    _translate_faults(engine, root)
    try:
        with _file_lock(root / "locks" / "migrate.lock"):
            upgrade(engine)
        sessions = session_factory(engine)
        _ensure_owner(sessions)
        for name in ("blobs", "models", "reports", "locks"):
            (root / name).mkdir(exist_ok=True)
        watch = DatabaseWatch(database)
        event.listen(engine, "checkout", watch.check)
    except WorkspaceError:
        engine.dispose()
        raise
    except SQLAlchemyError as exc:
        engine.dispose()
        raise WorkspaceError(f"the database of {root} cannot be used: {exc}") from exc
    except OSError as exc:
        engine.dispose()
        fault = from_os_error(exc, root)
        if fault is not None:
            raise fault from exc
        raise WorkspaceError(f"the workspace {root} cannot be used: {exc}") from exc
    ws = Workspace(
        root, settings, engine, sessions, BlobStore(root / "blobs"), database_watch=watch
    )
    _follow_changes(ws)
    return ws


def _open_read_only(root: Path, settings: Settings) -> Workspace:
    """The workspace on a read-only mount, its database opened read-only. SQLite cannot open
    a WAL database read-only without its shared-memory file, which nobody can create here; a
    database closed cleanly has no WAL content, so it is opened as immutable, while one left
    with a WAL (a faceloop that was killed) is opened through the WAL files it left, so the
    last commits are not missed."""
    database = root / DATABASE_FILE
    if not database.is_file():
        raise read_only(root, "it has no database yet and none can be created")
    query = {"mode": "ro", "uri": "true"}
    wal = database.with_name(database.name + "-wal")
    if not (wal.exists() and wal.stat().st_size):
        query["immutable"] = "1"
    url = URL.create("sqlite", database=f"file:{quote(str(database))}", query=query)
    engine = connect(url.render_as_string(hide_password=False))
    _translate_faults(engine, root)
    try:
        if current_revision(engine) != head_revision():
            raise read_only(root, "its database needs an upgrade, which cannot be written")
    except WorkspaceError:
        engine.dispose()
        raise
    except SQLAlchemyError as exc:
        engine.dispose()
        raise WorkspaceError(f"the database of {root} cannot be read: {exc}") from exc
    return Workspace(
        root, settings, engine, session_factory(engine), BlobStore(root / "blobs"), read_only=True
    )


def _translate_faults(engine: Engine, root: Path) -> None:
    """SQLite's "database or disk is full" and "attempt to write a readonly database" become
    `DiskFull` and `ReadOnlyWorkspace`, wherever the statement or commit ran."""

    def translate(context: ExceptionContext) -> BaseException | None:
        return from_sqlite_error(context.original_exception, root)

    event.listen(engine, "handle_error", translate)


class DatabaseWatch:
    """Refuses every connection once the file at the database's path is not the one opened.

    SQLite keeps reading and writing the file it opened: deleted, it lives on unseen until the
    last connection closes, and whatever was decided meanwhile is gone at the next start;
    replaced (a backup moved over it), the new file is ignored by the old connections and
    mixed with them by new ones. A `stat` of the path at each checkout (microseconds) against
    a descriptor held open on the file sees both: the descriptor keeps the old inode alive,
    so a new file can never be given its number and pass for it."""

    def __init__(self, database: Path) -> None:
        self.database = database
        self._fd: int | None = os.open(database, os.O_RDONLY)

    def check(self, *_checkout: object) -> None:
        if self._fd is None:
            return
        opened = os.fstat(self._fd)
        try:
            now = self.database.stat()
        except FileNotFoundError:
            raise database_replaced(self.database) from None
        if (now.st_dev, now.st_ino) != (opened.st_dev, opened.st_ino):
            raise database_replaced(self.database)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def note_change(session: Session, kind: str) -> None:
    """Record that this session's transaction made a change of this kind: the follow-ups
    registered for it run once the transaction commits (not if it rolls back)."""
    session.info.setdefault(CHANGES, set()).add(kind)


def after_change(kind: str, follow_up: FollowUp) -> FollowUp:
    """Run `follow_up(ws)` after every commit that made a change of this kind, in every
    workspace. It runs outside the transaction, in the committing thread; what it raises is
    logged and goes no further, since the change is stored either way."""
    registered = _follow_ups.setdefault(kind, [])
    if follow_up not in registered:
        registered.append(follow_up)
    return follow_up


def forget_follow_up(kind: str, follow_up: FollowUp) -> None:
    """No longer run `follow_up` after changes of this kind."""
    registered = _follow_ups.get(kind, [])
    if follow_up in registered:
        registered.remove(follow_up)


def _follow_changes(ws: Workspace) -> None:
    """Install the listeners that run the follow-ups of the changes each commit made."""

    def committed(session: Session) -> None:
        changes = session.info.pop(CHANGES, ())
        if changes:
            _load_follow_ups()
        for kind in sorted(changes):
            for follow_up in list(_follow_ups.get(kind, ())):
                try:
                    follow_up(ws)
                except Exception:
                    log.exception("what follows a change of %s failed", kind)

    def rolled_back(session: Session) -> None:
        session.info.pop(CHANGES, None)

    event.listen(ws.session_factory, "after_commit", committed)
    event.listen(ws.session_factory, "after_rollback", rolled_back)


def _load_follow_ups() -> None:
    for name in FOLLOW_UP_MODULES:
        importlib.import_module(name)


@contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """Two processes opening a new workspace at once must not both create its tables."""
    path.parent.mkdir(exist_ok=True)
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def _ensure_owner(sessions: sessionmaker[Session]) -> None:
    """Single-user mode has one implicit owner, so every decision still records who made it."""
    with sessions() as session, session.begin():
        if session.scalar(select(User.id).where(User.name == OWNER)) is None:
            session.add(User(name=OWNER, role="owner"))
