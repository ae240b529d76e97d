"""The small interfaces behind which face models sit, and the plain values they exchange.

A detector finds boxes, a landmarker places five points in a box, an embedder turns aligned
chips into vectors. dlib is the default backend; another (an ONNX model a user supplies, say)
only has to implement these.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

CHIP_SIZE = 150
CHIP_PADDING = 0.25
CROP_SIZE = 112
CROP_PADDING = 0.4


@dataclass(frozen=True)
class Box:
    left: int
    top: int
    right: int
    bottom: int

    @property
    def width(self) -> int:
        return self.right - self.left

    @property
    def height(self) -> int:
        return self.bottom - self.top

    def scaled(self, factor: float) -> Box:
        return Box(
            round(self.left * factor),
            round(self.top * factor),
            round(self.right * factor),
            round(self.bottom * factor),
        )

    def clipped(self, width: int, height: int) -> Box:
        return Box(
            max(0, min(self.left, width - 1)),
            max(0, min(self.top, height - 1)),
            max(1, min(self.right, width)),
            max(1, min(self.bottom, height)),
        )

    def iou(self, other: Box) -> float:
        w = min(self.right, other.right) - max(self.left, other.left)
        h = min(self.bottom, other.bottom) - max(self.top, other.top)
        inter = max(0, w) * max(0, h)
        union = self.width * self.height + other.width * other.height - inter
        return inter / union if union else 0.0


@dataclass(frozen=True)
class Detection:
    box: Box
    score: float


class Detector(Protocol):
    name: str
    #: the smallest face, in pixels, this detector finds without upsampling
    window: int

    def detect(self, rgb: np.ndarray) -> list[Detection]: ...


class Landmarker(Protocol):
    def landmarks(self, rgb: np.ndarray, box: Box) -> np.ndarray:
        """Five (x, y) points: eye corners and the base of the nose, as dlib orders them."""
        ...


class Embedder(Protocol):
    name: str

    def embed(self, chips: np.ndarray) -> np.ndarray:
        """(N, 150, 150, 3) uint8 aligned chips to (N, 128) float32 vectors."""
        ...
