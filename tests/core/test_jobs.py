"""The job queue: submission, exclusive claims across threads, dead workers, recorded failures."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from core.demo.data import SENSITIVE, TARGET, DemoFiles
from core.errors import GatehouseError, PermissionDenied
from core.services.inventory import register_version
from core.services.jobs import MAX_ATTEMPTS, claim_job, requeue_stale_jobs, submit_job
from core.services.permissions import OPERATOR
from core.services.users import add_user, get_user
from core.tables import AuditEvent, Job, utcnow


@pytest.fixture
def version_id(session: Session, demo_files: DemoFiles) -> int:
    add_user(session=session, actor=OPERATOR, username="sue", password="x" * 12, roles=["sme"])
    add_user(
        session=session, actor=OPERATOR, username="vic", password="x" * 12, roles=["validator"]
    )
    result = register_version(
        session=session,
        actor=OPERATOR,
        name="credit-logit",
        artifact=demo_files.model_paths["credit-logit"],
        eval_data=demo_files.eval_csv,
        target=TARGET,
        sensitive=SENSITIVE,
    )
    session.commit()
    return result.version_id


def test_submitting_twice_gives_the_waiting_job(session: Session, version_id: int) -> None:
    vic = get_user(session=session, username="vic")
    first = submit_job(
        session=session, actor=vic, kind="explanation", version_id=version_id, params={"rows": 50}
    )
    session.commit()
    again = submit_job(
        session=session, actor=vic, kind="explanation", version_id=version_id, params={"rows": 50}
    )
    other = submit_job(
        session=session, actor=vic, kind="explanation", version_id=version_id, params={"rows": 80}
    )
    session.commit()
    assert again.id == first.id and other.id != first.id
    assert (first.state, first.requested_by) == ("queued", vic.id)
    events = session.exec(select(AuditEvent).where(AuditEvent.action == "job_submitted")).all()
    assert len(events) == 2 and events[0].actor == "vic"


def test_only_people_who_compute_evidence_queue_work(session: Session, version_id: int) -> None:
    with pytest.raises(PermissionDenied, match="start explanation jobs"):
        submit_job(
            session=session,
            actor=get_user(session=session, username="sue"),
            kind="explanation",
            version_id=version_id,
        )
    with pytest.raises(GatehouseError, match="job kind 'mining' is unknown"):
        submit_job(session=session, actor=OPERATOR, kind="mining", version_id=version_id)


def test_concurrent_workers_never_take_the_same_job(session: Session, version_id: int) -> None:
    ids = []
    for rows in range(12):
        job = submit_job(
            session=session,
            actor=OPERATOR,
            kind="explanation",
            version_id=version_id,
            params={"rows": rows},
        )
        ids.append(job.id)
    session.commit()
    claimed: list[int] = []
    lock = threading.Lock()
    errors: list[BaseException] = []

    def worker(name: str) -> None:
        try:
            while (ctx := claim_job(None, name)) is not None:
                with lock:
                    claimed.append(ctx.job_id)
        except BaseException as err:  # surfaced below: a thread's failure must fail the test
            errors.append(err)

    threads = [threading.Thread(target=worker, args=(f"w{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert sorted(claimed) == sorted(ids)  # every job once, none twice
    session.expire_all()
    states = session.exec(select(Job.state, Job.attempts, Job.worker)).all()
    assert {(state, attempts) for state, attempts, _ in states} == {("running", 1)}


def test_a_silent_worker_loses_its_job_then_the_job_fails(
    session: Session, version_id: int
) -> None:
    job = submit_job(session=session, actor=OPERATOR, kind="explanation", version_id=version_id)
    session.commit()
    for attempt in range(1, MAX_ATTEMPTS + 1):
        ctx = claim_job(job.id, "dying-worker")
        assert ctx is not None and ctx.job_id == job.id
        assert requeue_stale_jobs(session=session) == 0  # still beating
        session.commit()
        session.execute(
            sa.update(Job)
            .where(Job.id == job.id)
            .values(heartbeat_at=utcnow() - timedelta(minutes=10))
        )
        session.commit()
        assert requeue_stale_jobs(session=session) == 1
        session.commit()
        session.refresh(job)
        session.commit()  # end the read: on SQLite an open transaction holds the write lock
        assert job.attempts == attempt
        assert job.state == ("queued" if attempt < MAX_ATTEMPTS else "failed")
    assert "stopped responding" in job.error
    assert claim_job(job.id, "another") is None


def test_a_running_job_shows_its_progress_then_its_evidence(
    session: Session, version_id: int
) -> None:
    from core.db import session_scope
    from core.services.jobs import get_job, run_job

    vic = get_user(session=session, username="vic")
    job = submit_job(
        session=session,
        actor=vic,
        kind="explanation",
        version_id=version_id,
        params={"rows": 2000, "background": 200},
    )
    session.commit()
    outcome: list[Job] = []
    runner = threading.Thread(target=lambda: outcome.append(run_job(job.id)))  # type: ignore[arg-type]
    runner.start()
    seen: set[tuple[str, float]] = set()
    while runner.is_alive():
        with session_scope() as reader:  # short reads: an open one would hold SQLite's lock
            row = get_job(session=reader, job_id=job.id)  # type: ignore[arg-type]
            seen.add((row.state, row.progress))
        runner.join(0.01)
    assert outcome and outcome[0].state == "done" and outcome[0].evidence_id is not None
    partial = {p for state, p in seen if state == "running" and 0 < p < 1}
    assert partial, seen  # progress was visible while it ran
    assert outcome[0].heartbeat_at >= outcome[0].started_at  # type: ignore[operator]
    actions = session.exec(
        select(AuditEvent.action).where(AuditEvent.subject_type == "job").order_by(AuditEvent.id)
    ).all()
    assert actions == ["job_submitted", "job_finished"]
