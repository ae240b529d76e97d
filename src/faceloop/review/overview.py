"""The home page's numbers: what the workspace holds, how far each person is from having enough
faces to train on, and what is left to label."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from sqlalchemy import func, select

from faceloop.db.models import Image
from faceloop.readmodel import snapshot
from faceloop.readmodel.state import (
    LABEL_NOT_FACE,
    LABEL_PERSON,
    LABEL_UNKNOWN,
    UNLABELLED,
)
from faceloop.review.person_views import faceless
from faceloop.workspace import Workspace


@dataclass(frozen=True)
class PersonProgress:
    person_id: int
    name: str
    faces: int


@dataclass(frozen=True)
class Overview:
    photos: int
    faces: int
    labelled: int
    not_faces: int
    unknown: int
    unlabelled: int
    people: int
    #: faces a person needs before a model trains on them (the `train.min_per_class` setting)
    threshold: int
    #: people with at least `threshold` faces
    ready: int
    progress: list[PersonProgress] = field(default_factory=list)


def overview(ws: Workspace, limit: int = 60) -> Overview:
    """Counts, and the people with the most faces first (those nearest a model)."""
    state = snapshot(ws)
    threshold = ws.settings.train.min_per_class
    with ws.reader() as session:
        photos = session.scalar(select(func.count(Image.id)).where(Image.near_copy_of_id.is_(None)))
    counts = np.bincount(state.verdict.astype(np.int64), minlength=4)
    per_person = state.root_counts()
    visible = [
        record
        for record in state.people.values()
        if record.merged_into is None
        and not record.hidden
        and not faceless(state, record.id, per_person)
    ]
    progress = sorted(
        (PersonProgress(r.id, r.name, per_person.get(r.id, 0)) for r in visible),
        key=lambda p: (-p.faces, p.name),
    )
    return Overview(
        photos=photos,
        faces=int(counts.sum()),
        labelled=int(counts[LABEL_PERSON]),
        not_faces=int(counts[LABEL_NOT_FACE]),
        unknown=int(counts[LABEL_UNKNOWN]),
        unlabelled=int(counts[UNLABELLED]),
        people=len(visible),
        threshold=threshold,
        ready=sum(p.faces >= threshold for p in progress),
        progress=progress[:limit],
    )
