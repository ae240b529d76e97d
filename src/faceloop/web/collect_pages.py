"""The collection's pages: sources (what is collected, from where, how it went; add, pause, run
now, remove) and accounts (who posted the photos, and who each account is). Each renders what
it shows from the library; what people do goes through the API (`web/api/sources.py`,
`web/api/accounts.py`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from faceloop.collect.accounts import list_accounts, suggest_links
from faceloop.collect.job import COLLECT
from faceloop.jobs.queue import JobInfo, get_job, list_jobs
from faceloop.jobs.rules import active_job
from faceloop.web.api.sources import source_kinds, views
from faceloop.web.deps import WS
from faceloop.web.templating import render
from faceloop.workspace import Workspace

router = APIRouter(include_in_schema=False)

ACCOUNTS_PAGE = 200


@dataclass(frozen=True)
class Field:
    """A field of the add-a-source form: the API's name for it, its label, an example."""

    name: str
    label: str
    example: str
    type: str = "text"


@dataclass(frozen=True)
class KindForm:
    """The add-a-source form of one kind: its fields and the secret it may need, in words."""

    kind: str
    summary: str
    examples: list[str]
    fields: list[Field]
    secret: tuple[str, str | None] | None


def _instance(example: str, account: str) -> tuple[Field, ...]:
    return (
        Field("target", "Instance", example),
        Field("tag", "Hashtag", "CHEERZ"),
        Field("account", "or an account", account),
    )


#: what each kind asks for, in the form's order; a kind not named here (a new module) gets the
#: target, tag and account fields, which is what most kinds take
FIELDS: dict[str, tuple[Field, ...]] = {
    "folder": (Field("target", "Folder on this machine", "~/Pictures/idols"),),
    "urls": (Field("target", "File of image or page addresses", "~/idols/urls.txt"),),
    "rss": (Field("target", "Feed address", "https://rssblog.ameba.jp/…/rss20.xml"),),
    "mastodon": _instance("https://mstdn.jp", "aya_idol@mstdn.jp"),
    "misskey": _instance("https://misskey.io", "aya_idol@misskey.io"),
    "bluesky": (
        Field("account", "Account", "aya.bsky.social"),
        Field("tag", "or a hashtag", "CHEERZ"),
        Field("login", "Log in as (a hashtag needs it)", "me.bsky.social"),
    ),
    "x": (
        Field("query", "Search", "#CHEERZ has:images -is:retweet"),
        Field("account", "or an account", "aya_idol"),
        Field("monthly_reads", "Reads allowed a month", "10000", "number"),
    ),
}
OTHER_FIELDS = (
    Field("target", "Where", "the folder, file, feed, instance or account"),
    Field("tag", "Hashtag", "CHEERZ"),
    Field("account", "or an account", "aya_idol"),
)
EVERY = Field("every_minutes", "Every (minutes)", "30", "number")
BACKFILL = Field("backfill", "Posts a first run reads back", "200", "number")

#: the secret each kind may read, in words and the command that stores it (the names are the
#: kinds' own, `secrets_needed`); X's is named once the source exists
SECRET_HINTS: dict[str, tuple[str, str | None]] = {
    "mastodon": (
        "An instance that has turned off public timelines needs an app token",
        "faceloop source secret mastodon:HOST",
    ),
    "misskey": (
        "An instance that asks for a login needs an access token",
        "faceloop source secret misskey:HOST",
    ),
    "bluesky": (
        "A hashtag search logs in with an app password",
        "faceloop source secret bluesky:LOGIN",
    ),
    "x": ("X reads need a bearer token; once added, the source says which secret to store", None),
}


@dataclass(frozen=True)
class CollectionStatus:
    """The home page's collection card: how many sources, how the last run went, and the
    collection running now if any."""

    sources: int
    paused: int
    failing: int
    last_run_at: datetime | None
    job: JobInfo | None


def collection_status(ws: Workspace) -> CollectionStatus:
    shown = views(ws)
    runs = [s.last_run_at for s in shown if s.last_run_at is not None]
    job_id = active_job(ws, COLLECT)
    return CollectionStatus(
        sources=len(shown),
        paused=sum(s.paused for s in shown),
        failing=sum(bool(s.last_error) for s in shown),
        last_run_at=max(runs) if runs else None,
        job=get_job(ws, job_id) if job_id is not None else None,
    )


def kind_forms() -> list[KindForm]:
    forms = []
    for kind in source_kinds():
        fields = list(FIELDS.get(kind.name, OTHER_FIELDS))
        fields += [EVERY] if kind.name == "folder" else [BACKFILL, EVERY]
        forms.append(
            KindForm(kind.name, kind.summary, kind.examples, fields, SECRET_HINTS.get(kind.name))
        )
    return forms


@router.get("/sources")
def sources(request: Request, ws: WS) -> Response:
    return render(
        request,
        "sources.html",
        "sources",
        sources=views(ws),
        forms=kind_forms(),
        every=ws.settings.collect.every_minutes,
        jobs=list_jobs(ws, limit=5),
    )


@router.get("/accounts")
def accounts(
    request: Request,
    ws: WS,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> Response:
    page = list_accounts(ws, offset=offset, limit=ACCOUNTS_PAGE)
    return render(
        request,
        "accounts.html",
        "accounts",
        page=page,
        suggestions=suggest_links(ws),
        offset=offset,
        page_size=ACCOUNTS_PAGE,
    )
