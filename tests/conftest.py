"""Shared fixtures: real photos from ../shared/data, fresh workspaces, generated images."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from faceloop.testing.workspace import SyntheticInfo, build_synthetic
from faceloop.workspace import Workspace, init_workspace

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The shared photos; a clear failure, never a skip, when they are missing (CI runs every
    test)."""
    if not DATA.is_dir():
        pytest.fail(f"the shared test photos are not at {DATA} (clone beside ../shared)")
    return DATA


needs_data = pytest.mark.usefixtures("shared_data")


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    ws = init_workspace(tmp_path / "ws")
    yield ws
    ws.close()


@pytest.fixture(scope="session")
def pipeline():
    from faceloop.vision import build_pipeline

    return build_pipeline()


def largest_face(path: Path):
    """The largest face faceloop finds in a photo (None when there is none)."""
    from faceloop.api import embed_faces, load_image

    faces = embed_faces(load_image(path))
    return max(faces, key=lambda f: f.box.width * f.box.height, default=None)


@pytest.fixture(scope="session")
def orl_faces() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(embeddings, 112x112 crops, subject 1..40) of the ORL photos, through faceloop's own
    pipeline; the few photos where no face is found are left out."""
    if not DATA.is_dir():
        pytest.fail(f"the shared test photos are not at {DATA}")
    vectors, crops, subjects = [], [], []
    for subject in range(1, 41):
        for n in range(1, 11):
            face = largest_face(DATA / "orl" / f"s{subject}" / f"{n}.pgm")
            if face is not None:
                vectors.append(face.embedding)
                crops.append(face.crop)
                subjects.append(subject)
    return np.stack(vectors), np.stack(crops), np.array(subjects)


def jpeg_bytes(image: Image.Image, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", **options)
    return buffer.getvalue()


def noise_image(width: int = 64, height: int = 48, seed: int = 0) -> Image.Image:
    """A photo-like image with no face in it."""
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 255, (height, width, 3), dtype=np.uint8))


#: ORL subjects for the dataset tests, under the names they get (one in katakana), and how
#: many of each subject's photos they use
ORL_PEOPLE = {1: "Ada", 2: "ボブ", 3: "Cleo", 4: "Dmitri"}
ORL_PHOTOS = 6


@pytest.fixture(scope="session")
def orl_dataset_template(tmp_path_factory) -> Path:
    """A workspace of 24 real ORL photos imported as a folder per person (faceloop
    import-dataset), built once; tests copy it (see `orl_workspace`)."""
    import shutil

    from faceloop.datasets.importing import import_dataset

    if not DATA.is_dir():
        pytest.fail(f"the shared test photos are not at {DATA}")
    base = tmp_path_factory.mktemp("orl-dataset")
    for subject, name in ORL_PEOPLE.items():
        (base / "photos" / name).mkdir(parents=True)
        for n in range(1, ORL_PHOTOS + 1):
            shutil.copy(DATA / "orl" / f"s{subject}" / f"{n}.pgm", base / "photos" / name)
    with init_workspace(base / "ws") as ws:
        summary = import_dataset(ws, base / "photos")
    assert summary.labelled == ORL_PHOTOS * len(ORL_PEOPLE), summary.problems
    return base / "ws"


@pytest.fixture
def orl_workspace(orl_dataset_template: Path, tmp_path: Path) -> Workspace:
    import shutil

    from faceloop.workspace import open_workspace

    shutil.copytree(orl_dataset_template, tmp_path / "orl-ws")
    ws = open_workspace(tmp_path / "orl-ws")
    yield ws
    ws.close()


@pytest.fixture
def small(tmp_path: Path) -> tuple[Workspace, SyntheticInfo]:
    ws = init_workspace(tmp_path / "ws")
    info = build_synthetic(ws, faces=240, people=8, labelled_fraction=0.5, seed=3, photos=True)
    yield ws, info
    ws.close()


@pytest.fixture
def empty(tmp_path: Path) -> Workspace:
    ws = init_workspace(tmp_path / "empty")
    yield ws
    ws.close()
