"""Photo in, faces out: detection at the right scale, landmarks, aligned chips, embeddings.

The pipeline composes the small model classes of `faceloop.vision` the way Immich's
machine-learning service does: each class does one task, this module only wires them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image

from faceloop.vision.base import (
    CHIP_PADDING,
    CHIP_SIZE,
    CROP_PADDING,
    CROP_SIZE,
    Box,
    Detection,
    Detector,
    Embedder,
    Landmarker,
)
from faceloop.vision.dlib_backend import face_chip


@dataclass(frozen=True)
class FoundFace:
    box: Box
    score: float
    landmarks: np.ndarray
    chip: np.ndarray
    crop: np.ndarray
    embedding: np.ndarray


class FacePipeline:
    def __init__(
        self,
        detector: Detector,
        landmarker: Landmarker,
        embedder: Embedder,
        min_face: int = 40,
        max_detect_pixels: int = 4_000_000,
    ) -> None:
        # the settings file is checked when a workspace opens; a pipeline built by hand must
        # not turn a zero into a ZeroDivisionError or a negative into a photo with no faces
        if not min_face > 0:
            raise ValueError(f"min_face must be a positive number of pixels, not {min_face!r}")
        if not max_detect_pixels > 0:
            raise ValueError(
                f"max_detect_pixels must be a positive number of pixels, not {max_detect_pixels!r}"
            )
        self.detector = detector
        self.landmarker = landmarker
        self.embedder = embedder
        self.min_face = min_face
        self.max_detect_pixels = max_detect_pixels

    def detection_scale(self, width: int, height: int) -> float:
        """Upsample so the smallest wanted face fills the detector's window, within a budget
        of pixels (a 12-megapixel phone photo is downscaled instead)."""
        wanted = self.detector.window / self.min_face
        budget = math.sqrt(self.max_detect_pixels / (width * height))
        return min(wanted, budget)

    def detect(self, image: Image.Image) -> list[Detection]:
        """Boxes in the photo's own coordinates, however much it was scaled for the detector."""
        scale = self.detection_scale(image.width, image.height)
        if abs(scale - 1.0) < 0.01:
            scaled = np.asarray(image)
        else:
            size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
            scaled = np.asarray(image.resize(size, Image.Resampling.BILINEAR))
        return [
            Detection(d.box.scaled(1 / scale).clipped(image.width, image.height), d.score)
            for d in self.detector.detect(scaled)
        ]

    def find_faces(self, image: Image.Image) -> list[FoundFace]:
        rgb = np.asarray(image)
        return self._describe(rgb, [(d.box, d.score) for d in self.detect(image)])

    def describe(self, image: Image.Image, box: Box, score: float = 0.0) -> FoundFace:
        """Landmarks, chip and embedding for a box a person drew around a missed face."""
        rgb = np.asarray(image)
        return self._describe(rgb, [(box.clipped(image.width, image.height), score)])[0]

    def _describe(self, rgb: np.ndarray, boxes: list[tuple[Box, float]]) -> list[FoundFace]:
        if not boxes:
            return []
        parts = [self.landmarker.landmarks(rgb, box) for box, _ in boxes]
        chips = np.stack(
            [
                face_chip(rgb, box, pts, CHIP_SIZE, CHIP_PADDING)
                for (box, _), pts in zip(boxes, parts, strict=True)
            ]
        )
        crops = [
            face_chip(rgb, box, pts, CROP_SIZE, CROP_PADDING)
            for (box, _), pts in zip(boxes, parts, strict=True)
        ]
        vectors = self.embedder.embed(chips)
        return [
            FoundFace(box, score, pts, chip, crop, vector)
            for (box, score), pts, chip, crop, vector in zip(
                boxes, parts, chips, crops, vectors, strict=True
            )
        ]
