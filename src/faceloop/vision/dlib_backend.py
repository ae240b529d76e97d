"""dlib's face models behind faceloop's interfaces: HOG and CNN (MMOD) detectors, the 5-point
landmarker, chip alignment and dlib's own ResNet embedder."""

from __future__ import annotations

from functools import cache

import dlib
import numpy as np

from faceloop.vision import model_files
from faceloop.vision.base import Box, Detection


def _rect(box: Box) -> dlib.rectangle:
    return dlib.rectangle(box.left, box.top, box.right, box.bottom)


def _box(rect: dlib.rectangle) -> Box:
    return Box(rect.left(), rect.top(), rect.right(), rect.bottom())


@cache
def frontal_detector() -> dlib.fhog_object_detector:
    """dlib takes over a second to build this detector: once per process (or fork server)."""
    return dlib.get_frontal_face_detector()


class HogDetector:
    """dlib's HOG + linear SVM frontal detector. Fast; its 80 px window misses smaller faces
    unless the photo is upsampled, and its score is kept because it also fires on badges."""

    name = "hog"
    window = 80

    def __init__(self, threshold: float = 0.0) -> None:
        self.threshold = threshold
        self._detector = frontal_detector()

    def detect(self, rgb: np.ndarray) -> list[Detection]:
        rects, scores, _ = self._detector.run(rgb, 0, self.threshold)
        return [Detection(_box(r), float(s)) for r, s in zip(rects, scores, strict=True)]


class CnnDetector:
    """dlib's MMOD CNN detector: finds turned and small faces HOG misses, at ~1 s a photo."""

    name = "cnn"
    window = 50

    def __init__(self, threshold: float = 0.0) -> None:
        self.threshold = threshold
        self._detector = dlib.cnn_face_detection_model_v1(
            str(model_files.model_path(model_files.CNN_DETECTOR))
        )

    def detect(self, rgb: np.ndarray) -> list[Detection]:
        found = self._detector(rgb, 0)
        return [
            Detection(_box(d.rect), float(d.confidence))
            for d in found
            if d.confidence >= self.threshold
        ]


class FivePointLandmarker:
    def __init__(self) -> None:
        self._predictor = dlib.shape_predictor(str(model_files.model_path(model_files.LANDMARKS_5)))

    def landmarks(self, rgb: np.ndarray, box: Box) -> np.ndarray:
        shape = self._predictor(rgb, _rect(box))
        return np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float32)


def face_chip(rgb: np.ndarray, box: Box, landmarks: np.ndarray, size: int, padding: float):
    """An aligned square crop: eyes level and at fixed places, as the embedder was trained."""
    parts = [dlib.point(round(float(x)), round(float(y))) for x, y in landmarks]
    shape = dlib.full_object_detection(_rect(box), parts)
    return dlib.get_face_chip(rgb, shape, size=size, padding=padding)


class DlibEmbedder:
    """dlib's ResNet, run by dlib itself: the reference the faster PyTorch port is checked
    against."""

    name = "dlib"

    def __init__(self) -> None:
        self._model = dlib.face_recognition_model_v1(
            str(model_files.model_path(model_files.RESNET))
        )

    def embed(self, chips: np.ndarray) -> np.ndarray:
        if len(chips) == 0:
            return np.zeros((0, 128), dtype=np.float32)
        vectors = self._model.compute_face_descriptor(list(chips), 0)
        return np.asarray([np.asarray(v) for v in vectors], dtype=np.float32)
