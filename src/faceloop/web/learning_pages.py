"""The learning loop's pages: confirm suggestions (the model's guesses, or the people of the
nearest labelled faces), the models and their figures, and identify people in a photo. Each
renders what it shows first; the rest goes through the API."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request
from fastapi.responses import Response

from faceloop.jobs import list_jobs
from faceloop.model_summaries import model_summaries
from faceloop.review.confirming import confirm_view
from faceloop.web.deps import WS
from faceloop.web.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/confirm")
def confirm(
    request: Request,
    ws: WS,
    mode: Literal["one", "page"] = "one",
    order: Literal["confident", "uncertain"] | None = None,
    source: Literal["auto", "model", "nearest"] = "auto",
) -> Response:
    """The source chosen (`auto` by default) stays with the page: every fetch ahead asks for
    it, and each page of faces says where it came from."""
    view = confirm_view(ws, mode=mode, order=order, source=source)
    return render(request, "confirm.html", "confirm", view=view, source=source)


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
