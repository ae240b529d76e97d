"""How faces are found and described: the [detect] section of a workspace's settings.

It lives with the face models rather than with the workspace so that the pure vision core needs
nothing from the database side; `faceloop.workspace.config` reads the section into it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DetectSettings:
    detector: str = "hog"
    embedder: str = "torch"
    min_face: int = 40
    max_detect_pixels: int = 4_000_000
    hog_threshold: float = 0.0
    cnn_threshold: float = 0.0
    cnn_max_pixels: int = 1_000_000
