"""The SQL the hot paths run, in one place and with bound parameters only: a list of ids is an
expanding parameter, never text pasted into the statement, so no query is built from data and
SQLite caches one plan per statement."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import bindparam, case, func, select, text
from sqlalchemy.orm import Session

from faceloop.db.models import BlobJournal, Face, FaceLabel, Image, Person

# ---------------------------------------------------------------- counts and label page (H3)


def image_counts(session: Session) -> tuple[int, int, int]:
    """(photos, near copies, photos without a face) in one pass: a near copy is linked to its
    original and counted apart, so "photos" is what a person would call distinct photos."""
    original = Image.near_copy_of_id.is_(None)
    row = session.execute(
        select(
            func.count(case((original, 1))),
            func.count(case((~original, 1))),
            func.count(case((original & (Image.face_count == 0), 1))),
        )
    ).one()
    return int(row[0]), int(row[1]), int(row[2])


def face_count(session: Session) -> int:
    return int(session.scalar(select(func.count(Face.id))) or 0)


def verdict_counts(session: Session) -> dict[str, int]:
    """How many faces carry each current verdict."""
    rows = session.execute(select(FaceLabel.verdict, func.count()).group_by(FaceLabel.verdict))
    return {verdict: int(count) for verdict, count in rows}


def faces_per_person(session: Session) -> dict[int, int]:
    """Faces labelled with each raw person id (merges not resolved: labels keep the id they
    were made with)."""
    rows = session.execute(
        select(FaceLabel.person_id, func.count())
        .where(FaceLabel.person_id.is_not(None))
        .group_by(FaceLabel.person_id)
    )
    return {person_id: int(count) for person_id, count in rows}


def people_rows(session: Session) -> list[tuple[int, str, bool, int | None]]:
    """(id, name, hidden, merged into) of every person."""
    rows = session.execute(select(Person.id, Person.name, Person.hidden, Person.merged_into_id))
    return [(pid, name, bool(hidden), merged) for pid, name, hidden, merged in rows]


def interrupted_imports(session: Session) -> int:
    """Imports that stopped between writing a blob and its row: each leaves journal entries
    under its own owner until the next import cleans up."""
    return int(session.scalar(select(func.count(func.distinct(BlobJournal.owner)))) or 0)


_LABEL_PAGE_IMAGES = text(
    "SELECT image.id, image.width, image.height, image.hint_person_id,"
    " (SELECT folder FROM image_origin WHERE image_origin.image_id = image.id"
    " ORDER BY image_origin.id LIMIT 1) FROM image WHERE image.id IN :ids"
).bindparams(bindparam("ids", expanding=True))


def label_page_images(
    session: Session, image_ids: Sequence[int]
) -> dict[int, tuple[int, int | None, int | None, int | None, str | None]]:
    """Each photo's (id, width, height, hinted person, first folder) for the label page, in
    one query."""
    if not image_ids:
        return {}
    rows = session.execute(_LABEL_PAGE_IMAGES, {"ids": [int(i) for i in image_ids]})
    return {row[0]: tuple(row) for row in rows}


# ---------------------------------------------------------------- end of counts and label page
