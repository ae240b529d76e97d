"""What a workspace holds and what is left to do, as plain numbers."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, select

from faceloop.db.models import BlobJournal, Face, FaceLabel, Image, Person
from faceloop.labels.decisions import NOT_FACE, PERSON, UNKNOWN
from faceloop.workspace import Workspace


@dataclass(frozen=True)
class PersonCount:
    person_id: int
    name: str
    faces: int


@dataclass(frozen=True)
class Status:
    images: int
    near_copies: int
    images_without_faces: int
    faces: int
    people: int
    labelled: int
    not_faces: int
    unknown_people: int
    unlabelled: int
    interrupted_imports: int
    per_person: list[PersonCount] = field(default_factory=list)


def workspace_status(workspace: Workspace) -> Status:
    with workspace.reader() as s:
        images = s.scalar(select(func.count(Image.id)).where(Image.near_copy_of_id.is_(None)))
        near = s.scalar(select(func.count(Image.id)).where(Image.near_copy_of_id.is_not(None)))
        empty = s.scalar(
            select(func.count(Image.id)).where(
                Image.near_copy_of_id.is_(None), Image.face_count == 0
            )
        )
        faces = s.scalar(select(func.count(Face.id)))
        verdicts = dict(
            s.execute(select(FaceLabel.verdict, func.count()).group_by(FaceLabel.verdict)).all()
        )
        counts = dict(
            s.execute(
                select(FaceLabel.person_id, func.count())
                .where(FaceLabel.person_id.is_not(None))
                .group_by(FaceLabel.person_id)
            ).all()
        )
        people_rows = s.execute(select(Person.id, Person.name, Person.merged_into_id)).all()
        per_person = _per_root(people_rows, counts)
        people = s.scalar(
            select(func.count(Person.id)).where(
                Person.merged_into_id.is_(None), Person.hidden.is_(False)
            )
        )
        interrupted = s.scalar(select(func.count(func.distinct(BlobJournal.owner))))
    decided = sum(verdicts.values())
    return Status(
        images=images,
        near_copies=near,
        images_without_faces=empty,
        faces=faces,
        people=people,
        labelled=verdicts.get(PERSON, 0),
        not_faces=verdicts.get(NOT_FACE, 0),
        unknown_people=verdicts.get(UNKNOWN, 0),
        unlabelled=faces - decided,
        interrupted_imports=interrupted,
        per_person=per_person,
    )


def _per_root(people_rows, counts: dict[int, int]) -> list[PersonCount]:
    """Labels keep the person id they were made with, so a merged person's faces count for the
    person they were merged into."""
    into = {pid: target for pid, _, target in people_rows}
    names = {pid: name for pid, name, _ in people_rows}

    def root(pid: int) -> int:
        seen = {pid}
        while into.get(pid) is not None and into[pid] not in seen:
            pid = into[pid]
            seen.add(pid)
        return pid

    totals: dict[int, int] = {}
    for pid, count in counts.items():
        totals[root(pid)] = totals.get(root(pid), 0) + count
    return sorted(
        (PersonCount(pid, names[pid], count) for pid, count in totals.items()),
        key=lambda p: (-p.faces, p.name),
    )
