"""What a workspace holds and what is left to do, as plain numbers."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, select

from faceloop.db.models import BlobJournal, Face, FaceLabel, Image, Person
from faceloop.review.decisions import NOT_FACE, PERSON, UNKNOWN
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
    with workspace.sessions() as s:
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
        per_person = [
            PersonCount(pid, name, count)
            for pid, name, count in s.execute(
                select(Person.id, Person.name, func.count(FaceLabel.face_id))
                .join(FaceLabel, FaceLabel.person_id == Person.id)
                .group_by(Person.id)
                .order_by(func.count(FaceLabel.face_id).desc(), Person.name)
            ).all()
        ]
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
