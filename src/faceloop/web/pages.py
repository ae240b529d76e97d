"""The HTML pages. Each renders what it needs to show at once from the library; what people
do on a page goes through the JSON API from the page's JavaScript."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from urllib.parse import urlsplit

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from faceloop.collect.accounts import list_accounts
from faceloop.grouping.job import active_cluster_job
from faceloop.grouping.views import count_groups, count_ungrouped
from faceloop.jobs.queue import list_jobs
from faceloop.labels.activity import activity
from faceloop.review.label_queue import QueueFilter, filter_options, next_faces, queue_item
from faceloop.review.overview import overview
from faceloop.review.person_views import list_people, person_detail, person_faces
from faceloop.review.photos import photo_info
from faceloop.web.api.auth import LoginRefused, check_password
from faceloop.web.collect_pages import collection_status
from faceloop.web.deps import WS, BlankIsNone, OptionalDate, User, app_state
from faceloop.web.templating import render

router = APIRouter(include_in_schema=False)

PREFETCH = 8


@router.get("/")
def home(request: Request, ws: WS) -> Response:
    jobs = list_jobs(ws, limit=8)
    return render(
        request,
        "home.html",
        "home",
        overview=overview(ws),
        recent=activity(ws, limit=12).entries,
        jobs=jobs,
        grouping={
            "ungrouped": count_ungrouped(ws),
            "job": active_cluster_job(ws),
            "groups": count_groups(ws)[0],
        },
        collection=collection_status(ws),
    )


@router.get("/label")
def label(
    request: Request,
    ws: WS,
    user: User,
    folder: Annotated[str | None, Query(max_length=1000)] = None,
    account: Annotated[str | None, Query(max_length=200)] = None,
    since: OptionalDate = None,
    until: OptionalDate = None,
) -> Response:
    filters = QueueFilter(folder or None, account or None, since, until)
    page = next_faces(ws, user, filters, PREFETCH)
    return render(
        request,
        "label.html",
        "label",
        page=page,
        filters=filters,
        options=filter_options(ws),
    )


@router.get("/people")
def people(
    request: Request,
    ws: WS,
    q: Annotated[str | None, Query(max_length=200)] = None,
    tag: Annotated[str | None, Query(max_length=200)] = None,
    hidden: bool = False,
    sort: Literal["faces", "name", "recent"] = "faces",
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Response:
    page = list_people(
        ws, include_hidden=hidden, tag=tag or None, query=q, sort=sort, offset=offset, limit=300
    )
    return render(
        request,
        "people.html",
        "people",
        page=page,
        q=q or "",
        tag=tag or "",
        hidden=hidden,
        sort=sort,
        offset=offset,
    )


@router.get("/people/{person_id}")
def person(request: Request, ws: WS, person_id: int) -> Response:
    detail = person_detail(ws, person_id)
    faces = person_faces(ws, person_id, 0, 200)
    accounts = list_accounts(ws, person_id=person_id).accounts
    return render(request, "person.html", "people", person=detail, faces=faces, accounts=accounts)


@router.get("/photos/{image_id}")
def photo(request: Request, ws: WS, image_id: int) -> Response:
    return render(request, "photo.html", "", photo=photo_info(ws, image_id))


@router.get("/faces/{face_id}")
def face(ws: WS, user: User, face_id: int) -> Response:
    item = queue_item(ws, face_id, user)
    return RedirectResponse(f"/photos/{item.image_id}#face-{face_id}", status_code=303)


@router.get("/upload")
def upload(request: Request, ws: WS) -> Response:
    return render(request, "upload.html", "upload", jobs=list_jobs(ws, limit=5))


@router.get("/activity")
def activity_page(
    request: Request,
    ws: WS,
    kind: Annotated[Literal["decision", "person"] | None, BlankIsNone] = None,
    action: Annotated[str | None, Query(max_length=20)] = None,
    origin: Annotated[
        Literal["manual", "suggestion", "bulk", "group", "import"] | None, BlankIsNone
    ] = None,
    person_id: Annotated[int | None, BlankIsNone] = None,
    face_id: Annotated[int | None, BlankIsNone] = None,
    before: Annotated[str | None, Query(max_length=40)] = None,
    rows: bool = False,
) -> Response:
    """The activity list; `rows` answers only the list's rows, for the page to look for new
    ones and for the state of those it shows (undone or not) without reloading."""
    when = None
    if before:
        try:
            when = datetime.fromisoformat(before)
        except ValueError:
            raise ValueError(
                "'before' must be a date and time such as 2026-11-26T16:00:00"
            ) from None
    page = activity(
        ws,
        kind=kind,
        action=action or None,
        origin=origin,
        person_id=person_id,
        face_id=face_id,
        before=when,
        limit=100,
    )
    return render(
        request,
        "_activity_list.html" if rows else "activity.html",
        "activity",
        live=not before,
        page=page,
        kind=kind or "",
        action=action or "",
        origin=origin or "",
        person_id=person_id,
        face_id=face_id,
    )


@router.get("/login")
def login_page(request: Request, next: Annotated[str, Query(max_length=500)] = "/") -> Response:
    if not app_state(request).login_required:
        return RedirectResponse(_safe_next(next), status_code=303)
    return render(request, "login.html", next=_safe_next(next), error=None)


@router.post("/login")
async def login(
    request: Request,
    password: Annotated[str, Form(max_length=1000)] = "",
    next: Annotated[str, Form(max_length=500)] = "/",
) -> Response:
    try:
        if await check_password(request, password):
            return RedirectResponse(_safe_next(next), status_code=303)
    except LoginRefused as refused:
        page = render(request, "login.html", status=429, next=_safe_next(next), error=str(refused))
        page.headers["Retry-After"] = refused.refusal.retry_after_header
        return page
    return render(request, "login.html", status=401, next=_safe_next(next), error="wrong password")


def _safe_next(target: str) -> str:
    """Only a path on this server: never another site (an open redirect)."""
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target
