"""faceloop: build labelled face datasets with as little human work as possible.

    import faceloop

    image = faceloop.load_image("party.jpg")
    faces = faceloop.embed_faces(image)           # boxes, landmarks, chips, 128-d vectors
    faceloop.face_distance([f.embedding for f in faces], faces[0].embedding)

    with faceloop.init_workspace("my-faces") as ws:
        faceloop.import_photos(ws, ["photos/"], by_folder=True)

The names load on first use, so `faceloop status` does not pay for the face models.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_PUBLIC = {
    "compare_faces": "faceloop.api",
    "detect_faces": "faceloop.api",
    "embed_faces": "faceloop.api",
    "face_distance": "faceloop.api",
    "load_image": "faceloop.api",
    "ImportSummary": "faceloop.ingest.run",
    "import_photos": "faceloop.ingest.run",
    "Workspace": "faceloop.workspace",
    "init_workspace": "faceloop.workspace",
    "open_workspace": "faceloop.workspace",
}

__all__ = sorted(_PUBLIC)


def __getattr__(name: str) -> Any:
    if name in _PUBLIC:
        return getattr(importlib.import_module(_PUBLIC[name]), name)
    raise AttributeError(f"module 'faceloop' has no attribute {name!r}")
