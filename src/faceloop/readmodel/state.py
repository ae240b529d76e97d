"""Faces, labels and people in memory, as immutable snapshots of the database.

The label page asks for the next face after every keypress, suggestions compare a face with
every person, and the person page sorts a person's faces by distance. Over a hundred thousand
faces each would cost SQL hundreds of milliseconds. So faces and labels are loaded once per
process (about a second at 100,000 faces) into a `Snapshot`, and each change makes the next
snapshot from the last by reading only what changed, found by ids above the last ones it saw.
What changed is told by the `change_version` counters that triggers keep (migration 0005): the
work of any process (an import, the CLI, a worker) shows at the next request, and rows deleted
or changed in place (a person forgotten) make a full load. `faceloop.readmodel.model` publishes
the snapshots.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
from sqlalchemy import Engine, bindparam, text

from faceloop.db.models import merge_roots, undone_ids
from faceloop.options import UNDO, FaceVerdict

EMBEDDING_SIZE = 128
UNLABELLED, LABEL_PERSON, LABEL_NOT_FACE, LABEL_UNKNOWN = 0, 1, 2, 3
VERDICT_CODES = {
    FaceVerdict.PERSON: LABEL_PERSON,
    FaceVerdict.NOT_FACE: LABEL_NOT_FACE,
    FaceVerdict.UNKNOWN: LABEL_UNKNOWN,
}
CODE_VERDICTS = {code: verdict for verdict, code in VERDICT_CODES.items()}
#: the kinds of change counted in `change_version` (migration 0005), in snapshot order
KINDS = ("faces", "decisions", "labels", "removed", "people", "predictions", "groups")
#: ids per IN (...) list
CHUNK = 500
#: derived objects a full load keeps: their validity does not hang on face positions (the
#: group tables check their own stamps)
SURVIVE_RELOAD = ("group-tables",)

VERSIONS = text("SELECT kind, version FROM change_version")
_PREDICTION_MARK = text("SELECT max(model_id) FROM prediction")
_LABELS_OF = text(
    "SELECT face_id, verdict, person_id FROM face_label WHERE face_id IN :ids"
).bindparams(bindparam("ids", expanding=True))
_DECISIONS_OF = text(
    "SELECT id, face_id, verdict, undoes_id, user_id, person_id FROM decision"
    " WHERE face_id IN :ids ORDER BY id"
).bindparams(bindparam("ids", expanding=True))


def versions(conn) -> tuple[int, ...]:
    """The change counters now, in `KINDS` order: one query on a table of seven rows."""
    found = dict(conn.execute(VERSIONS).all())
    return tuple(int(found.get(kind, 0)) for kind in KINDS)


@dataclass(frozen=True)
class PersonRecord:
    id: int
    name: str
    hidden: bool
    merged_into: int | None
    aliases: tuple[str, ...]
    tags: tuple[str, ...]


@dataclass(frozen=True)
class Centroids:
    """Mean embedding of each person (merges resolved) with at least one labelled face."""

    person_ids: np.ndarray
    means: np.ndarray
    counts: np.ndarray
    by_person: dict[int, int]


class Snapshot:
    """Faces, labels and people at one version of the database; never changed once published.

    Take one with `faceloop.readmodel.snapshot(ws)` and read it without any lock. The next
    snapshot is built aside from this one (`followed`): arrays that change are copied, those
    that do not are shared, so following a decision costs a copy of two label arrays, not a
    reload. `cache` holds what is derived from it (the name index, the group view, projected
    embeddings...), each entry stored with the versions it was built from: a new snapshot starts
    with its predecessor's entries and keeps those still valid, so one version covers all.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        #: the `ReadModel` that published it, whose `followed` objects its readers share
        self.model = None
        #: the change counters (`versions`) this snapshot reflects at least
        self.version: tuple[int, ...] = ()
        self.people_version = 0
        self.labels_version = 0
        #: derived objects keyed by name, each stored with the version it was built from;
        #: filled lazily by readers (a lost race only computes an entry twice)
        self.cache: dict = {}
        #: bumped whenever the face arrays are rebuilt from scratch. Between rebuilds faces are
        #: only appended, so a face keeps its position: caches indexed by position (projected
        #: embeddings, nearest labelled faces) stay valid for one generation and only grow
        self.generation = 0
        self._reset()

    def _reset(self) -> None:
        self.generation += 1
        self.cache = {}
        self.face_ids = np.zeros(0, dtype=np.int64)
        self.image_ids = np.zeros(0, dtype=np.int64)
        self.boxes = np.zeros((0, 4), dtype=np.int32)
        self.by_image = np.zeros(0, dtype=np.int64)
        self.image_sorted = np.zeros(0, dtype=np.int64)
        self.embeddings = np.zeros((0, EMBEDDING_SIZE), dtype=np.float32)
        self.verdict = np.zeros(0, dtype=np.int8)
        self.person = np.zeros(0, dtype=np.int64)
        self.single = np.zeros(0, dtype=bool)
        self.order = np.zeros(0, dtype=np.int64)
        self.skips: dict[int, dict[int, int]] = {}
        #: for each face, the people it was said not to be (rejects not undone)
        self.rejects: dict[int, set[int]] = {}
        #: the newest model with predictions, or None: spares a query per face when none exist
        self.prediction_mark: int | None = None
        self.last_used: dict[int, int] = {}
        self.people: dict[int, PersonRecord] = {}
        self.roots: dict[int, int] = {}
        self.sums: dict[int, np.ndarray] = {}
        self.counts: dict[int, int] = {}
        self.face_mark = 0
        self.decision_mark = 0
        self._centroids: Centroids | None = None

    # ---------------------------------------------------------------- building

    @classmethod
    def loaded(
        cls, engine: Engine, conn, version: tuple[int, ...], before: Snapshot | None = None
    ) -> Snapshot:
        """Everything read afresh: the first snapshot, or after rows were deleted or changed
        (`before`: the snapshot it replaces)."""
        snapshot = cls(engine)
        if before is not None:
            snapshot.generation = before.generation + 1
            snapshot.cache = {k: before.cache[k] for k in SURVIVE_RELOAD if k in before.cache}
        snapshot._load_all(conn)
        snapshot.version = version
        snapshot._freeze()
        return snapshot

    def followed(self, conn, version: tuple[int, ...]) -> Snapshot:
        """The next snapshot: this one with the faces, decisions, people and predictions added
        since, for counters that moved only by appends (`needs_reload` tells the others)."""
        moved = {kind for kind, a, b in zip(KINDS, self.version, version, strict=True) if a != b}
        nxt = copy.copy(self)
        nxt.cache = dict(self.cache)
        nxt.version = version
        if moved & {"faces", "decisions"}:
            # both add to the per-person sums: those dicts are shared with this snapshot
            nxt.sums = dict(self.sums)
            nxt.counts = dict(self.counts)
        if "faces" in moved:
            nxt._load_new_faces(conn)
        if "decisions" in moved:
            nxt._apply_new_decisions(conn)
        if "people" in moved:
            nxt._load_people(conn)
        if "predictions" in moved:
            nxt.prediction_mark = conn.execute(_PREDICTION_MARK).scalar()
        nxt._freeze()
        return nxt

    def needs_reload(self, version: tuple[int, ...]) -> bool:
        """Whether reaching `version` takes a full load: rows deleted or changed in place, or
        labels that changed without a decision (only decisions recompute them)."""
        moved = {kind for kind, a, b in zip(KINDS, self.version, version, strict=True) if a != b}
        return "removed" in moved or ("labels" in moved and "decisions" not in moved)

    def covers(self, version: tuple[int, ...]) -> bool:
        """Whether this snapshot is at least as new as `version` (counters only grow)."""
        return len(self.version) == len(version) and all(
            a >= b for a, b in zip(self.version, version, strict=True)
        )

    def _freeze(self) -> None:
        for array in (self.verdict, self.person, self.face_ids, self.embeddings):
            array.setflags(write=False)

    def _load_all(self, conn) -> None:
        # Decisions are counted before the labels are read: one made in between is then
        # applied again at the next refresh, which changes nothing, rather than missed.
        self.decision_mark = conn.execute(
            text("SELECT coalesce(max(id), 0) FROM decision")
        ).scalar()
        self._load_new_faces(conn)
        self.last_used = dict(
            conn.execute(
                text(
                    "SELECT person_id, max(id) FROM decision WHERE verdict = :v GROUP BY person_id"
                ),
                {"v": FaceVerdict.PERSON},
            ).all()
        )
        flagged = conn.execute(
            text("SELECT DISTINCT face_id FROM decision WHERE verdict IN (:s, :r)"),
            {"s": FaceVerdict.SKIP, "r": FaceVerdict.REJECT},
        ).scalars()
        self._load_face_flags(conn, list(flagged))
        self._load_people(conn)
        self.prediction_mark = conn.execute(_PREDICTION_MARK).scalar()

    def _load_new_faces(self, conn) -> None:
        # The driver's own cursor: a hundred thousand rows of 512-byte embeddings come out
        # several times faster than through SQLAlchemy's row objects.
        cursor = conn.connection.dbapi_connection.cursor()
        try:
            cursor.execute(
                'SELECT id, image_id, "left", "top", "right", "bottom", embedding FROM face'
                " WHERE id > ? ORDER BY id",
                (int(self.face_mark),),
            )
            rows = cursor.fetchall()
        finally:
            cursor.close()
        if not rows:
            return
        ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        images = np.fromiter((r[1] for r in rows), dtype=np.int64, count=len(rows))
        boxes = np.array([r[2:6] for r in rows], dtype=np.int32).reshape(len(rows), 4)
        vectors = np.frombuffer(b"".join(r[6] for r in rows), dtype=np.float32)
        first = len(self.face_ids)
        self.face_ids = np.concatenate([self.face_ids, ids])
        self.image_ids = np.concatenate([self.image_ids, images])
        self.boxes = np.concatenate([self.boxes, boxes])
        self.embeddings = np.concatenate(
            [self.embeddings, vectors.reshape(len(rows), EMBEDDING_SIZE)]
        )
        self.verdict = np.concatenate([self.verdict, np.zeros(len(rows), dtype=np.int8)])
        self.person = np.concatenate([self.person, np.zeros(len(rows), dtype=np.int64)])
        self.face_mark = int(ids[-1])
        self._order_queue()
        labels = conn.execute(
            text("SELECT face_id, verdict, person_id FROM face_label WHERE face_id >= :first"),
            {"first": int(ids[0])},
        ).all()
        if labels:
            self._label_new_faces(first, labels)

    def _label_new_faces(self, first: int, labels: list) -> None:
        """Labels of faces just loaded (all unlabelled until now), applied in bulk."""
        face_ids = np.array([r[0] for r in labels], dtype=np.int64)
        codes = np.array([VERDICT_CODES.get(r[1], UNLABELLED) for r in labels], dtype=np.int8)
        people = np.array([r[2] or 0 for r in labels], dtype=np.int64)
        people[codes != LABEL_PERSON] = 0
        positions = np.searchsorted(self.face_ids, face_ids)
        found = (positions >= first) & (positions < len(self.face_ids))
        found[found] &= self.face_ids[positions[found]] == face_ids[found]
        positions, codes, people = positions[found], codes[found], people[found]
        self.verdict[positions] = codes
        self.person[positions] = people
        named = people > 0
        if named.any():
            order = np.argsort(people[named], kind="stable")
            sorted_people = people[named][order]
            vectors = self.embeddings[positions[named][order]].astype(np.float64)
            uniques, starts, counts = np.unique(
                sorted_people, return_index=True, return_counts=True
            )
            sums = np.add.reduceat(vectors, starts, axis=0)
            for person_id, total, count in zip(
                uniques.tolist(), sums, counts.tolist(), strict=True
            ):
                if person_id in self.sums:
                    self.sums[person_id] = self.sums[person_id] + total
                    self.counts[person_id] += count
                else:
                    self.sums[person_id] = total
                    self.counts[person_id] = count
        self.labels_version += 1
        self._centroids = None

    def _order_queue(self) -> None:
        """Photos with exactly one face first (in a selfie the face is almost surely the
        poster's), then a random order that stays the same for each face, so the pages that
        prefetch ahead and the server agree on what comes next."""
        _, inverse, counts = np.unique(self.image_ids, return_inverse=True, return_counts=True)
        self.single = counts[inverse] == 1
        self.order = np.lexsort((stable_random(self.face_ids), ~self.single))
        self.by_image = np.argsort(self.image_ids, kind="stable")
        self.image_sorted = self.image_ids[self.by_image]

    def _apply_new_decisions(self, conn) -> None:
        rows = conn.execute(
            text("SELECT id, face_id, verdict, person_id FROM decision WHERE id > :m ORDER BY id"),
            {"m": self.decision_mark},
        ).all()
        if not rows:
            return
        touched = {r[1] for r in rows}
        if max(touched) > self.face_mark:
            self._load_new_faces(conn)
        # copies before the changes: the arrays and dicts are shared with the last snapshot
        self.verdict = self.verdict.copy()
        self.person = self.person.copy()
        self.sums = dict(self.sums)
        self.counts = dict(self.counts)
        self.last_used = dict(self.last_used)
        for decision_id, _face, verdict, person_id in rows:
            if verdict == FaceVerdict.PERSON:
                self.last_used[person_id] = decision_id
        self.decision_mark = rows[-1][0]
        labels = dict.fromkeys(touched, (None, None))
        touched_ids = sorted(touched)
        for start in range(0, len(touched_ids), CHUNK):
            for face_id, verdict, person_id in conn.execute(
                _LABELS_OF, {"ids": touched_ids[start : start + CHUNK]}
            ).all():
                labels[face_id] = (verdict, person_id)
        for face_id, (verdict, person_id) in labels.items():
            self._set_label(face_id, verdict, person_id)
        if any(r[2] in (FaceVerdict.SKIP, UNDO, FaceVerdict.REJECT) for r in rows):
            self._load_face_flags(conn, list(touched))

    def _load_face_flags(self, conn, face_ids: list[int]) -> None:
        """Skips and rejects of these faces. A skip sends a face to the back of its user's
        queue until a later skip or undo; a reject keeps a person out of its suggestions."""
        self.skips = {user: dict(user_skips) for user, user_skips in self.skips.items()}
        self.rejects = dict(self.rejects)
        for user_skips in self.skips.values():
            for face_id in face_ids:
                user_skips.pop(face_id, None)
        for face_id in face_ids:
            self.rejects.pop(face_id, None)
        for start in range(0, len(face_ids), CHUNK):
            chunk = face_ids[start : start + CHUNK]
            rows = conn.execute(_DECISIONS_OF, {"ids": chunk}).all()
            by_face: dict[int, list] = {}
            for row in rows:
                by_face.setdefault(row[1], []).append(_Row(*row))
            for face_id, decisions in by_face.items():
                undone = undone_ids(decisions)
                for d in decisions:
                    if d.id in undone:
                        continue
                    if d.verdict == FaceVerdict.SKIP:
                        self.skips.setdefault(d.user_id or 0, {})[face_id] = d.id
                    elif d.verdict == FaceVerdict.REJECT:
                        self.rejects.setdefault(face_id, set()).add(d.person_id)

    def _set_label(self, face_id: int, verdict: str | None, person_id: int | None) -> None:
        pos = self.position(face_id)
        if pos is None:
            return
        code = VERDICT_CODES.get(verdict, UNLABELLED)
        new_person = person_id if code == LABEL_PERSON else 0
        old_person = int(self.person[pos])
        if code == self.verdict[pos] and new_person == old_person:
            return
        vector = self.embeddings[pos].astype(np.float64)
        # new arrays rather than += : the old ones belong to the last snapshot too
        if old_person:
            self.sums[old_person] = self.sums[old_person] - vector
            self.counts[old_person] -= 1
        if new_person:
            if new_person not in self.sums:
                self.sums[new_person] = np.zeros(EMBEDDING_SIZE, dtype=np.float64)
                self.counts[new_person] = 0
            self.sums[new_person] = self.sums[new_person] + vector
            self.counts[new_person] += 1
        self.verdict[pos] = code
        self.person[pos] = new_person
        self.labels_version += 1
        self._centroids = None

    def _load_people(self, conn) -> None:
        aliases: dict[int, list[str]] = {}
        for person_id, alias in conn.execute(
            text("SELECT person_id, alias FROM person_alias ORDER BY id")
        ).all():
            aliases.setdefault(person_id, []).append(alias)
        tags: dict[int, list[str]] = {}
        for person_id, name in conn.execute(
            text(
                "SELECT person_tag.person_id, tag.name FROM person_tag"
                " JOIN tag ON tag.id = person_tag.tag_id ORDER BY tag.name"
            )
        ).all():
            tags.setdefault(person_id, []).append(name)
        self.people = {
            pid: PersonRecord(
                pid,
                name,
                bool(hidden),
                merged,
                tuple(aliases.get(pid, ())),
                tuple(tags.get(pid, ())),
            )
            for pid, name, hidden, merged in conn.execute(
                text("SELECT id, name, hidden, merged_into_id FROM person")
            ).all()
        }
        self.roots = merge_roots({pid: r.merged_into for pid, r in self.people.items()})
        self.people_version += 1
        self._centroids = None

    # ---------------------------------------------------------------- reading

    def position(self, face_id: int) -> int | None:
        pos = int(np.searchsorted(self.face_ids, face_id))
        if pos < len(self.face_ids) and self.face_ids[pos] == face_id:
            return pos
        return None

    def siblings(self, image_id: int) -> np.ndarray:
        """Positions of every face of a photo."""
        lo = int(np.searchsorted(self.image_sorted, image_id, side="left"))
        hi = int(np.searchsorted(self.image_sorted, image_id, side="right"))
        return self.by_image[lo:hi]

    def root(self, person_id: int) -> int:
        return self.roots.get(person_id, person_id)

    def members(self, person_id: int) -> list[int]:
        """Raw person ids that count as this person (itself and everyone merged into it)."""
        root = self.root(person_id)
        return [pid for pid, r in self.roots.items() if r == root] or [person_id]

    def centroids(self) -> Centroids:
        if self._centroids is None:
            sums: dict[int, np.ndarray] = {}
            counts: dict[int, int] = {}
            for person_id, count in self.counts.items():
                if count <= 0:
                    continue
                root = self.root(person_id)
                if root in sums:
                    sums[root] = sums[root] + self.sums[person_id]
                    counts[root] += count
                else:
                    sums[root] = self.sums[person_id].copy()
                    counts[root] = count
            ids = np.array(sorted(sums), dtype=np.int64)
            n = np.array([counts[i] for i in ids], dtype=np.int64)
            if len(ids):
                means = np.stack([sums[i] for i in ids]) / n[:, None]
            else:
                means = np.zeros((0, EMBEDDING_SIZE))
            by_person = dict(zip(ids.tolist(), n.tolist(), strict=True))
            self._centroids = Centroids(ids, means.astype(np.float32), n, by_person)
        return self._centroids

    def root_counts(self) -> dict[int, int]:
        """Labelled faces per person, merges resolved."""
        return self.centroids().by_person

    def face_count(self, person_id: int) -> int:
        return sum(self.counts.get(pid, 0) for pid in self.members(person_id))

    def positions_of(self, person_id: int) -> np.ndarray:
        """Positions of the faces labelled with the person, merges resolved."""
        members = np.array(self.members(person_id), dtype=np.int64)
        return np.flatnonzero(np.isin(self.person, members))


@dataclass
class _Row:
    id: int
    face_id: int
    verdict: str
    undoes_id: int | None
    user_id: int | None
    person_id: int | None


def stable_random(ids: np.ndarray) -> np.ndarray:
    """SplitMix64 of each id: a shuffle that never changes and needs no stored column."""
    with np.errstate(over="ignore"):
        z = ids.astype(np.uint64) + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))
