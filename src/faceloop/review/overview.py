"""What a workspace holds and what is left to do, counted once for the home page and for
`faceloop status`: how many photos and faces, how each face is labelled, and how far each
person is from having enough faces to train on."""

from __future__ import annotations

from dataclasses import dataclass

from faceloop.db import queries
from faceloop.db.models import merge_roots
from faceloop.labels.decisions import NOT_FACE, PERSON, UNKNOWN
from faceloop.workspace import Workspace


@dataclass(frozen=True)
class PersonProgress:
    person_id: int
    name: str
    faces: int


@dataclass(frozen=True)
class Overview:
    #: distinct photos (near copies are linked to their original and counted apart)
    photos: int
    near_copies: int
    photos_without_faces: int
    faces: int
    labelled: int
    not_faces: int
    unknown: int
    unlabelled: int
    #: people shown and counted: not merged into someone, not hidden, with at least one face
    people: int
    #: faces a person needs before a model trains on them (the `train.min_per_class` setting)
    threshold: int
    #: people with at least `threshold` faces
    ready: int
    #: imports that stopped halfway; the next import cleans up after them
    interrupted_imports: int
    #: the people with the most faces first (those nearest a model), at most `limit` of them
    progress: tuple[PersonProgress, ...] = ()


def overview(ws: Workspace, limit: int | None = 60) -> Overview:
    """The counts, straight from the database so that every process reads the same numbers.
    A merged person's faces count for the person they were merged into; a person with no face
    (made and never used, or whose every label was undone) is not a person yet."""
    with ws.reader() as session:
        photos, near_copies, without_faces = queries.image_counts(session)
        faces = queries.face_count(session)
        verdicts = queries.verdict_counts(session)
        per_person = queries.faces_per_person(session)
        people = queries.people_rows(session)
        interrupted = queries.interrupted_imports(session)
    roots = merge_roots({pid: merged for pid, _, _, merged in people})
    totals: dict[int, int] = {}
    for person_id, count in per_person.items():
        root = roots.get(person_id, person_id)
        totals[root] = totals.get(root, 0) + count
    progress = sorted(
        (
            PersonProgress(pid, name, totals[pid])
            for pid, name, hidden, merged in people
            if merged is None and not hidden and totals.get(pid, 0) > 0
        ),
        key=lambda p: (-p.faces, p.name),
    )
    threshold = ws.settings.train.min_per_class
    labelled, not_faces, unknown = (verdicts.get(v, 0) for v in (PERSON, NOT_FACE, UNKNOWN))
    return Overview(
        photos=photos,
        near_copies=near_copies,
        photos_without_faces=without_faces,
        faces=faces,
        labelled=labelled,
        not_faces=not_faces,
        unknown=unknown,
        unlabelled=faces - labelled - not_faces - unknown,
        people=len(progress),
        threshold=threshold,
        ready=sum(p.faces >= threshold for p in progress),
        interrupted_imports=interrupted,
        progress=tuple(progress if limit is None else progress[:limit]),
    )
