"""Every decision and change to a person, filterable; and the home page's overview."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query

from faceloop.labels.activity import ActivityPage, activity
from faceloop.review.overview import Overview, overview
from faceloop.web.deps import WS
from faceloop.web.schemas import IdQuery

router = APIRouter(tags=["activity"])

Action = Literal[
    "person",
    "not_face",
    "unknown",
    "skip",
    "reject",
    "undo",
    "create",
    "rename",
    "alias_add",
    "alias_remove",
    "tag_add",
    "tag_remove",
    "hide",
    "unhide",
    "merge",
    "unmerge",
    "cover",
    "account_link",
    "account_unlink",
]


@router.get("/activity", response_model=ActivityPage)
def activity_page(
    ws: WS,
    kind: Literal["decision", "person"] | None = None,
    action: Action | None = None,
    origin: Literal["manual", "suggestion", "bulk", "group", "import"] | None = None,
    user_id: IdQuery = None,
    person_id: IdQuery = None,
    face_id: IdQuery = None,
    before: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> ActivityPage:
    """Newest first; pass `next_before` of one page as `before` for the next."""
    if before is not None and before.tzinfo is not None:
        before = before.astimezone(UTC).replace(tzinfo=None)
    return activity(
        ws,
        kind=kind,
        action=action,
        origin=origin,
        user_id=user_id,
        person_id=person_id,
        face_id=face_id,
        before=before,
        limit=limit,
    )


@router.get("/overview", response_model=Overview)
def home(ws: WS, limit: Annotated[int, Query(ge=0, le=5000)] = 60) -> Overview:
    """Counts, and each person's progress toward the training threshold."""
    return overview(ws, limit)
