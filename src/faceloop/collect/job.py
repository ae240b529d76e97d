"""Collection as a background job, and the schedule that starts it: once a minute the worker
looks for sources that are due and, unless a collection is already queued or running, queues
one for them."""

from __future__ import annotations

from faceloop.collect.run import CollectProgress, collect, due_sources
from faceloop.jobs.queue import Progress, every_minute, register
from faceloop.jobs.rules import active_job, submit_once
from faceloop.workspace import Workspace

COLLECT = "collect"


@register(COLLECT)
def collect_job(ws: Workspace, params: dict, progress: Progress) -> dict:
    ids = params.get("sources") or due_sources(ws)

    def tell(p: CollectProgress) -> None:
        progress(
            p.posts,
            None,
            f"{p.source}: {p.posts} new posts, {p.photos} photos, {p.faces} faces"
            + (f", {p.failed} failed" if p.failed else ""),
        )

    runs = collect(ws, ids, progress=tell)
    return {
        "sources": [
            {
                "id": run.source_id,
                "name": run.name,
                "posts": run.posts,
                "photos": run.photos,
                "faces": run.faces,
                "failed": run.failed,
                "error": run.error,
            }
            for run in runs
        ]
    }


@every_minute
def start_due_collections(ws: Workspace) -> None:
    if active_job(ws, COLLECT) is None and due_sources(ws):
        submit_once(ws, COLLECT, {})
