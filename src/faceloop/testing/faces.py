"""Synthetic faces for benchmarks and tests, shaped like the real thing.

The embedding generator is fitted to dlib embeddings of LFW (photos in the wild, like the selfies
faceloop is for): vectors of length about 1.3 sharing a large common component, identity centres
about 0.5 from that mean, faces about 0.3 from their person's centre. Neither spread is round:
identities vary mostly along a few directions (variance falling as exp(-i/14) over them, so some
people look alike) and faces vary from their person along directions shared by everyone (pose,
light, age; variance falling as exp(-i/44)), as measured on 111 LFW people. Two faces of one
person come out about 0.42 apart (5-95%: 0.27-0.66; LFW 0.31-0.56) and of two people about 0.81
(0.63-1.01; LFW 0.67-0.97).
"""

from __future__ import annotations

import numpy as np
import torch
from torch.nn import functional as F

EMBEDDING_SIZE = 128
MEAN_NORM = 1.3
CENTRE_RADIUS = 0.49
FACE_RADIUS = 0.30
IDENTITY_DECAY = 14.0
FACE_DECAY = 44.0


def _spectrum(n: int, decay: float) -> np.ndarray:
    sd = np.exp(-np.arange(n) / decay)
    return sd / np.sqrt((sd**2).sum())


class EmbeddingWorld:
    """A fixed population of identities from which faces can be drawn repeatedly."""

    def __init__(self, n_people: int, seed: int = 0) -> None:
        self.rng = np.random.default_rng(seed)
        d = EMBEDDING_SIZE
        identity, _ = np.linalg.qr(self.rng.standard_normal((d, d)))
        self.face_axes, _ = np.linalg.qr(self.rng.standard_normal((d, d)))
        self.mean = identity[:, 0] * MEAN_NORM
        offsets = self.rng.standard_normal((n_people, d - 1)) * _spectrum(d - 1, IDENTITY_DECAY)
        self.centres = self.mean + offsets @ identity[:, 1:].T * CENTRE_RADIUS
        self.spread = FACE_RADIUS * np.exp(self.rng.normal(0.0, 0.25, n_people))

    def faces(self, people: np.ndarray) -> np.ndarray:
        """One face of each listed person (index into the population)."""
        people = np.asarray(people, dtype=np.int64)
        noise = self.rng.standard_normal((len(people), EMBEDDING_SIZE))
        noise = (noise * _spectrum(EMBEDDING_SIZE, FACE_DECAY)) @ self.face_axes.T
        return (self.centres[people] + noise * self.spread[people, None]).astype(np.float32)


def synthetic_embeddings(
    n_classes: int, per_class: int, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """`per_class` faces of each of `n_classes` people, labelled 1..n_classes."""
    world = EmbeddingWorld(n_classes, seed)
    people = np.repeat(np.arange(n_classes), per_class)
    return world.faces(people), people + 1


def synthetic_crops(
    n_classes: int, per_class: int, size: int = 112, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """(N, size, size, 3) uint8 images labelled 1..n_classes: each class is a smooth random
    pattern in its own colours, each image a noisy, shifted, differently lit copy of it. Costs
    what real crops cost to train on, and is learnable in a few dozen steps, which keeps CNN
    tests short."""
    rng = np.random.default_rng(seed)
    colours = rng.uniform(40, 215, (n_classes, 3, 1, 1))
    pattern = rng.uniform(-40, 40, (n_classes, 3, 6, 6))
    coarse = torch.from_numpy((colours + pattern).astype(np.float32))
    big = F.interpolate(coarse, size=(size + 16, size + 16), mode="bilinear")
    big = big.permute(0, 2, 3, 1).numpy()
    images = np.empty((n_classes * per_class, size, size, 3), dtype=np.uint8)
    labels = np.repeat(np.arange(1, n_classes + 1), per_class)
    for n, label in enumerate(labels):
        dy, dx = rng.integers(0, 17, 2)
        image = big[label - 1, dy : dy + size, dx : dx + size]
        image = image * rng.uniform(0.8, 1.2) + rng.normal(0, 20, image.shape)
        images[n] = np.clip(image, 0, 255).astype(np.uint8)
    return images, labels
