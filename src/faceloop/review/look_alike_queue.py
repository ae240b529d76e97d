"""The nearest-labelled-face suggestions (`review/look_alikes.py`) as the confirm page asks for
them: a page of faces suggested as one person, a page of faces each suggested as their own
person (mode "mixed"), or the next few faces of anyone.

`nearest.py` knows, for every unlabelled face, the person of its nearest labelled face; what it
does not know is what a person at the confirm page has already passed over. A skipped face
comes last here, as in the model's queue: left out while anything else waits, so that "skip"
moves on rather than bringing the same page straight back. A "no" needs nothing here:
`nearest.py` leaves every face with a standing refusal to the label queue.

Which person a page is about, when none is asked for: the one with the most suggestions
waiting (`nearest_page`'s order "largest"). A page names up to 24 faces in one action, so
taking the largest first names the most faces per action (the labelling simulation measures
exactly this); within a page the nearest faces come first either way.

A mixed page needs no person: it is the nearest suggestions of all, whoever they name. A person
rarely has more than a few faces waiting at once, so pages of one person are small; a page of
anyone's is full while 24 faces wait, and the labelling simulation needs a fifth fewer actions
with it (bench/simulate_labeling.py).

`radius` is how near the labelled face must be: the grouping threshold unless asked (the wide
reach of `review/confirm_page.py`).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

import numpy as np

from faceloop.options import ConfirmMode, GuessOrder, LookAlikeOrder
from faceloop.readmodel import snapshot
from faceloop.review.look_alikes import nearest_page, nearest_people
from faceloop.review.model_guesses import PAGE, Suggestion
from faceloop.workspace import Workspace

#: how a page chooses its person (see the module's docstring)
PAGE_ORDER = LookAlikeOrder.LARGEST


@dataclass(frozen=True)
class NearestPick:
    suggestions: list[Suggestion]
    #: faces with a suggestion, of everyone
    pending: int
    #: page mode: faces suggested as the page's person, this page included
    person_pending: int | None
    #: page mode: the page's person (root id) -> their typical labelled faces
    references: dict[int, list[int]] = field(default_factory=dict)


def nearest_pick(
    ws: Workspace,
    *,
    mode: str,
    order: str,
    limit: int,
    person_id: int | None = None,
    exclude: Collection[int] = (),
    radius: float | None = None,
) -> NearestPick:
    """Page mode: up to `limit` (at most 24) faces suggested as one person, nearest first.
    One mode: the next `limit` faces of anyone, nearest first (order "confident") or farthest
    first ("uncertain"); mixed mode: the same, nearest first whatever the order. `exclude`
    leaves out faces the page already holds."""
    found = nearest_people(ws, radius=radius)
    skipped = skipped_faces(ws)
    if mode == ConfirmMode.PAGE:
        size = min(limit, PAGE)
        page = None
        if skipped:
            page = nearest_page(
                ws,
                person_id=person_id,
                size=size,
                exclude=set(exclude) | skipped,
                radius=radius,
                order=PAGE_ORDER,
            )
        if page is None:
            page = nearest_page(
                ws,
                person_id=person_id,
                size=size,
                exclude=exclude,
                radius=radius,
                order=PAGE_ORDER,
            )
        if page is None:
            return NearestPick([], len(found.face_ids), 0)
        mine = int(np.count_nonzero(found.person_ids == page.person_id))
        return NearestPick(
            page.suggestions, len(found.face_ids), mine, {page.person_id: page.reference_face_ids}
        )

    keep = np.ones(len(found.face_ids), dtype=bool)
    if exclude:
        keep &= ~np.isin(found.face_ids, np.fromiter(exclude, dtype=np.int64))
    if person_id is not None:
        keep &= found.person_ids == snapshot(ws).root(int(person_id))
    rows = np.flatnonzero(keep)
    if mode == ConfirmMode.MIXED:
        limit = min(limit, PAGE)
    elif order == GuessOrder.UNCERTAIN:
        rows = rows[::-1]
    if skipped:
        was_skipped = np.isin(found.face_ids[rows], np.fromiter(skipped, dtype=np.int64))
        rows = rows[np.argsort(was_skipped, kind="stable")]
    suggestions = [
        Suggestion(
            int(found.face_ids[i]),
            int(found.image_ids[i]),
            int(found.person_ids[i]),
            round(1.0 - float(found.distances[i]), 4),
        )
        for i in rows[:limit].tolist()
    ]
    return NearestPick(suggestions, len(found.face_ids), None)


def skipped_faces(ws: Workspace) -> set[int]:
    """Faces anyone skipped (and did not take the skip back)."""
    state = snapshot(ws)
    return {face for skips in state.skips.values() for face in skips}
