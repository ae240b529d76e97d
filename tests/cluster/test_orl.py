"""Real faces: ORL photos embedded with faceloop's own pipeline."""

from __future__ import annotations

import numpy as np

from faceloop.cluster import DEFAULT_THRESHOLD, group_faces, learn_threshold, pair_precision


def test_groups_on_orl_are_nearly_pure(orl) -> None:
    grouping = group_faces(orl.embeddings, orl.photos)
    grouped = grouping.labels >= 0
    right = sum(np.bincount(orl.people[g.members]).max() for g in grouping.groups)
    purity = right / grouped.sum()
    people_split = np.mean([len(set(grouping.labels[orl.people == p])) for p in set(orl.people)])
    print(
        f"ORL: {len(orl.people)} faces, {len(grouping.groups)} groups, purity {purity:.4f}, "
        f"{grouped.mean():.1%} of faces in groups of 2+, {people_split:.2f} groups per person"
    )
    assert purity >= 0.99
    assert grouped.mean() >= 0.8


def test_cannot_link_holds_on_orl(orl) -> None:
    # pretend each person's photos 1 and 2 are one photo: they must end up in different groups
    photos = orl.photos.copy()
    for person in set(orl.people):
        faces = np.flatnonzero(orl.people == person)
        photos[faces[1]] = photos[faces[0]]
    grouping = group_faces(orl.embeddings, photos)
    for g in grouping.groups:
        assert len(set(photos[g.members])) == g.size


def test_threshold_learned_on_some_photos_holds_for_the_others(orl) -> None:
    # half of each person's photos are labelled; the pairs among the other half are new
    rank = np.array([np.sum(orl.people[:i] == p) for i, p in enumerate(orl.people)])
    fit = rank % 2 == 0
    learned = learn_threshold(orl.embeddings[fit], orl.people[fit], target_precision=0.99)
    precision, recall = pair_precision(orl.embeddings[~fit], orl.people[~fit], learned.value)
    print(
        f"ORL threshold {learned.value:.3f} (default {DEFAULT_THRESHOLD}), lower bound "
        f"{learned.precision:.4f} on {learned.same_pairs} + {learned.different_pairs} pairs; "
        f"held-out photos: precision {precision:.4f}, recall {recall:.3f}"
    )
    assert learned.learned and abs(learned.value - DEFAULT_THRESHOLD) > 0.005
    assert precision >= 0.99
