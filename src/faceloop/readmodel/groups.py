"""What the groups pages read, kept in step with the group tables and the labels.

A workspace of a hundred thousand faces has about a thousand groups holding fifty thousand
faces. Reading the members from the database takes about half a second and the statistics of
every group (the means and spreads merge suggestions compare) a fifth of one, so rebuilding
them at each change made the page after every label wait a second. Both follow the changes
instead, and come out as a full rebuild would (tests/review/test_groups.py checks):

- `load_tables` (kept on the snapshot, read again when the groups counter of `change_version`
  moved): the group rows (a thousand) and the members of only the groups whose `updated_at`
  moved, since every write that changes a group's members also touches the group (a run,
  naming, "not the same person", split, merge). A member count that disagrees with the
  database (faces deleted: their memberships go with them) reloads every member.
- `current` (kept on the snapshot): each member's position in it and whether it is still
  unlabelled, and per group the count, mean and spread of the unlabelled members and their
  order from the centre. Recomputed only for the groups whose members changed or whose faces
  were labelled or unlabelled since the last view, found by comparing each member's flag with
  that view's; a new run (another space) or a full load of the snapshot recomputes everything.
"""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass, field

import numpy as np

from faceloop.cluster.stats import group_stats
from faceloop.readmodel.group_space import Projected, Space, load_space, projected
from faceloop.readmodel.model import snapshot
from faceloop.readmodel.state import KINDS, UNLABELLED, Snapshot
from faceloop.workspace import Workspace

OPEN, LABELLED, REJECTED = "open", "labelled", "rejected"
#: when more groups than this share changed, all members are read at once (after a run)
RELOAD_SHARE = 0.25
#: group ids per IN (...) list
CHUNK = 500


class GroupNotFound(LookupError):
    """No group with that id (the web layer answers 404)."""


@dataclass(frozen=True)
class Tables:
    """The group tables at one moment."""

    #: the groups counter of `change_version` they were read at (or after)
    mark: int
    ids: np.ndarray
    open: np.ndarray
    rejected: np.ndarray
    suggested: np.ndarray
    suggested_distance: np.ndarray
    #: each group's `updated_at` as stored: a group whose stamp is unchanged kept its members
    stamps: tuple
    #: each group's member face ids, ascending (the same array object while unchanged)
    members: tuple
    #: a number given to each group's members when they are read: equal numbers, same members
    versions: np.ndarray
    #: the members of every group in group order, and where each group starts
    faces: np.ndarray
    starts: np.ndarray

    def index(self, group_id: int) -> int:
        i = int(np.searchsorted(self.ids, group_id))
        if i >= len(self.ids) or self.ids[i] != group_id:
            raise GroupNotFound(f"no group {group_id}")
        return i


@dataclass(frozen=True)
class GroupView:
    """Groups and labels at one moment, as the reading functions need them."""

    tables: Tables
    space: Space
    projected: Projected
    #: (state generation, faces in the state, labels version) it was built at
    key: tuple
    #: per member: position in the snapshot (-1: the face is gone), still unlabelled
    pos: np.ndarray
    open_member: np.ndarray
    #: per group: unlabelled members, their mean and spread in the space (zero when none)
    counts: np.ndarray
    means: np.ndarray
    spreads: np.ndarray
    #: group id -> (face ids, positions, distances to the centre) of its unlabelled members,
    #: most central first; filled as groups are read (guarded by `_lock`)
    orders: dict = field(default_factory=dict)


_MEMBER_COUNT = "SELECT count(*) FROM face_group_member"
_ROWS = (
    "SELECT id, status, suggested_person_id, suggested_distance, updated_at FROM face_group"
    " ORDER BY id"
)
#: guards the `orders` a view fills as it is read
_lock = threading.Lock()
_EMPTY = np.zeros(0, dtype=np.int64)
_EMPTY.setflags(write=False)
_versions = itertools.count(1)


# ------------------------------------------------------------------ the tables


def load_tables(ws: Workspace, state: Snapshot | None = None) -> Tables:
    """The group tables at the snapshot's version (the current one when none is given),
    re-reading only what changed since the tables of the snapshot before it."""
    state = snapshot(ws) if state is None else state
    mark = state.version[KINDS.index("groups")]
    cached = state.cache.get("group-tables")
    if cached is not None and cached.mark == mark:
        return cached
    with ws.engine.connect() as conn:
        (expected,) = _fetch(conn, [_MEMBER_COUNT])[0]
        rows = _fetch(conn, [_ROWS])
        members, versions = _changed_members(conn, rows, cached, int(expected or 0))
    ids = np.array([r[0] for r in rows], dtype=np.int64)
    sizes = np.array([len(m) for m in members], dtype=np.int64)
    tables = Tables(
        mark=mark,
        ids=ids,
        open=np.array([r[1] == OPEN for r in rows], dtype=bool),
        rejected=np.array([r[1] == REJECTED for r in rows], dtype=bool),
        suggested=np.array([r[2] or 0 for r in rows], dtype=np.int64),
        suggested_distance=np.array(
            [np.nan if r[3] is None else r[3] for r in rows], dtype=np.float64
        ),
        stamps=tuple(r[4] for r in rows),
        members=tuple(members),
        versions=versions,
        faces=np.concatenate([_EMPTY, *members]),
        starts=np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64),
    )
    state.cache["group-tables"] = tables
    return tables


def _changed_members(
    conn, rows: list, cached: Tables | None, expected: int
) -> tuple[list[np.ndarray], np.ndarray]:
    """Each group's members and their version: kept from `cached` where the group's stamp did
    not move, read for the others; everything read again when the total disagrees with
    `expected`."""
    known: dict[int, int] = {}
    if cached is not None:
        known = {gid: j for j, gid in enumerate(cached.ids.tolist())}
    stale = [r[0] for r in rows if r[0] not in known or cached.stamps[known[r[0]]] != r[4]]
    if cached is not None and len(stale) <= RELOAD_SHARE * len(rows):
        found = _members_of(conn, stale)
        fresh = set(stale)
        members, versions = [], []
        for r in rows:
            if r[0] in fresh:
                members.append(found.get(r[0], _EMPTY))
                versions.append(next(_versions))
            else:
                members.append(cached.members[known[r[0]]])
                versions.append(int(cached.versions[known[r[0]]]))
        if sum(len(m) for m in members) == expected:
            return members, np.array(versions, dtype=np.int64)
    found = _members_of(conn, None)
    members = [found.get(r[0], _EMPTY) for r in rows]
    return members, np.array([next(_versions) for _ in rows], dtype=np.int64)


def _members_of(conn, group_ids: list[int] | None) -> dict[int, np.ndarray]:
    """Member face ids (ascending) of these groups, or of every group."""
    queries: list = ["SELECT group_id, face_id FROM face_group_member"]
    if group_ids is not None:
        queries = []
        for start in range(0, len(group_ids), CHUNK):
            chunk = [int(g) for g in group_ids[start : start + CHUNK]]
            marks = ",".join("?" * len(chunk))
            queries.append(
                (
                    f"SELECT group_id, face_id FROM face_group_member WHERE group_id IN ({marks})",
                    chunk,
                )
            )
    pairs = _fetch(conn, queries)
    if not pairs:
        return {}
    flat = np.array(pairs, dtype=np.int64).reshape(len(pairs), 2)
    flat = flat[np.lexsort((flat[:, 1], flat[:, 0]))]
    groups, starts = np.unique(flat[:, 0], return_index=True)
    found = {}
    for gid, faces in zip(groups.tolist(), np.split(flat[:, 1], starts[1:]), strict=True):
        faces = faces.copy()
        faces.setflags(write=False)
        found[gid] = faces
    return found


def _fetch(conn, queries: list) -> list:
    """The rows of these queries (each a string, or a string and its parameters), through the
    driver's own cursor: fifty thousand rows come out several times faster than as SQLAlchemy
    rows."""
    rows: list = []
    cursor = conn.connection.dbapi_connection.cursor()
    try:
        for query in queries:
            if isinstance(query, tuple):
                cursor.execute(*query)
            else:
                cursor.execute(query)
            rows.extend(cursor.fetchall())
    finally:
        cursor.close()
    return rows


# ------------------------------------------------------------------ the view


def current(ws: Workspace, state: Snapshot) -> GroupView:
    """The groups as the pages show them now: follows the tables, the labels and the space."""
    tables = load_tables(ws, state)
    space = load_space(ws)
    key = (state.generation, len(state.face_ids), state.labels_version)
    old = state.cache.get("group-view")
    if old is not None and old.tables is tables and old.space.mark == space.mark and old.key == key:
        return old
    view = _follow(old, tables, space, projected(state, space), state, key)
    state.cache["group-view"] = view
    return view


def _positions(state: Snapshot, face_ids: np.ndarray) -> np.ndarray:
    """Position of each face in the snapshot, -1 for faces no longer there."""
    if len(state.face_ids) == 0:
        return np.full(len(face_ids), -1, dtype=np.int64)
    pos = np.minimum(np.searchsorted(state.face_ids, face_ids), len(state.face_ids) - 1)
    return np.where(state.face_ids[pos] == face_ids, pos, -1)


def _follow(
    old: GroupView | None,
    tables: Tables,
    space: Space,
    found: Projected,
    state: Snapshot,
    key: tuple,
) -> GroupView:
    """The view at `key`, reusing from `old` what the changes since did not touch."""
    n = len(tables.ids)
    group_of = np.repeat(np.arange(n), np.diff(tables.starts))
    before = _before(old, tables, key)
    # members of groups that were in the last view, and where they were there
    carried = np.flatnonzero(before[group_of] >= 0)
    pos = np.full(len(tables.faces), -1, dtype=np.int64)
    if len(carried):
        g = group_of[carried]
        was = old.tables.starts[before[g]] + carried - tables.starts[g]
        pos[carried] = old.pos[was]
    # faces are only appended within a generation: a carried position stays right, and a
    # member missing from the state may have arrived since
    look = (pos < 0) if old is None or old.key[1] != key[1] else (before[group_of] < 0)
    pos[look] = _positions(state, tables.faces[look])
    open_member = pos >= 0
    open_member[open_member] = state.verdict[pos[open_member]] == UNLABELLED
    counts = np.bincount(group_of[open_member], minlength=n).astype(np.int64)

    # groups whose statistics hold: carried, same space, no member labelled or unlabelled since
    same = before >= 0
    if old is not None and old.space.mark != space.mark:
        same[:] = False
    if len(carried):
        differs = carried[old.open_member[was] != open_member[carried]]
        same &= np.bincount(group_of[differs], minlength=n) == 0

    means = np.zeros((n, found.vectors.shape[1]))
    spreads = np.zeros(n)
    if same.any():
        means[same] = old.means[before[same]]
        spreads[same] = old.spreads[before[same]]
    redo = np.flatnonzero(~same & (counts > 0))
    if len(redo):
        pieces = [
            pos[tables.starts[i] : tables.starts[i + 1]][
                open_member[tables.starts[i] : tables.starts[i + 1]]
            ]
            for i in redo.tolist()
        ]
        means[redo], spreads[redo], _ = group_stats(found.vectors, pieces)
    orders = {}
    if same.any():
        kept = set(tables.ids[same].tolist())
        with _lock:
            orders = {gid: order for gid, order in old.orders.items() if gid in kept}
    for array in (pos, open_member, counts, means, spreads):
        array.setflags(write=False)
    return GroupView(tables, space, found, key, pos, open_member, counts, means, spreads, orders)


def _before(old: GroupView | None, tables: Tables, key: tuple) -> np.ndarray:
    """For each group, its index in `old` when its members are the ones read there (same
    version) and the state was not reloaded since (positions hold); else -1."""
    n = len(tables.ids)
    if old is None or old.key[0] != key[0] or len(old.tables.ids) == 0:
        return np.full(n, -1, dtype=np.int64)
    if old.tables is tables:
        return np.arange(n, dtype=np.int64)
    j = np.minimum(np.searchsorted(old.tables.ids, tables.ids), len(old.tables.ids) - 1)
    same = (old.tables.ids[j] == tables.ids) & (old.tables.versions[j] == tables.versions)
    return np.where(same, j, -1)


def open_faces(view: GroupView, i: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(face ids, positions in the state, distances to their centre) of a group's unlabelled
    faces, most central first. The arrays are shared: read them, do not change them."""
    gid = int(view.tables.ids[i])
    with _lock:
        cached = view.orders.get(gid)
    if cached is not None:
        return cached
    lo, hi = view.tables.starts[i], view.tables.starts[i + 1]
    keep = view.open_member[lo:hi]
    faces = view.tables.faces[lo:hi][keep]
    pos = view.pos[lo:hi][keep]
    if len(faces) == 0:
        found = (faces, pos, np.zeros(0))
    else:
        x = view.projected.vectors[pos].astype(np.float64)
        distance = np.linalg.norm(x - x.mean(axis=0), axis=1)
        order = np.argsort(distance, kind="stable")
        found = (faces[order], pos[order], distance[order])
    for array in found:
        array.setflags(write=False)
    with _lock:
        view.orders[gid] = found
    return found


def group_status(view: GroupView, i: int) -> str:
    if view.tables.rejected[i]:
        return REJECTED
    if view.counts[i] == 0:
        return LABELLED
    return OPEN
