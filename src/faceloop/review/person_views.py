"""People as the pages show them: the list with counts and cover faces, one person's details,
and their faces ordered so that likely mistakes come first.

"Likely mistake" is measured as the distance of a face's embedding from the mean of the
person's other faces (the mean without the face itself, so one wrong face in a small set does
not pull the centre towards itself and hide).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from sqlalchemy import select

from faceloop.db.models import Decision, FaceLabel, Person, PersonEvent
from faceloop.jsontypes import UtcTime
from faceloop.labels.activity import event_summary
from faceloop.labels.people import search_key
from faceloop.labels.person_ops import chosen_covers
from faceloop.options import PeopleSort, choose
from faceloop.readmodel import snapshot
from faceloop.readmodel.state import LABEL_PERSON, Snapshot
from faceloop.workspace import Workspace

SORTS = tuple(PeopleSort)


@dataclass(frozen=True)
class PersonSummary:
    id: int
    name: str
    faces: int
    cover_face_id: int | None
    hidden: bool
    aliases: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class PeoplePage:
    people: list[PersonSummary]
    total: int
    tags: list[str]


@dataclass(frozen=True)
class PersonRef:
    id: int
    name: str


@dataclass(frozen=True)
class HistoryEntry:
    id: int
    person_id: int
    kind: str
    detail: dict
    at: UtcTime
    undone: bool
    undoes_id: int | None
    #: what happened, naming the person it happened to (a merged person's events show too)
    summary: str = ""


@dataclass(frozen=True)
class PersonDetail:
    id: int
    name: str
    aliases: tuple[str, ...]
    tags: tuple[str, ...]
    hidden: bool
    faces: int
    cover_face_id: int | None
    merged_into: PersonRef | None
    merged: list[PersonRef] = field(default_factory=list)
    history: list[HistoryEntry] = field(default_factory=list)


@dataclass(frozen=True)
class PersonFace:
    face_id: int
    image_id: int
    #: distance from the mean of the person's other faces; larger is more likely a mistake
    distance: float
    #: the person the label names, which differs from the page's person after a merge
    labelled_as: int
    origin: str


@dataclass(frozen=True)
class PersonFaces:
    person_id: int
    total: int
    faces: list[PersonFace]


def faceless(state: Snapshot, person_id: int, counts: dict[int, int]) -> bool:
    """Whether a person is left with no face after having had some (every label naming them
    undone or given to someone else): such a person is neither listed nor counted. Their row
    and history stay (human decisions are events), and naming a face with their name again
    brings them back. A person added by hand who has no face yet is still listed. The caller
    holds the state's lock; `counts` is `state.root_counts()`."""
    if counts.get(person_id, 0):
        return False
    return any(member in state.last_used for member in state.members(person_id))


def list_people(
    ws: Workspace,
    *,
    include_hidden: bool = False,
    tag: str | None = None,
    query: str | None = None,
    sort: str = "faces",
    offset: int = 0,
    limit: int = 200,
) -> PeoplePage:
    sort = choose(PeopleSort, sort, "sort")
    state = snapshot(ws)
    with ws.reader() as session:
        chosen = chosen_covers(session)
    counts = state.root_counts()
    covers = _covers(state, chosen)
    key = search_key(query or "")
    recency = {}
    for pid, used in state.last_used.items():
        root = state.root(pid)
        recency[root] = max(recency.get(root, 0), used)
    people = []
    all_tags: set[str] = set()
    for record in state.people.values():
        if record.merged_into is not None or faceless(state, record.id, counts):
            continue
        all_tags.update(record.tags)
        if record.hidden and not include_hidden:
            continue
        if tag and tag not in record.tags:
            continue
        if key and not any(key in search_key(t) for t in (record.name, *record.aliases)):
            continue
        people.append(
            PersonSummary(
                record.id,
                record.name,
                counts.get(record.id, 0),
                covers.get(record.id),
                record.hidden,
                record.aliases,
                record.tags,
            )
        )
    if sort == PeopleSort.FACES:
        people.sort(key=lambda p: (-p.faces, search_key(p.name)))
    elif sort == PeopleSort.NAME:
        people.sort(key=lambda p: search_key(p.name))
    else:
        people.sort(key=lambda p: (-recency.get(p.id, 0), search_key(p.name)))
    return PeoplePage(people[offset : offset + limit], len(people), sorted(all_tags))


def _covers(state: Snapshot, chosen: dict[int, int]) -> dict[int, int]:
    """The chosen cover while it is still one of the person's faces, else the face nearest the
    person's mean (the most typical one). Typical faces are kept between calls while they stay
    the person's: recomputing every person's after each label would cost the people list tens of
    milliseconds at a hundred thousand faces."""
    cached = state.cache.get("covers")
    # a copy: snapshots share their predecessor's entries, and other requests read them
    typical: dict[int, int] = {}
    if cached is not None and cached[0] == state.people_version:
        typical = dict(cached[1])
    stale = [root for root, face_id in typical.items() if not _is_face_of(state, face_id, root)]
    for root in stale:
        del typical[root]
    counts = state.root_counts()
    missing = [root for root in counts if root not in typical]
    if len(missing) > 50:
        typical.update(_typical_faces(state))
    else:
        for root in missing:
            face_id = typical_face(state, root)
            if face_id is not None:
                typical[root] = face_id
    state.cache["covers"] = (state.people_version, typical)
    covers = dict(typical)
    for person_id, face_id in chosen.items():
        root = state.root(person_id)
        if _is_face_of(state, face_id, root):
            covers[root] = face_id
    return covers


def _cover_of(state: Snapshot, person_id: int, chosen: dict[int, int]) -> int | None:
    for member in sorted(state.members(person_id), key=lambda m: m != person_id):
        face_id = chosen.get(member)
        if face_id is not None and _is_face_of(state, face_id, state.root(person_id)):
            return face_id
    return typical_face(state, person_id)


def _is_face_of(state: Snapshot, face_id: int, root: int) -> bool:
    pos = state.position(face_id)
    return (
        pos is not None
        and state.verdict[pos] == LABEL_PERSON
        and state.root(int(state.person[pos])) == root
    )


def _typical_faces(state: Snapshot) -> dict[int, int]:
    """Every person's face nearest their mean, in one pass over the labelled faces."""
    labelled = np.flatnonzero(state.person)
    centroids = state.centroids()
    if not len(labelled) or not len(centroids.person_ids):
        return {}
    raw = state.person[labelled]
    lookup = np.arange(int(raw.max()) + 1, dtype=np.int64)
    for pid, root in state.roots.items():
        if pid < len(lookup):
            lookup[pid] = root
    index = np.searchsorted(centroids.person_ids, lookup[raw])
    index = np.clip(index, 0, len(centroids.person_ids) - 1)
    distances = np.linalg.norm(state.embeddings[labelled] - centroids.means[index], axis=1)
    order = np.lexsort((distances, index))
    firsts = np.unique(index[order], return_index=True)[1]
    return {
        int(centroids.person_ids[index[order[i]]]): int(state.face_ids[labelled[order[i]]])
        for i in firsts
    }


def typical_face(state: Snapshot, person_id: int) -> int | None:
    """The person's face nearest their mean."""
    positions = state.positions_of(person_id)
    if not len(positions):
        return None
    vectors = state.embeddings[positions]
    distances = np.linalg.norm(vectors - vectors.mean(axis=0), axis=1)
    return int(state.face_ids[positions[int(np.argmin(distances))]])


def person_detail(ws: Workspace, person_id: int, history: int = 30) -> PersonDetail:
    state = snapshot(ws)
    with ws.reader() as session:
        if session.get(Person, person_id) is None:
            raise LookupError(f"no person {person_id}")
        chosen = chosen_covers(session)
        record = state.people.get(person_id)
        if record is None:
            # created after the snapshot was taken
            state = snapshot(ws)
            record = state.people[person_id]
        members = state.members(person_id) if record.merged_into is None else [person_id]
        merged_into = None
        if record.merged_into is not None:
            target = state.people[state.root(person_id)]
            merged_into = PersonRef(target.id, target.name)
        merged = [PersonRef(pid, state.people[pid].name) for pid in members if pid != person_id]
        faces = state.face_count(person_id) if record.merged_into is None else 0
        names = {pid: state.people[pid].name for pid in members if pid in state.people}
        cover = _cover_of(state, person_id, chosen) if record.merged_into is None else None
        events = session.scalars(
            select(PersonEvent)
            .where(PersonEvent.person_id.in_(members))
            .order_by(PersonEvent.id.desc())
            .limit(history)
        ).all()
        undone = set(
            session.scalars(
                select(PersonEvent.undoes_id).where(
                    PersonEvent.undoes_id.in_([e.id for e in events])
                )
            )
        )
    return PersonDetail(
        id=record.id,
        name=record.name,
        aliases=record.aliases,
        tags=record.tags,
        hidden=record.hidden,
        faces=faces,
        cover_face_id=cover,
        merged_into=merged_into,
        merged=sorted(merged, key=lambda p: p.name),
        history=[
            HistoryEntry(
                e.id,
                e.person_id,
                e.kind,
                e.detail or {},
                e.created_at,
                e.id in undone,
                e.undoes_id,
                event_summary(e.kind, e.detail or {}, names.get(e.person_id, record.name)),
            )
            for e in events
        ],
    )


def person_faces(ws: Workspace, person_id: int, offset: int = 0, limit: int = 200) -> PersonFaces:
    """The person's faces (merges resolved), farthest from the others first."""
    state = snapshot(ws)
    if person_id not in state.people:
        state = snapshot(ws)
        if person_id not in state.people:
            raise LookupError(f"no person {person_id}")
    if state.people[person_id].merged_into is not None:
        return PersonFaces(person_id, 0, [])
    positions = state.positions_of(person_id)
    vectors = state.embeddings[positions].astype(np.float64)
    n = len(positions)
    if n > 1:
        others_mean = (vectors.sum(axis=0) - vectors) / (n - 1)
        distances = np.linalg.norm(vectors - others_mean, axis=1)
    else:
        distances = np.zeros(n)
    order = np.lexsort((state.face_ids[positions], -distances))
    page = order[offset : offset + limit]
    chosen = [
        (
            int(state.face_ids[positions[i]]),
            int(state.image_ids[positions[i]]),
            round(float(distances[i]), 4),
            int(state.person[positions[i]]),
        )
        for i in page
    ]
    with ws.reader() as session:
        origins = dict(
            session.execute(
                select(FaceLabel.face_id, Decision.origin)
                .join(Decision, Decision.id == FaceLabel.decision_id)
                .where(FaceLabel.face_id.in_([c[0] for c in chosen]))
            ).all()
        )
    return PersonFaces(
        person_id,
        n,
        [PersonFace(f, i, d, p, origins.get(f, "manual")) for f, i, d, p in chosen],
    )
