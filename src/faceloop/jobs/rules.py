"""What the self-starting jobs (training, grouping) share: one run of a kind at a time, and
where the decisions a run had seen end.

Each run records the newest decision it had seen (`decision_mark` in its params), so the next
one can tell how much the people have said since (`labels.decisions.decisions_since`).
"""

from __future__ import annotations

import threading

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from faceloop.db.models import Decision, Job
from faceloop.jobs.queue import ACTIVE, RUNNING, submit
from faceloop.workspace import Workspace

_submitting = threading.Lock()


def active_job(ws: Workspace, kind: str) -> int | None:
    """The newest queued or running job of this kind."""
    with ws.reader() as session:
        return session.scalar(
            select(Job.id)
            .where(Job.kind == kind, Job.status.in_(ACTIVE))
            .order_by(Job.id.desc())
            .limit(1)
        )


def running_job(ws: Workspace, kind: str) -> int | None:
    """The newest job of this kind a worker is running: a queued one may wait for a worker
    that is not there (no `faceloop serve` or `faceloop worker` yet)."""
    with ws.reader() as session:
        return session.scalar(
            select(Job.id)
            .where(Job.kind == kind, Job.status == RUNNING)
            .order_by(Job.id.desc())
            .limit(1)
        )


def last_job(session: Session, kind: str):
    """(status, params) of the newest job of this kind, or None."""
    return session.execute(
        select(Job.status, Job.params).where(Job.kind == kind).order_by(Job.id.desc()).limit(1)
    ).first()


def job_mark(last) -> int:
    """The newest decision a job (a `last_job` row, or None) had seen when it started."""
    params = (last.params if last is not None else None) or {}
    return int(params.get("decision_mark") or 0)


def submit_once(
    ws: Workspace, kind: str, params: dict | None = None, user_id: int | None = None
) -> tuple[int, bool]:
    """Queue a job of this kind stamped with the newest decision, unless one is queued or
    running already: (its id, whether it is new)."""
    with _submitting:
        running = active_job(ws, kind)
        if running is not None:
            return running, False
        with ws.reader() as session:
            mark = session.scalar(select(func.max(Decision.id))) or 0
        return submit(ws, kind, {**(params or {}), "decision_mark": mark}, user_id), True
