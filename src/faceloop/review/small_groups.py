"""Small groups whose faces all look like one person already named, for the mixed confirm page.

A person already named often has a few faces left that are not near enough to any of their
labelled faces to be offered alone (`nearest.py` at the learned threshold), yet sit together in a
group of two or three. On the groups page each such group takes an Enter of its own: on
lfw-devtrain (people with 5+ photos) a quarter of the groups named were of people already named,
mostly pairs. When every face of a small group has the same nearest labelled person within the
wide reach, the group is that person nearly always (86 of 96 such groups; the others were new
people whose faces all looked like someone named): the agreement of its faces makes up for the
distance. So the mixed page offers them, several groups to an Enter, each face captioned with
the person; a wrong group is deselected like any wrong face.

Large groups are left to the groups page, where one Enter names them whatever their size, and
they come first: while any group larger than `MAX_SIZE` is open, no small group is offered. The
large groups are the people nobody has named yet; before they are named, a small group's faces
often look most like someone else who is (offered from the start, the wrong ones cost the
labelling simulation 200 deselections instead of the 30 measured above). The group as a whole
must also be nearer its person than anyone else by `MARGIN` (the comparison the grouping run
makes for "probably <name>", with half its margin and no distance limit): on the faces the
simulation was offered, that kept 110 of the 111 right groups and dropped 15 of the 23 wrong.

Measured with bench/simulate_labeling.py on lfw-devtrain: people with 5+ photos 612 actions
without these pages, 603 with them (a margin of 0.03: 605; groups of up to 8: 615); people with
20+ photos 134 and 127.
"""

from __future__ import annotations

from collections.abc import Collection

import numpy as np

from faceloop.grouping.views import nearest_person
from faceloop.readmodel import snapshot
from faceloop.readmodel.group_space import load_space
from faceloop.readmodel.groups import current
from faceloop.review.look_alikes import nearest_people
from faceloop.review.model_guesses import Suggestion
from faceloop.workspace import Workspace

#: the largest group offered on a mixed page (more unlabelled faces: the groups page)
MAX_SIZE = 5
#: how much nearer the group as a whole must be to its person than to the next one
MARGIN = 0.05
#: groups compared with the labelled people at once
BATCH = 32


def small_group_suggestions(
    ws: Workspace, *, radius: float, limit: int, exclude: Collection[int] = ()
) -> list[Suggestion]:
    """Once no open group has more than `MAX_SIZE` unlabelled faces: the faces of the open
    groups of two or more whose every face has the same nearest labelled person within
    `radius`, and which as a whole are nearer that person than anyone else by `MARGIN`,
    suggested as that person. Whole groups only, the nearest groups (by their farthest face)
    first, each group's faces together, nearest first. `exclude` leaves out faces (and so
    their groups) a page already holds."""
    if limit <= 0:
        return []
    state = snapshot(ws)
    view = current(ws, state)
    tables = view.tables
    if np.any(tables.open & (view.counts > MAX_SIZE)):
        return []
    found = nearest_people(ws, radius=radius)
    member_group = np.repeat(np.arange(len(tables.ids)), np.diff(tables.starts))
    small = tables.open & (view.counts >= 2)
    members = np.flatnonzero(view.open_member & small[member_group])
    if not len(members) or not len(found.face_ids):
        return []
    faces = tables.faces[members]
    groups = member_group[members]
    order = np.argsort(found.face_ids, kind="stable")
    at = np.clip(np.searchsorted(found.face_ids[order], faces), 0, len(order) - 1)
    known = found.face_ids[order][at] == faces
    row = order[at]
    if exclude:
        known &= ~np.isin(faces, np.fromiter(exclude, dtype=np.int64))
    person = np.where(known, found.person_ids[row], -1)
    distance = np.where(known, found.distances[row], np.inf)
    picked: list[tuple[float, np.ndarray]] = []
    # members come group by group: each group is one run of `groups`
    bounds = np.flatnonzero(np.r_[True, groups[1:] != groups[:-1], True])
    for lo, hi in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True):
        mine = np.arange(lo, hi)
        people = person[mine]
        if hi - lo != view.counts[groups[lo]] or people[0] < 0 or np.any(people != people[0]):
            continue
        mine = mine[np.argsort(distance[mine], kind="stable")]
        picked.append((float(distance[mine[-1]]), mine))
    picked.sort(key=lambda p: p[0])
    # Compared with the labelled people a few groups at a time, nearest first, only until the
    # page is full: at a hundred thousand faces there may be thousands of small groups, and
    # comparing them all for every page would cost a second.
    space = load_space(ws)
    out: list[Suggestion] = []
    while picked and len(out) < limit:
        batch = [p for p in picked[:BATCH] if len(p[1]) <= limit - len(out)]
        picked = picked[BATCH:]
        compared = nearest_person(state, space, [view.pos[members[m]] for _, m in batch])
        for (_, mine), group in zip(batch, compared, strict=True):
            if group is None or group.person_id != person[mine[0]] or group.margin < MARGIN:
                continue
            if len(out) + len(mine) > limit:
                continue
            out += [
                Suggestion(
                    int(faces[m]),
                    int(found.image_ids[row[m]]),
                    int(person[m]),
                    round(1.0 - float(distance[m]), 4),
                )
                for m in mine.tolist()
            ]
    return out
