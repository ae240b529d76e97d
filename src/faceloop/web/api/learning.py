"""The learning loop over HTTP: train now, the models and their figures, the confirm queue,
and identifying people in an uploaded photo."""

from __future__ import annotations

import dataclasses
from typing import Annotated, Literal

from fastapi import APIRouter, File, Form, HTTPException, Query, UploadFile
from fastapi.responses import Response
from pydantic import Field

from faceloop.jobs.queue import JobInfo, get_job
from faceloop.learning.identify import Identification, identify, preview_jpeg
from faceloop.learning.job import check_train_params, submit_train, training_started_after
from faceloop.learning.summaries import ModelSummary, model_summaries
from faceloop.learning.train import NoModel
from faceloop.review.confirm_page import (
    Answer,
    ConfirmResult,
    ConfirmView,
    answer_suggestions,
    confirm_view,
)
from faceloop.vision.decode import UnreadableImage
from faceloop.web.deps import WS, User
from faceloop.web.schemas import ID_MAX, Body, Id, IdQuery
from faceloop.workspace import Workspace

router = APIRouter(tags=["learning"])

JPEG = {"content": {"image/jpeg": {}}, "description": "a JPEG"}


class TrainBody(Body):
    """Every field is optional: the workspace's [train] settings fill the rest."""

    kind: Literal["head", "cnn"] | None = None
    #: faces a person needs for a class of their own
    min_per_class: int | None = Field(default=None, ge=1, le=100_000)
    #: the share of class 0, "other", in the training set
    other_ratio: float | None = Field(default=None, ge=0.0, lt=1.0)


class ConfirmAnswer(Body):
    face_id: Id
    answer: Literal["yes", "no", "skip", "correct"]
    #: for "correct": who the face is instead, by id or by name (a new name creates them)
    person_id: int | None = Field(default=None, ge=1, le=ID_MAX)
    name: str | None = Field(default=None, min_length=1, max_length=200)
    #: who the face was suggested as (its item's `person_id`), when not the body's
    #: `person_id`: on a mixed page each face has its own
    suggested_person_id: int | None = Field(default=None, ge=1, le=ID_MAX)
    #: where this face's suggestion came from (its item's `source`), when not the body's
    source: Literal["model", "nearest", "group", "account"] | None = None
    #: for "correct" by name: create the person even if someone has the name in another spelling
    new_person: bool = False


class ConfirmBody(Body):
    """Answers to "Is this <person>?"; a page sends "yes" for the faces kept and "no" for
    the ones deselected. A page of one person gives it once, as `person_id`; a mixed page
    gives each answer's own `suggested_person_id` (and `source`) instead."""

    person_id: int | None = Field(default=None, ge=1, le=ID_MAX)
    answers: list[ConfirmAnswer] = Field(min_length=1, max_length=100)
    #: name a person already on another face of the photo anyway
    confirm: bool = False
    #: where the suggestions came from (the view's `source`): kept with each decision
    source: Literal["model", "nearest", "account"] | None = None


@router.post("/train", response_model=JobInfo, status_code=202)
def train_now(ws: WS, user: User, body: TrainBody | None = None) -> JobInfo:
    """Train a model (warm from the last one), then predict the unlabelled faces, in the
    background; follow the job at /jobs/{id}. While a run is queued or running, that run is
    returned instead of starting another."""
    body = body or TrainBody()
    params = check_train_params(body.kind, body.min_per_class, body.other_ratio)
    return get_job(ws, submit_train(ws, params, user))


@router.get("/models", response_model=list[ModelSummary])
def models(ws: WS, limit: Annotated[int, Query(ge=1, le=200)] = 50) -> list[ModelSummary]:
    """Newest first: kind, parent, held-out top-1 accuracy, per-person precision and recall,
    the most confused pairs and the identify threshold."""
    return model_summaries(ws, limit)


@router.get("/confirm", response_model=ConfirmView)
def confirm(
    ws: WS,
    order: Literal["confident", "uncertain"] | None = None,
    mode: Literal["one", "page", "mixed"] = "one",
    limit: Annotated[int | None, Query(ge=1, le=24)] = None,
    person_id: IdQuery = None,
    exclude: Annotated[list[int] | None, Query(max_length=500)] = None,
    source: Literal["auto", "model", "nearest", "account"] = "auto",
    reach: Literal["sure", "close", "wide"] = "close",
) -> ConfirmView:
    """The next suggestions to confirm: one face at a time (`mode=one`, a few ahead), a page
    of up to 24 faces suggested as one person (`page`), or a page of up to 24 faces each
    suggested as their own person (`mixed`: the surest first; the model's guesses only down to
    its threshold). `source`: the model's guesses (`model`), the person of each face's nearest
    labelled face (`nearest`, before any model too; a page is of the person with the most such
    faces), or the model's while it has any, else the nearest (`auto`; a mixed page fills up
    with both); the view's and each item's `source` say which it is. `reach`: how near the
    labelled face must be, `close` (the learned threshold) or `wide` (a quarter farther: less
    sure, more faces); `auto` turns to `wide` by itself once nothing closer waits, and the
    view's `reach` says so. `order` defaults to the workspace setting. When nothing is
    offered, `empty_reason` and `message` say why."""
    held = [face for face in exclude or () if 1 <= face <= ID_MAX]
    return confirm_view(
        ws,
        mode=mode,
        order=order,
        limit=limit,
        person_id=person_id,
        exclude=held,
        source=source,
        reach=reach,
    )


@router.post("/confirm", response_model=ConfirmResult)
def answer(ws: WS, user: User, body: ConfirmBody) -> ConfirmResult:
    """Answer "Is this <person>?" for one face or a whole page, as one action (undo it with
    /batches/{batch}/undo): a "no" is a standing refusal of the person the face was suggested
    as. 409 when a face would name someone already on another face of its photo and `confirm`
    is not set; 422 when an answer says neither who its face was suggested as nor (through the
    body's `person_id`) who the page was."""
    result = answer_suggestions(
        ws,
        body.person_id,
        [
            Answer(
                a.face_id,
                a.answer,
                a.person_id,
                a.name,
                a.suggested_person_id,
                a.source,
                a.new_person,
            )
            for a in body.answers
        ],
        user_id=user,
        confirm=body.confirm,
        source=body.source,
    )
    started = training_started_after(ws, result.decision_ids)
    return dataclasses.replace(result, retrain_job_id=started)


@router.post("/identify", response_model=Identification)
def identify_photo(
    ws: WS,
    file: Annotated[UploadFile, File(description="a photo")],
    threshold: Annotated[
        float | None,
        Form(ge=0.0, le=1.0, description="below this score a face is 'unknown'"),
    ] = None,
    model_id: Annotated[int | None, Form(ge=1, le=ID_MAX)] = None,
) -> Identification:
    """Who is in the photo: each face's box (in the photo's pixels, upright) with the five
    most likely people and their scores; the verdict is "unknown" below the threshold (by
    default the one chosen on the model's held-out faces for 99% precision)."""
    data = _photo_bytes(ws, file)
    try:
        return identify(ws, data, threshold=threshold, model_id=model_id)
    except NoModel as exc:
        if model_id is not None:
            raise LookupError(f"no model {model_id}") from None
        raise HTTPException(409, str(exc)) from None
    except UnreadableImage as exc:
        raise ValueError(f"not a photo faceloop can read: {exc}") from None
    except OSError as exc:
        raise HTTPException(409, f"the model's file cannot be read: {exc}") from None


def _photo_bytes(ws: Workspace, file: UploadFile) -> bytes:
    limit = ws.settings.imports.max_file_mb * 1024 * 1024
    data = file.file.read(limit + 1)
    if len(data) > limit:
        raise HTTPException(413, f"the photo is larger than {ws.settings.imports.max_file_mb} MB")
    if not data:
        raise ValueError("file: the upload is empty")
    return data


@router.post("/identify/preview", response_class=Response, responses={200: JPEG})
def identify_preview(
    ws: WS,
    file: Annotated[UploadFile, File(description="the photo shown on the identify page")],
) -> Response:
    """The photo upright as a JPEG (at most 1600 pixels a side), for formats a browser cannot
    show itself; nothing is stored."""
    data = _photo_bytes(ws, file)
    try:
        return Response(preview_jpeg(data, ws.settings.imports.max_pixels), media_type="image/jpeg")
    except UnreadableImage as exc:
        raise ValueError(f"not a photo faceloop can read: {exc}") from None
