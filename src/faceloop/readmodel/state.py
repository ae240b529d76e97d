"""An in-memory view of faces, labels and people, kept in step with the database.

The label page asks for the next face after every keypress, suggestions compare a face with
every person, and the person page sorts a person's faces by distance. Over a hundred thousand
faces each would cost SQL hundreds of milliseconds. This view loads faces and labels once per
process (about a second at 100,000 faces) and then reads only what changed, found by ids above
the last ones it saw, so the work of another process (an import, the CLI) shows at the next
request. Deletions (a person forgotten) are caught by comparing row counts every few seconds,
which reloads everything.
"""

from __future__ import annotations

import threading
import time
import weakref
from dataclasses import dataclass

import numpy as np
from sqlalchemy import Engine, text

from faceloop.labels.decisions import NOT_FACE, PERSON, REJECT, SKIP, UNDO, UNKNOWN, _undone_ids

EMBEDDING_SIZE = 128
VERIFY_SECONDS = 5.0
UNLABELLED, LABEL_PERSON, LABEL_NOT_FACE, LABEL_UNKNOWN = 0, 1, 2, 3
VERDICT_CODES = {PERSON: LABEL_PERSON, NOT_FACE: LABEL_NOT_FACE, UNKNOWN: LABEL_UNKNOWN}
CODE_VERDICTS = {code: verdict for verdict, code in VERDICT_CODES.items()}

_MARKS = text(
    "SELECT (SELECT max(id) FROM face), (SELECT max(id) FROM decision),"
    " (SELECT max(id) FROM person), (SELECT count(*) FROM person),"
    " (SELECT max(id) FROM person_event), (SELECT count(*) FROM person_alias),"
    " (SELECT count(*) FROM person_tag), (SELECT max(model_id) FROM prediction)"
)
_PEOPLE_MARKS = slice(2, 7)
_COUNTS = text(
    "SELECT (SELECT count(*) FROM face), (SELECT count(*) FROM decision),"
    " (SELECT count(*) FROM face_label)"
)


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


class ReviewState:
    """Use `state_for(engine)`; every public method refreshes first and is thread-safe."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.lock = threading.RLock()
        self.loaded = False
        self.people_version = 0
        self.labels_version = 0
        self._verified_at = time.monotonic()
        self._verifying = False
        self._reload_wanted = False
        #: derived objects (the name index, filter masks) keyed by name, each stored with the
        #: version it was built from
        self.cache: dict[str, tuple] = {}
        #: bumped whenever the face arrays are rebuilt from scratch. Between rebuilds faces are
        #: only appended, so a face keeps its position: caches indexed by position (projected
        #: embeddings, nearest labelled faces) stay valid for one generation and only grow
        self.generation = 0
        self._reset()

    def _reset(self) -> None:
        self.generation += 1
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
        self.people_mark: tuple = ()
        self.decision_count = 0
        self._centroids: Centroids | None = None

    # ---------------------------------------------------------------- keeping in step

    def refresh(self) -> None:
        with self.lock, self.engine.connect() as conn:
            marks = tuple(conn.execute(_MARKS).one())
            if not self.loaded or self._reload_wanted:
                self._load_all(conn, marks)
                return
            if (marks[0] or 0) != self.face_mark:
                self._load_new_faces(conn)
            if (marks[1] or 0) != self.decision_mark:
                self._apply_new_decisions(conn)
            if marks[_PEOPLE_MARKS] != self.people_mark:
                self._load_people(conn)
                self.people_mark = marks[_PEOPLE_MARKS]
            self.prediction_mark = marks[7]
        self._maybe_verify()

    def _maybe_verify(self) -> None:
        """Rows deleted behind our back (a person forgotten, faces removed) show only as
        counts, and counting a hundred thousand rows takes milliseconds: a background thread
        does it every few seconds and asks for a full reload when they disagree."""
        now = time.monotonic()
        if self._verifying or now - self._verified_at < VERIFY_SECONDS:
            return
        self._verifying = True
        threading.Thread(target=self._verify, daemon=True, name="faceloop-verify").start()

    def _verify(self) -> None:
        try:
            with self.engine.connect() as conn:
                marks = tuple(conn.execute(_MARKS).one())
                faces, decisions, labels = conn.execute(_COUNTS).one()
            with self.lock:
                current = (self.face_mark, self.decision_mark)
                if ((marks[0] or 0), (marks[1] or 0)) == current:
                    labelled = int(np.count_nonzero(self.verdict))
                    expected = (len(self.face_ids), self.decision_count, labelled)
                    if (faces, decisions, labels) != expected:
                        self._reload_wanted = True
        except Exception:
            self._reload_wanted = True
        finally:
            self._verified_at = time.monotonic()
            self._verifying = False

    def _load_all(self, conn, marks: tuple) -> None:
        self._reset()
        # Decisions are counted before the labels are read: one made in between is then
        # applied again at the next refresh, which changes nothing, rather than missed.
        self.decision_mark = conn.execute(
            text("SELECT coalesce(max(id), 0) FROM decision")
        ).scalar()
        self.decision_count = conn.execute(text("SELECT count(*) FROM decision")).scalar()
        self._load_new_faces(conn)
        self.last_used = dict(
            conn.execute(
                text(
                    "SELECT person_id, max(id) FROM decision WHERE verdict = :v GROUP BY person_id"
                ),
                {"v": PERSON},
            ).all()
        )
        flagged = conn.execute(
            text("SELECT DISTINCT face_id FROM decision WHERE verdict IN (:s, :r)"),
            {"s": SKIP, "r": REJECT},
        ).scalars()
        self._load_face_flags(conn, list(flagged))
        self._load_people(conn)
        self.people_mark = marks[_PEOPLE_MARKS]
        self.prediction_mark = marks[7]
        self.loaded = True
        self._reload_wanted = False
        self._verified_at = time.monotonic()

    def _load_new_faces(self, conn) -> None:
        # The driver's own cursor: a hundred thousand rows of 512-byte embeddings come out
        # several times faster than through SQLAlchemy's row objects.
        cursor = conn.connection.dbapi_connection.cursor()
        try:
            cursor.execute(
                'SELECT id, image_id, "left", "top", "right", "bottom", embedding FROM face'
                f" WHERE id > {int(self.face_mark)} ORDER BY id"
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
        for decision_id, _face, verdict, person_id in rows:
            if verdict == PERSON:
                self.last_used[person_id] = decision_id
        self.decision_mark = rows[-1][0]
        self.decision_count += len(rows)
        labels = dict.fromkeys(touched, (None, None))
        for face_id, verdict, person_id in conn.execute(
            text(
                "SELECT face_id, verdict, person_id FROM face_label WHERE face_id IN "
                f"({','.join(str(int(f)) for f in touched)})"
            )
        ).all():
            labels[face_id] = (verdict, person_id)
        for face_id, (verdict, person_id) in labels.items():
            self._set_label(face_id, verdict, person_id)
        if any(r[2] in (SKIP, UNDO, REJECT) for r in rows):
            self._load_face_flags(conn, list(touched))

    def _load_face_flags(self, conn, face_ids: list[int]) -> None:
        """Skips and rejects of these faces. A skip sends a face to the back of its user's
        queue until a later skip or undo; a reject keeps a person out of its suggestions."""
        for user_skips in self.skips.values():
            for face_id in face_ids:
                user_skips.pop(face_id, None)
        for face_id in face_ids:
            self.rejects.pop(face_id, None)
        for start in range(0, len(face_ids), 500):
            chunk = face_ids[start : start + 500]
            rows = conn.execute(
                text(
                    "SELECT id, face_id, verdict, undoes_id, user_id, person_id FROM decision"
                    f" WHERE face_id IN ({','.join(str(int(f)) for f in chunk)}) ORDER BY id"
                )
            ).all()
            by_face: dict[int, list] = {}
            for row in rows:
                by_face.setdefault(row[1], []).append(_Row(*row))
            for face_id, decisions in by_face.items():
                undone = _undone_ids(decisions)
                for d in decisions:
                    if d.id in undone:
                        continue
                    if d.verdict == SKIP:
                        self.skips.setdefault(d.user_id or 0, {})[face_id] = d.id
                    elif d.verdict == REJECT:
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
        if old_person:
            self.sums[old_person] -= vector
            self.counts[old_person] -= 1
        if new_person:
            if new_person not in self.sums:
                self.sums[new_person] = np.zeros(EMBEDDING_SIZE, dtype=np.float64)
                self.counts[new_person] = 0
            self.sums[new_person] += vector
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
        self.roots = {pid: self._root_of(pid) for pid in self.people}
        self.people_version += 1
        self._centroids = None

    def _root_of(self, person_id: int) -> int:
        seen = {person_id}
        current = person_id
        while True:
            record = self.people.get(current)
            target = record.merged_into if record else None
            if target is None or target in seen:
                return current
            seen.add(target)
            current = target

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


_states: weakref.WeakKeyDictionary[Engine, ReviewState] = weakref.WeakKeyDictionary()
_states_lock = threading.Lock()


def state_for(engine: Engine) -> ReviewState:
    """The view of one database in this process, refreshed: call it at each request."""
    with _states_lock:
        state = _states.get(engine)
        if state is None:
            state = _states[engine] = ReviewState(engine)
    state.refresh()
    return state
