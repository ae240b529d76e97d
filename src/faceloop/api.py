"""The small public surface: find faces in a photo, embed them, compare them.

Modelled on face_recognition's `face_locations` / `face_encodings` / `compare_faces`, so a
newcomer can use faceloop's models without a workspace. The models load on first use.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PIL import Image

from faceloop.vision import shared_pipeline
from faceloop.vision.base import Detection
from faceloop.vision.decode import decode
from faceloop.vision.pipeline import FacePipeline, FoundFace
from faceloop.workspace.config import DetectSettings

DEFAULT_TOLERANCE = 0.6


def _pipeline(detector: str) -> FacePipeline:
    return shared_pipeline(DetectSettings(detector=detector))


def load_image(source: str | os.PathLike[str] | bytes) -> Image.Image:
    """Any photo file or its bytes, upright and in 8-bit RGB (EXIF orientation applied)."""
    data = source if isinstance(source, bytes) else Path(source).read_bytes()
    return decode(data).image


def detect_faces(image: Image.Image, detector: str = "hog") -> list[Detection]:
    """Face boxes with detector scores; faces down to about 40 pixels are found."""
    return _pipeline(detector).detect(image)


def embed_faces(image: Image.Image, detector: str = "hog") -> list[FoundFace]:
    """Every face in the photo with its box, landmarks, aligned chip and 128-d embedding."""
    return _pipeline(detector).find_faces(image)


def face_distance(known: np.ndarray, face: np.ndarray) -> np.ndarray:
    """Euclidean distances from one embedding to each known embedding."""
    known = np.atleast_2d(np.asarray(known, dtype=np.float32))
    if known.size == 0:
        return np.zeros(0, dtype=np.float32)
    return np.linalg.norm(known - np.asarray(face, dtype=np.float32), axis=1)


def compare_faces(
    known: np.ndarray, face: np.ndarray, tolerance: float = DEFAULT_TOLERANCE
) -> np.ndarray:
    """Which known embeddings are the same person. 0.6 suits European faces; East-Asian faces
    need less (0.5 or lower): tune it on your own labelled faces."""
    return face_distance(known, face) <= tolerance
