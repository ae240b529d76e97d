"""Group ids that survive re-clustering, so a group someone is reviewing keeps its id.

Re-clustering after new photos arrive or after labels remove faces yields new groups; each takes
the id of the old group it shares the most faces with, provided those shared faces are a
majority of what is left of the old group or of the new group. Pairs are settled largest overlap
first, so when a group splits the bigger part keeps the id, and when two groups merge the merged
group keeps the id of the one it shares more faces with while the other is reported vanished.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np


def carry_over_ids(
    groups: list[np.ndarray],
    previous: Mapping[int, int],
    *,
    next_id: int | None = None,
) -> tuple[list[int], list[int]]:
    """(an id for each group, old ids that no group took), where groups hold face ids and
    previous maps face id to old group id. Groups that take no old id get fresh ids from
    next_id (default: one past the largest old id), so no vanished id is ever reused."""
    old_ids = sorted(set(previous.values()))
    fresh = (max(old_ids) + 1 if old_ids else 0) if next_id is None else int(next_id)
    present = set()
    overlap: dict[tuple[int, int], int] = {}
    for g, faces in enumerate(groups):
        for face in np.asarray(faces).tolist():
            present.add(face)
            old = previous.get(face)
            if old is not None:
                overlap[(g, old)] = overlap.get((g, old), 0) + 1
    surviving: dict[int, int] = {}
    for face, old in previous.items():
        if face in present:
            surviving[old] = surviving.get(old, 0) + 1
    ids: list[int | None] = [None] * len(groups)
    taken: set[int] = set()
    for (g, old), shared in sorted(
        overlap.items(), key=lambda item: (-item[1], item[0][1], item[0][0])
    ):
        if ids[g] is not None or old in taken:
            continue
        if 2 * shared > surviving[old] or 2 * shared >= len(groups[g]):
            ids[g] = old
            taken.add(old)
    result = []
    for assigned in ids:
        if assigned is None:
            assigned = fresh
            fresh += 1
        result.append(assigned)
    vanished = [old for old in old_ids if old not in taken]
    return result, vanished
