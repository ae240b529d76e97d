"""Synthetic face embeddings with a realistic mix of group sizes, for benchmarks and tests.

Shaped like dlib's descriptors of photos in the wild: vectors of length about 1.3 that share a
large common component; each person's centre lies about 0.46 from the common mean, spread
unevenly over directions (variance falling as exp(-i/20), so some people look alike); each face
lies about 0.29 from its person's centre along directions shared by everyone (pose, light), with
a spread that varies from person to person. Two faces of one person come out 0.41 apart (5-95%:
0.30-0.55) and two people 0.76 (0.62-0.94); as on LFW, about 2 in 100,000 pairs of different
people are closer than 0.45 and 5 in 10,000 closer than 0.5 (LFW: 4 and 3).
"""

from __future__ import annotations

import numpy as np

DIMENSIONS = 128
MEAN_NORM = 1.3
CENTRE_RADIUS = 0.46
FACE_RADIUS = 0.29
IDENTITY_DECAY = 20.0
FACE_DECAY = 44.0


def _spectrum(n: int, decay: float) -> np.ndarray:
    sd = np.exp(-np.arange(n) / decay)
    return sd / np.sqrt((sd**2).sum())


def realistic_sizes(n_faces: int, *, seed: int = 0) -> np.ndarray:
    """Faces per person adding up to n_faces: a few people with 1,000+ faces (10% of all faces),
    some with 30-300 (20%), and the rest with 1-5, the long tail that most collections have."""
    rng = np.random.default_rng(seed)
    sizes: list[int] = []
    big_budget, mid_budget = n_faces // 10, n_faces // 5
    while big_budget >= 1000:
        size = int(min(big_budget, rng.integers(1000, 3001)))
        sizes.append(size)
        big_budget -= size
    while mid_budget >= 30:
        size = int(min(mid_budget, np.exp(rng.uniform(np.log(30), np.log(300)))))
        sizes.append(size)
        mid_budget -= size
    rest = n_faces - sum(sizes)
    while rest > 0:
        size = int(min(rest, rng.integers(1, 6)))
        sizes.append(size)
        rest -= size
    return np.array(sizes, dtype=np.int64)


def synthetic_faces(
    sizes: np.ndarray, *, seed: int = 0, dimensions: int = DIMENSIONS
) -> tuple[np.ndarray, np.ndarray]:
    """(embeddings (sum(sizes), d) float32, person of each face), people numbered 0.. in the
    order of sizes; faces are shuffled."""
    rng = np.random.default_rng(seed)
    d = dimensions
    sizes = np.asarray(sizes, dtype=np.int64)
    identity, _ = np.linalg.qr(rng.standard_normal((d, d)))
    face_axes, _ = np.linalg.qr(rng.standard_normal((d, d)))
    mean = identity[:, 0] * MEAN_NORM
    offsets = rng.standard_normal((len(sizes), d - 1)) * _spectrum(d - 1, IDENTITY_DECAY)
    centres = mean + offsets @ identity[:, 1:].T * CENTRE_RADIUS
    spread = FACE_RADIUS * np.exp(rng.normal(0.0, 0.15, len(sizes)))
    people = rng.permutation(np.repeat(np.arange(len(sizes)), sizes))
    out = np.empty((len(people), d), dtype=np.float32)
    face_sd = _spectrum(d, FACE_DECAY)
    for start in range(0, len(people), 65536):
        chunk = people[start : start + 65536]
        noise = (rng.standard_normal((len(chunk), d)) * face_sd) @ face_axes.T
        out[start : start + len(chunk)] = centres[chunk] + noise * spread[chunk, None]
    return out, people


def synthetic_photos(people: np.ndarray, *, shared: float = 0.1, seed: int = 0) -> np.ndarray:
    """An image id per face: most photos hold one face, and a `shared` share of faces sit in
    photos of two to four different people."""
    rng = np.random.default_rng(seed)
    people = np.asarray(people)
    ids = np.arange(len(people), dtype=np.int64)
    faces = np.flatnonzero(rng.random(len(people)) < shared)
    start = 0
    while start < len(faces):
        photo = faces[start : start + int(rng.integers(2, 5))]
        _, first = np.unique(people[photo], return_index=True)
        ids[photo[first]] = photo[0]
        start += len(photo)
    return ids
