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

from collections.abc import Collection

import numpy as np

from faceloop.options import LookAlikeOrder
from faceloop.readmodel import snapshot
from faceloop.readmodel.group_space import load_space
from faceloop.readmodel.nearest import NearestPeople as NearestPeople
from faceloop.readmodel.nearest import follow, take
from faceloop.review.model_guesses import PAGE, ConfirmPage, Suggestion, reference_faces
from faceloop.workspace import Workspace

ORDERS = tuple(LookAlikeOrder)
#: radii followed at once per workspace: the mixed confirm page reads the sure or the close
#: reach and the wide one (for its small groups) together
RADII = 3


def nearest_people(ws: Workspace, *, radius: float | None = None) -> NearestPeople:
    """The nearest labelled person of each unlabelled face within `radius` (default: the
    grouping threshold of the last `recluster`). Built once per run of the grouping (its space)
    and then followed decision by decision (`readmodel.nearest.follow`): an answer costs
    milliseconds, not a comparison of every unlabelled face with every labelled one. The answer
    is kept on the snapshot; the index it came from is followed in place, so it lives on the
    read model (`followed`), one follower at a time."""
    state = snapshot(ws)
    space = load_space(ws)
    radius = space.threshold if radius is None else float(radius)
    marks = (space.mark, state.generation, len(state.face_ids), state.decision_mark)
    marks += (state.labels_version, state.people_version)
    # the snapshot's cache starts as its predecessor's: an entry holds for its marks only
    cached = state.cache.get(("nearest-people", radius))
    if cached is not None and cached[0] == marks:
        return cached[1]
    model = state.model
    with model.followed_lock:
        indexes = model.followed.setdefault("nearest", {})
        known = indexes.pop(radius, None)
        if known is None or known[0] != marks:
            index, found = follow(take(state, space), radius, known[1] if known else None)
            known = (marks, index, found)
        indexes[radius] = known
        while len(indexes) > RADII:
            del indexes[next(iter(indexes))]
    state.cache[("nearest-people", radius)] = (marks, known[2])
    return known[2]


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
        raise ValueError(f"unknown order {order!r}; choose one of {', '.join(ORDERS)}")
    found = nearest_people(ws, radius=radius)
    keep = ~np.isin(found.face_ids, np.fromiter(exclude, dtype=np.int64)) if exclude else None
    people = found.person_ids if keep is None else found.person_ids[keep]
    if len(people) == 0:
        return None
    if person_id is None and order == LookAlikeOrder.LARGEST:
        found_people, counts = np.unique(people, return_counts=True)
        person_id = int(found_people[np.argmax(counts)])
    elif person_id is None:
        person_id = int(people[0])
    else:
        state = snapshot(ws)
        person_id = state.root(int(person_id))
    mine = people == person_id
    if not mine.any():
        return None
    pick = (lambda a: a) if keep is None else (lambda a: a[keep])
    faces = pick(found.face_ids)[mine]
    images = pick(found.image_ids)[mine]
    distances = pick(found.distances)[mine]
    state = snapshot(ws)
    record = state.people.get(person_id)
    suggestions = [
        Suggestion(int(f), int(i), int(person_id), round(1.0 - float(d), 4))
        for f, i, d in zip(faces[:size], images[:size], distances[:size], strict=True)
    ]
    with ws.reader() as session:
        references = reference_faces(session, person_id)
    return ConfirmPage(
        person_id=int(person_id),
        person_name=record.name if record is not None else "?",
        suggestions=suggestions,
        reference_face_ids=references,
        pending=int(mine.sum()),
    )
