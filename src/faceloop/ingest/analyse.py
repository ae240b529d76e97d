"""Photo bytes in, everything faceloop stores about the photo out; no database, no files.

This is the part of an import that runs in worker processes: it decodes each photo once and
returns plain, picklable values (JPEG bytes of the chips, the embedding as float32 bytes).
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass

import numpy as np
from PIL import Image

from faceloop.ingest.lifeline import die_with_parent
from faceloop.ingest.near_copies import phash, signature
from faceloop.vision import build_pipeline
from faceloop.vision.decode import UnreadableImage, decode
from faceloop.vision.pipeline import FacePipeline, FoundFace
from faceloop.workspace.config import DetectSettings

JPEG_QUALITY = 92


@dataclass(frozen=True)
class AnalysedFace:
    box: tuple[int, int, int, int]
    score: float
    landmarks: list[list[float]]
    chip_jpeg: bytes
    crop_jpeg: bytes
    embedding: bytes


@dataclass(frozen=True)
class AnalysedPhoto:
    width: int
    height: int
    format: str
    phash: int
    signature: bytes
    faces: list[AnalysedFace]


@dataclass(frozen=True)
class Unreadable:
    reason: str


def jpeg(pixels: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "JPEG", quality=JPEG_QUALITY)
    return buffer.getvalue()


def to_analysed(face: FoundFace) -> AnalysedFace:
    box = face.box
    return AnalysedFace(
        box=(box.left, box.top, box.right, box.bottom),
        score=round(face.score, 4),
        landmarks=[[round(float(x), 1), round(float(y), 1)] for x, y in face.landmarks],
        chip_jpeg=jpeg(face.chip),
        crop_jpeg=jpeg(face.crop),
        embedding=np.asarray(face.embedding, dtype=np.float32).tobytes(),
    )


def analyse(data: bytes, pipeline: FacePipeline, max_pixels: int) -> AnalysedPhoto | Unreadable:
    try:
        decoded = decode(data, max_pixels)
    except UnreadableImage as exc:
        return Unreadable(str(exc))
    image = decoded.image
    faces = [to_analysed(face) for face in pipeline.find_faces(image)]
    return AnalysedPhoto(
        image.width, image.height, decoded.format, phash(image), signature(image), faces
    )


_worker_pipeline: FacePipeline | None = None
_worker_max_pixels = 0


def init_worker(settings: DetectSettings, max_pixels: int) -> None:
    """Load the models once per worker process; each worker uses one core."""
    global _worker_pipeline, _worker_max_pixels
    die_with_parent()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    _worker_pipeline = build_pipeline(settings, threads=1)
    _worker_max_pixels = max_pixels


def analyse_in_worker(data: bytes) -> AnalysedPhoto | Unreadable:
    assert _worker_pipeline is not None, "init_worker was not called"
    return analyse(data, _worker_pipeline, _worker_max_pixels)
