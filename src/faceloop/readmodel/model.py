"""One read model per workspace and process: the current snapshot, and how the next is made.

Readers take `snapshot(ws)` and read it without a lock: a snapshot never changes. Each call
costs one query of the change counters; when they moved, the next snapshot is built aside
from the current one and swapped in, and only the builders wait for each other. A full load
(the first, or after deletions) can take a second at 100,000 faces: a request that comes
while another thread does one gets the snapshot before it rather than waiting, and sees the
deletion at its next request. Incremental steps take milliseconds, so a request that comes
during one waits for it and so always sees the changes made before it was asked.
Several processes (two servers, a worker) each keep their own model, and each sees every change
through the counters in the database.
"""

from __future__ import annotations

import threading
import weakref

from sqlalchemy import Engine

from faceloop.readmodel.state import Snapshot, versions
from faceloop.workspace import Workspace


class ReadModel:
    """The snapshots of one database in this process."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.current: Snapshot | None = None
        self._building = threading.Lock()
        self._reloading = False
        #: derived objects that are followed in place from one snapshot to the next (the
        #: nearest-labelled indexes) rather than built per snapshot; `followed_lock` serialises
        #: their followers, never the readers of snapshots
        self.followed: dict = {}
        self.followed_lock = threading.Lock()

    def snapshot(self) -> Snapshot:
        """The newest snapshot: at least as new as the database was when called, unless a full
        load is under way in another thread (then the one before it)."""
        with self.engine.connect() as conn:
            seen = versions(conn)
        current = self.current
        if current is not None and current.covers(seen):
            return current
        if not self._building.acquire(blocking=False):
            if self._reloading and current is not None:
                return current
            self._building.acquire()
        try:
            current = self.current
            if current is not None and current.covers(seen):
                return current
            with self.engine.connect() as conn:
                now = versions(conn)
                if current is None or current.needs_reload(now):
                    self._reloading = current is not None
                    built = Snapshot.loaded(self.engine, conn, now, current)
                else:
                    built = current.followed(conn, now)
            built.model = self
            self.current = built
            return built
        finally:
            self._reloading = False
            self._building.release()


_models: weakref.WeakKeyDictionary[Engine, ReadModel] = weakref.WeakKeyDictionary()
_models_lock = threading.Lock()


def read_model(engine: Engine) -> ReadModel:
    """This process's read model of the database behind `engine`."""
    with _models_lock:
        model = _models.get(engine)
        if model is None:
            model = _models[engine] = ReadModel(engine)
    return model


def snapshot(ws: Workspace) -> Snapshot:
    """The workspace's current snapshot: call it once per request and read only it."""
    return read_model(ws.engine).snapshot()
