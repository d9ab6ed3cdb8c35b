"""Background jobs: long work (SHAP explanations) queued in the database, run by any process.

A job is a row. A worker claims the oldest queued job under a row lock (``FOR UPDATE SKIP
LOCKED`` on PostgreSQL, so several workers never take the same job; on SQLite the claim runs
under the database write lock), runs its handler, reports progress with a heartbeat, and ends
it as done (with the evidence it stored) or failed (with the error). Workers are a thread in
each app process and, for teams, any number of `gatehouse worker` processes. A running job
whose heartbeat stops (its process died) goes back to the queue, at most ``MAX_ATTEMPTS`` times.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import socket
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from core.db import session_scope
from core.errors import GatehouseError, NotFound
from core.services.audit import append_event, canonical_json
from core.services.permissions import EVIDENCE_ROLES, OPERATOR, Actor, require_role
from core.tables import Job, User, utcnow

__all__ = [
    "HANDLERS",
    "JobContext",
    "get_job",
    "job_summary",
    "latest_job",
    "requeue_stale_jobs",
    "run_job",
    "run_next",
    "start_background_worker",
    "stop_background_worker",
    "submit_job",
    "work",
]

log = logging.getLogger(__name__)

#: Job kinds and their handlers ("module:function"), imported when a job of that kind runs.
HANDLERS: dict[str, str] = {"explanation": "core.services.explanations:run_explanation_job"}
STALE_AFTER = timedelta(minutes=5)
MAX_ATTEMPTS = 3

UNKNOWN_KIND = "The job kind {kind!r} is unknown; use one of {kinds}."
UNKNOWN_JOB = "No job with id {job_id}."
WORKER_LOST = (
    "The worker running this job stopped responding {attempts} times; look at the worker's log, "
    "then start the job again."
)


def worker_name() -> str:
    """Who runs a job: host, process and thread, for the job row and the logs."""
    return f"{socket.gethostname()}:{os.getpid()}:{threading.current_thread().name}"


@dataclass
class JobContext:
    """What a handler gets: the job's identity and parameters, and a way to report progress."""

    job_id: int
    kind: str
    version_id: int | None
    params: dict[str, Any]
    requested_by: int | None
    _last: float = field(default=-1.0, repr=False)

    def progress(self, fraction: float, message: str) -> None:
        """Record progress (0 to 1) and a heartbeat, in a short transaction of its own."""
        fraction = min(max(float(fraction), 0.0), 1.0)
        with session_scope() as session:
            session.execute(
                sa.update(Job)
                .where(col(Job.id) == self.job_id, col(Job.state) == "running")
                .values(progress=fraction, message=message[:500], heartbeat_at=utcnow())
            )
        self._last = fraction

    def actor(self, session: Session) -> Actor:
        """The user who asked for the job (OPERATOR when the operator did)."""
        user = session.get(User, self.requested_by) if self.requested_by else None
        return user if user is not None else OPERATOR


def _handler(kind: str) -> Callable[[JobContext], int]:
    module, _, name = HANDLERS[kind].partition(":")
    handler: Callable[[JobContext], int] = getattr(importlib.import_module(module), name)
    return handler


# --- Submitting and reading -------------------------------------------------------------------


def submit_job(
    *,
    session: Session,
    actor: Actor,
    kind: str,
    version_id: int | None,
    params: dict[str, Any] | None = None,
) -> Job:
    """Queue a job in the caller's transaction, or return the identical job already waiting.

    Only people who may compute evidence may queue work (or the operator).
    """
    if kind not in HANDLERS:
        raise GatehouseError([UNKNOWN_KIND.format(kind=kind, kinds=sorted(HANDLERS))])
    require_role(session, actor, f"start {kind} jobs", *EVIDENCE_ROLES)
    params_json = canonical_json(params or {})
    active = session.exec(
        select(Job).where(
            Job.kind == kind,
            Job.version_id == version_id,
            Job.params_json == params_json,
            col(Job.state).in_(("queued", "running")),
        )
    ).first()
    if active is not None:
        return active
    job = Job(
        kind=kind,
        version_id=version_id,
        params_json=params_json,
        requested_by=actor.id if actor else None,
        requested_at=utcnow(),
        message="waiting for a worker",
    )
    session.add(job)
    session.flush()
    append_event(
        session=session,
        actor=actor,
        action="job_submitted",
        subject_type="job",
        subject_id=str(job.id),
        details={"kind": kind, "version_id": version_id, "params": params or {}},
    )
    _wake.set()
    return job


def get_job(*, session: Session, job_id: int) -> Job:
    """The job row, or NotFound."""
    job = session.get(Job, job_id)
    if job is None:
        raise NotFound([UNKNOWN_JOB.format(job_id=job_id)])
    return job


def latest_job(*, session: Session, version_id: int, kind: str) -> Job | None:
    """The newest job of this kind for the version."""
    return session.exec(
        select(Job)
        .where(Job.version_id == version_id, Job.kind == kind)
        .order_by(col(Job.id).desc())
        .limit(1)
    ).first()


def job_summary(job: Job) -> dict[str, Any]:
    """A job as plain data, for the CLI and pages."""
    return {
        "job_id": job.id,
        "kind": job.kind,
        "version_id": job.version_id,
        "params": json.loads(job.params_json),
        "state": job.state,
        "progress": job.progress,
        "message": job.message,
        "error": job.error or None,
        "evidence_id": job.evidence_id,
        "worker": job.worker or None,
        "attempts": job.attempts,
        "requested_at": job.requested_at,
        "started_at": job.started_at,
        "finished_at": job.finished_at,
    }


# --- Claiming and running ---------------------------------------------------------------------


def requeue_stale_jobs(*, session: Session, now: Any = None) -> int:
    """Put running jobs whose worker went silent back in the queue (or fail them); returns how many."""
    now = now or utcnow()
    stale = session.exec(
        select(Job)
        .where(Job.state == "running", col(Job.heartbeat_at) < now - STALE_AFTER)
        .execution_options(populate_existing=True)
    ).all()
    for job in stale:
        if job.attempts >= MAX_ATTEMPTS:
            job.state, job.finished_at = "failed", now
            job.error = WORKER_LOST.format(attempts=job.attempts)
        else:
            job.state, job.message, job.worker = "queued", "re-queued: its worker went silent", ""
        session.add(job)
        append_event(
            session=session,
            actor=None,
            action="job_requeued" if job.state == "queued" else "job_failed",
            subject_type="job",
            subject_id=str(job.id),
            details={"attempts": job.attempts, "previous_worker": job.worker},
        )
    return len(stale)


def _claim(job_id: int | None, worker: str) -> JobContext | None:
    with session_scope() as session:
        query = select(Job).where(Job.state == "queued").order_by(col(Job.id)).limit(1)
        if job_id is not None:
            query = query.where(Job.id == job_id)
        if session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        job = session.exec(query).first()
        if job is None:
            return None
        now = utcnow()
        job.state, job.started_at, job.heartbeat_at = "running", now, now
        job.worker, job.attempts = worker[:200], job.attempts + 1
        job.progress, job.message = 0.0, "started"
        session.add(job)
        return JobContext(
            job_id=job.id,  # type: ignore[arg-type]
            kind=job.kind,
            version_id=job.version_id,
            params=json.loads(job.params_json),
            requested_by=job.requested_by,
        )


def _finish(ctx: JobContext, *, evidence_id: int | None, error: str | None) -> Job:
    with session_scope() as session:
        job = get_job(session=session, job_id=ctx.job_id)
        job.finished_at = job.heartbeat_at = utcnow()
        if error is None:
            job.state, job.progress, job.message = "done", 1.0, "finished"
            job.evidence_id = evidence_id
        else:
            job.state, job.error, job.message = "failed", error, "failed"
        session.add(job)
        append_event(
            session=session,
            actor=ctx.actor(session),
            action="job_finished" if error is None else "job_failed",
            subject_type="job",
            subject_id=str(job.id),
            details={"kind": job.kind, "evidence_id": evidence_id, "error": error},
        )
        session.flush()
        session.refresh(job)
        return job


def _execute(ctx: JobContext) -> Job:
    try:
        evidence_id = _handler(ctx.kind)(ctx)
    except GatehouseError as err:
        return _finish(ctx, evidence_id=None, error=" ".join(err.problems))
    except Exception as err:  # a job must end recorded, whatever the model or data did
        log.error("Job %s failed:\n%s", ctx.job_id, traceback.format_exc())
        return _finish(ctx, evidence_id=None, error=f"{type(err).__name__}: {err}")
    return _finish(ctx, evidence_id=evidence_id, error=None)


def run_job(job_id: int, *, worker: str | None = None) -> Job:
    """Claim this queued job and run it in this thread; a job already taken is returned as is."""
    ctx = _claim(job_id, worker or worker_name())
    if ctx is None:
        with session_scope() as session:
            return get_job(session=session, job_id=job_id)
    return _execute(ctx)


def run_next(*, worker: str | None = None) -> Job | None:
    """Run the oldest queued job, if any (after re-queueing jobs of dead workers)."""
    with session_scope() as session:
        requeue_stale_jobs(session=session)
    ctx = _claim(None, worker or worker_name())
    return _execute(ctx) if ctx is not None else None


def work(
    *, once: bool = False, poll: float = 2.0, stop: threading.Event | None = None
) -> list[Job]:
    """Run jobs until stopped (``once``: until the queue is empty). Returns the jobs run."""
    stop = stop or threading.Event()
    done: list[Job] = []
    while not stop.is_set():
        job = run_next()
        if job is not None:
            done.append(job)
            continue
        if once:
            break
        _wake.wait(poll)
        _wake.clear()
    return done


# --- The worker thread inside an app process ----------------------------------------------------

_wake = threading.Event()
_thread: threading.Thread | None = None
_stop = threading.Event()
_lock = threading.Lock()


def _loop() -> None:
    while not _stop.is_set():
        try:
            work(once=True)
        except Exception:  # the database may be restarting; keep the thread, log, retry
            log.exception("The background worker could not run jobs; retrying")
        _wake.wait(2.0)
        _wake.clear()


def start_background_worker() -> None:
    """Start this process's worker thread once (GATEHOUSE_APP_WORKER=0 turns it off)."""
    global _thread
    if os.environ.get("GATEHOUSE_APP_WORKER", "1") == "0":
        return
    with _lock:
        if _thread is not None and _thread.is_alive():
            _wake.set()
            return
        _stop.clear()
        _thread = threading.Thread(target=_loop, name="gatehouse-worker", daemon=True)
        _thread.start()


def stop_background_worker(timeout: float = 30.0) -> None:
    """Stop the worker thread after its current job (tests, shutdown)."""
    global _thread
    with _lock:
        thread, _thread = _thread, None
    if thread is not None:
        _stop.set()
        _wake.set()
        thread.join(timeout)
