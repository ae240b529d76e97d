"""The learning loop as background jobs: train (warm from the last model) then predict, and a
rule that starts training by itself once people have made enough new decisions (it follows
every commit of human decisions, wherever they were made).

Training shares the machine with a person labelling in the web app, often in the same process.
So torch is held to few threads while a job runs, and OpenMP's idle threads sleep instead of
spinning (OMP_WAIT_POLICY=PASSIVE; it only takes effect when set before torch loads, which the
CLI does first thing in the commands that train or serve).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from faceloop.db.models import FaceLabel, Job, Model
from faceloop.jobs import rules as job_rules
from faceloop.jobs.queue import ACTIVE, JobError, Progress, register
from faceloop.labels.decisions import HUMAN_DECISIONS, decisions_since
from faceloop.workspace import Workspace, after_change

log = logging.getLogger(__name__)

TRAIN, PREDICT = "train", "predict"


def passive_openmp() -> None:
    """Idle OpenMP threads sleep rather than spin. Only effective before torch is imported."""
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def background_threads() -> int:
    """Half the cores, at most two: training leaves room for the labeller's requests."""
    return max(1, min(2, (os.cpu_count() or 2) // 2))


@contextmanager
def calm_torch(threads: int | None = None) -> Iterator[None]:
    """Torch on few threads for the duration, then back to what it was."""
    passive_openmp()
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(threads or background_threads())
    try:
        yield
    finally:
        torch.set_num_threads(before)


@register(TRAIN)
def train_job(ws: Workspace, params: dict, progress: Progress) -> dict:
    """Params (all optional): kind, min_per_class, other_ratio; the settings fill the rest."""
    from faceloop.learning.predict import predict
    from faceloop.learning.train import NotEnoughLabels, train

    with calm_torch():
        try:
            trained = train(
                ws,
                params.get("kind"),
                min_per_class=params.get("min_per_class"),
                other_ratio=params.get("other_ratio"),
                progress=lambda done, total, message: progress(done, total, "training: " + message),
            )
        except NotEnoughLabels as exc:
            raise JobError(f"not trained: {exc}") from None
        predicted = predict(
            ws,
            trained.model_id,
            progress=progress,
        )
    start = f"warm from model {trained.parent_id}" if trained.warm_started else "cold start"
    progress(
        predicted.faces,
        predicted.faces,
        f"model {trained.model_id} ({trained.kind}, {start}): {trained.people} people, "
        f"held-out top-1 {trained.accuracy:.1%}; {predicted.faces:,} faces predicted",
    )
    return {
        "model_id": trained.model_id,
        "kind": trained.kind,
        "parent_id": trained.parent_id,
        "warm_started": trained.warm_started,
        "people": trained.people,
        "train_faces": trained.faces,
        "accuracy": trained.accuracy,
        "threshold": trained.threshold,
        "predicted": predicted.faces,
        "seconds": round(trained.seconds + predicted.seconds, 1),
    }


@register(PREDICT)
def predict_job(ws: Workspace, params: dict, progress: Progress) -> dict:
    """Params: model_id (optional; the newest model of the configured kind otherwise)."""
    from faceloop.learning.predict import predict
    from faceloop.learning.train import NoModel

    with calm_torch():
        try:
            predicted = predict(ws, params.get("model_id"), progress=progress)
        except NoModel as exc:
            raise JobError(str(exc)) from None
    progress(
        predicted.faces,
        predicted.faces,
        f"model {predicted.model_id} predicted {predicted.faces:,} faces",
    )
    return {
        "model_id": predicted.model_id,
        "predicted": predicted.faces,
        "seconds": round(predicted.seconds, 1),
    }


def check_train_params(
    kind: str | None, min_per_class: int | None, other_ratio: float | None
) -> dict:
    """The job's params, refused early (ValueError) rather than in a failed job."""
    from faceloop.learning.train import KINDS

    if kind is not None and kind not in KINDS:
        raise ValueError(f"unknown model kind {kind!r}; choose one of {', '.join(KINDS)}")
    if min_per_class is not None and min_per_class < 1:
        raise ValueError("min_per_class must be at least 1")
    if other_ratio is not None and not 0 <= other_ratio < 1:
        raise ValueError("other_ratio must be at least 0 and below 1")
    params = {"kind": kind, "min_per_class": min_per_class, "other_ratio": other_ratio}
    return {key: value for key, value in params.items() if value is not None}


def active_train_job(ws: Workspace) -> int | None:
    return job_rules.active_job(ws, TRAIN)


def submit_train(ws: Workspace, params: dict | None = None, user_id: int | None = None) -> int:
    """Queue a training run, or return the one already queued or running: one at a time, since
    each starts from the model the previous one makes."""
    return job_rules.submit_once(ws, TRAIN, params, user_id)[0]


def new_decisions(ws: Workspace) -> int:
    """Human decisions since the last training run (or attempt) started."""
    with ws.reader() as session:
        return decisions_since(session, _mark(session))


def maybe_retrain(ws: Workspace) -> int | None:
    """Start a training job when `retrain_after` new decisions were made since the last run
    and none is queued or running. It follows every commit of human decisions, so it costs a
    couple of small queries; it never raises (the decisions are saved either way). Returns the
    new job's id."""
    try:
        return _maybe_retrain(ws)
    except Exception:
        log.exception("could not check whether to retrain")
        return None


def _maybe_retrain(ws: Workspace) -> int | None:
    settings = ws.settings.train
    if settings.retrain_after <= 0:
        return None
    with ws.reader() as session:
        last = job_rules.last_job(session, TRAIN)
        if last is not None and last.status in ACTIVE:
            return None
        if decisions_since(session, _mark(session, last)) < settings.retrain_after:
            return None
        has_model = session.scalar(select(Model.id).where(Model.kind == settings.kind).limit(1))
        if has_model is None and not _anyone_ready(session, settings.min_per_class):
            return None
    job_id, new = job_rules.submit_once(ws, TRAIN, {"automatic": True})
    if not new:
        return None
    log.info("started training job %s after %s new decisions", job_id, settings.retrain_after)
    return job_id


def training_started_after(ws: Workspace, decision_ids: list[int]) -> int | None:
    """The training job that started by itself once these decisions were stored, while it is
    queued or running: what the confirm page tells the user their answer set off."""
    if not decision_ids:
        return None
    with ws.reader() as session:
        job = session.execute(
            select(Job.id, Job.status, Job.params)
            .where(Job.kind == TRAIN)
            .order_by(Job.id.desc())
            .limit(1)
        ).first()
    if job is None or job.status not in ACTIVE or not (job.params or {}).get("automatic"):
        return None
    return job.id if job_rules.job_mark(job) >= max(decision_ids) else None


def _mark(session: Session, last=None) -> int:
    """The newest decision the last training run, or attempt, had seen."""
    last = job_rules.last_job(session, TRAIN) if last is None else last
    model_mark = session.scalar(select(func.max(Model.last_decision_id))) or 0
    return max(model_mark, job_rules.job_mark(last))


def _anyone_ready(session, min_per_class: int) -> bool:
    """Someone has enough labelled faces for a first model (merges aside: a cheap check)."""
    found = session.scalar(
        select(FaceLabel.person_id)
        .where(FaceLabel.verdict == "person")
        .group_by(FaceLabel.person_id)
        .having(func.count() >= min_per_class)
        .limit(1)
    )
    return found is not None


after_change(HUMAN_DECISIONS, maybe_retrain)
