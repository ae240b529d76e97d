"""The learning loop's pages: confirm suggestions (the model's guesses, or the people of the
nearest labelled faces), the models and their figures, and identify people in a photo. Each
renders what it shows first; the rest goes through the API."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request
from fastapi.responses import Response

from faceloop.jobs.queue import list_jobs
from faceloop.learning.summaries import model_summaries
from faceloop.review.confirm_page import confirm_view
from faceloop.web.deps import WS
from faceloop.web.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/confirm")
def confirm(
    request: Request,
    ws: WS,
    mode: Literal["one", "page", "mixed"] = "mixed",
    order: Literal["confident", "uncertain"] | None = None,
    source: Literal["auto", "model", "nearest", "account"] = "auto",
    reach: Literal["sure", "close", "wide"] = "close",
) -> Response:
    """The source chosen (`auto` by default) and the reach stay with the page: every fetch
    ahead asks for them, and each page of faces says where it came from. The mode is "mixed"
    unless asked: a page of everyone's surest suggestions, each face named under it, answers
    the most faces per Enter (bench/simulate_labeling.py)."""
    view = confirm_view(ws, mode=mode, order=order, source=source, reach=reach)
    return render(request, "confirm.html", "confirm", view=view, source=source, reach=reach)


@router.get("/models")
def models(request: Request, ws: WS) -> Response:
    return render(
        request,
        "models.html",
        "models",
        models=model_summaries(ws),
        settings=ws.settings.train,
        jobs=list_jobs(ws, limit=8),
    )


@router.get("/identify")
def identify(request: Request, ws: WS) -> Response:
    return render(
        request,
        "identify.html",
        "identify",
        models=model_summaries(ws, limit=20),
        settings=ws.settings.train,
    )
