"""Where the dlib weights are: inside the face-recognition-models package, located without
importing it (its import needs pkg_resources, which recent setuptools no longer has)."""

from __future__ import annotations

import importlib.util
from functools import cache
from pathlib import Path

HOG = "hog"
CNN_DETECTOR = "mmod_human_face_detector.dat"
LANDMARKS_5 = "shape_predictor_5_face_landmarks.dat"
RESNET = "dlib_face_recognition_resnet_model_v1.dat"


class ModelFilesMissing(RuntimeError):
    pass


@cache
def models_dir() -> Path:
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise ModelFilesMissing(
            "the face-recognition-models package is not installed; run `make run` or "
            "`pip install face-recognition-models`"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "models"


def model_path(name: str) -> Path:
    path = models_dir() / name
    if not path.is_file():
        raise ModelFilesMissing(f"model file missing: {path}")
    return path
