"""Suggestions from a person's nearest labelled faces, for people no model knows yet.

A classifier needs about 30 faces of a person (`min_per_class`) before it guesses them, and
the hardest part of labelling is getting each person there. But a face whose nearest labelled
face, closer than the grouping threshold (learned from the user's own labels, in the space
adapted to them), belongs to one person is that person about as often as the faces of a group
are: so it is offered on the confirm page like a model's guess, in pages of up to 24 faces of
one person, where one Enter accepts all but the deselected ones (`confirm.answer_page`).

A face someone refused for a person is left to the label queue: its nearest person was wrong
once, and the next nearest is only a guess. A person already labelled in a face's photo is
never suggested for it (one person, one face a photo).

`score` on these suggestions is 1 - distance, so that higher is surer as for a model's.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Collection
from dataclasses import dataclass

import numpy as np
from sqlalchemy import Engine

from faceloop.cluster.neighbours import BLOCK_ENTRIES, pairwise_sq, squared_norms
from faceloop.review.confirm import PAGE, ConfirmPage, Suggestion, reference_faces
from faceloop.review.groups import _labelled_people, _space
from faceloop.review.state import UNLABELLED, ReviewState, state_for
from faceloop.workspace import Workspace

ORDERS = ("confident", "largest")
#: labelled faces looked at per unlabelled face, nearest first, to find one of an allowed person
NEAREST = 8


@dataclass(frozen=True)
class NearestPeople:
    """Every unlabelled face with a suggestion: its id, photo, person and distance, nearest
    first."""

    face_ids: np.ndarray
    image_ids: np.ndarray
    person_ids: np.ndarray
    distances: np.ndarray


_lock = threading.Lock()
_cache: weakref.WeakKeyDictionary[Engine, tuple] = weakref.WeakKeyDictionary()


def nearest_people(ws: Workspace, *, radius: float | None = None) -> NearestPeople:
    """The nearest labelled person of each unlabelled face within `radius` (default: the
    grouping threshold of the last `recluster`), computed once per decision."""
    state = state_for(ws.engine)
    space = _space(ws)
    radius = space.threshold if radius is None else float(radius)
    key = (state.decision_mark, state.face_mark, state.people_version, space.mark, radius)
    with _lock:
        cached = _cache.get(ws.engine)
    if cached is not None and cached[0] == key:
        return cached[1]
    with state.lock:
        found = _compute(state, space, radius)
    with _lock:
        _cache[ws.engine] = (key, found)
    return found


def _compute(state: ReviewState, space, radius: float) -> NearestPeople:
    named, people = _labelled_people(state)
    pool = np.flatnonzero(state.verdict == UNLABELLED)
    if state.rejects:
        refused = np.array(sorted(state.rejects), dtype=np.int64)
        pool = pool[~np.isin(state.face_ids[pool], refused)]
    empty = NearestPeople(*(np.zeros(0, dtype=t) for t in (np.int64, np.int64, np.int64, float)))
    if len(named) == 0 or len(pool) == 0:
        return empty
    a = space.transform(state.embeddings[named])
    a_sq = squared_norms(a)
    # the people labelled in each photo that holds an unlabelled face
    in_photo: dict[int, set[int]] = {}
    for image, person in zip(state.image_ids[named].tolist(), people.tolist(), strict=True):
        in_photo.setdefault(image, set()).add(person)
    k = min(NEAREST, len(named))
    rows = max(1, BLOCK_ENTRIES // len(named))
    chosen_person = np.zeros(len(pool), dtype=np.int64)
    chosen_distance = np.full(len(pool), np.inf)
    for start in range(0, len(pool), rows):
        block = pool[start : start + rows]
        x = space.transform(state.embeddings[block])
        d = pairwise_sq(x, a, squared_norms(x), a_sq)
        near = np.argpartition(d, k - 1, axis=1)[:, :k] if k < len(named) else None
        if near is None:
            near = np.broadcast_to(np.arange(len(named)), d.shape).copy()
        values = np.take_along_axis(d, near, axis=1)
        order = np.argsort(values, axis=1, kind="stable")
        near = np.take_along_axis(near, order, axis=1)
        values = np.sqrt(np.take_along_axis(values, order, axis=1))
        for row, face in enumerate(block.tolist()):
            banned = in_photo.get(int(state.image_ids[face]), ())
            for j, distance in zip(near[row].tolist(), values[row].tolist(), strict=True):
                if distance > radius:
                    break
                if people[j] not in banned:
                    chosen_person[start + row] = people[j]
                    chosen_distance[start + row] = distance
                    break
    hit = np.isfinite(chosen_distance)
    order = np.argsort(chosen_distance[hit], kind="stable")
    faces = pool[hit][order]
    return NearestPeople(
        face_ids=state.face_ids[faces],
        image_ids=state.image_ids[faces],
        person_ids=chosen_person[hit][order],
        distances=chosen_distance[hit][order],
    )


def nearest_page(
    ws: Workspace,
    *,
    person_id: int | None = None,
    size: int = PAGE,
    exclude: Collection[int] = (),
    radius: float | None = None,
    order: str = "confident",
) -> ConfirmPage | None:
    """Up to `size` faces whose nearest labelled person is one person, nearest first, as the
    confirm page shows a model's guesses: the given person, or else the person of the nearest
    suggestion of all (order "confident") or the person with the most suggestions waiting
    (order "largest": the most faces named per action). None when nothing waits."""
    if order not in ORDERS:
        raise ValueError(f"unknown order {order!r}; choose one of {ORDERS}")
    found = nearest_people(ws, radius=radius)
    keep = ~np.isin(found.face_ids, np.fromiter(exclude, dtype=np.int64)) if exclude else None
    people = found.person_ids if keep is None else found.person_ids[keep]
    if len(people) == 0:
        return None
    if person_id is None and order == "largest":
        found_people, counts = np.unique(people, return_counts=True)
        person_id = int(found_people[np.argmax(counts)])
    elif person_id is None:
        person_id = int(people[0])
    else:
        state = state_for(ws.engine)
        person_id = state.root(int(person_id))
    mine = people == person_id
    if not mine.any():
        return None
    pick = (lambda a: a) if keep is None else (lambda a: a[keep])
    faces = pick(found.face_ids)[mine]
    images = pick(found.image_ids)[mine]
    distances = pick(found.distances)[mine]
    state = state_for(ws.engine)
    record = state.people.get(person_id)
    suggestions = [
        Suggestion(int(f), int(i), int(person_id), round(1.0 - float(d), 4))
        for f, i, d in zip(faces[:size], images[:size], distances[:size], strict=True)
    ]
    with ws.sessions() as session:
        references = reference_faces(session, person_id)
    return ConfirmPage(
        person_id=int(person_id),
        person_name=record.name if record is not None else "?",
        suggestions=suggestions,
        reference_face_ids=references,
        pending=int(mine.sum()),
    )
