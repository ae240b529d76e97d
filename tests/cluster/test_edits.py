"""Merge suggestions and splits."""

from __future__ import annotations

import numpy as np

from faceloop.cluster import group_faces, merge_suggestions, split_group


def test_split_separates_two_people(crowd) -> None:
    a = np.flatnonzero(crowd.people == 0)
    b = np.flatnonzero(crowd.people == 1)
    merged = np.sort(np.concatenate([a, b]))
    parts = split_group(crowd.embeddings, merged)
    assert len(parts) == 2 and len(parts[0]) >= len(parts[1])
    assert {frozenset(p.tolist()) for p in parts} == {frozenset(a.tolist()), frozenset(b.tolist())}
    tight = split_group(crowd.embeddings, a, threshold=0.2)
    assert len(tight) > 1 and sum(len(p) for p in tight) == len(a)
    assert len(split_group(crowd.embeddings, a[:1])) == 1


def test_halves_of_one_person_are_suggested_for_merging(crowd) -> None:
    x = crowd.embeddings
    grouping = group_faces(x, crowd.photos)
    faces = grouping.groups[0].members
    halves = [faces[::2], faces[1::2]]
    others = [g.members for g in grouping.groups[1:]]
    groups = [*halves, *others]
    ids = list(range(100, 100 + len(groups)))
    suggestions = merge_suggestions(x, groups, threshold=0.45, ids=ids)
    assert suggestions and (suggestions[0].first, suggestions[0].second) == (100, 101)
    assert all(np.diff([s.distance for s in suggestions]) >= 0)
    assert all(s.distance <= 0.45 * 1.15 for s in suggestions)
    photos = crowd.photos.copy()
    photos[halves[1][0]] = photos[halves[0][0]]
    blocked = merge_suggestions(x, groups, threshold=0.45, ids=ids, image_ids=photos)
    assert all((s.first, s.second) != (100, 101) for s in blocked)
