"""Background jobs: long work (SHAP explanations) queued in the database, run by any process.

A job is a row. Any process may queue one (``submit_job``); workers (a thread in each app
process, :mod:`core.services.background_worker`, and, for teams, any number of `gatehouse
worker` processes) claim it under a lease, run its handler and record its outcome (see
:mod:`core.services.job_leases`). A worker renews its lease's heartbeat every
``HEARTBEAT_EVERY`` while a job runs, so a long step never makes a live worker look dead.
Stopping a worker (SIGTERM to `gatehouse worker` or to the app) sets its stop event: it claims
nothing more, the job it holds is stopped (``stop_held_jobs``: its sandboxed model code is
killed, the rest ends at its next progress report) and goes back to the queue, and after a
grace period any job still held is released from outside, so the process exits in bounded
time. Another worker then picks the job up.

``submit_job`` flushes in the caller's transaction; running a job writes in the short
transactions of :mod:`core.services.job_leases` (the named exception to the one-transaction
rule).
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
from datetime import timedelta
from typing import Any

from sqlmodel import Session, col, select

from core.db import session_scope
from core.errors import GatehouseError, NotFound
from core.files.sandbox import stop_children
from core.services.audit import append_event, canonical_json
from core.services.housekeeping import run_housekeeping
from core.services.job_leases import (
    ACTIVE_STATES,
    MAX_ATTEMPTS,
    STALE_AFTER,
    JobContext,
    LeaseLost,
    StopRequested,
    claim_job,
    finish_job,
    release_job,
    requeue_stale_jobs,
    wait_for_work,
    wake_workers,
    worker_name,
)
from core.services.permissions import EVIDENCE_ROLES, Actor, require_role
from core.tables import Job, utcnow

__all__ = [
    "HANDLERS",
    "HEARTBEAT_EVERY",
    "MAX_ATTEMPTS",
    "SHUTDOWN_GRACE",
    "STALE_AFTER",
    "JobContext",
    "claim_job",
    "get_job",
    "holder_is_gone",
    "job_summary",
    "keep_house",
    "latest_job",
    "release_held_jobs",
    "requeue_stale_jobs",
    "run_job",
    "run_next",
    "run_or_await",
    "stop_held_jobs",
    "submit_job",
    "work",
]

log = logging.getLogger(__name__)

#: Job kinds and their handlers ("module:function"), imported when a job of that kind runs.
HANDLERS: dict[str, str] = {
    "explanation": "core.services.evidence.explanations:run_explanation_job"
}
UNKNOWN_KIND = "The job kind {kind!r} is unknown; use one of {kinds}."
UNKNOWN_JOB = "No job with id {job_id}."
HEARTBEAT_EVERY = timedelta(seconds=30)
#: Seconds a stopping worker waits for its job to end before releasing it to the queue.
SHUTDOWN_GRACE = 20.0
LEASE_LOST = "Another worker took this job over; this worker's result was discarded."


def handler_for(kind: str) -> Callable[[JobContext], int]:
    """The function that runs jobs of this kind (imported on first use)."""
    module, _, name = HANDLERS[kind].partition(":")
    handler: Callable[[JobContext], int] = getattr(importlib.import_module(module), name)
    return handler


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
            col(Job.state).in_(ACTIVE_STATES),
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
    wake_workers()
    return job


def get_job(*, session: Session, job_id: int) -> Job:
    """The job row, or NotFound."""
    job = session.get(Job, job_id, populate_existing=True)
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


# --- Running jobs ------------------------------------------------------------------------------

# The jobs this process is running, so that a stopping process can release them.
_held: dict[int, JobContext] = {}
_held_lock = threading.Lock()


def _beat_until(done: threading.Event, ctx: JobContext) -> None:
    while not done.wait(HEARTBEAT_EVERY.total_seconds()):
        try:
            if not ctx.heartbeat():
                return
        except Exception:  # the database may be restarting: the next beat tries again
            log.exception("Job %s: the heartbeat could not be recorded", ctx.job_id)


def _execute(ctx: JobContext) -> Job:
    done = threading.Event()
    beater = threading.Thread(
        target=_beat_until, args=(done, ctx), name=f"gatehouse-heartbeat-{ctx.job_id}", daemon=True
    )
    with _held_lock:
        _held[ctx.job_id] = ctx
    beater.start()
    try:
        log.info("Job %s (%s) started by %s", ctx.job_id, ctx.kind, ctx.worker)
        evidence_id = handler_for(ctx.kind)(ctx)
    except StopRequested:
        return _released(ctx)
    except KeyboardInterrupt:
        release_job(ctx, reason="interrupted")
        raise
    except LeaseLost:
        return finish_job(ctx, evidence_id=None, error=LEASE_LOST)
    except GatehouseError as err:
        if ctx.stop.is_set():  # its sandboxed model code was stopped with the worker
            return _released(ctx)
        return finish_job(ctx, evidence_id=None, error=" ".join(err.problems))
    except Exception as err:  # a job must end recorded, whatever the model or data did
        if ctx.stop.is_set():
            return _released(ctx)
        log.error("Job %s failed:\n%s", ctx.job_id, traceback.format_exc())
        return finish_job(ctx, evidence_id=None, error=f"{type(err).__name__}: {err}")
    finally:
        done.set()
        with _held_lock:
            _held.pop(ctx.job_id, None)
    job = finish_job(ctx, evidence_id=evidence_id, error=None)
    log.info("Job %s ended %s", ctx.job_id, job.state)
    return job


def _released(ctx: JobContext) -> Job:
    # Released here, or already from outside (release_held_jobs): either way no outcome is
    # recorded, as the job did not fail; it goes back to the queue for another worker.
    if release_job(ctx, reason="the worker is shutting down"):
        log.info("Job %s released: its worker is stopping", ctx.job_id)
    with session_scope() as session:
        return get_job(session=session, job_id=ctx.job_id)


def stop_held_jobs() -> int:
    """Ask every job this process runs to end now (its worker is stopping); returns how many.

    Sets each job's stop request and stops the sandboxed model code of this process, so a job
    ends within moments instead of at its next progress report; its handler's result would be
    discarded anyway, and the job goes back to the queue.
    """
    with _held_lock:
        held = list(_held.values())
    for ctx in held:
        ctx.stop.set()
    if held:
        stop_children()
    return len(held)


def release_held_jobs(reason: str) -> int:
    """Release every job this process holds (its worker is stopping); returns how many."""
    with _held_lock:
        held = list(_held.values())
    released = 0
    for ctx in held:
        ctx.stop.set()
        if release_job(ctx, reason=reason):
            released += 1
            log.info("Job %s released: %s", ctx.job_id, reason)
    return released


def holder_is_gone(job: Job) -> bool:
    """Whether the worker holding this running job is a process of this host that has ended.

    Workers on other hosts are judged by their heartbeat only (``STALE_AFTER``).
    """
    host, _, rest = (job.worker or "").partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, under another user
        return False
    return False


def run_job(job_id: int, *, worker: str | None = None, stop: threading.Event | None = None) -> Job:
    """Claim this queued job and run it in this thread; a job already taken is returned as is."""
    ctx = claim_job(job_id, worker or worker_name())
    if ctx is None:
        with session_scope() as session:
            return get_job(session=session, job_id=job_id)
    if stop is not None:
        ctx.stop = stop
    return _execute(ctx)


def run_or_await(
    job_id: int,
    *,
    poll: float = 1.0,
    on_wait: Callable[[Job], None] | None = None,
) -> Job:
    """Run this job here, or wait for the live worker that holds it, and return its outcome.

    A job whose worker is gone (a process of this host that ended, or a heartbeat older than
    ``STALE_AFTER``) goes back to the queue and is run here, so a killed run never leaves the
    caller waiting for nobody. ``on_wait(job)`` is called once when waiting starts.
    """
    job = run_job(job_id)
    waiting = False
    while job.state in ACTIVE_STATES:
        with session_scope() as session:
            requeue_stale_jobs(session=session, abandoned=holder_is_gone)
            job = get_job(session=session, job_id=job_id)
        if job.state == "queued":
            job = run_job(job_id)
            continue
        if job.state != "running":
            break
        if on_wait is not None and not waiting:
            on_wait(job)
        waiting = True
        wait_for_work(poll)  # woken early when this process releases or queues a job
    return job


def run_next(*, worker: str | None = None, stop: threading.Event | None = None) -> Job | None:
    """Run the oldest queued job, if any (after re-queueing jobs of dead workers)."""
    with session_scope() as session:
        requeue_stale_jobs(session=session, abandoned=holder_is_gone)
    ctx = claim_job(None, worker or worker_name())
    if ctx is None:
        return None
    if stop is not None:
        ctx.stop = stop
    return _execute(ctx)


def work(
    *, once: bool = False, poll: float = 2.0, stop: threading.Event | None = None
) -> list[Job]:
    """Run jobs until ``stop`` is set (``once``: until the queue is empty). Returns the jobs run."""
    stop = stop or threading.Event()
    done: list[Job] = []
    while not stop.is_set():
        job = run_next(stop=stop)
        if job is not None:
            done.append(job)
            continue
        if once:
            break
        keep_house()
        wait_for_work(poll)
    return done


def keep_house() -> None:
    """Run housekeeping (reminders, notifications) between jobs; log and go on when it fails."""
    try:
        run_housekeeping()
    except Exception:  # never let a reminder or an SMTP outage stop the job queue
        log.exception("Housekeeping failed; the worker goes on")
