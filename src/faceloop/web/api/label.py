"""The label queue, answers about faces, undo, and name autocomplete."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from faceloop.labels.labelling import LabelResult, UndoResult, label_faces, undo_action
from faceloop.labels.labelling import undo_decision as undo_one
from faceloop.labels.names import NameMatch, suggest_names
from faceloop.review.label_queue import (
    FilterOptions,
    QueueFilter,
    QueueItem,
    QueuePage,
    filter_options,
    next_faces,
    queue_item,
)
from faceloop.web.deps import WS, OptionalDate, User
from faceloop.web.schemas import BulkLabelBody, IdPath, LabelBody

router = APIRouter(tags=["label"])


@router.get("/queue", response_model=QueuePage)
def queue(
    ws: WS,
    user: User,
    limit: Annotated[int, Query(ge=1, le=50)] = 5,
    exclude: Annotated[list[int] | None, Query(max_length=500)] = None,
    folder: Annotated[str | None, Query(max_length=1000)] = None,
    account: Annotated[str | None, Query(max_length=200)] = None,
    since: OptionalDate = None,
    until: OptionalDate = None,
) -> QueuePage:
    """The next unlabelled faces: photos with one face first, random within; faces this user
    skipped last. `exclude` leaves out faces the page holds or just answered."""
    filters = QueueFilter(folder or None, account or None, since, until)
    return next_faces(ws, user, filters, limit, exclude or ())


@router.get("/queue/filters", response_model=FilterOptions)
def queue_filters(ws: WS) -> FilterOptions:
    return filter_options(ws)


@router.get("/faces/{face_id}", response_model=QueueItem)
def face(ws: WS, user: User, face_id: IdPath) -> QueueItem:
    """A face with its photo's other faces, its current label and suggestions."""
    return queue_item(ws, face_id, user)


@router.post("/faces/{face_id}/label", response_model=LabelResult)
def label_one(ws: WS, user: User, face_id: IdPath, body: LabelBody) -> LabelResult:
    """Answer about one face. 409 when the person is already on another face of the photo and
    `confirm` is not set."""
    return _label(ws, user, [face_id], body)


@router.post("/labels", response_model=LabelResult)
def label_many(ws: WS, user: User, body: BulkLabelBody) -> LabelResult:
    """One answer for many faces (a selection on the person page), undone as one action."""
    return _label(ws, user, body.face_ids, body)


def _label(ws, user: int, face_ids: list[int], body: LabelBody) -> LabelResult:
    return label_faces(
        ws,
        face_ids,
        body.verdict,
        user_id=user,
        person_id=body.person_id,
        name=body.name,
        origin=body.origin,
        confirm=body.confirm,
        new_person=body.new_person,
    )


@router.post("/batches/{batch}/undo", response_model=UndoResult)
def undo_batch(ws: WS, user: User, batch: str) -> UndoResult:
    """Take back a whole action: every decision it made that still stands."""
    if not batch.replace("-", "").isalnum() or len(batch) > 64:
        raise LookupError(f"no action {batch!r}")
    return undo_action(ws, batch, user)


@router.post("/decisions/{decision_id}/undo", response_model=UndoResult)
def undo_decision(ws: WS, user: User, decision_id: IdPath) -> UndoResult:
    """Take back one decision (undoing an undo does it again)."""
    return undo_one(ws, decision_id, user)


@router.get("/names", response_model=list[NameMatch])
def names(
    ws: WS,
    q: Annotated[str, Query(max_length=200)] = "",
    limit: Annotated[int, Query(ge=1, le=50)] = 10,
) -> list[NameMatch]:
    """People whose name or alias matches, in any script (kanji, kana, romaji); prefix
    matches first, then word prefixes, then substrings, recently used first within each."""
    return suggest_names(ws, q, limit)
