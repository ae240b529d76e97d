"""A small real workspace for the learning loop's web tests, built once per session.

ORL subjects s1-s4 with photos 1-3 labelled by folder and 4-8 left for the model to guess;
the `known` people (Obama, Biden, ...) labelled by folder; and s5-s6 photos 1-2 answered
"unknown person", so class 0 ("other") has faces besides the one-photo people. Then a `head`
model (min_per_class 2) and its predictions. About fifty tiny photos: seconds to build.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from faceloop.db.models import Face, ImageOrigin
from faceloop.ingest.run import import_photos
from faceloop.labels.labelling import label_faces
from faceloop.learning.predict import predict
from faceloop.learning.train import train
from faceloop.workspace import Workspace, init_workspace
from tests.conftest import DATA

ORL = DATA / "orl"
GUESSED = [f"s{s}" for s in range(1, 5)]
MIN_PER_CLASS = 2


def build_learning_workspace(root: Path) -> Path:
    with init_workspace(root) as ws:
        labelled = [ORL / s / f"{n}.pgm" for s in GUESSED for n in range(1, 4)]
        unlabelled = [ORL / s / f"{n}.pgm" for s in GUESSED for n in range(4, 9)]
        others = [ORL / f"s{s}" / f"{n}.pgm" for s in (5, 6) for n in (1, 2)]
        import_photos(ws, labelled, by_folder=True, workers=1)
        import_photos(ws, [DATA / "known" / "train"], by_folder=True, workers=1)
        import_photos(ws, unlabelled + others, workers=1)
        strangers = [f for f, folder in subjects(ws).items() if folder in ("s5", "s6")]
        label_faces(ws, strangers, "unknown", user_id=ws.owner_id())
        train(ws, min_per_class=MIN_PER_CLASS)
        predict(ws)
    return root


def subjects(ws: Workspace) -> dict[int, str]:
    """Face id -> the folder its photo came from (the ORL subject, or the known person)."""
    with ws.reader() as session:
        rows = session.execute(
            select(Face.id, ImageOrigin.path).join(
                ImageOrigin, ImageOrigin.image_id == Face.image_id
            )
        ).all()
    return {face_id: Path(path).parent.name for face_id, path in rows}
