"""Face models behind small interfaces, and the pipeline that composes them."""

from __future__ import annotations

from functools import cache

from faceloop.vision.base import Box, Detection, Detector, Embedder
from faceloop.vision.pipeline import FacePipeline, FoundFace
from faceloop.vision.settings import DETECTORS, EMBEDDERS, DetectSettings


def make_detector(settings: DetectSettings) -> Detector:
    from faceloop.vision.dlib_backend import CnnDetector, HogDetector

    if settings.detector == "hog":
        return HogDetector(settings.hog_threshold)
    if settings.detector == "cnn":
        return CnnDetector(settings.cnn_threshold)
    raise ValueError(
        f"[detect] detector = {settings.detector!r}: must be one of {_listed(DETECTORS)}"
    )


def make_embedder(name: str = "torch", threads: int | None = None) -> Embedder:
    if name == "torch":
        from faceloop.vision.torch_embedder import TorchEmbedder

        return TorchEmbedder(threads)
    if name == "dlib":
        from faceloop.vision.dlib_backend import DlibEmbedder

        return DlibEmbedder()
    raise ValueError(f"[detect] embedder = {name!r}: must be one of {_listed(EMBEDDERS)}")


def _listed(choices: tuple[str, ...]) -> str:
    return ", ".join(repr(choice) for choice in choices)


def build_pipeline(
    settings: DetectSettings | None = None, threads: int | None = None
) -> FacePipeline:
    from faceloop.vision.dlib_backend import FivePointLandmarker

    settings = settings or DetectSettings()
    budget = settings.cnn_max_pixels if settings.detector == "cnn" else settings.max_detect_pixels
    return FacePipeline(
        make_detector(settings),
        FivePointLandmarker(),
        make_embedder(settings.embedder, threads),
        min_face=settings.min_face,
        max_detect_pixels=budget,
    )


@cache
def shared_pipeline(settings: DetectSettings | None = None) -> FacePipeline:
    """One pipeline per process and settings: the models take a second or two to load."""
    return build_pipeline(settings)


__all__ = [
    "DETECTORS",
    "EMBEDDERS",
    "Box",
    "Detection",
    "FacePipeline",
    "FoundFace",
    "build_pipeline",
    "make_detector",
    "make_embedder",
    "shared_pipeline",
]
