"""Embeddings of real photos: the same person is nearer than anyone else."""

from __future__ import annotations

import itertools

import numpy as np

from faceloop.api import compare_faces, embed_faces, face_distance, load_image
from tests.conftest import DATA, needs_data


@needs_data
def test_same_person_nearer_than_different_people() -> None:
    people, vectors = [], []
    for photo in sorted((DATA / "known" / "train").glob("*/*")):
        faces = embed_faces(load_image(photo))
        assert len(faces) == 1, photo
        people.append(photo.parent.name)
        vectors.append(faces[0].embedding)
    vectors = np.stack(vectors)
    same, different = [], []
    for i, j in itertools.combinations(range(len(people)), 2):
        distance = float(np.linalg.norm(vectors[i] - vectors[j]))
        (same if people[i] == people[j] else different).append(distance)
    print(f"same person: max {max(same):.3f}; different people: min {min(different):.3f}")
    assert max(same) < min(different)
    assert max(same) < 0.6 < min(different)


@needs_data
def test_compare_known_faces_with_a_group_photo() -> None:
    known = {
        name: embed_faces(load_image(DATA / "known" / "train" / name / f"{name}.jpg"))[0]
        for name in ("obama", "biden")
    }
    group = embed_faces(load_image(DATA / "group" / "face_recognition_obama_and_biden.jpg"))
    names = list(known)
    vectors = np.stack([known[n].embedding for n in names])
    found = set()
    for face in group:
        matches = compare_faces(vectors, face.embedding, tolerance=0.5)
        if matches.any():
            found.add(names[int(np.argmin(face_distance(vectors, face.embedding)))])
    assert found == {"obama", "biden"}


def test_face_distance_of_nothing_is_empty() -> None:
    assert face_distance(np.zeros((0, 128)), np.zeros(128)).shape == (0,)
