"""Rows for tests that need a photo or a person exactly so: real tables, random embeddings."""

from __future__ import annotations

import zlib

import numpy as np
from sqlalchemy import insert, select

from faceloop.db.models import Face, Image, ImageOrigin, Source
from faceloop.workspace import Workspace


def add_photo(
    ws: Workspace,
    faces: int,
    *,
    folder: str = "/photos/a",
    vectors: np.ndarray | None = None,
    hint: int | None = None,
) -> tuple[int, list[int]]:
    """One photo with `faces` faces (random vectors unless given); returns its ids."""
    rng = np.random.default_rng(zlib.crc32(f"{folder}{faces}".encode()))
    with ws.engine.begin() as conn:
        source = conn.scalar(select(Source.id).where(Source.name == "tests"))
        if source is None:
            source = conn.execute(
                insert(Source).values(kind="folder", name="tests", settings={})
            ).inserted_primary_key[0]
        count = conn.scalar(select(Image.id).order_by(Image.id.desc()).limit(1)) or 0
        image_id = conn.execute(
            insert(Image).values(
                sha256=f"{count + 1:064x}",
                phash=0,
                width=400,
                height=300,
                format="jpeg",
                size_bytes=1,
                face_count=faces,
                hint_person_id=hint,
            )
        ).inserted_primary_key[0]
        conn.execute(
            insert(ImageOrigin).values(
                image_id=image_id, source_id=source, path=f"{folder}/{image_id}.jpg", folder=folder
            )
        )
        ids = []
        for n in range(faces):
            vector = vectors[n] if vectors is not None else rng.normal(0, 0.05, 128)
            ids.append(
                conn.execute(
                    insert(Face).values(
                        image_id=image_id,
                        left=10 + 60 * n,
                        top=10,
                        right=60 + 60 * n,
                        bottom=60,
                        detector="hog",
                        score=1.0,
                        landmarks=[],
                        chip_key="0" * 64,
                        crop_key="0" * 64,
                        embedding=np.asarray(vector, dtype=np.float32).tobytes(),
                    )
                ).inserted_primary_key[0]
            )
    return image_id, ids


def make_person(ws: Workspace, name: str) -> int:
    from faceloop.labels.person_ops import create_person

    with ws.transaction() as session:
        return create_person(session, name, ws.owner_id())
