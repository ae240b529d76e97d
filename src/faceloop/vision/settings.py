"""How faces are found and described: the [detect] section of a workspace's settings.

It lives with the face models rather than with the workspace so that the pure vision core needs
nothing from the database side; `faceloop.workspace.config` reads the section into it. Each
field carries what a settings file may set it to (`metadata`: "range" or "choices"), so the
limits sit beside the default they bound and the workspace checks them when it opens.
"""

from __future__ import annotations

from dataclasses import dataclass, field

DETECTORS = ("hog", "cnn")
EMBEDDERS = ("torch", "dlib")

#: the largest budget of pixels a photo is scaled to for detection: 100 megapixels is beyond
#: any camera's photo yet still fits in memory (a few hundred MB of RGB)
_MAX_PIXEL_BUDGET = 100_000_000


@dataclass(frozen=True)
class DetectSettings:
    detector: str = field(default="hog", metadata={"choices": DETECTORS})
    embedder: str = field(default="torch", metadata={"choices": EMBEDDERS})
    #: under 10 px a face has no detail left to recognise; over 2000 px is a whole photo
    min_face: int = field(default=40, metadata={"range": (10, 2000)})
    max_detect_pixels: int = field(
        default=4_000_000, metadata={"range": (100_000, _MAX_PIXEL_BUDGET)}
    )
    #: dlib's detection scores lie within a few units of 0
    hog_threshold: float = field(default=0.0, metadata={"range": (-5.0, 5.0)})
    cnn_threshold: float = field(default=0.0, metadata={"range": (-5.0, 5.0)})
    cnn_max_pixels: int = field(default=1_000_000, metadata={"range": (100_000, _MAX_PIXEL_BUDGET)})
