"""Recognising the same photo re-posted: resized, re-compressed, re-encoded.

A perceptual hash finds candidates fast, but on its own it also pairs different photos with the
same layout (a face in the middle of every selfie): on LFW, 23 of 42 pHash pairs within 6 bits
were different people. So each candidate is confirmed: the small greyscale thumbnails must
correlate almost perfectly, and the faces in both photos must be the same faces.
"""

from __future__ import annotations

import imagehash
import numpy as np
from PIL import Image

SIGNATURE_SIDE = 32
MIN_CORRELATION = 0.95
MAX_FACE_DISTANCE = 0.35


def phash(image: Image.Image) -> int:
    """A 64-bit perceptual hash as a signed integer, the range SQL integers hold."""
    value = int(str(imagehash.phash(image)), 16)
    return value - (1 << 64) if value >= 1 << 63 else value


def signature(image: Image.Image) -> bytes:
    """A 32x32 greyscale thumbnail: re-encoding barely changes it, a different photo does."""
    grey = image.convert("L").resize((SIGNATURE_SIDE, SIGNATURE_SIDE), Image.Resampling.BOX)
    return grey.tobytes()


def same_photo(
    signature_a: bytes,
    signature_b: bytes,
    faces_a: np.ndarray,
    faces_b: np.ndarray,
) -> bool:
    """Thumbnails correlated at 0.95 or more, and the faces found in both the same faces
    (embeddings within 0.35; the same face re-encoded is 0.05-0.2 away). A smaller copy may
    lose a small face, so the photo with fewer faces is the one whose faces must all match."""
    if _correlation(signature_a, signature_b) < MIN_CORRELATION:
        return False
    if len(faces_a) == 0 or len(faces_b) == 0:
        return len(faces_a) == len(faces_b)
    fewer, more = sorted((faces_a, faces_b), key=len)
    distances = np.linalg.norm(fewer[:, None, :] - more[None, :, :], axis=2)
    return bool((distances.min(axis=1) <= MAX_FACE_DISTANCE).all())


def _correlation(a: bytes, b: bytes) -> float:
    x = np.frombuffer(a, dtype=np.uint8).astype(np.float64)
    y = np.frombuffer(b, dtype=np.uint8).astype(np.float64)
    x -= x.mean()
    y -= y.mean()
    norm = np.linalg.norm(x) * np.linalg.norm(y)
    return float(x @ y / norm) if norm else float(np.array_equal(a, b))


class NearCopyIndex:
    """Perceptual hashes of the stored photos, searched by Hamming distance in one numpy pass
    (a hundred thousand photos take well under a millisecond)."""

    def __init__(self, ids: np.ndarray, hashes: np.ndarray) -> None:
        self.ids = ids
        self.hashes = hashes.view(np.uint64)
        self.size = len(ids)

    def candidates(self, phash_value: int, max_bits: int) -> list[int]:
        """Stored photos within `max_bits`, nearest first."""
        if self.size == 0:
            return []
        value = np.array([phash_value], dtype=np.int64).view(np.uint64)[0]
        distances = np.bitwise_count(self.hashes[: self.size] ^ value)
        near = np.flatnonzero(distances <= max_bits)
        return [int(self.ids[i]) for i in near[np.argsort(distances[near], kind="stable")]]

    def add(self, image_id: int, phash_value: int) -> None:
        if self.size == len(self.ids):
            grow = max(1024, self.size)
            self.ids = np.concatenate([self.ids, np.zeros(grow, dtype=np.int64)])
            self.hashes = np.concatenate([self.hashes, np.zeros(grow, dtype=np.uint64)])
        self.ids[self.size] = image_id
        self.hashes[self.size] = np.array([phash_value], dtype=np.int64).view(np.uint64)[0]
        self.size += 1
