"""Posts of collected photos written as the collector writes them (an account per handle on
the source, a post per photo, the photo's origin naming the post), for tests that need
accounts with photos whose faces they label themselves."""

from __future__ import annotations

import itertools

from sqlalchemy import func, select

from faceloop.db.models import Account, Face, FaceLabel, ImageOrigin, Post, utcnow
from faceloop.db.upsert import insert_new
from faceloop.workspace import Workspace

_numbers = itertools.count(1)


def post_photos(ws: Workspace, source_id: int, handle: str, face_ids: list[int]) -> int:
    """The account `handle` posts the photos of these faces, one post each; its id."""
    with ws.transaction() as session:
        insert_new(
            session,
            Account,
            ["source_id", "handle"],
            source_id=source_id,
            handle=handle,
            created_at=utcnow(),
        )
        account_id = session.scalar(
            select(Account.id).where(Account.source_id == source_id, Account.handle == handle)
        )
        images = session.scalars(
            select(Face.image_id).where(Face.id.in_(face_ids)).distinct()
        ).all()
        for image_id in images:
            number = next(_numbers)
            post = Post(
                source_id=source_id,
                account_id=account_id,
                external_id=str(number),
                url=f"https://example.social/{handle}/{number}",
                collected_at=utcnow(),
            )
            session.add(post)
            session.flush()
            session.add(
                ImageOrigin(
                    image_id=image_id,
                    source_id=source_id,
                    post_id=post.id,
                    path=f"https://example.social/media/{number}.jpg",
                )
            )
    return account_id


def single_face_photos(ws: Workspace, *, labelled: bool | None = None) -> list[int]:
    """Face ids of the photos with one face (with `labelled`, only those labelled or not)."""
    with ws.reader() as session:
        singles = (
            select(Face.image_id)
            .group_by(Face.image_id)
            .having(func.count(Face.id) == 1)
            .subquery()
        )
        query = (
            select(Face.id)
            .join(singles, singles.c.image_id == Face.image_id)
            .outerjoin(FaceLabel, FaceLabel.face_id == Face.id)
            .order_by(Face.id)
        )
        if labelled is True:
            query = query.where(FaceLabel.face_id.is_not(None))
        elif labelled is False:
            query = query.where(FaceLabel.face_id.is_(None))
        return list(session.scalars(query))


def faces_by_image(ws: Workspace) -> dict[int, list[int]]:
    """Photo id -> its face ids, in face order: tests pick photos of one face or of several."""
    with ws.reader() as session:
        rows = session.execute(select(Face.image_id, Face.id).order_by(Face.id)).all()
    found: dict[int, list[int]] = {}
    for image_id, face_id in rows:
        found.setdefault(image_id, []).append(face_id)
    return found
