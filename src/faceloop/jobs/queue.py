"""Background work with live progress, whatever its kind (imports of uploaded photos,
grouping, training and prediction are registered by their stages).

A job is a row in `job` (status, done of total, a message, a result) that pages poll, and a
Huey task that runs it. Huey keeps the queue in `queue.db` beside the workspace's database (a
separate file, so polling never contends with labelling). `faceloop serve` runs a consumer in
its own process (threads), so one command serves everything.

A new kind of job is one decorated function in the module of its stage:

    @register("train")
    def train(ws: Workspace, params: dict, progress: Progress) -> dict: ...

`progress(done, total, message)` may be called as often as is convenient: the row is written at
most a few times a second. The function's return value is stored as the job's result; an
exception marks the job failed with its message.

A process knows the kinds whose modules it imported: the web app and `faceloop worker` import
every stage's job module, so their workers can run any job.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from huey import SqliteHuey, crontab
from huey.api import Huey
from huey.consumer import Consumer
from sqlalchemy import select, update

from faceloop.db.models import Job, utcnow
from faceloop.jsontypes import UtcTime
from faceloop.options import JobState
from faceloop.workspace import Workspace

log = logging.getLogger(__name__)

Progress = Callable[[int, int | None, str], None]
JobFunction = Callable[[Workspace, dict, Progress], dict]

QUEUED, RUNNING, DONE, FAILED = JobState.QUEUED, JobState.RUNNING, JobState.DONE, JobState.FAILED
ACTIVE = (QUEUED, RUNNING)
QUEUE_FILE = "queue.db"
#: a queued job's message: it runs once a worker (`faceloop serve` or `faceloop worker`) is up
WAITING = "waiting for a worker"
PROGRESS_INTERVAL = 0.25

_kinds: dict[str, JobFunction] = {}
#: what the worker does once a minute (start the collection of sources that are due)
_ticks: list[Callable[[Workspace], None]] = []


def every_minute(step: Callable[[Workspace], None]) -> Callable[[Workspace], None]:
    """Run `step` once a minute in whichever worker runs this workspace's jobs (Huey's periodic
    tasks: `faceloop serve`'s worker, or `faceloop worker`)."""
    if step not in _ticks:
        _ticks.append(step)
    return step


def tick(ws: Workspace) -> None:
    """The minute's steps, each on its own: one that fails is logged and the rest still run."""
    for step in list(_ticks):
        try:
            step(ws)
        except Exception:
            log.exception("the periodic step %s failed", getattr(step, "__name__", step))


class JobError(Exception):
    """A job that cannot go on for a reason its message gives (not a bug): it fails with that
    message and no traceback in the log."""


def register(kind: str) -> Callable[[JobFunction], JobFunction]:
    def decorator(function: JobFunction) -> JobFunction:
        _kinds[kind] = function
        return function

    return decorator


@contextmanager
def registered(kind: str, function: JobFunction) -> Iterator[None]:
    """`kind` runs `function` inside the block only, and whatever was registered before returns.

    For tests and embedders that need a kind of job for a while: `register` at import time
    changes the registry for the whole process, so every later test would see the kind too.
    """
    before = _kinds.get(kind)
    _kinds[kind] = function
    try:
        yield
    finally:
        if before is None:
            _kinds.pop(kind, None)
        else:
            _kinds[kind] = before


def kinds() -> list[str]:
    """The kinds this process can run."""
    return sorted(_kinds)


@dataclass(frozen=True)
class JobInfo:
    id: int
    kind: str
    status: str
    done: int
    total: int | None
    message: str
    result: dict | None
    params: dict
    created_at: UtcTime
    started_at: UtcTime | None
    finished_at: UtcTime | None

    @property
    def active(self) -> bool:
        return self.status in ACTIVE


def _info(job: Job) -> JobInfo:
    return JobInfo(
        job.id,
        job.kind,
        job.status,
        job.done,
        job.total,
        job.message,
        job.result,
        job.params or {},
        job.created_at,
        job.started_at,
        job.finished_at,
    )


def create_job(ws: Workspace, kind: str, params: dict, user_id: int | None = None) -> int:
    if kind not in kinds():
        raise ValueError(f"unknown kind of job {kind!r}; known: {', '.join(kinds())}")
    with ws.transaction() as session:
        job = Job(kind=kind, params=params, status=QUEUED, user_id=user_id, message=WAITING)
        session.add(job)
        session.flush()
        return job.id


def submit(ws: Workspace, kind: str, params: dict, user_id: int | None = None) -> int:
    """Record a job and queue it for a worker; returns its id at once."""
    job_id = create_job(ws, kind, params, user_id)
    queue_for(ws).enqueue(job_id)
    return job_id


def get_job(ws: Workspace, job_id: int) -> JobInfo:
    with ws.reader() as session:
        job = session.get(Job, job_id)
        if job is None:
            raise LookupError(f"no job {job_id}")
        return _info(job)


def list_jobs(ws: Workspace, *, active: bool = False, limit: int = 20) -> list[JobInfo]:
    with ws.reader() as session:
        query = select(Job).order_by(Job.id.desc()).limit(max(1, min(limit, 200)))
        if active:
            query = query.where(Job.status.in_(ACTIVE))
        return [_info(job) for job in session.scalars(query)]


def run_job(ws: Workspace, job_id: int) -> JobInfo:
    """Run a job here and now, recording its progress and outcome."""
    with ws.transaction() as session:
        job = session.get(Job, job_id)
        if job is None:
            raise LookupError(f"no job {job_id}")
        if job.status not in ACTIVE:
            return _info(job)
        job.status, job.started_at, job.message = RUNNING, utcnow(), "starting"
        kind, params = job.kind, dict(job.params or {})
    function = _kinds.get(kind)
    reporter = _Reporter(ws, job_id)
    try:
        if function is None:
            raise ValueError(f"unknown kind of job {kind!r}")
        result = function(ws, params, reporter)
        status, message = DONE, reporter.message or "done"
    except JobError as exc:
        log.info("job %s (%s) failed: %s", job_id, kind, exc)
        result, status, message = None, FAILED, _reason(exc)
    except Exception as exc:
        log.exception("job %s (%s) failed", job_id, kind)
        result, status, message = None, FAILED, _reason(exc)
    with ws.transaction() as session:
        job = session.get(Job, job_id)
        job.status, job.result, job.message, job.finished_at = status, result, message, utcnow()
        if status == DONE and job.total is not None:
            job.done = job.total
    return get_job(ws, job_id)


def _reason(exc: Exception) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) < 500 else text[:497] + "..."


class _Reporter:
    """The `progress` callable handed to a job: writes the row at most a few times a second."""

    def __init__(self, ws: Workspace, job_id: int) -> None:
        self.ws = ws
        self.job_id = job_id
        self.last = 0.0
        self.message = ""

    def __call__(self, done: int, total: int | None, message: str = "") -> None:
        self.message = message
        now = time.monotonic()
        if now - self.last < PROGRESS_INTERVAL and (total is None or done < total):
            return
        self.last = now
        with self.ws.transaction() as session:
            session.execute(
                update(Job)
                .where(Job.id == self.job_id)
                .values(done=done, total=total, message=message)
            )


# ------------------------------------------------------------------ the queue and its workers


class _QuietConsumer(Consumer):
    """Huey's consumer without signal handlers: inside `faceloop serve` the server owns them."""

    def _set_signal_handlers(self) -> None:
        return None


class JobQueue:
    """A workspace's Huey instance with the one task that runs any job."""

    def __init__(self, ws: Workspace) -> None:
        self.ws = ws
        name = f"faceloop-{ws.root.name}"
        self.huey: Huey = SqliteHuey(name, filename=str(ws.root / QUEUE_FILE), results=False)
        self.consumer: Consumer | None = None

        @self.huey.task(name="faceloop.run_job")
        def execute(job_id: int) -> None:
            run_job(self.ws, job_id)

        self._execute = execute

        @self.huey.periodic_task(crontab(minute="*"), name="faceloop.tick")
        def periodic() -> None:
            tick(self.ws)

        self._periodic = periodic

    def enqueue(self, job_id: int) -> None:
        self._execute(job_id)

    def start_worker(self, threads: int = 2) -> None:
        """Run jobs in this process from now on. Jobs a killed worker left running are queued
        again first: every kind of job must be safe to run twice (an import is)."""
        if self.consumer is not None:
            return
        self.requeue_interrupted()
        self.consumer = _QuietConsumer(
            self.huey,
            workers=threads,
            worker_type="thread",
            periodic=True,
            initial_delay=0.05,
            max_delay=0.5,
            check_worker_health=False,
        )
        self.consumer.start()

    def stop_worker(self) -> None:
        if self.consumer is not None:
            self.consumer.stop(graceful=False)
            self.consumer = None

    def requeue_interrupted(self) -> list[int]:
        with self.ws.transaction() as session:
            ids = list(session.scalars(select(Job.id).where(Job.status == RUNNING)))
            for job_id in ids:
                job = session.get(Job, job_id)
                job.status, job.message = QUEUED, "interrupted by a restart; starting again"
        for job_id in ids:
            self.enqueue(job_id)
        return ids

    def run_forever(self, threads: int = 2) -> None:
        """`faceloop worker`: a consumer of its own, stopped with Ctrl-C."""
        self.requeue_interrupted()
        Consumer(self.huey, workers=threads, worker_type="thread", max_delay=0.5).run()


_queues: dict[Path, JobQueue] = {}
_queues_lock = threading.Lock()


def queue_for(ws: Workspace) -> JobQueue:
    with _queues_lock:
        queue = _queues.get(ws.root)
        if queue is None:
            queue = _queues[ws.root] = JobQueue(ws)
        return queue
