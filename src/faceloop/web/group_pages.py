"""The pages for naming many faces at once: look-alike groups (one group at a time, or a list),
"more like this" for any face, and passers-by to mark "unknown person". Each renders what it
shows first; the rest goes through the API (`web/api/groups.py`, `web/api/passers_by.py`)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from sqlalchemy import select

from faceloop.db.models import FaceGroup
from faceloop.grouping.job import active_cluster_job
from faceloop.grouping.views import count_groups, group_detail, list_groups
from faceloop.jobs.queue import get_job, list_jobs
from faceloop.readmodel.group_space import run_path
from faceloop.review.passers_by import PAGE as PASSERS_BY
from faceloop.review.passers_by import passers_by
from faceloop.web.api.groups import similar as similar_faces
from faceloop.web.deps import WS, User
from faceloop.web.templating import render
from faceloop.workspace import Workspace

router = APIRouter(include_in_schema=False)

LIST_PAGE = 100
JOBS_SHOWN = 5
SIMILAR = 36


@router.get("/groups")
def groups(
    request: Request,
    ws: WS,
    view: Literal["grid", "list"] = "grid",
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> Response:
    """The largest open group, ready to name; or (`view=list`) every open group by size."""
    jobs = list_jobs(ws, limit=JOBS_SHOWN)
    if view == "list":
        total, faces = count_groups(ws)
        return render(
            request,
            "groups_list.html",
            "groups",
            groups=list_groups(ws, limit=LIST_PAGE, offset=offset),
            total=total,
            faces=faces,
            offset=offset,
            page_size=LIST_PAGE,
            jobs=jobs,
        )
    first = list_groups(ws, limit=1)
    detail = group_detail(ws, first[0].id) if first else None
    return _grid(request, ws, detail, jobs)


@router.get("/groups/{group_id}")
def group(request: Request, ws: WS, group_id: int) -> Response:
    """One group first (from the list, or a merge suggestion), then the largest others."""
    return _grid(request, ws, group_detail(ws, group_id), list_jobs(ws, limit=JOBS_SHOWN))


def _grid(request: Request, ws: Workspace, detail, jobs) -> Response:
    """The page shows one group; the counts of all groups come with the page's first fetch of
    the next group (counting them is as costly as finding the first)."""
    grouping = _grouping(ws)
    return render(
        request,
        "groups.html",
        "groups",
        detail=detail,
        initial={"detail": detail, "grouping": grouping},
        grouping=grouping,
        jobs=jobs,
    )


def _grouping(ws: Workspace) -> dict:
    """What the empty page says: whether the faces were ever grouped (a run leaves its space
    file; groups from before that file existed count too), and the run under way if any."""
    with ws.reader() as session:
        any_group = session.scalar(select(FaceGroup.id).limit(1)) is not None
    job_id = active_cluster_job(ws)
    return {
        "ran": any_group or run_path(ws).exists(),
        "job": get_job(ws, job_id) if job_id is not None else None,
    }


@router.get("/similar/{face_id}")
def similar(request: Request, ws: WS, user: User, face_id: int) -> Response:
    """The unlabelled faces nearest to one face, to name many at once."""
    found = similar_faces(ws, user, face_id, SIMILAR)
    return render(request, "similar.html", "groups", similar=found, limit=SIMILAR)


@router.get("/passers-by")
def passers_by_page(request: Request, ws: WS) -> Response:
    """Faces most likely to be passers-by, a page at a time, to mark "unknown person"."""
    faces = passers_by(ws, limit=PASSERS_BY)
    return render(
        request, "passers_by.html", "passers-by", initial={"faces": faces}, limit=PASSERS_BY
    )
