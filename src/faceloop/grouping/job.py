"""Grouping look-alike faces as a background job, and the rules that re-group by themselves.

A run is cheap (seconds for a hundred thousand faces) but not free, and it changes what the
groups page shows, so it runs on request, after an upload's import brought new faces, or after
`recluster_after` new human decisions (the labels it learns its threshold and suggestions
from), one at a time. The decision log and the import know nothing of grouping: this module
registers its rules with them.
"""

from __future__ import annotations

import logging

from faceloop.grouping.views import count_groups, count_ungrouped
from faceloop.ingest.job import after_import
from faceloop.ingest.run import ImportSummary
from faceloop.jobs.queue import ACTIVE, JobError, Progress, register
from faceloop.jobs.rules import active_job, job_mark, last_job, running_job, submit_once
from faceloop.labels.decisions import HUMAN_DECISIONS, decisions_since
from faceloop.workspace import Workspace, after_change

log = logging.getLogger(__name__)

CLUSTER = "cluster"


def check_cluster_params(threshold: float | None = None, adapt: bool | None = None) -> dict:
    """The job's params, refused early (ValueError) rather than in a failed job."""
    params: dict = {}
    if threshold is not None:
        if not 0 < float(threshold) < 2:
            raise ValueError("the threshold must be between 0 and 2 (dlib distances)")
        params["threshold"] = float(threshold)
    if adapt is not None:
        params["adapt"] = bool(adapt)
    return params


@register(CLUSTER)
def cluster_job(ws: Workspace, params: dict, progress: Progress) -> dict:
    """Params (all optional): threshold (else learned from the labels), adapt (default: the
    `adapt_groups` setting)."""
    from faceloop.grouping.run import recluster

    try:
        checked = check_cluster_params(params.get("threshold"), params.get("adapt"))
    except (TypeError, ValueError) as exc:
        raise JobError(f"not grouped: {exc}") from None
    run = recluster(
        ws,
        threshold=checked.get("threshold"),
        adapt=checked.get("adapt"),
        progress=progress,
    )
    progress(
        4,
        4,
        f"{run.groups:,} groups of {run.grouped_faces:,} faces among {run.unlabelled_faces:,} "
        f"unlabelled; threshold {run.threshold:.3f} ({run.threshold_source})",
    )
    return {
        "groups": run.groups,
        "grouped_faces": run.grouped_faces,
        "unlabelled_faces": run.unlabelled_faces,
        "threshold": run.threshold,
        "threshold_source": run.threshold_source,
        "suggested": run.suggested,
        "adapted": run.adapted,
        "seconds": round(run.seconds, 1),
    }


def active_cluster_job(ws: Workspace) -> int | None:
    return active_job(ws, CLUSTER)


def running_cluster_job(ws: Workspace) -> int | None:
    return running_job(ws, CLUSTER)


def submit_cluster(ws: Workspace, params: dict | None = None, user_id: int | None = None) -> int:
    """Queue a run, or return the one already queued or running."""
    return submit_once(ws, CLUSTER, params, user_id)[0]


def decisions_since_cluster(ws: Workspace) -> int:
    """Human decisions since the last run (or attempt) started."""
    with ws.reader() as session:
        return decisions_since(session, job_mark(last_job(session, CLUSTER)))


def maybe_recluster(ws: Workspace) -> int | None:
    """Start a run when `recluster_after` new decisions were made since the last one (a tenth
    of that once no group is left to name, so the groups page does not sit empty while the
    labels have moved on) and none is queued or running. Cheap and never raises, so it
    follows every commit of human decisions. Returns the new job's id."""
    try:
        after = ws.settings.train.recluster_after
        if after <= 0:
            return None
        with ws.reader() as session:
            last = last_job(session, CLUSTER)
            if last is not None and last.status in ACTIVE:
                return None
            made = decisions_since(session, job_mark(last))
        if made < after and not (made >= max(1, after // 10) and _no_groups_left(ws)):
            return None
        job_id, new = submit_once(ws, CLUSTER, {"automatic": True})
        if not new:
            return None
        log.info("started grouping job %s after %s new decisions", job_id, after)
        return job_id
    except Exception:
        log.exception("could not check whether to group faces again")
        return None


def _no_groups_left(ws: Workspace) -> bool:
    return count_groups(ws)[0] == 0


@after_import
def group_after_import(ws: Workspace, summary: ImportSummary) -> dict:
    """New unlabelled faces are grouped by themselves, so the groups page has them when the
    user gets there: the faces not grouped yet, and the grouping job started or already
    waiting. No job when `recluster_after` is 0 (grouping only on request): the page offers
    it."""
    ungrouped = count_ungrouped(ws) if summary.faces else 0
    if not ungrouped:
        return {"ungrouped": 0, "grouping_job": None}
    if ws.settings.train.recluster_after <= 0:
        return {"ungrouped": ungrouped, "grouping_job": active_cluster_job(ws)}
    job = submit_cluster(ws, {"automatic": True, "after": "import"})
    return {"ungrouped": ungrouped, "grouping_job": job}


after_change(HUMAN_DECISIONS, maybe_recluster)
