"""group_faces: pure groups, largest first, never two faces of one photo, anchored suggestions,
stable ids."""

from __future__ import annotations

import numpy as np
import pytest

from faceloop.cluster import Anchors, Projection, group_faces


def majority_purity(labels: np.ndarray, people: np.ndarray) -> float:
    grouped = labels >= 0
    right = 0
    for g in np.unique(labels[grouped]):
        right += np.bincount(people[labels == g]).max()
    return right / max(grouped.sum(), 1)


def test_groups_are_pure_sorted_and_consistent(crowd) -> None:
    grouping = group_faces(crowd.embeddings, crowd.photos)
    sizes = [g.size for g in grouping.groups]
    assert sizes == sorted(sizes, reverse=True) and min(sizes) >= 2
    purity = majority_purity(grouping.labels, crowd.people)
    big = np.bincount(crowd.people)[crowd.people] >= 12
    covered = (grouping.labels[big] >= 0).mean()
    print(f"purity {purity:.4f}, faces of people with 12+ in groups {covered:.3f}")
    assert purity >= 0.99 and covered >= 0.8
    members = np.concatenate([g.members for g in grouping.groups] + [grouping.singletons])
    assert np.array_equal(np.sort(members), np.arange(len(crowd.people)))
    for g in grouping.groups:
        assert (grouping.labels[g.members] == g.id).all()
        assert np.all(np.diff(g.members) > 0)
        assert 0 < g.spread < 0.6
    assert (grouping.labels[grouping.singletons] == -1).all()


def test_no_group_holds_two_faces_of_one_photo(crowd) -> None:
    # put pairs of one person's faces into one photo: each pair must end up apart
    photos = crowd.photos.copy()
    for person in range(10):
        faces = np.flatnonzero(crowd.people == person)
        photos[faces[1::2]] = photos[faces[: len(faces[1::2]) * 2 : 2]]
    grouping = group_faces(crowd.embeddings, photos)
    for g in grouping.groups:
        assert len(np.unique(photos[g.members])) == g.size


def test_a_group_near_a_labelled_person_is_offered_as_that_person(crowd) -> None:
    x, people = crowd.embeddings, crowd.people
    labelled = np.zeros(len(x), dtype=bool)
    for person in range(0, 30, 2):  # half the people have three labelled faces
        labelled[np.flatnonzero(people == person)[:3]] = True
    anchors = Anchors(x[labelled], people[labelled] + 1000)
    rest = ~labelled
    grouping = group_faces(x[rest], crowd.photos[rest], anchors=anchors)
    right = wrong = unlabelled_offered = 0
    for g in grouping.groups:
        s = g.suggestion
        majority = np.bincount(people[rest][g.members]).argmax()
        if s is None or not s.confident:
            continue
        assert s.distance <= grouping.threshold and s.margin >= 0.1
        if majority % 2 or majority >= 30:
            unlabelled_offered += 1
        elif s.person_id == majority + 1000:
            right += 1
        else:
            wrong += 1
    print(f"suggestions: {right} right, {wrong} wrong, {unlabelled_offered} for unlabelled people")
    assert right >= 12 and wrong == 0 and unlabelled_offered <= 1


def test_no_suggestion_for_a_person_labelled_in_the_same_photo(crowd) -> None:
    x, people = crowd.embeddings, crowd.people
    faces = np.flatnonzero(people == 0)
    anchors = Anchors(x[faces[:3]], np.full(3, 7), image_ids=np.array([500, 501, faces[5]]))
    rest = faces[3:]
    grouping = group_faces(x[rest], rest, anchors=anchors)
    offered = [g.suggestion.person_id for g in grouping.groups if g.suggestion is not None]
    assert 7 not in offered
    elsewhere = group_faces(x[rest], rest + 10_000, anchors=anchors)
    assert any(g.suggestion and g.suggestion.person_id == 7 for g in elsewhere.groups)


def test_ids_survive_reclustering_with_faces_coming_and_going(crowd) -> None:
    x, photos = crowd.embeddings, crowd.photos
    face_ids = np.arange(len(x)) + 100
    first = group_faces(x, photos, face_ids=face_ids)
    top = first.groups[0]
    # the biggest group's first face was labelled and other faces arrived
    keep = np.ones(len(x), dtype=bool)
    keep[top.members[0]] = False
    keep[-20:] = False
    second = group_faces(
        x[keep], photos[keep], face_ids=face_ids[keep], previous=first.assignments()
    )
    again = second.by_id(top.id)
    assert again is not None
    assert set(face_ids[keep][again.members]) == set(face_ids[top.members[1:]])
    old_ids = {g.id for g in first.groups}
    new_ids = {g.id for g in second.groups}
    assert set(second.vanished) == old_ids - new_ids
    fresh = new_ids - old_ids
    assert all(i > max(old_ids) for i in fresh)


def test_projection_and_validation(crowd) -> None:
    x = crowd.embeddings[:50]
    identity = Projection.identity()
    plain = group_faces(x, np.arange(50))
    projected = group_faces(x, np.arange(50), projection=identity)
    assert np.array_equal(plain.labels, projected.labels)
    with pytest.raises(ValueError):
        group_faces(x, np.arange(49))
    with pytest.raises(ValueError):
        group_faces(x, np.arange(50), face_ids=np.zeros(50))
    empty = group_faces(np.zeros((0, 128), np.float32), np.zeros(0))
    assert empty.groups == [] and len(empty.singletons) == 0
