"""A synthetic workspace at full scale: people with names in several scripts, photos, faces with
random embeddings clustered by person, labels, and generated chips.

The latency benchmark needs a hundred thousand faces and a thousand people in seconds, which an
import of real photos cannot give; tests use the same builder at a small size. Rows are written
with bulk inserts; chips are a few dozen generated JPEGs shared by every face.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PIL import Image as PILImage
from sqlalchemy import insert, select

from faceloop.db.models import (
    Decision,
    Face,
    FaceLabel,
    Image,
    ImageOrigin,
    Person,
    PersonAlias,
    PersonTag,
    Source,
    Tag,
    utcnow,
)
from faceloop.labels.decisions import PERSON
from faceloop.workspace import Workspace
from faceloop.workspace.blobs import sha256

_SURNAMES = (
    "佐藤 鈴木 高橋 田中 渡辺 伊藤 山本 中村 小林 加藤 "
    "吉田 山田 佐々木 松本 井上 木村 林 清水 山口 森"
)
_GIVEN = (
    "陽菜 結衣 美咲 さくら 葵 凛 莉子 美月 ひなた 愛 彩 優花 七海 真央 楓 遥 花 結菜 心愛 ほのか"
)
_ROMAJI = (
    "Aya Mio Rina Nana Yui Saki Mei Hana Riko Kana Mika Emi Nao Yuka Ami Rei Sora Kaho Miu Aoi"
)
_GROUP_WORDS = [
    "Sakura",
    "Star",
    "Moon",
    "Ribbon",
    "Candy",
    "Pearl",
    "Crystal",
    "Angel",
    "Lily",
    "Melody",
]


@dataclass(frozen=True)
class SyntheticInfo:
    faces: int
    people: int
    images: int
    labelled: int
    person_ids: list[int]
    seconds: float


def person_names(count: int, rng: np.random.Generator) -> list[tuple[str, list[str]]]:
    """Names and aliases as fans write them: kanji, katakana and romaji, some with aliases."""
    surnames, given, romaji = _SURNAMES.split(), _GIVEN.split(), _ROMAJI.split()
    names: list[tuple[str, list[str]]] = []
    seen: set[str] = set()
    while len(names) < count:
        style = rng.integers(0, 3)
        n = len(names)
        if style == 0:
            name = f"{surnames[rng.integers(len(surnames))]}{given[rng.integers(len(given))]}"
        elif style == 1:
            name = f"{romaji[rng.integers(len(romaji))]} {romaji[rng.integers(len(romaji))]}"
        else:
            name = f"{given[rng.integers(len(given))]}{n}"
        if name in seen:
            name = f"{name} {n}"
        seen.add(name)
        aliases = [f"{romaji[rng.integers(len(romaji))].lower()}{n}"] if rng.random() < 0.3 else []
        names.append((name, aliases))
    return names


def _chip(rng: np.random.Generator, size: int) -> bytes:
    base = rng.integers(60, 200, 3)
    y, x = np.mgrid[0:size, 0:size]
    face = ((x - size / 2) ** 2 + (y - size / 2) ** 2) < (size * 0.35) ** 2
    pixels = np.empty((size, size, 3), dtype=np.uint8)
    pixels[:] = base
    pixels[face] = np.clip(base + 50, 0, 255)
    pixels = np.clip(pixels + rng.integers(-12, 12, pixels.shape), 0, 255).astype(np.uint8)
    buffer = io.BytesIO()
    PILImage.fromarray(pixels).save(buffer, "JPEG", quality=80)
    return buffer.getvalue()


def build_synthetic(
    ws: Workspace,
    *,
    faces: int = 100_000,
    people: int = 1_000,
    labelled_fraction: float = 0.5,
    seed: int = 0,
    photos: bool = False,
    progress: Callable[[str], None] | None = None,
) -> SyntheticInfo:
    """Fill an empty workspace. With `photos`, each photo is a real (tiny) JPEG in the blob
    store, so the photo pages work; without, only chips are stored (enough for the label page
    and the person page)."""
    import time

    started = time.monotonic()
    rng = np.random.default_rng(seed)
    tell = progress or (lambda _m: None)
    owner = ws.owner_id()
    chip_keys = []
    for _ in range(48):
        data = _chip(rng, 150)
        chip_keys.append(ws.blobs.put(data))
    crop_keys = [ws.blobs.put(_chip(rng, 112)) for _ in range(16)]
    tell("people")
    names = person_names(people, rng)
    with ws.engine.begin() as conn:
        source_id = conn.execute(
            insert(Source).values(kind="folder", name="synthetic", settings={})
        ).inserted_primary_key[0]
        conn.execute(insert(Person), [{"name": name, "hidden": False} for name, _ in names])
        person_ids = list(conn.scalars(select(Person.id).order_by(Person.id)))
        aliases = [
            {"person_id": pid, "alias": alias}
            for pid, (_, person_aliases) in zip(person_ids, names, strict=True)
            for alias in person_aliases
        ]
        if aliases:
            conn.execute(insert(PersonAlias), aliases)
        groups = [f"{word} {n}" for n in range(5) for word in _GROUP_WORDS]
        conn.execute(insert(Tag), [{"name": g} for g in groups])
        tag_ids = list(conn.scalars(select(Tag.id).order_by(Tag.id)))
        conn.execute(
            insert(PersonTag),
            [
                {"person_id": pid, "tag_id": tag_ids[i % len(tag_ids)]}
                for i, pid in enumerate(person_ids)
                if i % 3
            ],
        )
    tell("photos")
    sizes: list[int] = []
    total = 0
    while total < faces:
        size = 1 if rng.random() < 0.6 else int(rng.integers(2, 5))
        size = min(size, faces - total)
        sizes.append(size)
        total += size
    centres = rng.normal(0, 1, (people, 128)).astype(np.float32)
    centres *= 0.6 / np.linalg.norm(centres, axis=1, keepdims=True)
    now = utcnow()
    image_rows = []
    origin_rows = []
    blob_count = 0
    for n, size in enumerate(sizes):
        if photos:
            data = _chip(rng, 96)
            key = sha256(data)
            ws.blobs.put_as(key, data)
            blob_count += 1
        else:
            key = sha256(f"synthetic-photo-{seed}-{n}".encode())
        image_rows.append(
            {
                "sha256": key,
                "phash": int(n),
                "width": 96 if photos else 1024,
                "height": 96 if photos else 768,
                "format": "jpeg",
                "size_bytes": 1000,
                "face_count": size,
                "first_seen": now,
            }
        )
    with ws.engine.begin() as conn:
        conn.execute(insert(Image), image_rows)
        image_ids = list(conn.scalars(select(Image.id).order_by(Image.id)))
        for n, image_id in enumerate(image_ids):
            folder = f"/photos/{_GROUP_WORDS[n % len(_GROUP_WORDS)]}/{n % 37}"
            origin_rows.append(
                {
                    "image_id": image_id,
                    "source_id": source_id,
                    "path": f"{folder}/{n}.jpg",
                    "folder": folder,
                    "seen_at": now,
                }
            )
        conn.execute(insert(ImageOrigin), origin_rows)
    tell("faces")
    owners = rng.integers(0, people, faces)
    spread = 0.3 / np.sqrt(128)
    vectors = centres[owners] + rng.normal(0, spread, (faces, 128)).astype(np.float32)
    face_rows = []
    k = 0
    for image_id, size in zip(image_ids, sizes, strict=True):
        scale = 96 if photos else 1024
        for j in range(size):
            left = (j * scale) // max(size, 1)
            width = max(8, scale // (size + 1))
            face_rows.append(
                {
                    "image_id": image_id,
                    "left": left,
                    "top": scale // 8,
                    "right": min(scale, left + width),
                    "bottom": min(scale, scale // 8 + width),
                    "detector": "hog",
                    "score": 1.0,
                    "landmarks": [],
                    "chip_key": chip_keys[k % len(chip_keys)],
                    "crop_key": crop_keys[k % len(crop_keys)],
                    "embedding": vectors[k].astype(np.float32).tobytes(),
                    "created_at": now,
                }
            )
            k += 1
    with ws.engine.begin() as conn:
        for start in range(0, len(face_rows), 20_000):
            conn.execute(insert(Face), face_rows[start : start + 20_000])
        face_ids = list(conn.scalars(select(Face.id).order_by(Face.id)))
    tell("labels")
    labelled = rng.random(faces) < labelled_fraction
    decision_rows = [
        {
            "face_id": face_ids[i],
            "verdict": PERSON,
            "person_id": person_ids[owners[i]],
            "origin": "import" if i % 2 else "manual",
            "user_id": owner,
            "batch": f"synthetic-{i}",
            "created_at": now,
        }
        for i in np.flatnonzero(labelled)
    ]
    with ws.engine.begin() as conn:
        for start in range(0, len(decision_rows), 20_000):
            conn.execute(insert(Decision), decision_rows[start : start + 20_000])
        label_rows = [
            {"face_id": f, "decision_id": d, "verdict": PERSON, "person_id": p}
            for d, f, p in conn.execute(
                select(Decision.id, Decision.face_id, Decision.person_id).order_by(Decision.id)
            )
        ]
        for start in range(0, len(label_rows), 20_000):
            conn.execute(insert(FaceLabel), label_rows[start : start + 20_000])
    return SyntheticInfo(
        faces=len(face_ids),
        people=len(person_ids),
        images=len(image_ids),
        labelled=len(label_rows),
        person_ids=person_ids,
        seconds=time.monotonic() - started,
    )
