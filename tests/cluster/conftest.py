"""Face embeddings for the grouping tests: ORL photos embedded once per session with faceloop's
own API, and synthetic faces shaped like dlib's."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from faceloop.testing.embeddings import synthetic_faces
from tests.conftest import DATA

#: ORL people and photos per person embedded: 20 x 8 keeps the session's embedding near 25 s
ORL_PEOPLE = 20
ORL_PER_PERSON = 8


@dataclass(frozen=True)
class Faces:
    embeddings: np.ndarray
    people: np.ndarray
    photos: np.ndarray


@pytest.fixture(scope="session")
def orl() -> Faces:
    """ORL faces (one per photo; photos where no face is found are left out), person = the
    subject number."""
    if not (DATA / "orl").is_dir():
        pytest.fail(f"the ORL photos are not at {DATA / 'orl'}")
    from faceloop.api import embed_faces, load_image

    vectors, people, photos = [], [], []
    for subject in range(1, ORL_PEOPLE + 1):
        for n in range(1, ORL_PER_PERSON + 1):
            faces = embed_faces(load_image(DATA / "orl" / f"s{subject}" / f"{n}.pgm"))
            if faces:
                vectors.append(faces[0].embedding)
                people.append(subject)
                photos.append(len(photos))
    return Faces(np.stack(vectors).astype(np.float32), np.array(people), np.array(photos))


@pytest.fixture(scope="session")
def crowd() -> Faces:
    """Synthetic faces: 30 people with 12-40 faces and 200 with one or two, one face per photo."""
    rng = np.random.default_rng(3)
    sizes = np.concatenate([rng.integers(12, 41, 30), rng.integers(1, 3, 200)])
    x, people = synthetic_faces(sizes, seed=3)
    return Faces(x, people, np.arange(len(x)))
