"""Job leases: a claim is a lease with a token, and a worker writes only while it holds it.

A worker claims the oldest queued job under a row lock (``FOR UPDATE SKIP LOCKED`` on
PostgreSQL, so several workers never take the same job; on SQLite the claim runs under the
database write lock) and gets a fresh token stored on the row. Its heartbeats, progress, outcome
and release are compare-and-set on that token: when a job whose heartbeat looked stale was handed
to another worker, the first worker can no longer write, its result is discarded and the audit
trail says so (``job_result_discarded``). A running job whose heartbeat stops goes back to the
queue (``job_requeued``), at most ``MAX_ATTEMPTS`` times; a stopping worker gives its job back
(``job_released``).

Transactions: ``requeue_stale_jobs`` flushes in the caller's transaction. Claiming, progress and
heartbeats, finishing and releasing each run in a short transaction of their own: that is this
module's named exception to the one-transaction rule, as a worker is its own edge, and on SQLite
a transaction held open across a long job would hold the only write lock.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from core.db import session_scope
from core.services.audit import append_event
from core.services.permissions import OPERATOR, Actor
from core.tables import Job, User, utcnow

__all__ = [
    "ACTIVE_STATES",
    "MAX_ATTEMPTS",
    "STALE_AFTER",
    "JobContext",
    "JobInterrupted",
    "LeaseLost",
    "StopRequested",
    "claim_job",
    "finish_job",
    "release_job",
    "requeue_stale_jobs",
    "wait_for_work",
    "wake_workers",
    "worker_name",
]

log = logging.getLogger(__name__)

STALE_AFTER = timedelta(minutes=5)
MAX_ATTEMPTS = 3
ACTIVE_STATES = ("queued", "running")

WORKER_LOST = (
    "The worker running this job stopped responding {attempts} times; look at the worker's log, "
    "then start the job again."
)
RELEASED = "back in the queue: its worker was stopped ({reason})"
REQUEUED = "re-queued: its worker went silent"


class JobInterrupted(BaseException):
    """Raised from ``JobContext.progress`` to end a handler early.

    A BaseException so that a handler's broad ``except Exception`` (a model's own failure
    reported as a sentence) cannot swallow it.
    """


class StopRequested(JobInterrupted):
    """The worker is stopping: the job goes back to the queue."""


class LeaseLost(JobInterrupted):
    """Another worker holds the job now: whatever this one computed is discarded."""


def worker_name() -> str:
    """Who runs a job: host, process and thread, for the job row and the logs."""
    return f"{socket.gethostname()}:{os.getpid()}:{threading.current_thread().name}"


@dataclass
class JobContext:
    """What a handler gets: the job's identity and parameters, and a way to report progress.

    ``lease_token`` is the claim's lease; ``stop`` is the worker's stop request and ``lost`` is
    set when a heartbeat found the lease gone. Both end the handler at its next progress report.
    """

    job_id: int
    kind: str
    version_id: int | None
    params: dict[str, Any]
    requested_by: int | None
    lease_token: str = ""
    worker: str = ""
    stop: threading.Event = field(default_factory=threading.Event, repr=False)
    lost: threading.Event = field(default_factory=threading.Event, repr=False)

    def progress(self, fraction: float, message: str) -> None:
        """Record progress (0 to 1) and a heartbeat, in a short transaction of its own.

        Raises StopRequested when the worker is stopping and LeaseLost when the job is no longer
        this worker's (nothing is written then).
        """
        if self.stop.is_set():
            raise StopRequested
        fraction = min(max(float(fraction), 0.0), 1.0)
        if self.lost.is_set() or not self._beat(progress=fraction, message=message[:500]):
            self.lost.set()
            raise LeaseLost

    def heartbeat(self) -> bool:
        """Renew the lease's heartbeat; False (and ``lost`` set) when the lease is gone."""
        if not self._beat():
            self.lost.set()
            return False
        return True

    def _beat(self, **values: Any) -> bool:
        with session_scope() as session:
            held = session.execute(
                _leased(sa.update(Job), self)
                .values(heartbeat_at=utcnow(), **values)
                .returning(col(Job.id))
                .execution_options(synchronize_session=False)
            ).first()
        return held is not None

    def actor(self, session: Session) -> Actor:
        """The user who asked for the job (OPERATOR when the operator did)."""
        user = session.get(User, self.requested_by) if self.requested_by else None
        return user if user is not None else OPERATOR


def _leased(statement: sa.Update, ctx: JobContext) -> sa.Update:
    """The compare-and-set: only the row of this job, still running under this lease."""
    return statement.where(
        col(Job.id) == ctx.job_id,
        col(Job.state) == "running",
        col(Job.lease_token) == ctx.lease_token,
    )


_wake = threading.Event()


def wake_workers() -> None:
    """Wake this process's waiting workers (a job was queued or released)."""
    _wake.set()


def wait_for_work(timeout: float) -> None:
    """Wait up to ``timeout`` seconds for this process to queue or release a job."""
    if _wake.wait(timeout):
        _wake.clear()


# --- Leases: claiming, finishing, releasing, re-queueing ----------------------------------------


def requeue_stale_jobs(
    *,
    session: Session,
    now: datetime | None = None,
    abandoned: Callable[[Job], bool] | None = None,
) -> int:
    """Put running jobs whose worker went silent back in the queue (or fail them); returns how many.

    A job is taken from its worker when its heartbeat is older than ``STALE_AFTER``, or when
    ``abandoned(job)`` says its worker is gone. Its lease ends with it.
    """
    now = now or utcnow()
    query = select(Job).where(Job.state == "running").execution_options(populate_existing=True)
    if abandoned is None:
        query = query.where(col(Job.heartbeat_at) < now - STALE_AFTER)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    running = session.exec(query).all()
    stale = [
        j
        for j in running
        if (j.heartbeat_at is not None and j.heartbeat_at < now - STALE_AFTER)
        or (abandoned is not None and abandoned(j))
    ]
    for job in stale:
        previous = job.worker
        if job.attempts >= MAX_ATTEMPTS:
            job.state, job.finished_at = "failed", now
            job.error = WORKER_LOST.format(attempts=job.attempts)
        else:
            job.state, job.message, job.worker = "queued", REQUEUED, ""
        job.lease_token = None
        session.add(job)
        append_event(
            session=session,
            actor=None,
            action="job_requeued" if job.state == "queued" else "job_failed",
            subject_type="job",
            subject_id=str(job.id),
            details={"attempts": job.attempts, "previous_worker": previous},
        )
    session.flush()
    return len(stale)


def claim_job(job_id: int | None, worker: str) -> JobContext | None:
    """Claim this queued job (or the oldest queued one) with a new lease; None if none is free."""
    with session_scope() as session:
        query = select(Job).where(Job.state == "queued").order_by(col(Job.id)).limit(1)
        if job_id is not None:
            query = query.where(Job.id == job_id)
        if session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        job = session.exec(query.execution_options(populate_existing=True)).first()
        if job is None:
            return None
        now = utcnow()
        job.state, job.started_at, job.heartbeat_at = "running", now, now
        job.worker, job.attempts = worker[:200], job.attempts + 1
        job.progress, job.message = 0.0, "started"
        job.lease_token = secrets.token_hex(16)
        session.add(job)
        return JobContext(
            job_id=job.id,  # type: ignore[arg-type]
            kind=job.kind,
            version_id=job.version_id,
            params=json.loads(job.params_json),
            requested_by=job.requested_by,
            lease_token=job.lease_token,
            worker=job.worker,
        )


def finish_job(ctx: JobContext, *, evidence_id: int | None, error: str | None) -> Job:
    """Record the job's outcome if this worker still holds its lease, else record the discard.

    Returns the job row as it now stands (another worker's, when the lease was lost).
    """
    with session_scope() as session:
        now = utcnow()
        values: dict[str, Any] = {"finished_at": now, "heartbeat_at": now, "lease_token": None}
        if error is None:
            values |= {"state": "done", "progress": 1.0, "message": "finished"}
            values["evidence_id"] = evidence_id
        else:
            values |= {"state": "failed", "error": error, "message": "failed"}
        held = session.execute(
            _leased(sa.update(Job), ctx)
            .values(**values)
            .returning(col(Job.id))
            .execution_options(synchronize_session=False)
        ).first()
        if held is None:
            log.warning("Job %s: the lease was lost; its result is discarded", ctx.job_id)
        action = "job_finished" if error is None else "job_failed"
        append_event(
            session=session,
            actor=ctx.actor(session),
            action=action if held is not None else "job_result_discarded",
            subject_type="job",
            subject_id=str(ctx.job_id),
            details={"kind": ctx.kind, "evidence_id": evidence_id, "error": error}
            | ({} if held is not None else {"worker": ctx.worker}),
        )
        job = session.get(Job, ctx.job_id, populate_existing=True)
        assert job is not None
        return job


def release_job(ctx: JobContext, *, reason: str) -> bool:
    """Give the job back to the queue (the worker is stopping); False if the lease was gone.

    A released claim does not count as an attempt: the job did not fail, its worker stopped.
    """
    with session_scope() as session:
        held = session.execute(
            _leased(sa.update(Job), ctx)
            .values(
                state="queued",
                worker="",
                lease_token=None,
                attempts=col(Job.attempts) - 1,
                message=RELEASED.format(reason=reason),
            )
            .returning(col(Job.id))
            .execution_options(synchronize_session=False)
        ).first()
        if held is not None:
            append_event(
                session=session,
                actor=None,
                action="job_released",
                subject_type="job",
                subject_id=str(ctx.job_id),
                details={"kind": ctx.kind, "worker": ctx.worker, "reason": reason},
            )
    if held is not None:
        _wake.set()
    return held is not None
