"""Synthetic faces for the export tests: small, distinct JPEGs made with Pillow, no real photos."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import datetime

import numpy as np
import pytest
from PIL import Image

from faceloop.export import ExportFace, Provenance, split_of

PEOPLE = {
    1: ("アリス", ("Alice", "ありす")),
    2: ("Bob/../..", ()),
    3: ("mei", ("Mei-chan",)),
    4: ("Mei", ()),
}


def make_jpeg(seed: int, size: int = 112, quality: int = 80) -> bytes:
    """A blocky random image: different for every seed, a few KB like a real crop."""
    rng = np.random.default_rng(seed)
    blocks = rng.integers(0, 255, (size // 8, size // 8, 3), dtype=np.uint8)
    image = Image.fromarray(blocks).resize((size, size), Image.Resampling.BILINEAR)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


def make_face(face_id: int, label: int, split: str | None = None) -> ExportFace:
    name, aliases = PEOPLE.get(label, (None, ()))
    return ExportFace(
        face_id=face_id,
        label=label,
        split=split or split_of(face_id, seed=7),
        crop_jpeg=make_jpeg(face_id),
        chip_jpeg=make_jpeg(face_id + 1_000_000, size=150),
        photo=lambda: make_jpeg(face_id + 2_000_000, size=320),
        person_id=100 + label if label else None,
        person_name=name,
        aliases=aliases,
        box=(face_id, 2 * face_id, face_id + 50, 2 * face_id + 60),
        embedding=np.full(128, face_id / 1000, dtype=np.float32),
        provenance=Provenance(
            photo_sha256=f"{face_id:064x}",
            photo_path=f"photos/{face_id}.jpg",
            source_kind="folder",
            account="@someone",
            post_url=f"https://example.com/p/{face_id}",
            posted_at=datetime(2024, 5, 1, 12, 0, face_id % 60),
            labelled_by="owner",
            labelled_at=datetime(2024, 6, 1, 9, 30),
            label_origin="manual" if face_id % 2 else "suggestion",
        ),
    )


def make_faces(count: int = 60, labels: tuple[int, ...] = (0, 1, 2, 3, 4)) -> Iterator[ExportFace]:
    """A stream, as the database gives it: built one face at a time."""
    for face_id in range(1, count + 1):
        yield make_face(face_id, labels[face_id % len(labels)])


@pytest.fixture
def faces() -> list[ExportFace]:
    return list(make_faces())
