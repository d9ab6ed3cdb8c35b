"""Leases: a worker whose job was handed to another can no longer write; stopping gives jobs back."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import Session, col, select

from core.db import session_scope
from core.demo.data import SENSITIVE, TARGET, DemoFiles
from core.services.inventory import register_version
from core.services.job_leases import (
    JobContext,
    LeaseLost,
    StopRequested,
    claim_job,
    finish_job,
    release_job,
    requeue_stale_jobs,
)
from core.services.jobs import get_job, holder_is_gone, run_job, submit_job
from core.services.permissions import OPERATOR
from core.tables import AuditEvent, Job, utcnow


@pytest.fixture
def version_id(session: Session, demo_files: DemoFiles) -> int:
    return register_version(
        session=session,
        actor=OPERATOR,
        name="credit-logit",
        artifact=demo_files.model_paths["credit-logit"],
        eval_data=demo_files.eval_csv,
        target=TARGET,
        sensitive=SENSITIVE,
    ).version_id


def _queue(session: Session, version_id: int, **params: int) -> int:
    job = submit_job(
        session=session, actor=OPERATOR, kind="explanation", version_id=version_id, params=params
    )
    session.commit()
    assert job.id is not None
    return job.id


def _go_silent(job_id: int) -> None:
    with session_scope() as s:
        s.execute(
            sa.update(Job)
            .where(col(Job.id) == job_id)
            .values(heartbeat_at=utcnow() - timedelta(minutes=10))
        )


def _requeue() -> int:
    with session_scope() as s:
        return requeue_stale_jobs(session=s)


def _actions(job_id: int) -> list[str]:
    with session_scope() as s:
        return list(
            s.exec(
                select(AuditEvent.action)
                .where(AuditEvent.subject_type == "job", AuditEvent.subject_id == str(job_id))
                .order_by(col(AuditEvent.id))
            ).all()
        )


def _job(job_id: int) -> Job:
    with session_scope() as s:
        return get_job(session=s, job_id=job_id)


def _superseded(session: Session, version_id: int) -> tuple[JobContext, JobContext]:
    job_id = _queue(session, version_id, rows=40)
    first = claim_job(job_id, "slow-worker")
    assert first is not None
    _go_silent(job_id)
    assert _requeue() == 1
    second = claim_job(job_id, "new-worker")
    assert second is not None and second.lease_token != first.lease_token
    return first, second


def test_a_superseded_worker_cannot_write_and_its_result_is_discarded(
    session: Session, version_id: int
) -> None:
    first, second = _superseded(session, version_id)
    with pytest.raises(LeaseLost):
        first.progress(0.5, "still computing")
    assert first.heartbeat() is False
    assert release_job(first, reason="stopping") is False
    after = finish_job(first, evidence_id=None, error=None)
    assert (after.state, after.worker) == ("running", "new-worker")  # the new lease holds
    assert _job(first.job_id).message == "started"  # the stale progress was not written
    second.progress(0.5, "half way")
    done = finish_job(second, evidence_id=None, error="the handler said no")
    assert (done.state, done.error, done.lease_token) == ("failed", "the handler said no", None)
    assert _actions(first.job_id) == [
        "job_submitted",
        "job_requeued",
        "job_result_discarded",
        "job_failed",
    ]


def _take_over_while_running(job_id: int) -> tuple[list[Job], JobContext | None]:
    """Run the job in a thread and hand its lease to another worker once it reports progress;
    the takeover is None when the job finished before the poll saw it running."""
    outcome: list[Job] = []
    runner = threading.Thread(target=lambda: outcome.append(run_job(job_id, worker="slow-one")))
    runner.start()
    taken = None
    while runner.is_alive() and taken is None:
        row = _job(job_id)
        if row.state == "running" and row.progress > 0:
            _go_silent(job_id)
            if _requeue() == 1:
                taken = claim_job(job_id, "the-other-one")
        runner.join(0.01)
    runner.join()
    return outcome, taken


def test_a_job_running_when_its_lease_is_taken_ends_discarded(
    session: Session, version_id: int
) -> None:
    # On a busy machine a small job can finish between two polls: each try is a larger job.
    for background in (200, 800, 3200, 12800):
        job_id = _queue(session, version_id, rows=2000, background=background)
        outcome, taken = _take_over_while_running(job_id)
        if taken is not None:
            break
    assert taken is not None, "the job ended before it could be taken over"
    # The superseded worker gave up without finishing: it saw the job queued again or already
    # held by the other worker, depending on which of the two it noticed first.
    assert (outcome[0].worker, outcome[0].state) in {("the-other-one", "running"), ("", "queued")}
    assert _job(job_id).worker == "the-other-one"
    assert _actions(job_id)[-1] == "job_result_discarded"
    finish_job(taken, evidence_id=None, error="stopped by the test")


def test_a_stopping_worker_gives_its_job_back_without_using_an_attempt(
    session: Session, version_id: int
) -> None:
    job_id = _queue(session, version_id, rows=40)
    ctx = claim_job(job_id, "stopping-worker")
    assert ctx is not None
    ctx.stop.set()
    with pytest.raises(StopRequested):
        ctx.progress(0.1, "working")
    assert release_job(ctx, reason="the worker is shutting down") is True
    back = _job(job_id)
    assert (back.state, back.attempts, back.worker, back.lease_token) == ("queued", 0, "", None)
    assert "the worker is shutting down" in back.message
    again = run_job(job_id, worker="next-worker")
    assert (again.state, again.attempts, again.worker) == ("done", 1, "next-worker")
    assert _actions(job_id) == ["job_submitted", "job_released", "job_finished"]


def test_a_job_of_a_process_that_ended_is_taken_over_at_once(
    session: Session, version_id: int
) -> None:
    ended = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                           capture_output=True, text=True, check=True)  # fmt: skip
    job_id = _queue(session, version_id, rows=40)
    gone = claim_job(job_id, f"{socket.gethostname()}:{ended.stdout.strip()}:MainThread")
    alive = f"{socket.gethostname()}:{os.getppid()}:MainThread"
    assert gone is not None
    assert holder_is_gone(_job(job_id)) is True
    assert holder_is_gone(Job(kind="explanation", worker=alive)) is False
    assert holder_is_gone(Job(kind="explanation", worker="elsewhere:1:MainThread")) is False
    with session_scope() as s:
        assert requeue_stale_jobs(session=s) == 0  # its heartbeat is fresh...
        assert requeue_stale_jobs(session=s, abandoned=holder_is_gone) == 1  # ...but it is gone
    assert _job(job_id).state == "queued"


def test_explain_waits_for_a_live_worker_then_returns_its_outcome(
    session: Session, version_id: int
) -> None:
    from core.services.jobs import run_or_await

    job_id = _queue(session, version_id, rows=40)
    live = claim_job(job_id, f"{socket.gethostname()}:{os.getppid()}:MainThread")
    assert live is not None
    seen: list[Job] = []
    outcome: list[Job] = []
    waiter = threading.Thread(
        target=lambda: outcome.append(run_or_await(job_id, poll=0.05, on_wait=seen.append))
    )
    waiter.start()
    while not seen and waiter.is_alive():
        waiter.join(0.01)
    assert seen and seen[0].worker == live.worker  # it waits for the holder, which is alive
    finish_job(live, evidence_id=None, error="the live worker's outcome")
    waiter.join()
    assert (outcome[0].state, outcome[0].error) == ("failed", "the live worker's outcome")
    assert _job(job_id).attempts == 1  # nobody took the job from its live worker
