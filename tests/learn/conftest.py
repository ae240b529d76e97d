"""Real faces for the learning tests: embeddings and crops from faceloop's own pipeline,
computed once per session (see tests/conftest.py)."""

from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import DATA, largest_face


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread():
    """Run these tests on one torch thread. The library uses whatever the caller set; on a
    machine whose cores are busy with other work, two OpenMP threads spin-waiting for each other
    make small models ten times slower, which would only slow the suite down."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def orl_embeddings(orl_faces) -> tuple[np.ndarray, np.ndarray]:
    """(X, y): embeddings of ORL faces, y = the subject number 1..40."""
    vectors, _, subjects = orl_faces
    return vectors, subjects


@pytest.fixture(scope="session")
def orl_crops(orl_faces) -> tuple[np.ndarray, np.ndarray]:
    """(X, y): the 112x112 face crops faceloop stores, y = the subject number 1..40."""
    _, crops, subjects = orl_faces
    return crops, subjects


#: who is in each photo of known/test (Jon Snow is played by Kit Harington)
KNOWN_TEST = {
    "alex_lacamoire1.jpg": "alex_lacamoire",
    "johnsnow_test1.jpg": "kit_harington",
    "obama1.jpg": "obama",
}


@pytest.fixture(scope="session")
def known_embeddings() -> tuple[dict[str, list[np.ndarray]], dict[str, np.ndarray]]:
    """Embeddings of the five people in known/train by name, and of the known/test photos by
    the name of who is in them."""
    if not DATA.is_dir():
        pytest.fail(f"the shared test photos are not at {DATA}")
    train: dict[str, list[np.ndarray]] = {}
    for folder in sorted((DATA / "known" / "train").iterdir()):
        for path in sorted(folder.iterdir()):
            face = largest_face(path)
            if face is not None:
                train.setdefault(folder.name, []).append(face.embedding)
    test = {}
    for file, name in KNOWN_TEST.items():
        face = largest_face(DATA / "known" / "test" / file)
        if face is not None:
            test[name] = face.embedding
    return train, test
