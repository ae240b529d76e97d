"""Sources of collected photos: the list with each one's state and what it brought, adding one
(the kind checks its settings and says in words what is wrong), pause, resume, run now (a
collect job for that source) and remove. Secrets are never shown: a source names the secrets
it reads and whether each is stored, and `faceloop source secret NAME` stores one."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter

from faceloop.collect.base import SourceError
from faceloop.collect.job import COLLECT
from faceloop.collect.run import (
    SourceInfo,
    add_source,
    find_source,
    list_sources,
    remove_source,
    set_paused,
    source_info,
)
from faceloop.collect.sources import kinds
from faceloop.db.models import utcnow
from faceloop.jobs.queue import JobInfo, get_job, submit
from faceloop.jsontypes import UtcTime
from faceloop.web.deps import WS, User
from faceloop.web.schemas import IdPath, SourceBody
from faceloop.workspace import Workspace
from faceloop.workspace.secrets import get_secret

router = APIRouter(tags=["sources"])

#: the kinds whose target is the source itself (a folder, a file, a feed, an instance): an
#: empty one is refused here, before a folder source could take the server's own directory
TARGET_NEEDED = {
    "folder": "the folder's path",
    "urls": "the path of the file of addresses",
    "rss": "the feed's address",
    "mastodon": "the instance's address (https://mstdn.jp)",
    "misskey": "the instance's address (https://misskey.io)",
}


#: kinds that read nothing without their secret (X's API takes a bearer token for every read)
ALWAYS_LOGS_IN = {"x"}


@dataclass(frozen=True)
class SecretState:
    """A secret a source reads: its name and whether it is stored (never its value)."""

    name: str
    stored: bool
    #: the source cannot be read without it: its kind always logs in, or its last run asked
    #: for it (most instances of Mastodon and Misskey need no token: theirs is optional)
    needed: bool
    #: the command that stores it
    command: str


@dataclass(frozen=True)
class SourceView:
    id: int
    kind: str
    name: str
    paused: bool
    #: "paused" or "every 30 minutes", in words
    state: str
    every_minutes: int
    last_run_at: UtcTime | None
    next_run_at: UtcTime | None
    #: the last run's error in words; None when it went well (or never ran)
    last_error: str | None
    #: the next run is due (the schedule starts it within a minute, when a worker runs)
    due: bool
    posts: int
    photos: int
    faces: int
    reads_used: int
    #: reads allowed a month (X), when set
    monthly_reads: int | None
    secrets: list[SecretState]


@dataclass(frozen=True)
class KindView:
    name: str
    summary: str
    examples: list[str]


def source_view(ws: Workspace, info: SourceInfo) -> SourceView:
    monthly = info.settings.get("monthly_reads")
    return SourceView(
        id=info.id,
        kind=info.kind,
        name=info.name,
        paused=info.paused,
        state="paused" if info.paused else f"every {info.every_minutes} minutes",
        every_minutes=info.every_minutes,
        last_run_at=info.last_run_at,
        next_run_at=None if info.paused else info.next_run_at,
        last_error=info.last_error,
        due=not info.paused and (info.next_run_at is None or info.next_run_at <= utcnow()),
        posts=info.posts,
        photos=info.photos,
        faces=info.faces,
        reads_used=info.reads_used,
        monthly_reads=int(monthly) if monthly else None,
        secrets=_secrets(ws, info),
    )


def _secrets(ws: Workspace, info: SourceInfo) -> list[SecretState]:
    try:
        names = kinds()[info.kind].secrets_needed(info.settings)
    except (KeyError, SourceError):
        return []
    found = []
    for name in names:
        try:
            stored = get_secret(ws.root, name) is not None
        except ValueError:
            stored = False
        needed = (
            info.kind in ALWAYS_LOGS_IN
            or "login" in info.settings
            or name in (info.last_error or "")
        )
        found.append(SecretState(name, stored, needed, f"faceloop source secret {name}"))
    return found


def views(ws: Workspace) -> list[SourceView]:
    return [source_view(ws, info) for info in list_sources(ws)]


def source_kinds() -> list[KindView]:
    return [KindView(k.name, k.summary, list(k.examples)) for k in kinds().values()]


def _existing(ws: Workspace, source_id: int) -> int:
    """A source that is collected and not removed (404 otherwise)."""
    try:
        return find_source(ws, source_id)
    except SourceError:
        raise LookupError(f"no source {source_id}") from None


@router.get("/sources", response_model=list[SourceView])
def sources(ws: WS) -> list[SourceView]:
    """Every source with its state, last and next run, last error and what it brought."""
    return views(ws)


@router.get("/sources/kinds", response_model=list[KindView])
def source_kinds_route() -> list[KindView]:
    """The kinds of source this faceloop can collect from, with examples."""
    return source_kinds()


@router.post("/sources", response_model=SourceView, status_code=201)
def add(ws: WS, body: SourceBody) -> SourceView:
    """Add a source; it is collected on its schedule (or at once with .../run). 422 with the
    reason in words when the kind refuses its settings or the source exists."""
    target = body.target.strip()
    if body.kind in TARGET_NEEDED and not target:
        raise SourceError(f"a {body.kind} source needs {TARGET_NEEDED[body.kind]}")
    options = {
        "tag": body.tag,
        "account": body.account,
        "query": body.query,
        "login": body.login,
        "backfill": body.backfill,
        "monthly_reads": body.monthly_reads,
    }
    options = {k: v.strip() if isinstance(v, str) else v for k, v in options.items()}
    info = add_source(ws, body.kind, target, options, body.every_minutes)
    return source_view(ws, info)


@router.post("/sources/{source_id}/pause", response_model=SourceView)
def pause(ws: WS, source_id: IdPath) -> SourceView:
    """Stop collecting the source on its schedule; it keeps its cursor."""
    set_paused(ws, _existing(ws, source_id), True)
    return source_view(ws, source_info(ws, source_id))


@router.post("/sources/{source_id}/resume", response_model=SourceView)
def resume(ws: WS, source_id: IdPath) -> SourceView:
    set_paused(ws, _existing(ws, source_id), False)
    return source_view(ws, source_info(ws, source_id))


@router.post("/sources/{source_id}/run", response_model=JobInfo, status_code=202)
def run_now(ws: WS, user: User, source_id: IdPath) -> JobInfo:
    """Collect the source now, paused or not, in a background job (follow it at /jobs/{id})."""
    job_id = submit(ws, COLLECT, {"sources": [_existing(ws, source_id)]}, user)
    return get_job(ws, job_id)


@router.post("/sources/{source_id}/remove", status_code=204)
def remove(ws: WS, source_id: IdPath) -> None:
    """Stop collecting the source for good; its posts, photos, faces and labels stay."""
    remove_source(ws, _existing(ws, source_id))
